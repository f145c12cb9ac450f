# qemu-img as the oracle for raw: what qemu-io writes, vmconv reads and
# maps the same way; what vmconv writes, qemu-img reads identically.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3

img=$T/a.raw
run qemu-img create -f raw "$img" 256M >/dev/null
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 100M 1M' \
	-c 'write -z 120M 4M' -c 'write -P 0x33 255M 1M' "$img" >/dev/null ||
	fail qemu-io
run "$VMCONV" convert -O raw "$img" "$T/b.raw" || fail convert
run qemu-img compare "$img" "$T/b.raw" || fail "qemu-img compare"
# map gives the runs qemu-img map gives (start, length, data, zero; runs
# of one kind merged, as the two tools may split them differently), on
# the file qemu-io wrote and on the one vmconv wrote
for f in a.raw b.raw; do
	qemu-img map --output=json -f raw "$T/$f" | map_runs \
		> "$T/qmap" || fail "qemu-img map $f"
	"$VMCONV" map --output=json "$T/$f" | map_runs \
		> "$T/vmap" || fail "vmconv map $f"
	cat "$T/vmap"
	[ "$(grep -c ' True False$' "$T/vmap")" = 3 ] ||
		fail "$f: not the three data runs written"
	diff "$T/qmap" "$T/vmap" || fail "$f: map differs from qemu-img map"
done
"$VMCONV" info --output=json "$img" | grep -q '"virtual-size": 268435456' || fail info
run "$VMCONV" create -f raw "$T/c.raw" 1G || fail create
[ "$(qemu-img info --output=json "$T/c.raw" | grep -o '"virtual-size": [0-9]*')" = '"virtual-size": 1073741824' ] || fail "created size"
exit 0
