# Compressed sources are inflated by the conversion engine's workers, on
# every core (qcow2 and vmdk declare VMC_THREAD_PARALLEL_READ; whole
# clusters and grains are inflated outside the image's lock).  What they
# write must be byte for byte what qemu-img reads: compressed qcow2 (zlib
# and zstd, 64 KiB and 2 MiB clusters) and stream VMDK made by qemu-img,
# a compressed cluster spanning the end of the disk, one worker against
# four; and a corrupt compressed cluster is a one-line error naming the
# file, the cluster and its offset, exit 1, no target left.
. "$(dirname "$0")/lib.sh"
requires qemu-img python3 tar cmp

# 40 MiB + 2.5 KiB: binaries (compressible), random data, holes, text in
# the last, partial cluster
SIZE=$((40 * 1048576 + 2560))
truncate -s $SIZE "$T/src.raw"
tar cf - /usr/lib/x86_64-linux-gnu 2>/dev/null | head -c 24M |
	dd of="$T/src.raw" bs=1M seek=1 conv=notrunc status=none
head -c 6M /dev/urandom |
	dd of="$T/src.raw" bs=1M seek=30 conv=notrunc status=none
yes "the last cluster spans the end of the disk" | head -c 70000 |
	dd of="$T/src.raw" bs=1 seek=$((SIZE - 70000)) conv=notrunc status=none

convert_both() {	# convert_both SRC: to raw with 1 and 4 workers, both
			# identical to the source
	run "$VMCONV" convert -q -m 1 -O raw "$1" "$T/one.raw" ||
		fail "$1: one worker"
	run "$VMCONV" convert -q -m 4 -O raw "$1" "$T/four.raw" ||
		fail "$1: four workers"
	run qemu-img compare -q -f raw -F raw "$T/src.raw" "$T/four.raw" ||
		fail "$1: four workers' output differs from the source"
	cmp "$T/one.raw" "$T/four.raw" || fail "$1: 1 and 4 workers differ"
	rm -f "$T/one.raw" "$T/four.raw"
}

# l2.py IMG last: exit 0 if the cluster holding the disk's last byte is
# compressed; l2.py IMG corrupt: the first compressed cluster the L2
# tables name gets an invalid deflate block type (0xff bytes); its
# offset is printed.
cat > "$T/l2.py" <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b")
h = f.read(104)
cbits = struct.unpack(">I", h[20:24])[0]
size = struct.unpack(">Q", h[24:32])[0]
l1_size, l1_off = struct.unpack(">IQ", h[36:48])
cs = 1 << cbits
shift = 62 - (cbits - 8)
f.seek(l1_off)
l1 = struct.unpack(">%dQ" % l1_size, f.read(8 * l1_size))
def entry(i):
    l2 = l1[i // (cs // 8)] & 0x00fffffffffffe00
    if not l2:
        return 0
    f.seek(l2 + 8 * (i % (cs // 8)))
    return struct.unpack(">Q", f.read(8))[0]
if sys.argv[2] == "last":
    sys.exit(0 if entry((size - 1) // cs) & (1 << 62) else 1)
for i in range((size + cs - 1) // cs):
    e = entry(i)
    if e & (1 << 62):
        coff = e & ((1 << shift) - 1)
        f.seek(coff)
        f.write(b"\xff" * 64)
        print("0x%x" % coff)
        sys.exit(0)
sys.exit("no compressed cluster")
EOF

for opt in cluster_size=64k cluster_size=2M \
	   compression_type=zstd,cluster_size=64k; do
	run qemu-img convert -c -f raw -O qcow2 -o "$opt" "$T/src.raw" \
		"$T/c.qcow2" || fail "qemu-img -c -o $opt"
	python3 "$T/l2.py" "$T/c.qcow2" last ||
		fail "$opt: the last, partial cluster is not compressed"
	convert_both "$T/c.qcow2"
	# and to qcow2, read back by qemu-img
	run "$VMCONV" convert -q -O qcow2 "$T/c.qcow2" "$T/p.qcow2" ||
		fail "$opt: to qcow2"
	run qemu-img compare -q "$T/src.raw" "$T/p.qcow2" ||
		fail "$opt: qcow2 output differs"
	rm -f "$T/p.qcow2"
done

run qemu-img convert -f raw -O vmdk -o subformat=streamOptimized \
	"$T/src.raw" "$T/s.vmdk" || fail "qemu-img stream vmdk"
convert_both "$T/s.vmdk"

# A corrupt compressed cluster
run qemu-img convert -c -f raw -O qcow2 "$T/src.raw" "$T/bad.qcow2"
coff=$(python3 "$T/l2.py" "$T/bad.qcow2" corrupt) ||
	fail "no compressed cluster to corrupt"
echo "corrupted the compressed cluster at $coff"
before=$(ls "$T" | sort)
for m in 1 4; do
	check_err 1 "bad.qcow2: compressed cluster at $coff .* does not decompress" \
		"$VMCONV" convert -q -m $m -O raw "$T/bad.qcow2" "$T/out.raw"
	[ ! -e "$T/out.raw" ] || fail "a failed conversion left its target"
	[ "$(ls "$T" | grep -v '^err$\|^out$' | sort)" = \
	  "$(echo "$before" | grep -v '^err$\|^out$')" ] ||
		fail "a failed conversion left a file behind: $(ls "$T")"
done
echo "ok"
