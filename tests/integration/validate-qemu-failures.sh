# The qemu engine's verdicts for the broken guests: wiped boot sector,
# initramfs without virtio-blk booted on virtio (and on IDE, where it
# boots), kernel panic, triple fault, reboot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"

guest nosig
validate nosig --engine=qemu --timeout=60 "$GUEST"
verdict nosig 1 false firmware "no bootable disk: boot sector has no signature"
[ "$(field nosig .boot_signature)" = false ] || fail "boot_signature"

guest novirtio
validate novirtio --engine=qemu --timeout=150 "$GUEST"
verdict novirtio 1 false kernel "initramfs could not find root device /dev/sda2 (no storage driver for virtio-blk in the initramfs)"
field novirtio .reason | grep -qF 'ALERT!  /dev/sda2 does not exist' ||
	fail "the guest's own words are not quoted"
validate novirtio-ide --engine=qemu --bus=ide --timeout=150 "$GUEST"
verdict novirtio-ide 0 true userspace "login prompt"

guest panic
validate panic --engine=qemu --timeout=60 "$GUEST"
verdict panic 1 false kernel "kernel panic: VFS: Unable to mount root fs"

# boot code that triple-faults, and boot code that reboots: told apart
bootsector triple "$TRIPLE_FAULT"
validate triple --engine=qemu --timeout=60 "$T/triple.img"
verdict triple 1 false bootloader "triple fault during stage bootloader"
bootsector reboot "$REBOOT"
validate reboot --engine=qemu --timeout=60 "$T/reboot.img"
verdict reboot 1 false bootloader "the guest rebooted during stage bootloader"

# the busybox tiny guest whose init exits: "Attempted to kill init!"
"$VMCONV_TOP/tests/guests/build-tiny-guest" --panic "$T/tiny-panic.img" ||
	fail "build-tiny-guest --panic"
validate tinypanic --engine=qemu --timeout=60 "$T/tiny-panic.img"
verdict tinypanic 1 false root "kernel panic: Attempted to kill init!"
exit 0
