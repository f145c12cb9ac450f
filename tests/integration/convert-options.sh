# convert's qemu-img options: -S (sparse detection unit, -S 0 allocates
# everything), -r (rate limit), --salvage (unreadable sectors become
# zeros, reported with their offsets), -n (into an existing target, under
# a lock) and --target-is-zero; -t/-T cache modes checked.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3 flock
cd "$T"

alloc() { du -k "$1" | cut -f1; }

# 64 KiB units: the first 32 KiB zeros, the next 32 KiB data.
python3 - <<'PY'
with open('half.raw', 'wb') as f:
    for i in range(64):
        f.write(bytes(32768) + bytes([i + 1]) * 32768)
PY
run "$VMCONV" convert -O raw half.raw s4k.raw || fail "default -S"
run "$VMCONV" convert -S 64k -O raw half.raw s64k.raw || fail "-S 64k"
run "$VMCONV" convert -S 0 -O raw half.raw s0.raw || fail "-S 0"
for f in s4k s64k s0; do
	qemu-img compare half.raw $f.raw >/dev/null || fail "$f: content"
done
echo "allocated KiB: default $(alloc s4k.raw), -S 64k $(alloc s64k.raw), -S 0 $(alloc s0.raw)"
[ "$(alloc s4k.raw)" -le 2100 ] || fail "default -S left the zero halves allocated"
[ "$(alloc s64k.raw)" -ge 4096 ] || fail "-S 64k made 32 KiB runs sparse"
qemu-img create -f raw empty.raw 16M >/dev/null
run "$VMCONV" convert -S 0 -O qcow2 empty.raw e0.qcow2 || fail "-S 0 qcow2"
a=$(qemu-img check --output=json e0.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocated-clusters"])')
echo "-S 0 of an empty 16M disk into qcow2: $a clusters"
[ "$a" -ge 256 ] || fail "-S 0 did not allocate every cluster ($a)"
expect_exit 1 "$VMCONV" convert -S 1000 -O raw half.raw bad.raw

# -r: 8 MiB at 4 MiB/s takes about 2 s.
head -c 8M /dev/urandom > rnd.raw
t0=$(date +%s%N)
run "$VMCONV" convert -r 4M -O raw rnd.raw slow.raw || fail "-r"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "-r 4M for 8 MiB: $ms ms"
[ "$ms" -ge 1500 ] || fail "-r 4M copied 8 MiB in $ms ms"
expect_exit 1 "$VMCONV" convert -r 0 -O raw rnd.raw bad.raw
expect_exit 1 "$VMCONV" convert -t bogus -O raw rnd.raw bad.raw
run "$VMCONV" convert -t none -T none -O raw rnd.raw cache.raw || fail "-t none"

# --salvage: a compressed qcow2 whose last cluster does not inflate.
# Without --salvage the conversion fails; with it the cluster is written
# as zeros and reported with its offset, as qemu-img convert --salvage
# does (the same bytes).
qemu-img create -f raw src.raw 8M >/dev/null
qemu-io -f raw -c 'write -P 1 0 1M' src.raw >/dev/null
head -c 800K /dev/urandom | base64 -w 0 | head -c 1M |
	dd of=src.raw bs=1M seek=7 conv=notrunc status=none
qemu-img convert -c -f raw -O qcow2 src.raw cut.qcow2
python3 - cut.qcow2 $((0x7f0000)) <<'PY' || fail "damage"
import struct, sys
f = open(sys.argv[1], 'r+b')
h = f.read(104)
cb = struct.unpack('>I', h[20:24])[0]
f.seek(struct.unpack('>Q', h[40:48])[0])
l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
f.seek(l2 + 8 * (int(sys.argv[2]) >> cb))
e = struct.unpack('>Q', f.read(8))[0]
assert e & (1 << 62), 'not compressed'
f.seek((e & ((1 << (62 - (cb - 8))) - 1)) + 16)
f.write(b'\xff' * 64)
PY
expect_exit 1 "$VMCONV" convert -O raw cut.qcow2 nosalvage.raw
[ -e nosalvage.raw ] && fail "a failed conversion left its target"
"$VMCONV" convert --salvage -O raw cut.qcow2 salvaged.raw 2>salvage.err ||
	{ cat salvage.err; fail "--salvage"; }
cat salvage.err
grep -q '65536 bytes at offset 0x7f0000' salvage.err ||
	fail "--salvage did not report the offset"
qemu-img convert --salvage -f qcow2 -O raw cut.qcow2 qemu.raw 2>/dev/null ||
	fail "qemu-img --salvage"
qemu-img compare salvaged.raw qemu.raw || fail "--salvage content"

# -n: into an existing raw file and qcow2 image, locked while it runs.
qemu-img create -f raw vol.raw 8M >/dev/null
qemu-img create -f qcow2 -o cluster_size=32k vol.qcow2 12M >/dev/null
run "$VMCONV" convert -n -O raw src.raw vol.raw || fail "-n raw"
run "$VMCONV" convert -n src.raw vol.qcow2 || fail "-n qcow2 (probed)"
qemu-img compare src.raw vol.raw || fail "-n raw content"
qemu-img compare src.raw vol.qcow2 || fail "-n qcow2 content"
qemu-img check vol.qcow2 || fail "-n qcow2 check"
qemu-img info vol.qcow2 | grep -q 'cluster_size: 32768' || fail "-n kept the cluster size"
flock vol.raw sleep 5 & sleep 1
expect_exit 1 "$VMCONV" convert -n -O raw src.raw vol.raw
wait
expect_exit 1 "$VMCONV" convert -n -O raw src.raw missing.raw
expect_exit 1 "$VMCONV" convert -n -O raw -o preallocation=full src.raw vol.raw
qemu-img create -f raw small.raw 4M >/dev/null
expect_exit 1 "$VMCONV" convert -n -O raw src.raw small.raw
# --target-is-zero: zero runs are not written (the target must be zero).
qemu-img create -f raw z.raw 8M >/dev/null
run "$VMCONV" convert -n --target-is-zero -O raw src.raw z.raw || fail tiz
qemu-img compare src.raw z.raw || fail "--target-is-zero content"
expect_exit 1 "$VMCONV" convert --target-is-zero -O raw src.raw tz2.raw
# A qcow2 target with data past the source's end is refused, untouched.
qemu-img create -f qcow2 tail.qcow2 16M >/dev/null
qemu-io -c 'write -P 9 12M 64k' tail.qcow2 >/dev/null
sum=$(md5sum < tail.qcow2)
expect_exit 1 "$VMCONV" convert -n src.raw tail.qcow2
[ "$(md5sum < tail.qcow2)" = "$sum" ] || fail "a refused -n changed the target"
exit 0
