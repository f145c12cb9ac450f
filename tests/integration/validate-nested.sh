# The nested engine runs here: the hypervisor appliance (host kernel with
# kvm_amd, busybox, this vmconv) boots under QEMU with an emulated SVM CPU
# and the built-in VMM inside it validates the test guests.  Its verdicts
# (booted, stage, the kind of reason) must match the qemu engine's, the
# reference.  --engine=auto picks it here and says why.  Needs the
# built-in VMM: without it this fails, saying so.
# run-tests: timeout=1800 (declared so that it starts among the first)
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
failed=()
# each case is checked on its own; the failures are listed at the end
check() { local n=$1; shift; ( "$@" ) || failed+=("$n"); }
# Generous limits: a case ends as soon as its verdict is known, and machines
# of this kind have run nested guests four times slower than others.  After
# the first guest the limit is ten times what it took (300 to 900 s).
LIMIT=300

# direct kernel boot inside the appliance, files passed in with the run
requires mcopy
mcopy -i "$good@@1M" ::vmlinuz "$T/vmlinuz" || fail "mcopy"
mcopy -i "$good@@1M" ::initrd.img "$T/initrd.img" || fail "mcopy"
validate kernel --engine=nested --boot=kernel --kernel "$T/vmlinuz" \
	--initrd "$T/initrd.img" --append "root=LABEL=vmcroot ro" \
	--timeout=$LIMIT "$good"
grep -q 'not part of this build' "$T/kernel.err" &&
	fail "the built-in VMM is not in this build"
check kernel verdict kernel 0 true userspace "login prompt"
# when the first guest cannot finish in time, the others will not either
if grep -qE 'timed out|no verdict' "$T/kernel.json" "$T/kernel.err"; then
	summary
	fail "the nested engine did not finish its first guest in $LIMIT s"
fi
took=$(field kernel '.seconds // 30 | ceil' 2>/dev/null) || took=30
LIMIT=$(( took * 10 < 300 ? 300 : took * 10 > 900 ? 900 : took * 10 ))
echo "the first guest took $took s: limit $LIMIT s from here on"
check appliance-info eval '[ "$(field kernel .appliance.accel)" != null ]'

validate auto --timeout=$LIMIT "$good"
if [ -d /sys/module/kvm_pvm ]; then
	check auto-nested eval '[ "$(field auto .engine)" = nested ]'
	check auto-why eval 'field auto .engine_reason | grep -q "direct engine not usable"'
fi
check auto verdict auto 0 true userspace "login prompt"
# the appliance was built once and reused
check appliance-cached eval '[ "$(field auto .appliance.built)" = false ]'

validate ide --engine=nested --bus=ide --timeout=$LIMIT "$good"
check ide verdict ide 0 true userspace "login prompt"

guest nosig
validate nosig --engine=nested --timeout=$LIMIT "$GUEST"
check nosig verdict nosig 1 false firmware "no bootable disk: boot sector has no signature"
check nosig-vs-qemu same_as_qemu nosig --timeout=$LIMIT "$GUEST"

guest novirtio
validate novirtio --engine=nested --timeout=$LIMIT "$GUEST"
check novirtio verdict novirtio 1 false kernel "initramfs could not find root device /dev/sda2 (no storage driver for virtio-blk in the initramfs)"
check novirtio-vs-qemu same_as_qemu novirtio --timeout=$LIMIT "$GUEST"

guest panic
validate panic --engine=nested --timeout=$LIMIT "$GUEST"
check panic verdict panic 1 false kernel "kernel panic: VFS: Unable to mount root fs"
check panic-vs-qemu same_as_qemu panic --timeout=$LIMIT "$GUEST"

bootsector triple "$TRIPLE_FAULT"
validate triple --engine=nested --timeout=$LIMIT "$T/triple.img"
check triple verdict triple 1 false bootloader "triple fault during stage bootloader"
check triple-vs-qemu same_as_qemu triple --timeout=$LIMIT "$T/triple.img"
bootsector reboot "$REBOOT"
validate reboot --engine=nested --timeout=$LIMIT "$T/reboot.img"
check reboot verdict reboot 1 false bootloader "the guest rebooted during stage bootloader"
check reboot-vs-qemu same_as_qemu reboot --timeout=$LIMIT "$T/reboot.img"

summary
[ ${#failed[@]} -eq 0 ] || fail "nested engine cases failed: ${failed[*]}"
exit 0
