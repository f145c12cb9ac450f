# -o compression_level=N for compressed qcow2 (-c): zlib levels 1..12
# (1: ISA-L's igzip in qemu's 4 KiB window, checked below; 2..12:
# libdeflate), zstd 1..22.  qemu-img must read every output as the source
# (compare) and find it consistent (check); higher levels must not make
# the output larger on compressible data; the default must be no larger
# than qemu-img -c's output; the default's 32 KiB distances in 2 MiB
# clusters are read by qemu-img convert -O raw; out-of-range levels are
# refused.
. "$(dirname "$0")/lib.sh"
requires qemu-img tar python3

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

# Level 1 is ISA-L's igzip with its window cut to 4 KiB (hist_bits 12),
# qemu's windowBits -12: every cluster inflates with a real 4 KiB window
# (zlib fed 512 output bytes at a time, so that every match comes from
# the window, never from the output buffer).  qemu-img's own output
# passes the same check (the control).
cat > "$T/win12.py" <<'EOF'
import struct, sys, zlib
f = open(sys.argv[1], "rb")
h = f.read(104)
cbits = struct.unpack(">I", h[20:24])[0]
l1_size, l1_off = struct.unpack(">IQ", h[36:48])
cs = 1 << cbits
shift = 62 - (cbits - 8)
f.seek(l1_off)
n = bad = 0
for l1e in struct.unpack(">%dQ" % l1_size, f.read(8 * l1_size)):
    if not l1e & 0x00fffffffffffe00:
        continue
    f.seek(l1e & 0x00fffffffffffe00)
    for e in struct.unpack(">%dQ" % (cs // 8), f.read(cs)):
        if not e & (1 << 62):
            continue
        n += 1
        coff = e & ((1 << shift) - 1)
        nb = ((e >> shift) & ((1 << (cbits - 8)) - 1)) + 1
        pos = f.tell()
        f.seek(coff)
        data = f.read(nb * 512 - (coff & 511))
        f.seek(pos)
        d = zlib.decompressobj(-12)
        out = 0
        try:
            while out < cs:
                chunk = d.decompress(data, 512)
                data = d.unconsumed_tail
                if not chunk:
                    break
                out += len(chunk)
        except zlib.error as x:
            out = -1
        if out != cs:
            bad += 1
print("%d compressed clusters, %d not inflatable in a 4 KiB window" %
      (n, bad))
if sys.argv[2:] == ["far"]:	# the opposite: some clusters need more
    sys.exit(0 if bad and n else 1)
sys.exit(1 if bad or not n else 0)
EOF
for f in q z1; do
	python3 "$T/win12.py" "$T/$f.qcow2" ||
		fail "$f.qcow2: clusters that need more than a 4 KiB window"
done
# The default level (libdeflate) matches up to 32 KiB back, past qemu's
# 4 KiB window: qemu inflates a whole cluster into one output buffer, where
# zlib checks a distance against the window only for bytes not in that
# buffer, so qemu-img reads it.  Proven here where such distances are most
# likely, 2 MiB clusters: far distances present (the 512-byte-at-a-time
# inflate above fails on them), qemu-img convert -O raw gives the source
# byte for byte, and qemu-img check finds the image clean.
run "$VMCONV" convert -c -o cluster_size=2M -O qcow2 "$T/src.raw" \
	"$T/d2m.qcow2" || fail "default level, 2 MiB clusters"
python3 "$T/win12.py" "$T/d2m.qcow2" far ||
	fail "d2m.qcow2: no distance past 4 KiB: the check below proves nothing"
run qemu-img check -q "$T/d2m.qcow2" || fail "d2m.qcow2: qemu-img check"
run qemu-img convert -O raw "$T/d2m.qcow2" "$T/d2m.raw" ||
	fail "d2m.qcow2: qemu-img convert -O raw"
cmp "$T/src.raw" "$T/d2m.raw" || fail "d2m.qcow2: qemu-img reads other data"
rm -f "$T/d2m.raw"
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
