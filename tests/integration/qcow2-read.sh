#!/bin/bash
# qcow2 images written by qemu-img / qemu-io with every option are read
# bit-exact by vmconv: its raw conversion equals qemu-img's.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3 cmp

cd "$T"
python3 - <<'PY'
import os, random
random.seed(7)
with open('src.raw', 'wb') as f:
    f.truncate(6 * 1024 * 1024 + 4608)
    for _ in range(40):
        f.seek(random.randrange(0, 6 * 1024 * 1024))
        f.write(os.urandom(random.randrange(1, 200000)))
    f.seek(3 * 1024 * 1024)
    f.write(b'\0' * 300000)
    f.seek(4 * 1024 * 1024)
    f.write(b'pattern!' * 40000)
PY

same_as_qemu() {	# IMG [extra qemu-img convert args]
	local img=$1; shift
	"$VMCONV" convert "$@" -O raw "$img" v.raw || fail "vmconv cannot read $img"
	qemu-img convert "$@" -O raw "$img" q.raw || fail "qemu-img cannot read $img"
	cmp v.raw q.raw || fail "$img ($*) differs from qemu-img's reading"
	rm -f v.raw q.raw
}

n=0
for cs in 512 1k 4k 64k 1M 2M; do
	for compat in 0.10 1.1; do
		run qemu-img convert -f raw -O qcow2 \
			-o cluster_size=$cs,compat=$compat src.raw a.qcow2
		same_as_qemu a.qcow2
		run qemu-img convert -c -f raw -O qcow2 \
			-o cluster_size=$cs,compat=$compat src.raw c.qcow2
		same_as_qemu c.qcow2
		n=$((n + 2))
	done
done
for rb in 1 2 4 8 16 32 64; do
	run qemu-img convert -f raw -O qcow2 -o refcount_bits=$rb src.raw r.qcow2
	same_as_qemu r.qcow2
	n=$((n + 1))
done
for cs in 4k 64k 2M; do
	run qemu-img convert -c -f raw -O qcow2 \
		-o compression_type=zstd,cluster_size=$cs src.raw z.qcow2
	same_as_qemu z.qcow2
	"$VMCONV" info z.qcow2 | grep -q 'compression-type: zstd' ||
		fail "info does not show zstd"
done
for p in metadata falloc full; do
	run qemu-img convert -f raw -O qcow2 -o preallocation=$p src.raw p.qcow2
	same_as_qemu p.qcow2
done
run qemu-img convert -f raw -O qcow2 -o lazy_refcounts=on src.raw l.qcow2
same_as_qemu l.qcow2

# Zero clusters (v3), discards, and a backing chain three deep, written
# by qemu-io into each overlay.
run qemu-img convert -f raw -O qcow2 src.raw base.qcow2
run qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
run qemu-io -c 'write -P 0xa1 64k 128k' -c 'write -z 1M 256k' \
	-c 'discard 2M 64k' -c 'write -P 0xa2 6M 4k' mid.qcow2
run qemu-img create -q -f qcow2 -o cluster_size=4k -b mid.qcow2 -F qcow2 \
	top.qcow2
run qemu-io -c 'write -P 0xb1 100k 8k' -c 'write -z 1100k 4k' \
	-c 'write -z 5M 64k' top.qcow2
same_as_qemu top.qcow2
# compare reads the chain as qemu-img does: equal to qemu's export of it,
# and different from its backing file at the first byte top.qcow2 wrote
qemu-img convert -O raw top.qcow2 top.raw || fail "qemu-img top.qcow2"
expect_exit 0 "$VMCONV" compare top.qcow2 top.raw
out=$("$VMCONV" compare top.qcow2 mid.qcow2); rc=$?
[ $rc -eq 1 ] || fail "compare of top.qcow2 and its backing file: exit $rc"
qout=$(qemu-img compare top.qcow2 mid.qcow2)
[ "$out" = "Content mismatch at offset 102400!" ] && [ "$out" = "$qout" ] ||
	fail "compare says '$out', qemu-img compare '$qout'"
"$VMCONV" info --output=json top.qcow2 | grep -q '"backing-filename": "mid.qcow2"' ||
	fail "info does not name the backing file"
"$VMCONV" info --output=json top.qcow2 |
	grep -q '"backing-filename-format": "qcow2"' ||
	fail "info does not name the backing format"

# A v2 chain (no zero clusters) with a raw backing file.
run qemu-img create -q -f qcow2 -o compat=0.10 -b src.raw -F raw v2.qcow2
run qemu-io -c 'write -P 0x55 32k 64k' -c 'write -z 2M 64k' v2.qcow2
same_as_qemu v2.qcow2

# Extended L2 entries: subclusters allocated, zeroed and left to the
# backing file.
run qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k \
	-b base.qcow2 -F qcow2 ext.qcow2
run qemu-io -c 'write -P 0x22 4k 4k' -c 'write -z 64k 8k' \
	-c 'write -P 0x33 130k 2k' -c 'write -z -u 1M 64k' \
	-c 'discard 2M 64k' -c 'write -z 3M 2k' ext.qcow2
same_as_qemu ext.qcow2
"$VMCONV" info ext.qcow2 | grep -q 'extended-l2: true' ||
	fail "info does not show extended L2"
run qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=2M e2.qcow2 6M
run qemu-io -c 'write -P 0x44 0 100k' -c 'write -z 3M 1M' e2.qcow2
same_as_qemu e2.qcow2

# External data file, raw and not.
for raw in on off; do
	run qemu-img create -q -f qcow2 -o data_file=data-$raw.bin,data_file_raw=$raw \
		df-$raw.qcow2 6M
	run qemu-io -c 'write -P 0x66 0 64k' -c 'write -P 0x67 1M 1M' \
		-c 'write -z 1M 64k' df-$raw.qcow2
	same_as_qemu df-$raw.qcow2
	"$VMCONV" info --output=json df-$raw.qcow2 |
		grep -q "\"data-file\": \"data-$raw.bin\"" ||
		fail "info does not name the data file"
done

# Internal snapshots: list them, convert each state with -l.
run qemu-img convert -f raw -O qcow2 src.raw snap.qcow2
run qemu-img snapshot -c first snap.qcow2
run qemu-io -c 'write -P 0x77 0 1M' -c 'write -z 4M 1M' snap.qcow2
run qemu-img snapshot -c second snap.qcow2
run qemu-io -c 'write -P 0x78 512k 1M' snap.qcow2
same_as_qemu snap.qcow2
same_as_qemu snap.qcow2 -l first
same_as_qemu snap.qcow2 -l second
same_as_qemu snap.qcow2 -l 1
same_as_qemu snap.qcow2 -l snapshot.id=2
same_as_qemu snap.qcow2 -l snapshot.name=first
"$VMCONV" info --output=json snap.qcow2 | grep -q '"name": "second"' ||
	fail "info does not list the snapshots"
expect_exit 1 "$VMCONV" convert -l nosuch -O raw snap.qcow2 x.raw
[ -e x.raw ] && fail "a failed conversion left x.raw"

# Dirty (lazy refcounts) images open read-only, as with qemu.
run qemu-img convert -f raw -O qcow2 -o lazy_refcounts=on src.raw dirty.qcow2
python3 -c "
import struct
f = open('dirty.qcow2', 'r+b'); f.seek(72)
v = struct.unpack('>Q', f.read(8))[0] | 1
f.seek(72); f.write(struct.pack('>Q', v))"
same_as_qemu dirty.qcow2
"$VMCONV" info --output=json dirty.qcow2 | grep -q '"dirty-flag": true' ||
	fail "info does not show the dirty flag"
# The corrupt bit: read-only opens work, as with qemu.
cp l.qcow2 corrupt.qcow2
python3 -c "
import struct
f = open('corrupt.qcow2', 'r+b'); f.seek(72)
v = struct.unpack('>Q', f.read(8))[0] | 2
f.seek(72); f.write(struct.pack('>Q', v))"
same_as_qemu corrupt.qcow2
"$VMCONV" info corrupt.qcow2 | grep -q 'corrupt: true' ||
	fail "info does not show the corrupt bit"

# A file that ends inside its last data cluster reads as zeros after the
# end, as with qemu; a cluster that starts past the end is an error.
run qemu-img create -q -f qcow2 tr.qcow2 4M
run qemu-io -c 'write -P 5 0 1M' -c 'write -P 6 3M 64k' tr.qcow2
truncate -s $(( $(stat -c %s tr.qcow2) - 40000 )) tr.qcow2
same_as_qemu tr.qcow2
truncate -s $(( $(stat -c %s tr.qcow2) - 30000 )) tr.qcow2
out=$("$VMCONV" convert -O raw tr.qcow2 x.raw 2>&1) &&
	fail "a cluster past the end of the file was read"
echo "$out" | grep -q 'past the end' || fail "unclear error: $out"

# A missing backing file and a loop in the chain are errors naming them.
run qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 -u orphan.qcow2 1M
out=$("$VMCONV" convert -O raw orphan.qcow2 x.raw 2>&1) &&
	fail "an image with a missing backing file was read"
echo "$out" | grep -q 'gone.qcow2' || fail "missing backing not named: $out"
run qemu-img create -q -f qcow2 loop-a.qcow2 1M
run qemu-img create -q -f qcow2 -b loop-a.qcow2 -F qcow2 loop-b.qcow2
run qemu-img rebase -u -b loop-b.qcow2 -F qcow2 loop-a.qcow2
out=$("$VMCONV" map loop-b.qcow2 2>&1) && fail "a backing loop was opened"
echo "$out" | grep -q 'loop' || fail "loop not reported: $out"
[ -e x.raw ] && fail "a failed conversion left x.raw"
echo "all $n+ variants read bit-exact"
