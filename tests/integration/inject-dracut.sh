# Driver injection end to end on a real Debian 12 guest whose initramfs is
# dracut's, in host-only mode with only IDE and Hyper-V storage drivers
# (root=/dev/sda1): see inject-common.inc.  On virtio without injection
# dracut never finds the root device.
# run-tests: timeout=5400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inject-common.inc"

migrate_guest debian-dracut /dev/sda1 \
	'no virtio_blk in /boot/initrd.img-.*root named /dev/sda1 \(the disk becomes /dev/vda\)'
jq -r '.injection.changes[].file' "$T/migrate.json" |
	grep -q '^/boot/grub/grub.cfg' || fail "no grub.cfg change listed"
[ "$(jq -r .initramfs_tool "$T/before.json")" = dracut ] || fail "tool"
jq -r '.injection.changes[].file' "$T/migrate.json" |
	grep -q '^/etc/dracut.conf.d/' || fail "no dracut.conf.d change listed"
jq -r .validation.reason "$T/noinj.json" |
	grep -Eq 'dracut|/dev/sda1|root device' ||
	fail "--no-inject reason: $(jq -r .validation.reason "$T/noinj.json")"
exit 0
