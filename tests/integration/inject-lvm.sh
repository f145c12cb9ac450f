# Driver injection end to end on a real Debian 12 guest with its root on
# LVM (root=/dev/mapper/vg0-root, stable) and /boot on its own partition
# named /dev/sda1 in fstab: see inject-common.inc.
# run-tests: timeout=5400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inject-common.inc"

migrate_guest debian-lvm /dev/mapper/vg0-root \
	'no virtio_blk in /boot/initrd.img-.*/dev/sda1 named in /etc/fstab line 2 \(/boot\)'
jq -e '.lvm | index("/dev/vg0/root")' "$T/before.json" >/dev/null ||
	fail "LVM volume not listed"
exit 0
