#!/bin/bash
# Images vmconv writes pass qemu-img check clean and qemu-img compare
# identical to the source, for every create option; vmconv's own check
# agrees.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3 jq

cd "$T"
python3 - <<'PY'
import os, random
random.seed(11)
with open('src.raw', 'wb') as f:
    f.truncate(5 * 1024 * 1024 + 3 * 512)
    for _ in range(30):
        f.seek(random.randrange(0, 5 * 1024 * 1024))
        f.write(os.urandom(random.randrange(1, 150000)))
    f.seek(2 * 1024 * 1024)
    f.write(b'\0' * 200000)
    f.seek(3 * 1024 * 1024)
    f.write(b'compressible' * 30000)
PY

# convert ARGS... SRC DST: a fresh DST (an older one of the same content
# must not pass for this one), and the conversion must succeed
convert() {
	local dst=${!#}
	rm -f "$dst"
	run "$VMCONV" convert "$@" || fail "vmconv convert $* exited $?"
	[ -f "$dst" ] || fail "vmconv convert $* wrote no $dst"
}

verify() {	# IMG SRC
	qemu-img check "$1" || fail "qemu-img check $1 is not clean"
	qemu-img compare "$2" "$1" || fail "qemu-img compare $2 $1 differs"
	"$VMCONV" check "$1" >/dev/null || fail "vmconv check $1 is not clean"
	"$VMCONV" compare "$2" "$1" >/dev/null || fail "vmconv compare $1"
}

opts=(
	"" compat=0.10 compat=1.1
	cluster_size=512 cluster_size=1k cluster_size=4k cluster_size=1M
	cluster_size=2M cluster_size=512,compat=0.10 cluster_size=2M,compat=0.10
	refcount_bits=1 refcount_bits=2 refcount_bits=4 refcount_bits=8
	refcount_bits=32 refcount_bits=64 cluster_size=512,refcount_bits=1
	lazy_refcounts=on compression_type=zstd compression_type=zlib
	preallocation=off preallocation=metadata preallocation=falloc
	preallocation=full cluster_size=4k,preallocation=metadata,compat=0.10
)
for o in "${opts[@]}"; do
	convert -O qcow2 ${o:+-o "$o"} src.raw out.qcow2
	verify out.qcow2 src.raw
	case $o in *preallocation=*|*refcount_bits=1*) ;; *)
		convert -c -O qcow2 ${o:+-o "$o"} src.raw outc.qcow2
		verify outc.qcow2 src.raw
		c=$(qemu-img check --output=json outc.qcow2 |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["compressed-clusters"])')
		[ "${c:-0}" -gt 0 ] || fail "-c -o $o wrote no compressed clusters"
	esac
done
convert -c -O qcow2 -o refcount_bits=1 src.raw outc.qcow2
verify outc.qcow2 src.raw

# Edge sizes: empty, not a multiple of 512, smaller than a cluster.
for sz in 0 1000 70000; do
	head -c $sz /dev/urandom > e.raw
	for o in cluster_size=2M cluster_size=512,compat=0.10; do
		convert -O qcow2 -o $o e.raw e.qcow2
		verify e.qcow2 e.raw
		convert -c -O qcow2 -o $o e.raw e.qcow2
		verify e.qcow2 e.raw
	done
done

# Options as qemu-img names them show up in qemu-img info.
convert -O qcow2 -o compat=1.1,cluster_size=4k,refcount_bits=32,lazy_refcounts=on,compression_type=zstd src.raw o.qcow2
qemu-img info --output=json o.qcow2 > info.json || fail "qemu-img info"
for want in '"cluster-size": 4096' '"refcount-bits": 32' \
	    '"lazy-refcounts": true' '"compression-type": "zstd"' \
	    '"compat": "1.1"'; do
	grep -q "$want" info.json || fail "qemu-img info lacks $want"
done

# Backing files (-B/-F): the new image reads through to its backing file.
run qemu-img convert -f raw -O qcow2 src.raw base.qcow2
run qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
run qemu-io -c 'write -P 0x5a 64k 200k' -c 'write -z 1M 300k' \
	-c 'discard 3M 64k' top.qcow2
for o in compat=1.1 compat=0.10 cluster_size=2M cluster_size=512; do
	convert -O qcow2 -o $o -B base.qcow2 -F qcow2 top.qcow2 ov.qcow2
	qemu-img info ov.qcow2 | grep -q 'backing file: base.qcow2' ||
		fail "ov.qcow2 does not name its backing file"
	verify ov.qcow2 top.qcow2
done
# vmconv create with a backing file, written to by qemu-io afterwards.
run "$VMCONV" create -f qcow2 -b base.qcow2 -F qcow2 c.qcow2 ||
	fail "create -b"
qemu-img check c.qcow2 || fail "created overlay not clean"
qemu-img compare base.qcow2 c.qcow2 || fail "created overlay differs"
run qemu-io -c 'write -P 0x11 0 64k' c.qcow2
qemu-img check c.qcow2 || fail "qemu-io write broke the created image"
for o in compat=0.10 cluster_size=512,preallocation=metadata preallocation=full refcount_bits=64; do
	rm -f e.qcow2
	run "$VMCONV" create -f qcow2 -o $o e.qcow2 3M || fail "create -o $o"
	qemu-img check e.qcow2 || fail "create -o $o not clean"
	run qemu-io -c 'write -P 0x12 1M 128k' e.qcow2
	qemu-img check e.qcow2 || fail "qemu-io write after create -o $o"
	rm -f e.qcow2
done

# Bad options are refused by name; nothing is left behind.
expect_exit 1 "$VMCONV" convert -O qcow2 -o cluster_size=3k src.raw bad.qcow2
expect_exit 1 "$VMCONV" convert -O qcow2 -o compat=0.10,compression_type=zstd src.raw bad.qcow2
expect_exit 1 "$VMCONV" convert -O qcow2 -o nosuch=1 src.raw bad.qcow2
ls -A | grep -q 'bad.qcow2' && fail "a refused conversion left a file"
# Data that reaches the disk's last cluster allocates no clusters past
# the end (the run once took the rest of the L2 table's range: a 256 MiB
# image of 1 MiB of data was 257 MiB).
qemu-img create -f raw end.raw 300M >/dev/null
qemu-io -f raw -c 'write -P 7 299M 1M' end.raw >/dev/null
run "$VMCONV" convert -O qcow2 end.raw end.qcow2 || fail "convert end"
qemu-img compare end.raw end.qcow2 || fail "end: content"
a=$(qemu-img check --output=json end.qcow2 | jq '."allocated-clusters"')
sz=$(stat -c %s end.qcow2)
echo "end: $a clusters allocated, file $sz bytes"
[ "$a" -eq 16 ] && [ "$sz" -lt 4194304 ] || fail "end: $a clusters, $sz bytes"
echo ok
