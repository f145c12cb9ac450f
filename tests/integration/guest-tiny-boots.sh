# The test-guest builder makes a disk that boots under QEMU (TCG) through
# syslinux to the marker printed by init on the real root, on virtio and on
# IDE, after a round trip through vmconv.
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64 busybox syslinux mcopy mkfs.vfat mkfs.ext4 sfdisk

run "$VMCONV_TOP/tests/guests/build-tiny-guest" "$T/guest.raw" || fail "builder"
run "$VMCONV" convert -O raw "$T/guest.raw" "$T/copy.raw" || fail convert
for bus in virtio ide; do
	timeout 120 qemu-system-x86_64 -accel tcg -m 512 -display none \
		-no-reboot -serial file:"$T/console-$bus" -monitor none \
		-drive file="$T/copy.raw",format=raw,if=$bus,snapshot=on
	tr -d '\r' < "$T/console-$bus" | grep -E 'vmconv-guest|VMCONV' || true
	grep -q VMCONV-GUEST-USERSPACE-OK "$T/console-$bus" ||
		{ tail -20 "$T/console-$bus"; fail "no marker on $bus"; }
done
exit 0
