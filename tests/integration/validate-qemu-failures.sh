# The qemu engine's verdicts for the broken guests: wiped boot sector,
# initramfs without virtio-blk booted on virtio (and on IDE, where it
# boots), kernel panic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"

guest nosig
validate nosig --engine=qemu --timeout=60 "$GUEST"
verdict nosig 1 false firmware "no bootable disk: boot sector has no signature"
[ "$(field nosig .boot_signature)" = false ] || fail "boot_signature"

guest novirtio
validate novirtio --engine=qemu --timeout=90 "$GUEST"
verdict novirtio 1 false kernel "initramfs could not find root device /dev/sda2 (no storage driver for virtio-blk in the initramfs)"
field novirtio .reason | grep -qF 'ALERT!  /dev/sda2 does not exist' ||
	fail "the guest's own words are not quoted"
validate novirtio-ide --engine=qemu --bus=ide --timeout=90 "$GUEST"
verdict novirtio-ide 0 true userspace "login prompt"

guest panic
validate panic --engine=qemu --timeout=60 "$GUEST"
verdict panic 1 false kernel "kernel panic: VFS: Unable to mount root fs"

# the busybox tiny guest whose init exits: "Attempted to kill init!"
"$VMCONV_TOP/tests/guests/build-tiny-guest" --panic "$T/tiny-panic.img" ||
	fail "build-tiny-guest --panic"
validate tinypanic --engine=qemu --timeout=60 "$T/tiny-panic.img"
verdict tinypanic 1 false root "kernel panic: Attempted to kill init!"
exit 0
