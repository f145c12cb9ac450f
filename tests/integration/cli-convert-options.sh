# convert's options, each against what qemu-img does with the same option
# on the same input: -p (qemu-img's progress records, read from a pipe the
# way KubeVirt CDI reads them), -q, -f and -m; and the byte counts of
# --output=json against `qemu-img map` of the source and the target.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq awk

# progress_ok FILE MAXGAP: FILE holds what a program splitting qemu-img's
# stdout on '\r' reads: records "    (N.NN/100%)", the first 0.00, none
# smaller than the one before, none more than MAXGAP above it, the last
# 100.00, then one newline and nothing else.  Prints the record count.
progress_ok() {
	awk -v maxgap="$2" 'BEGIN { RS = "\r"; n = 0; prev = -1; end = 0 }
	end { print "text after the final newline"; bad = 1; exit }
	$0 == "\n" { end = 1; next }
	{
		if ($0 !~ /^    \([0-9]+\.[0-9][0-9]\/100%\)$/) {
			print "not a progress record: [" $0 "]"; bad = 1; exit
		}
		v = substr($0, 6) + 0
		if (n == 0 && v != 0) { print "first record " v; bad = 1; exit }
		if (v < prev) { print v " after " prev; bad = 1; exit }
		if (n > 0 && v - prev > maxgap) {
			print "gap " prev " -> " v; bad = 1; exit
		}
		prev = v; n++
	}
	END {
		if (bad) exit 1
		if (!end) { print "no final newline"; exit 1 }
		if (prev != 100) { print "last record " prev; exit 1 }
		print n
	}' "$1"
}

# a 64 MiB source of data and one of nothing
head -c 64M /dev/urandom > "$T/data.raw"
truncate -s 64M "$T/hole.raw"

# -p: qemu-img's records on a pipe (not a terminal), for every target
for fmt in raw qcow2 vmdk vhdx; do
	qemu-img convert -p -O $fmt "$T/data.raw" "$T/q.$fmt" | cat > "$T/q.p" ||
		fail "qemu-img convert -p -O $fmt"
	nq=$(progress_ok "$T/q.p" 5) || fail "the checker refuses qemu-img's own -p output: $nq"
	rm -f "$T/v.$fmt"
	"$VMCONV" convert -p -O $fmt "$T/data.raw" "$T/v.$fmt" 2> "$T/v.err" |
		cat > "$T/v.p"
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "vmconv convert -p -O $fmt"
	nv=$(progress_ok "$T/v.p" 5) ||
		{ od -c "$T/v.p" | head; fail "-O $fmt: $nv"; }
	echo "-O $fmt: qemu-img $nq records, vmconv $nv"
	[ "$nv" -ge 10 ] || fail "-O $fmt: only $nv records for 64 MiB of data"
	[ -s "$T/v.err" ] && fail "-p wrote to stderr: $(head -c 200 "$T/v.err")"
	qemu-img compare "$T/data.raw" "$T/v.$fmt" || fail "-p -O $fmt content"
done
for tool in "qemu-img" "$VMCONV"; do
	"$tool" convert -p -O qcow2 "$T/hole.raw" "$T/h.qcow2" > "$T/h.p" ||
		fail "$tool convert -p of an empty disk"
	progress_ok "$T/h.p" 100 || fail "$tool: empty disk"
	rm -f "$T/h.qcow2"
done
# with --output=json the JSON keeps stdout, the records go to stderr
"$VMCONV" convert -p --output=json -O qcow2 "$T/data.raw" "$T/j.qcow2" \
	> "$T/j.out" 2> "$T/j.err" || fail "convert -p --output=json"
jq -e '."virtual-size" == 67108864' "$T/j.out" > /dev/null ||
	fail "-p spoiled the JSON on stdout"
progress_ok "$T/j.err" 5 > /dev/null || fail "-p with --output=json: stderr"
# without -p, on a pipe: nothing (qemu-img prints nothing either)
"$VMCONV" convert -O qcow2 "$T/data.raw" "$T/n.qcow2" > "$T/n.out" 2>&1 ||
	fail "convert"
[ -s "$T/n.out" ] && fail "convert without -p printed: $(head -c 100 "$T/n.out")"

# -q wins over -p in qemu-img; with vmconv it also drops the digest line
qemu-img convert -q -p -O qcow2 "$T/data.raw" "$T/qq.qcow2" > "$T/qq.out" ||
	fail "qemu-img -q -p"
[ -s "$T/qq.out" ] && fail "qemu-img -q -p printed something (oracle changed)"
"$VMCONV" convert -q -p --digest -O qcow2 "$T/data.raw" "$T/vq.qcow2" \
	> "$T/vq.out" 2>&1 || fail "convert -q"
[ -s "$T/vq.out" ] && fail "convert -q printed: $(head -c 200 "$T/vq.out")"
qemu-img compare "$T/data.raw" "$T/vq.qcow2" || fail "-q content"
"$VMCONV" convert --digest -O qcow2 "$T/data.raw" "$T/vd.qcow2" > "$T/vd.out" ||
	fail "convert --digest"
[ "$(cat "$T/vd.out")" = "sha256: $(sha256sum < "$T/data.raw" | cut -c1-64)" ] ||
	fail "without -q, --digest prints the digest: $(cat "$T/vd.out")"
# errors are still printed with -q
"$VMCONV" convert -q -O raw "$T/missing.img" "$T/x.raw" 2> "$T/e.err" &&
	fail "convert of a missing file succeeded"
grep -q 'missing.img' "$T/e.err" || fail "-q hid the error"

# -f: the source read as the format named, not the one probed
head -c 1M /dev/urandom > "$T/small.raw"
qemu-img convert -O qcow2 "$T/small.raw" "$T/small.qcow2" || fail "qemu-img"
for f in raw qcow2; do
	rm -f "$T/fv.raw"
	run "$VMCONV" convert -f $f -O raw "$T/small.qcow2" "$T/fv.raw" ||
		fail "convert -f $f"
	qemu-img convert -f $f -O raw "$T/small.qcow2" "$T/fq.raw" || fail qemu-img
	cmp "$T/fq.raw" "$T/fv.raw" || fail "convert -f $f differs from qemu-img's"
done
cmp "$T/small.qcow2" "$T/fv.raw" 2>/dev/null &&
	fail "-f qcow2 gave the container's bytes"
"$VMCONV" convert -f raw -O raw "$T/small.qcow2" "$T/fr.raw" || fail "-f raw"
cmp "$T/small.qcow2" "$T/fr.raw" || fail "-f raw did not read the file as raw"
qemu-img convert -f qcow2 -O raw "$T/small.raw" "$T/x.raw" 2>/dev/null &&
	fail "qemu-img read a raw file as qcow2 (oracle changed)"
expect_exit 1 "$VMCONV" convert -f qcow2 -O raw "$T/small.raw" "$T/x.raw"
expect_exit 1 "$VMCONV" convert -f nosuchformat -O raw "$T/small.raw" "$T/x.raw"
[ -e "$T/x.raw" ] && fail "a failed conversion left its target"

# -m: the number of worker threads.  The engine runs a reader, the workers
# and the writer (the main thread): -m N shows N + 2 tasks in /proc while
# it compresses.
head -c 128M /dev/urandom > "$T/big.raw"
for m in 1 3; do
	rm -f "$T/m.qcow2"
	"$VMCONV" convert -m $m -c -O qcow2 "$T/big.raw" "$T/m.qcow2" & pid=$!
	max=0
	while kill -0 $pid 2>/dev/null; do
		n=$(ls /proc/$pid/task 2>/dev/null | wc -l)
		[ "$n" -gt $max ] && max=$n
		sleep 0.02
	done
	wait $pid || fail "convert -m $m"
	echo "-m $m: at most $max tasks"
	[ $max -eq $((m + 2)) ] || fail "-m $m: $max tasks, expected $((m + 2))"
	qemu-img compare "$T/big.raw" "$T/m.qcow2" || fail "-m $m content"
done
for bad in 0 257 x ''; do
	"$VMCONV" convert -m "$bad" -O raw "$T/small.raw" "$T/x.raw" 2> "$T/m.err" &&
		fail "-m '$bad' accepted"
	grep -q 'number of threads' "$T/m.err" || fail "-m '$bad': $(cat "$T/m.err")"
done
rm -f "$T/big.raw" "$T/m.qcow2"

# --output=json byte counts against a source of known layout:
# 4 MiB random, 4 MiB of written zeros, 8 MiB never written
sum() {	# sum of the lengths of the runs FILTER selects in qemu-img map
	qemu-img map --output=json -f "$1" "$2" |
		jq "[.[] | select($3) | .length] | add // 0"
}
counts() {	# counts NAME SRC SRCFMT DATA ZERO HOLE WRITTEN
	local j="$T/$1.json"
	rm -f "$T/$1.qcow2"
	"$VMCONV" convert --output=json -O qcow2 "$2" "$T/$1.qcow2" > "$j" ||
		fail "$1: convert --output=json"
	cat "$j"
	for k in data:$4 zero:$5 hole:$6 written:$7; do
		[ "$(jq ".\"${k%%:*}-bytes\"" "$j")" = "${k#*:}" ] ||
			fail "$1: ${k%%:*}-bytes $(jq ".\"${k%%:*}-bytes\"" "$j"), expected ${k#*:}"
	done
	# the source's runs as qemu-img maps them
	[ "$(jq '."data-bytes"' "$j")" = "$(sum "$3" "$2" .data)" ] ||
		fail "$1: data-bytes is not qemu-img map's data"
	[ "$(jq '."hole-bytes"' "$j")" = "$(sum "$3" "$2" '.data | not')" ] ||
		fail "$1: hole-bytes is not qemu-img map's zero/unallocated"
	# what was written is what the target holds as data
	[ "$(jq '."written-bytes"' "$j")" = "$(sum qcow2 "$T/$1.qcow2" .data)" ] ||
		fail "$1: written-bytes is not the target's data in qemu-img map"
	qemu-img compare "$2" "$T/$1.qcow2" || fail "$1: content"
}
M=1048576
truncate -s 16M "$T/lay.raw"
head -c 4M /dev/urandom | dd of="$T/lay.raw" conv=notrunc status=none
dd if=/dev/zero of="$T/lay.raw" bs=1M seek=4 count=4 conv=notrunc status=none
counts raw "$T/lay.raw" raw $((8 * M)) $((4 * M)) $((8 * M)) $((4 * M))
# a qcow2 source: 1 MiB data, 1 MiB of allocated zeros, 1 MiB zero
# clusters, the rest unallocated
qemu-img create -q -f qcow2 "$T/lay.qcow2" 16M || fail create
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' -c 'write -P 0 4M 1M' \
	-c 'write -z 8M 1M' "$T/lay.qcow2" > /dev/null || fail qemu-io
counts qcow2 "$T/lay.qcow2" qcow2 $((2 * M)) $M $((14 * M)) $M
exit 0
