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
echo ok
