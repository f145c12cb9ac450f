# The one-shot form (vmconv SRC --to FMT) with -o, -c, -p and --no-inject:
# each option reaches the output as qemu-img reads it.  The calls not
# about injection say --no-inject (each inspection is a libguestfs launch:
# about a minute under TCG).
. "$(dirname "$0")/lib.sh"
requires qemu-img jq awk

# 24 MiB: 8 MiB of compressible text, 8 MiB random, 8 MiB hole
truncate -s 24M "$T/src.raw"
yes 'vmconv one-shot test line' | head -c 8M |
	dd of="$T/src.raw" conv=notrunc status=none
head -c 8M /dev/urandom | dd of="$T/src.raw" bs=1M seek=8 conv=notrunc status=none

# -o: target options
run "$VMCONV" "$T/src.raw" --to qcow2 --out "$T/o.qcow2" --no-inject -q \
	-o compat=0.10,cluster_size=4k || fail "-o"
qemu-img info --output=json "$T/o.qcow2" > "$T/i.json" || fail "qemu-img info"
jq -e '."cluster-size" == 4096 and ."format-specific".data.compat == "0.10"' \
	"$T/i.json" > /dev/null || { cat "$T/i.json"; fail "-o not applied"; }
qemu-img check "$T/o.qcow2" || fail "-o: check"
qemu-img compare "$T/src.raw" "$T/o.qcow2" || fail "-o: content"
run "$VMCONV" "$T/src.raw" --to vmdk --out "$T/o.vmdk" -q \
	-o subformat=streamOptimized || fail "-o subformat"
qemu-img info --output=json "$T/o.vmdk" |
	jq -e '."format-specific".data."create-type" == "streamOptimized"' \
	> /dev/null || fail "-o subformat=streamOptimized not applied"
qemu-img compare "$T/src.raw" "$T/o.vmdk" || fail "-o vmdk: content"
"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/bad.qcow2" --no-inject -o cluster_size=3k \
	2> "$T/e" && fail "-o cluster_size=3k accepted"
grep -q cluster_size "$T/e" || fail "-o error: $(cat "$T/e")"
[ -e "$T/bad.qcow2" ] && fail "a refused conversion left its target"

# -c: compressed clusters, as qemu-img check counts them
run "$VMCONV" "$T/src.raw" --to qcow2 --out "$T/c.qcow2" --no-inject -q -c || fail "-c"
qemu-img check --output=json "$T/c.qcow2" > "$T/c.json" || fail "-c: check"
cat "$T/c.json"
jq -e '."compressed-clusters" > 0' "$T/c.json" > /dev/null ||
	fail "-c wrote no compressed cluster"
[ "$(stat -c %s "$T/c.qcow2")" -lt $((12 * 1048576)) ] ||
	fail "-c: $(stat -c %s "$T/c.qcow2") bytes for 8 MiB of text + 8 MiB random"
qemu-img compare "$T/src.raw" "$T/c.qcow2" || fail "-c: content"
qemu-img check --output=json "$T/o.qcow2" |
	jq -e '(."compressed-clusters" // 0) == 0' > /dev/null ||
	fail "compressed clusters without -c"

# -p: qemu-img's records on stdout, then the summary line; without -p on
# a pipe, no records; -q drops both
"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/p.qcow2" --no-inject -p > "$T/p.out" 2> "$T/p.err" ||
	fail "-p"
cat "$T/p.err"
[ -s "$T/p.err" ] && fail "-p wrote to stderr"
awk 'BEGIN { RS = "\r" } /^    \([0-9]+\.[0-9][0-9]\/100%\)$/ { n++; v = substr($0, 6) + 0;
	if (v < last) bad = 1; last = v } END { print n, last; exit !(n >= 2 && !bad && last == 100) }' \
	"$T/p.out" || fail "-p records: $(od -c "$T/p.out" | head -5)"
head -c 15 "$T/p.out" | grep -q '^    (0.00/100%)' || fail "-p: the first record is not 0.00"
tr '\r' '\n' < "$T/p.out" | grep -q "src.raw (raw, 24 MiB) -> .*p.qcow2" ||
	fail "-p: no summary line after the records"
"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/n.qcow2" --no-inject > "$T/n.out" 2>&1 || fail "no -p"
grep -q '100%' "$T/n.out" && fail "records without -p on a pipe"
grep -q 'src.raw (raw' "$T/n.out" || fail "no summary without -p"
"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/q.qcow2" --no-inject -p -q > "$T/q.out" 2>&1 || fail "-p -q"
[ -s "$T/q.out" ] && fail "-q printed: $(head -c 200 "$T/q.out")"
"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/j.qcow2" --no-inject -p --output=json \
	> "$T/j.out" 2> "$T/j.err" || fail "-p --output=json"
jq -e '."virtual-size" == 25165824' "$T/j.out" > /dev/null || fail "-p spoiled the JSON"
grep -q '100.00/100%' "$T/j.err" || fail "-p --output=json: no records on stderr"

# --no-inject: the guest is left as it is, and the summary says it was
# asked for, not that injection is missing
"$VMCONV" "$T/src.raw" --to raw --out "$T/ni.raw" --no-inject > "$T/ni.out" ||
	fail "--no-inject"
cat "$T/ni.out"
grep -q 'driver injection is not available' "$T/ni.out" &&
	fail "--no-inject still reports injection as unavailable"
cmp "$T/src.raw" "$T/ni.raw" || fail "--no-inject changed the guest"
"$VMCONV" "$T/src.raw" --to raw --out "$T/ni2.raw" --no-inject --output=json \
	> "$T/ni.json" || fail "--no-inject --output=json"
[ "$(jq -r .injection "$T/ni.json")" = "not run: guest unchanged (--no-inject)" ] ||
	fail "injection: $(jq -r .injection "$T/ni.json")"
# injection is the default for KVM targets: a data disk is inspected, has
# nothing to inject, exit 0, the data unchanged
"$VMCONV" "$T/src.raw" --to raw --out "$T/i2.raw" --output=json > "$T/i.json" ||
	fail "migrate"
cmp "$T/src.raw" "$T/i2.raw" || fail "injection changed a data disk"
[ "$(jq -r .injection.status "$T/i.json")" = no-os ] ||
	fail "a data disk: $(jq -c .injection "$T/i.json")"
jq -r .injection.message "$T/i.json" |
	grep -qx 'no guest OS found: nothing to inject' || fail "message"
exit 0
