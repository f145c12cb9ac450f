#!/bin/bash
# Third-party qcow2 samples (dissect.hypervisor, dfvfs) are read as
# qemu-img reads them; basic*.qcow2 hold MiB i filled with byte i.
. "$(dirname "$0")/lib.sh"
requires qemu-img python3 cmp
S=$(samples)
[ -d "$S/dissect" ] || skip "no dissect samples"
cd "$T"
for f in "$S"/dissect/*.qcow2.gz "$S"/dissect/data-file.bin.gz \
	 "$S"/dfvfs/*.qcow2.gz; do
	[ -f "$f" ] && gzip -dc "$f" > "$(basename "$f" .gz)"
done
for img in *.qcow2; do
	run "$VMCONV" convert -O raw "$img" v.raw || fail "cannot read $img"
	qemu-img compare -q -f raw -F qcow2 v.raw "$img" ||
		fail "$img differs from qemu-img's reading"
	"$VMCONV" check "$img" >/dev/null
	vc=$?
	qemu-img check "$img" >/dev/null 2>&1
	qc=$?
	[ $vc = $qc ] || fail "$img: check exit $vc, qemu-img $qc"
	rm -f v.raw q.raw
done
for img in basic.qcow2 basic-zstd.qcow2; do
	[ -f $img ] || continue
	"$VMCONV" convert -O raw $img b.raw || fail "$img"
	python3 - <<'PY' || fail "$img content is not MiB i = byte i"
import sys
with open('b.raw', 'rb') as f:
    for i in range(255):
        if f.read(1 << 20) != bytes([i]) * (1 << 20):
            sys.exit('MiB %d wrong' % i)
PY
	rm -f b.raw
done
if [ -f snapshot.qcow2 ]; then
	"$VMCONV" info --output=json snapshot.qcow2 > i.json
	n=$(python3 -c 'import json; print(len(json.load(open("i.json"))["snapshots"]))')
	[ "$n" -ge 1 ] || fail "no snapshots listed"
	for id in $(python3 -c 'import json; print(" ".join(s["id"] for s in json.load(open("i.json"))["snapshots"]))'); do
		run "$VMCONV" convert -l "$id" -O raw snapshot.qcow2 v.raw
		qemu-img convert -l "$id" -O raw snapshot.qcow2 q.raw
		cmp v.raw q.raw || fail "snapshot $id differs"
		rm -f v.raw q.raw
	done
fi
if [ -f backing-chain-1.qcow2 ]; then
	"$VMCONV" info backing-chain-1.qcow2 | grep -q 'backing file: backing-chain-2.qcow2' ||
		fail "backing chain not shown"
	mv backing-chain-3.qcow2 gone.qcow2
	expect_exit 1 "$VMCONV" convert -O raw backing-chain-1.qcow2 x.raw
	"$VMCONV" convert -O raw backing-chain-1.qcow2 x.raw 2>&1 |
		grep -q 'backing-chain-3.qcow2' || fail "missing backing not named"
fi
echo ok
