#!/bin/bash
# vmconv info --output=json shows what qemu-img info shows for qcow2:
# the same format-specific data and the same top-level qcow2 keys.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3
cd "$T"

same_info() {	# IMG
	qemu-img info --output=json "$1" > q.json || fail "qemu-img info $1"
	"$VMCONV" info --output=json "$1" > v.json || fail "vmconv info $1"
	python3 - "$1" <<'PY' || fail "info of $1 differs from qemu-img's"
import json, sys
q = json.load(open('q.json'))
v = json.load(open('v.json'))
keys = ['virtual-size', 'format', 'cluster-size', 'backing-filename',
        'backing-filename-format', 'full-backing-filename', 'dirty-flag',
        'format-specific']
bad = [k for k in keys if q.get(k) != v.get(k)]
qs = [(s['id'], s['name'], s['vm-state-size'], s['date-sec'],
       s['date-nsec'], s['vm-clock-sec'], s['vm-clock-nsec'])
      for s in q.get('snapshots', [])]
vs = [(s['id'], s['name'], s['vm-state-size'], s['date-sec'],
       s['date-nsec'], s['vm-clock-sec'], s['vm-clock-nsec'])
      for s in v.get('snapshots', [])]
if qs != vs:
    bad.append('snapshots')
for k in bad:
    print('%s: %s: qemu-img %r, vmconv %r' % (sys.argv[1], k, q.get(k), v.get(k)))
sys.exit(1 if bad else 0)
PY
}

run qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k v2.qcow2 10M
same_info v2.qcow2
run qemu-img create -q -f qcow2 -o lazy_refcounts=on,refcount_bits=8,compression_type=zstd z.qcow2 10M
same_info z.qcow2
run qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k -b z.qcow2 -F qcow2 e.qcow2
same_info e.qcow2
run qemu-img create -q -f qcow2 -o data_file=d.bin,data_file_raw=on d.qcow2 10M
same_info d.qcow2
run qemu-img create -q -f qcow2 -b v2.qcow2 -F qcow2 o.qcow2
run qemu-img snapshot -c first o.qcow2
run qemu-io -c 'write -P 1 0 1M' o.qcow2
run qemu-img snapshot -c second o.qcow2
same_info o.qcow2
run qemu-img create -q -f qcow2 bm.qcow2 64M
run qemu-img bitmap --add bm.qcow2 b0
run qemu-img bitmap --add -g 128k bm.qcow2 b1
run qemu-io -c 'write -P 2 8M 4M' bm.qcow2
same_info bm.qcow2
# Images vmconv writes describe themselves the same way to both.
run "$VMCONV" create -f qcow2 -o compat=1.1,cluster_size=16k,refcount_bits=64,lazy_refcounts=on,compression_type=zstd w.qcow2 5M
same_info w.qcow2
run "$VMCONV" create -f qcow2 -b v2.qcow2 -F qcow2 -o compat=0.10 wb.qcow2
same_info wb.qcow2
"$VMCONV" info o.qcow2 | grep -q 'Snapshot list' || fail "no snapshot list"
echo ok
