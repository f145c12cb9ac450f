#!/bin/bash
# Real VHDX files from Windows 10 and Hyper-V (dissect.hypervisor test
# data; see ../shared/samples/README.md): read right, with qemu-img as the
# second reader, and a differencing disk whose parent is absent gives a
# clear error naming the paths tried.
. "$(dirname "$0")/lib.sh"
requires qemu-img cmp od
S=$(samples) || skip "no samples folder"
S=$S/dissect
for f in fixed.vhdx dynamic.vhdx differencing.avhdx; do
	[ -f "$S/$f.gz" ] || skip "$S/$f.gz is absent"
	gzip -dc "$S/$f.gz" >"$T/$f"
done

for f in fixed dynamic; do
	run "$VMCONV" convert -O raw "$T/$f.vhdx" "$T/$f.raw" ||
		fail "cannot read $f.vhdx"
	qemu-img convert -f vhdx -O raw "$T/$f.vhdx" "$T/$f.q.raw"
	cmp "$T/$f.raw" "$T/$f.q.raw" || fail "$f.vhdx: differs from qemu-img"
	[ "$(stat -c %s "$T/$f.raw")" = 10485760 ] || fail "$f: size"
	# LBA 0 is the Windows MBR (boot signature), 0x200000 holds 0xff
	[ "$(od -An -tx1 -j510 -N2 "$T/$f.raw" | tr -d ' ')" = 55aa ] ||
		fail "$f: no MBR signature in LBA 0"
	[ "$(od -An -v -tx1 -j$((0x200000)) -N512 "$T/$f.raw" |
	      tr -d ' \n' | tr -d f)" = "" ] || fail "$f: 0x200000 is not 0xff"
	"$VMCONV" info --output=json "$T/$f.vhdx" >"$T/$f.json" || fail info
	cat "$T/$f.json"
	grep -q "\"subformat\": \"$f\"" "$T/$f.json" || fail "$f: subformat"
	grep -q '"creator": "Microsoft Windows 10.0.18363.0"' "$T/$f.json" ||
		fail "$f: creator"
done
grep -q '"block-size": 33554432' "$T/dynamic.json" || fail "32 MiB blocks"
for f in fixed dynamic; do
	run "$VMCONV" check "$T/$f.vhdx" || fail "$f.vhdx: check"
done
grep -q '"chunk-ratio": 128' "$T/dynamic.json" || fail "chunk ratio 128"
grep -q '"block-size": 2097152' "$T/fixed.json" || fail "2 MiB blocks"
cmp "$T/fixed.raw" "$T/dynamic.raw" && echo "(fixed and dynamic hold the same)"

# info does not need the parent (as qemu-img info), and shows the locator
"$VMCONV" info --output=json "$T/differencing.avhdx" >"$T/diff.json" ||
	fail "info differencing"
cat "$T/diff.json"
grep -q '"subformat": "differencing"' "$T/diff.json" || fail "subformat"
grep -q '"relative-path": ".\\\\Generation 1_49C4BAF3' "$T/diff.json" ||
	fail "relative path"
grep -q '"virtual-size": 8589934592' "$T/diff.json" || fail "8 GiB"
grep -q '"backing-filename": ".\\\\Generation 1_' "$T/diff.json" ||
	fail "backing-filename"

# Reading needs it, and it is not included: clear error, paths named
"$VMCONV" convert -O raw "$T/differencing.avhdx" "$T/d.raw" \
	>"$T/out" 2>&1 && fail "no error"
cat "$T/out"
[ ! -e "$T/d.raw" ] || fail "a failed convert left its output"
grep -q "parent disk not found" "$T/out" || fail "unclear error"
grep -q "tried: $T/Generation 1_49C4BAF3" "$T/out" || fail "paths not named"
grep -q 'absolute_win32_path .C:\\Users' "$T/out" || fail "win32 path"

# Read over a parent.  qemu-img 7.2 refuses differencing VHDX ("Operation
# not supported"), so libvhdi is the second reader.  The parent is written
# by qemu-img: random data in 2 MiB blocks under some of the child's
# partially present blocks (so its sector bitmaps decide, sector by
# sector) and elsewhere, then given the DataWriteGuid the child's
# parent_linkage names.
PY=$(vhdi_python) || skip "python3-libvhdi is not installed"
P="$T/Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx"
truncate -s 8G "$T/parent.raw"
for mib in 0 512 1846 2036 3432 5018 7028 100 4095; do
	head -c 2M /dev/urandom | dd of="$T/parent.raw" bs=1M seek=$mib \
		conv=notrunc status=none
done
run qemu-img convert -f raw -O vhdx -o block_size=2M "$T/parent.raw" "$P" ||
	fail "qemu-img parent"
python3 "$(dirname "$0")/vhd-parent.py" vhdx-linkage "$P" \
	ff34003b-11ed-4cf8-a166-b2be05e20b80 || fail "parent linkage"
run "$VMCONV" convert -O raw "$T/differencing.avhdx" "$T/d.raw" ||
	fail "cannot read the child over its parent"
run "$PY" "$(dirname "$0")/vhdi-oracle.py" "$T/differencing.avhdx" \
	"$T/d.raw" "$P" || fail "differencing read differs from libvhdi's"
# both sources show: the child's own sectors and the parent's
cmp -s -n 2097152 "$T/d.raw" "$T/parent.raw" && fail "block 0 is the parent's"
cmp -s -i $((100 << 20)) -n 2097152 "$T/d.raw" "$T/parent.raw" ||
	fail "the parent's block at 100 MiB is not read through"
echo ok
