#!/bin/bash
# The VHD plugin with qemu-img as the oracle both ways, loaded from the
# plugin folder (never linked into vmconv).
. "$(dirname "$0")/lib.sh"
requires qemu-img cmp

# The binary carries no VHD code: the format comes from the plugin.
if grep -q cxsparse "$VMCONV"; then fail "VHD code is linked into vmconv"; fi
"$VMCONV" formats | grep -E '^vhd, vpc' || fail "vhd plugin not listed"

src=$T/src.raw
truncate -s 300M "$src"
for mib in 0 1 2 3 150 299; do
	head -c 700000 /dev/urandom | dd of="$src" bs=1M seek=$mib \
		conv=notrunc status=none
done
printf 'end' | dd of="$src" bs=512 seek=$((300 * 2048 - 1)) conv=notrunc \
	status=none

# qemu-img writes, vmconv reads (qemu rounds to CHS unless force_size)
for o in "subformat=dynamic" "subformat=fixed" \
	 "subformat=fixed,force_size=on" "subformat=dynamic,force_size=on"; do
	rm -f "$T/q.vhd" "$T/v.raw" "$T/q.raw"
	run qemu-img convert -f raw -O vpc -o "$o" "$src" "$T/q.vhd" ||
		fail "qemu-img -o $o"
	run "$VMCONV" convert -O raw "$T/q.vhd" "$T/v.raw" ||
		fail "vmconv cannot read qemu's VHD ($o)"
	qemu-img convert -f vpc -O raw "$T/q.vhd" "$T/q.raw" ||
		fail "qemu-img cannot read its VHD ($o)"
	cmp "$T/q.raw" "$T/v.raw" || fail "vmconv read qemu's VHD ($o) wrong"
	qemu-img compare -q -f raw -F raw "$src" "$T/v.raw" ||
		fail "content ($o)"
	same_sizes_as_qemu "$T/q.vhd" vpc
	# qemu-img has no check for VHD; vmconv's finds qemu's images clean
	run "$VMCONV" check "$T/q.vhd" || fail "vmconv check on qemu's ($o)"
done

# vmconv writes, qemu-img reads
for o in "subformat=dynamic" "subformat=fixed" \
	 "subformat=fixed,force_size=on" "force_size=on"; do
	rm -f "$T/v.vhd" "$T/v.raw" "$T/q.raw"
	run "$VMCONV" convert -O vhd -o "$o" "$src" "$T/v.vhd" ||
		fail "vmconv -o $o"
	run qemu-img compare -f raw -F vpc "$src" "$T/v.vhd" ||
		fail "qemu-img compare ($o)"
	qemu-img convert -f vpc -O raw "$T/v.vhd" "$T/q.raw" ||
		fail "qemu-img cannot read vmconv's VHD ($o)"
	"$VMCONV" convert -O raw "$T/v.vhd" "$T/v.raw" ||
		fail "vmconv cannot read its VHD ($o)"
	cmp "$T/q.raw" "$T/v.raw" || fail "qemu and vmconv disagree ($o)"
	same_sizes_as_qemu "$T/v.vhd" vpc
done

# Azure: fixed, size a whole number of MiB, footer says so
"$VMCONV" convert -O vpc -o subformat=fixed,force_size=on "$src" "$T/az.vhd" ||
	fail "Azure VHD"
[ "$(stat -c %s "$T/az.vhd")" = $((300 * 1048576 + 512)) ] ||
	fail "Azure VHD is not 300 MiB + footer"
qemu-img info -f vpc --output=json "$T/az.vhd" |
	grep -q '"virtual-size": 314572800' || fail "qemu sees another size"
truncate -s 1000000000 "$T/odd.raw"
"$VMCONV" convert -O vpc -o subformat=fixed,force_size=on "$T/odd.raw" \
	"$T/odd.vhd" || fail "odd size"
[ $(( $(stat -c %s "$T/odd.vhd") % 1048576 )) = 512 ] ||
	fail "force_size did not round up to 1 MiB"
qemu-img compare -q -f raw -F vpc "$T/odd.raw" "$T/odd.vhd" || fail odd

"$VMCONV" map "$T/az.vhd" | grep -q ' zero$' || fail "fixed: no zero runs"

# Same CHS geometry and size as qemu-img for the same request
qemu-img create -q -f vpc "$T/qc.vhd" 100M || fail "qemu-img create"
"$VMCONV" create -f vpc "$T/vc.vhd" 100M || fail "create"
qs=$(tail -c 512 "$T/qc.vhd" | od -An -tx1 -j40 -N20)
vs=$(tail -c 512 "$T/vc.vhd" | od -An -tx1 -j40 -N20)
[ "$qs" = "$vs" ] || fail "sizes/geometry differ: qemu $qs, vmconv $vs"

expect_exit 1 "$VMCONV" convert -O vhd -o subformat=sparse "$src" "$T/x.vhd"

# vmconv check on damage: qemu-img cannot check VHD, so the expectation
# is the spec's: a BAT entry pointing past the end of the file is refused
# when the image is opened, naming the entry and the offsets
"$VMCONV" convert -O vhd "$src" "$T/bad.vhd" || fail "convert for damage"
python3 - "$T/bad.vhd" <<'PY' || fail "damage"
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    dyn = struct.unpack('>Q', f.read(512)[16:24])[0]
    f.seek(dyn + 16); table = struct.unpack('>Q', f.read(8))[0]
    f.seek(table); f.write(struct.pack('>I', 0x7fffff00))
PY
expect_exit 1 "$VMCONV" check "$T/bad.vhd" 2>"$T/err"
grep -q 'bad.vhd: BAT entry 0 points past end of file (offset 0xfffffe0000' \
	"$T/err" || fail "unclear: $(cat "$T/err")"

# Differencing: qemu-img 7.2 opens a differencing VHD but ignores its
# parent and sector bitmaps (it reads it as a dynamic disk), so it cannot
# read the chain; its map of the child (before the patch) and its reading
# of parent and child give the expected chain, and libvhdi reads it too.
truncate -s 12M "$T/p.raw" "$T/c.raw"
head -c 9M /dev/urandom | dd of="$T/p.raw" conv=notrunc status=none
head -c 700000 /dev/urandom | dd of="$T/c.raw" bs=512 seek=5000 \
	conv=notrunc status=none
head -c 512 /dev/urandom | dd of="$T/c.raw" bs=512 seek=20000 \
	conv=notrunc status=none
o=subformat=dynamic,force_size=on
run qemu-img convert -f raw -O vpc -o $o "$T/p.raw" "$T/p.vhd" || fail parent
run qemu-img convert -f raw -O vpc -o $o "$T/c.raw" "$T/c.vhd" || fail child
qemu-img map --output=json -f vpc "$T/c.vhd" >"$T/cmap" || fail "map child"
cp "$T/p.raw" "$T/want.raw"
python3 - "$T/cmap" "$T/c.raw" "$T/want.raw" <<'PY' || fail "expected chain"
import json, sys
runs = [r for r in json.load(open(sys.argv[1])) if r['data']]
assert len(runs) >= 2, runs
c, w = open(sys.argv[2], 'rb'), open(sys.argv[3], 'r+b')
for r in runs:
    c.seek(r['start']); w.seek(r['start']); w.write(c.read(r['length']))
PY
python3 "$(dirname "$0")/vhd-parent.py" vhd-child "$T/c.vhd" "$T/p.vhd" ||
	fail "make the child"
rm -f "$T/chain.raw"
run "$VMCONV" convert -O raw "$T/c.vhd" "$T/chain.raw" ||
	fail "cannot read the differencing VHD"
cmp "$T/chain.raw" "$T/want.raw" || fail "differencing VHD read wrong"
cmp -s "$T/chain.raw" "$T/c.raw" && fail "the parent was not read"
if PY=$(vhdi_python); then
	run "$PY" "$(dirname "$0")/vhdi-oracle.py" "$T/c.vhd" "$T/chain.raw" \
		"$T/p.vhd" || fail "libvhdi reads the chain otherwise"
else
	skip "python3-libvhdi is not installed"
fi
echo ok
