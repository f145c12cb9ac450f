# -o compression_level=N for compressed qcow2 (-c): zlib levels 1..12
# (libdeflate), zstd 1..22.  qemu-img must read every output as the source
# (compare) and find it consistent (check); higher levels must not make
# the output larger on compressible data; the default must be no larger
# than qemu-img -c's output; out-of-range levels are refused.
. "$(dirname "$0")/lib.sh"
requires qemu-img tar

# 24 MiB of binaries (compressible, realistic), 8 MiB random, holes
truncate -s 64M "$T/src.raw"
tar cf - /usr/lib/x86_64-linux-gnu 2>/dev/null | head -c 24M |
	dd of="$T/src.raw" bs=1M seek=2 conv=notrunc status=none
head -c 8M /dev/urandom |
	dd of="$T/src.raw" bs=1M seek=40 conv=notrunc status=none

size() { stat -c %s "$1"; }
ok() {	# ok FILE: qemu-img reads it as the source and finds no error
	run qemu-img check -q "$1" || fail "$1: qemu-img check"
	run qemu-img compare -q "$T/src.raw" "$1" || fail "$1 differs"
}

run qemu-img convert -c -O qcow2 "$T/src.raw" "$T/q.qcow2"
run "$VMCONV" convert -c -O qcow2 "$T/src.raw" "$T/def.qcow2" ||
	fail "default level"
ok "$T/def.qcow2"
echo "qemu-img -c: $(size "$T/q.qcow2"), vmconv default: $(size "$T/def.qcow2")"
[ "$(size "$T/def.qcow2")" -le "$(size "$T/q.qcow2")" ] ||
	fail "the default level is larger than qemu-img's output"

for l in 1 2 6 9 12; do
	run "$VMCONV" convert -c -o compression_level=$l -O qcow2 \
		"$T/src.raw" "$T/z$l.qcow2" || fail "level $l"
	ok "$T/z$l.qcow2"
	echo "zlib level $l: $(size "$T/z$l.qcow2")"
done
[ "$(size "$T/z12.qcow2")" -lt "$(size "$T/z1.qcow2")" ] ||
	fail "level 12 is not smaller than level 1"
for l in 1 12; do
	run "$VMCONV" convert -c -o compression_type=zstd,compression_level=$l \
		-O qcow2 "$T/src.raw" "$T/zs$l.qcow2" || fail "zstd level $l"
	ok "$T/zs$l.qcow2"
	echo "zstd level $l: $(size "$T/zs$l.qcow2")"
done
[ "$(size "$T/zs12.qcow2")" -lt "$(size "$T/zs1.qcow2")" ] ||
	fail "zstd level 12 is not smaller than level 1"

# out of range, or not a number: refused, nothing left behind
for bad in "compression_level=13" "compression_type=zstd,compression_level=23" \
	    "compression_level=x"; do
	expect_exit 1 "$VMCONV" convert -c -o "$bad" -O qcow2 "$T/src.raw" \
		"$T/bad.qcow2"
	[ ! -e "$T/bad.qcow2" ] || fail "$bad left an output"
done
"$VMCONV" convert -c -o compression_level=13 -O qcow2 "$T/src.raw" \
	"$T/bad.qcow2" 2>&1 | grep -q "compression_level must be 1 to 12" ||
	fail "no message naming the range"
echo "ok"
