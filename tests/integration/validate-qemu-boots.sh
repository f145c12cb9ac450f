# The qemu engine (the reference): the good test guest reaches userspace
# through SeaBIOS and syslinux on virtio and on IDE, by direct kernel boot,
# and as a qcow2; the image is never modified.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
guest good
before=$(sha256sum <"$GUEST")

validate virtio --engine=qemu --timeout=300 "$GUEST"
verdict virtio 0 true userspace "login prompt"
[ "$(field virtio '[.stages[].stage] | join(",")')" = \
  "firmware,bootloader,kernel,root,userspace" ] || fail "stages"
[ "$(field virtio .engine),$(field virtio .bus)" = qemu,virtio ] ||
	fail "engine/bus"
grep -q 'SYSLINUX' "$T/virtio.console" || fail "no boot loader in the log"
grep -q 'vmconv-guest login:' "$T/virtio.console" || fail "no prompt in log"

validate ide --engine=qemu --bus=ide --timeout=300 "$GUEST"
verdict ide 0 true userspace "login prompt"
[ "$(field ide .bus)" = ide ] || fail "bus"

# direct kernel boot with the guest's own kernel and initramfs, taken from
# its boot partition (FAT at 1 MiB)
requires mcopy
mcopy -i "$GUEST@@1M" ::vmlinuz "$T/vmlinuz" || fail "mcopy vmlinuz"
mcopy -i "$GUEST@@1M" ::initrd.img "$T/initrd.img" || fail "mcopy initrd"
validate kernel --engine=qemu --boot=kernel --kernel "$T/vmlinuz" \
	--initrd "$T/initrd.img" --append "root=LABEL=vmcroot ro" \
	--timeout=300 "$GUEST"
verdict kernel 0 true userspace "login prompt"
[ "$(field kernel '.stages[0].stage')" != bootloader ] || fail "loader?"
grep -q 'console=ttyS0' "$T/kernel.console" ||
	fail "console=ttyS0 was not added to the run's command line"

# direct kernel boot of what the guest's syslinux.cfg names, found by
# vmconv itself (libguestfs, read-only)
validate guestkernel --engine=qemu --boot=kernel --timeout=300 "$GUEST"
verdict guestkernel 0 true userspace "login prompt"
[ "$(field guestkernel .kernel_source)" = "the guest's boot loader configuration" ] ||
	fail "kernel_source"
grep -q 'root=LABEL=vmcroot ro console=ttyS0' "$T/guestkernel.console" ||
	fail "the guest's own command line was not used"

[ "$(sha256sum <"$GUEST")" = "$before" ] || fail "the raw image changed"

# a qcow2 (written by qemu-img) goes to QEMU through a throw-away overlay
requires qemu-img
qemu-img convert -O qcow2 "$GUEST" "$T/guest.qcow2" || fail "qemu-img"
q_before=$(sha256sum <"$T/guest.qcow2")
validate qcow2 --engine=qemu --timeout=300 --expect='vmconv-guest: userspace reached' "$T/guest.qcow2"
verdict qcow2 0 true userspace "expected marker"
[ "$(field qcow2 .format)" = qcow2 ] || fail "format"
[ "$(sha256sum <"$T/guest.qcow2")" = "$q_before" ] ||
	fail "the qcow2 image changed"
exit 0
