# compare -f/-F/-q and map -f: the formats named are the ones read (not
# the probed ones), with qemu-img given the same options as the oracle.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq

# both KIND ARGS...: vmconv compare and qemu-img compare with the same
# arguments exit the same; vmconv's output is left in $T/out
both() {
	local want=$1 q=0 v=0
	shift
	qemu-img compare "$@" > "$T/qout" 2>&1 || q=$?
	"$VMCONV" compare "$@" > "$T/out" 2>&1 || v=$?
	echo "compare $*: qemu-img $q, vmconv $v: $(head -c 200 "$T/out")"
	[ $q -eq "$want" ] || fail "qemu-img compare $*: $q, expected $want (oracle changed)"
	[ $v -eq "$want" ] || fail "vmconv compare $*: exit $v, expected $want"
}

head -c 1M /dev/urandom > "$T/a.raw"
qemu-img convert -O qcow2 "$T/a.raw" "$T/a.qcow2" || fail qemu-img
cp "$T/a.raw" "$T/b.raw"
printf 'X' | dd of="$T/b.raw" bs=1 seek=70000 conv=notrunc status=none
cmp -s "$T/a.raw" "$T/b.raw" && fail "b.raw equals a.raw"

# -f/-F: probed, both named right, one named raw (its container bytes)
both 0 "$T/a.qcow2" "$T/a.raw"
grep -q 'identical' "$T/out" || fail "no 'identical' line"
both 0 -f qcow2 -F raw "$T/a.qcow2" "$T/a.raw"
both 1 -f raw -F raw "$T/a.qcow2" "$T/a.raw"
grep -q 'mismatch at offset 0' "$T/out" || fail "qcow2 header read as raw: $(cat "$T/out")"
both 1 -f raw "$T/a.qcow2" "$T/a.raw"
both 0 -F qcow2 "$T/a.raw" "$T/a.qcow2"
both 1 -F raw "$T/a.raw" "$T/a.qcow2"
# a format the file is not: an error (2) naming the file
both 2 -f qcow2 "$T/a.raw" "$T/a.qcow2"
grep -q 'a.raw' "$T/out" || fail "the error does not name a.raw"
both 2 -F qcow2 "$T/a.raw" "$T/b.raw"
grep -q 'b.raw' "$T/out" || fail "the error does not name b.raw"

# the first difference, at the byte qemu-img's sector holds
both 1 "$T/a.raw" "$T/b.raw"
off=$(sed -n 's/.*mismatch at offset \([0-9]*\).*/\1/p' "$T/out")
qoff=$(sed -n 's/.*mismatch at offset \([0-9]*\).*/\1/p' "$T/qout")
[ -n "$off" ] && [ -n "$qoff" ] || fail "no offset: $(cat "$T/out")"
[ "$off" -ge "$qoff" ] && [ "$off" -lt $((qoff + 512)) ] ||
	fail "mismatch at $off, qemu-img says the sector at $qoff"

# -q: the exit status alone
both 1 -q "$T/a.raw" "$T/b.raw"
[ -s "$T/out" ] && fail "compare -q printed: $(cat "$T/out")"
both 0 -q "$T/a.qcow2" "$T/a.raw"
[ -s "$T/out" ] && fail "compare -q printed: $(cat "$T/out")"
# errors are not quiet
both 2 -q -f qcow2 "$T/a.raw" "$T/b.raw"
grep -q 'a.raw' "$T/out" || fail "compare -q hid the error"

# map -f: the runs of the file read as the format named, run for run as
# qemu-img maps it (adjacent runs of one kind merged on both sides)
norm='[.[] | {start, length, data, zero}] |
	reduce .[] as $r ([]; if length > 0 and .[-1].data == $r.data and
	.[-1].zero == $r.zero and .[-1].start + .[-1].length == $r.start
	then .[-1].length += $r.length else . + [$r] end)'
qemu-img create -q -f qcow2 "$T/m.qcow2" 8M || fail create
qemu-io -f qcow2 -c 'write -P 1 1M 64k' -c 'write -z 4M 1M' "$T/m.qcow2" \
	> /dev/null || fail qemu-io
truncate -s 8M "$T/m.raw"
printf 'data' | dd of="$T/m.raw" bs=1 seek=3M conv=notrunc status=none
for c in "qcow2 $T/m.qcow2" "raw $T/m.qcow2" "raw $T/m.raw"; do
	set -- $c
	"$VMCONV" map -f "$1" --output=json "$2" > "$T/v.json" ||
		fail "map -f $1 $2"
	qemu-img map -f "$1" --output=json "$2" > "$T/q.json" || fail qemu-img
	jq -c "$norm" "$T/v.json" > "$T/v.n"
	jq -c "$norm" "$T/q.json" > "$T/q.n"
	echo "map -f $1 $(basename "$2"): $(cat "$T/v.n")"
	cmp -s "$T/v.n" "$T/q.n" ||
		fail "map -f $1 $2: vmconv $(cat "$T/v.n"), qemu-img $(cat "$T/q.n")"
done
# the same file, two formats, two maps
"$VMCONV" map -f raw --output=json "$T/m.qcow2" | jq -c "$norm" > "$T/r.n"
"$VMCONV" map -f qcow2 --output=json "$T/m.qcow2" | jq -c "$norm" > "$T/c.n"
cmp -s "$T/r.n" "$T/c.n" && fail "map -f raw and -f qcow2 agree on a qcow2 file"
"$VMCONV" map -f qcow2 "$T/m.raw" 2> "$T/e" && fail "map -f qcow2 of a raw file"
grep -q 'm.raw' "$T/e" || fail "map -f error: $(cat "$T/e")"
exit 0
