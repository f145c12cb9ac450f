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
	rm -f "$T/q.vhd"
	run qemu-img convert -f raw -O vpc -o "$o" "$src" "$T/q.vhd" ||
		fail "qemu-img -o $o"
	run "$VMCONV" convert -O raw "$T/q.vhd" "$T/v.raw" ||
		fail "vmconv cannot read qemu's VHD ($o)"
	qemu-img convert -f vpc -O raw "$T/q.vhd" "$T/q.raw"
	cmp "$T/q.raw" "$T/v.raw" || fail "vmconv read qemu's VHD ($o) wrong"
	qemu-img compare -q -f raw -F raw "$src" "$T/v.raw" ||
		fail "content ($o)"
	[ "$("$VMCONV" info --output=json "$T/q.vhd" |
	     sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')" = \
	  "$(stat -c %s "$T/q.raw")" ] || fail "size differs from qemu's ($o)"
done

# vmconv writes, qemu-img reads
for o in "subformat=dynamic" "subformat=fixed" \
	 "subformat=fixed,force_size=on" "force_size=on"; do
	rm -f "$T/v.vhd"
	run "$VMCONV" convert -O vhd -o "$o" "$src" "$T/v.vhd" ||
		fail "vmconv -o $o"
	run qemu-img compare -f raw -F vpc "$src" "$T/v.vhd" ||
		fail "qemu-img compare ($o)"
	qemu-img convert -f vpc -O raw "$T/v.vhd" "$T/q.raw"
	"$VMCONV" convert -O raw "$T/v.vhd" "$T/v.raw"
	cmp "$T/q.raw" "$T/v.raw" || fail "qemu and vmconv disagree ($o)"
done

# Azure: fixed, size a whole number of MiB, footer says so
"$VMCONV" convert -O vpc -o subformat=fixed,force_size=on "$src" "$T/az.vhd"
[ "$(stat -c %s "$T/az.vhd")" = $((300 * 1048576 + 512)) ] ||
	fail "Azure VHD is not 300 MiB + footer"
qemu-img info -f vpc --output=json "$T/az.vhd" |
	grep -q '"virtual-size": 314572800' || fail "qemu sees another size"
truncate -s 1000000000 "$T/odd.raw"
"$VMCONV" convert -O vpc -o subformat=fixed,force_size=on "$T/odd.raw" \
	"$T/odd.vhd"
[ $(( $(stat -c %s "$T/odd.vhd") % 1048576 )) = 512 ] ||
	fail "force_size did not round up to 1 MiB"
qemu-img compare -q -f raw -F vpc "$T/odd.raw" "$T/odd.vhd" || fail odd

"$VMCONV" map "$T/az.vhd" | grep -q ' zero$' || fail "fixed: no zero runs"

# Same CHS geometry and size as qemu-img for the same request
qemu-img create -q -f vpc "$T/qc.vhd" 100M
"$VMCONV" create -f vpc "$T/vc.vhd" 100M || fail "create"
qs=$(tail -c 512 "$T/qc.vhd" | od -An -tx1 -j40 -N20)
vs=$(tail -c 512 "$T/vc.vhd" | od -An -tx1 -j40 -N20)
[ "$qs" = "$vs" ] || fail "sizes/geometry differ: qemu $qs, vmconv $vs"

expect_exit 1 "$VMCONV" convert -O vhd -o subformat=sparse "$src" "$T/x.vhd"
echo ok
