# qemu-img as the oracle for raw: what qemu-io writes, vmconv reads and
# maps the same way; what vmconv writes, qemu-img reads identically.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io

img=$T/a.raw
run qemu-img create -f raw "$img" 256M >/dev/null
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 100M 1M' \
	-c 'write -z 120M 4M' -c 'write -P 0x33 255M 1M' "$img" >/dev/null
run "$VMCONV" convert -O raw "$img" "$T/b.raw" || fail convert
run qemu-img compare "$img" "$T/b.raw" || fail "qemu-img compare"
qemu-img map --output=json -f raw "$T/b.raw" > "$T/qmap"
"$VMCONV" map --output=json "$T/b.raw" > "$T/vmap"
# the data ranges agree
q=$(grep -c '"data": true' "$T/qmap"); v=$(grep -c '"data": true' "$T/vmap")
echo "data runs: qemu-img $q, vmconv $v"
[ "$q" = "$v" ] || fail "map disagrees with qemu-img map"
"$VMCONV" info --output=json "$img" | grep -q '"virtual-size": 268435456' || fail info
run "$VMCONV" create -f raw "$T/c.raw" 1G || fail create
[ "$(qemu-img info --output=json "$T/c.raw" | grep -o '"virtual-size": [0-9]*')" = '"virtual-size": 1073741824' ] || fail "created size"
exit 0
