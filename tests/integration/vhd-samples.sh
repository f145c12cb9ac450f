#!/bin/bash
# Real VHDs (see ../shared/samples/README.md): Windows' fixed and dynamic
# disks (dissect), qemu-made and diskpart-made ones (dfvfs) including two
# whose footer checksums are wrong, which must be refused clearly.
. "$(dirname "$0")/lib.sh"
requires qemu-img cmp od
S=$(samples) || skip "no samples folder"
for f in dissect/fixed.vhd dissect/dynamic.vhd dfvfs/ext2.vhd \
	 dfvfs/image.vhd dfvfs/image-differential.vhd \
	 dfvfs/fat-differential.vhd; do
	[ -f "$S/$f.gz" ] || skip "$S/$f.gz is absent"
	gzip -dc "$S/$f.gz" >"$T/$(basename "$f")"
done

for f in fixed dynamic ext2; do
	run "$VMCONV" convert -O raw "$T/$f.vhd" "$T/$f.raw" ||
		fail "cannot read $f.vhd"
	qemu-img convert -f vpc -O raw "$T/$f.vhd" "$T/$f.q.raw"
	cmp "$T/$f.raw" "$T/$f.q.raw" || fail "$f.vhd differs from qemu-img"
done
for f in fixed dynamic; do
	[ "$(stat -c %s "$T/$f.raw")" = 10485760 ] || fail "$f: size"
	[ "$(od -An -tx1 -j510 -N2 "$T/$f.raw" | tr -d ' ')" = 55aa ] ||
		fail "$f: no MBR in LBA 0"
	[ "$(od -An -v -tx1 -j$((0x200000)) -N512 "$T/$f.raw" |
	      tr -d ' \n' | tr -d f)" = "" ] || fail "$f: 0x200000 not 0xff"
	"$VMCONV" info "$T/$f.vhd" | grep -q "subformat: $f" ||
		fail "$f: info"
done
for f in fixed dynamic ext2; do
	run "$VMCONV" check "$T/$f.vhd" || fail "$f.vhd: check"
done
# the fixed disk is found by its footer, not by its first bytes
"$VMCONV" info "$T/fixed.vhd" | grep -q 'file format: vhd' ||
	fail "fixed VHD not probed"

for f in image image-differential; do
	"$VMCONV" info "$T/$f.vhd" >"$T/out" 2>&1 && fail "$f accepted"
	cat "$T/out"
	grep -q "footer checksum mismatch" "$T/out" || fail "$f: unclear"
done

"$VMCONV" info "$T/fat-differential.vhd" |
	grep -q "subformat: differencing" || fail "info of a differencing disk"
"$VMCONV" info "$T/fat-differential.vhd" |
	grep -q "backing file: .*fat-parent.vhd" || fail "backing file"
"$VMCONV" convert -O raw "$T/fat-differential.vhd" "$T/fd.raw" \
	>"$T/out" 2>&1 && fail "missing parent accepted"
cat "$T/out"
grep -q "parent disk not found" "$T/out" || fail "unclear"
grep -q "tried: $T/fat-parent.vhd" "$T/out" || fail "path not named"
echo ok
