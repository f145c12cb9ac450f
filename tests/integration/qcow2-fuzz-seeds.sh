#!/bin/bash
# Seed corpus for the qcow2 fuzz target, made with qemu-img and qemu-io
# (every option qemu-img writes, metadata only) plus hand-damaged
# variants, in build/fuzz/corpus/fuzz-qcow2/.  Every seed must open or be
# refused cleanly by vmconv (no crash); when the fuzz target is built,
# it runs over the corpus once.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3

corpus=$VMCONV_TOP/build/fuzz/corpus/fuzz-qcow2
mkdir -p "$corpus"
cd "$T"
n=0
seed() {	# NAME OPTS [qemu-io commands...]
	local name=$1 opts=$2; shift 2
	qemu-img create -q -f qcow2 ${opts:+-o "$opts"} "$name" 4M ||
		fail "qemu-img create -o $opts"
	local args=()
	for c in "$@"; do args+=(-c "$c"); done
	[ ${#args[@]} -gt 0 ] && { qemu-io "${args[@]}" "$name" >/dev/null ||
		fail "qemu-io on $name"; }
	head -c 393216 "$name" > "$corpus/$name"
	n=$((n + 1))
}
w=('write -P 0x5a 0 64k' 'write -z 1M 64k' 'write -P 0x11 2M 8k')
seed v2 compat=0.10 "${w[@]}"
seed v3 compat=1.1 "${w[@]}"
seed c512 cluster_size=512 "${w[@]}"
seed c4k-rb1 cluster_size=4k,refcount_bits=1 "${w[@]}"
seed rb64 refcount_bits=64 "${w[@]}"
seed rb2 refcount_bits=2,cluster_size=1k "${w[@]}"
seed lazy lazy_refcounts=on "${w[@]}"
seed ext cluster_size=64k,extended_l2=on 'write -P 1 4k 4k' 'write -z 64k 8k'
seed meta preallocation=metadata,cluster_size=256k
seed snap "" 'write -P 3 0 64k'
# the snapshot is taken in the whole image, then cut like the others
qemu-img snapshot -c s1 snap || fail "qemu-img snapshot"
qemu-img snapshot -l snap | grep -q ' s1 ' || fail "no snapshot s1"
head -c 393216 snap > "$corpus/snap"
head -c 1M /dev/urandom > r.raw
for t in zlib zstd; do
	qemu-img convert -c -O qcow2 -o compression_type=$t,cluster_size=4k \
		r.raw "$corpus/comp-$t" || fail "compressed seed"
	python3 -c "import sys; sys.stdout.write('hello ' * 100000)" > t.raw
	qemu-img convert -c -O qcow2 -o compression_type=$t,cluster_size=4k \
		t.raw "$corpus/text-$t" || fail "compressed seed"
	n=$((n + 2))
done
qemu-img create -q -f qcow2 -b v3 -F qcow2 "$corpus/overlay" 4M
qemu-img create -q -f qcow2 -o data_file=df.bin "$corpus/datafile" 4M
n=$((n + 2))
# Damaged variants of a small image: every header field in turn.
python3 - "$corpus" <<'PY'
import os, struct, sys
d = sys.argv[1]
base = open(os.path.join(d, 'v3'), 'rb').read()
fields = [(4, '>I', 1), (20, '>I', 40), (24, '>Q', 1 << 61),
          (36, '>I', 0xffffffff), (40, '>Q', 0x7fffffff0000),
          (48, '>Q', 0), (56, '>I', 0x10000), (60, '>I', 70000),
          (64, '>Q', 0x30000), (72, '>Q', 1 << 9), (96, '>I', 7),
          (100, '>I', 0x20000), (8, '>Q', 0x100), (16, '>I', 5000)]
for off, fmt, val in fields:
    b = bytearray(base)
    struct.pack_into(fmt, b, off, val)
    open(os.path.join(d, 'bad-%d' % off), 'wb').write(b)
PY
n=$((n + 14))
for s in "$corpus"/*; do
	"$VMCONV" info -f qcow2 "$s" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "vmconv info crashed on seed $(basename "$s") ($rc)"
	"$VMCONV" check -f qcow2 "$s" >/dev/null 2>&1
	rc=$?
	[ $rc -le 3 ] || fail "vmconv check crashed on seed $(basename "$s") ($rc)"
done
echo "$n seeds in $corpus"
fz=$VMCONV_TOP/build/fuzz/fuzz-qcow2
if [ -x "$fz" ]; then
	run "$fz" -runs=0 "$corpus" || fail "fuzz-qcow2 fails on its seeds"
fi
exit 0
