# The nested engine runs here: the hypervisor appliance (host kernel with
# kvm_amd, busybox, this vmconv) boots under QEMU with an emulated SVM CPU
# and the built-in VMM inside it validates the test guests.  Its verdicts
# (booted, stage, the kind of reason) must match the qemu engine's, the
# reference.  --engine=auto picks it here and says why.  Needs the
# built-in VMM: without it this fails, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"

same_as_qemu() {	# NAME: the qemu engine's verdict for the same guest
	local n=$1
	shift
	validate "$n-qemu" --engine=qemu "$@"
	[ "$(field "$n" .booted)" = "$(field "$n-qemu" .booted)" ] ||
		fail "$n: booted differs from the qemu engine's"
	[ "$(field "$n" .stage)" = "$(field "$n-qemu" .stage)" ] ||
		fail "$n: stage $(field "$n" .stage), qemu says $(field "$n-qemu" .stage)"
	[ "$(field "$n" '.reason | split(":")[0]')" = \
	  "$(field "$n-qemu" '.reason | split(":")[0]')" ] ||
		fail "$n: reason differs from the qemu engine's"
}

guest good
good=$GUEST
validate auto --timeout=120 "$good"
grep -q 'not part of this build' "$T/auto.err" &&
	fail "the built-in VMM is not in this build"
if [ -d /sys/module/kvm_pvm ]; then
	[ "$(field auto .engine)" = nested ] || fail "auto did not pick nested"
	field auto .engine_reason | grep -q 'direct engine not usable' ||
		fail "auto does not say why"
fi
verdict auto 0 true userspace "login prompt"
[ "$(field auto .appliance.accel)" != null ] || fail "no appliance info"

validate ide --engine=nested --bus=ide --timeout=120 "$good"
verdict ide 0 true userspace "login prompt"

guest nosig
validate nosig --engine=nested --timeout=60 "$GUEST"
verdict nosig 1 false firmware "no bootable disk: boot sector has no signature"
same_as_qemu nosig --timeout=60 "$GUEST"

guest novirtio
validate novirtio --engine=nested --timeout=120 "$GUEST"
verdict novirtio 1 false kernel "initramfs could not find root device /dev/sda2 (no storage driver for virtio-blk in the initramfs)"
same_as_qemu novirtio --timeout=120 "$GUEST"

guest panic
validate panic --engine=nested --timeout=60 "$GUEST"
verdict panic 1 false kernel "kernel panic: VFS: Unable to mount root fs"
same_as_qemu panic --timeout=60 "$GUEST"

# direct kernel boot inside the appliance, files passed in with the run
requires mcopy
mcopy -i "$good@@1M" ::vmlinuz "$T/vmlinuz" || fail "mcopy"
mcopy -i "$good@@1M" ::initrd.img "$T/initrd.img" || fail "mcopy"
validate kernel --engine=nested --boot=kernel --kernel "$T/vmlinuz" \
	--initrd "$T/initrd.img" --append "root=LABEL=vmcroot ro" \
	--timeout=120 "$good"
verdict kernel 0 true userspace "login prompt"

# the appliance was built once and reused
[ "$(field kernel .appliance.built)" = false ] ||
	fail "the appliance was rebuilt"
exit 0
