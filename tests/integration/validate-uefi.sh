# UEFI guests through the qemu engine (OVMF on flash, a fresh variable
# store for each run, so no boot entries: a guest on a new hypervisor)
# and through the built-in VMM (the nested engine here: OVMF in the VMM
# inside the appliance, on QEMU's software SVM), with the same verdicts:
# the GPT guest with GRUB at the removable-media path boots; the same
# guest with GRUB only at \EFI\debian\grubx64.efi and a GPT disk with an
# empty EFI system partition do not, with the firmware's own words in the
# reason.  auto detects UEFI from the disk and takes the nested engine,
# as for a BIOS guest on this host.
# run-tests: timeout=2400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
requires grub-mkimage mcopy mkfs.vfat sfdisk
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
	fail "Debian's ovmf is not installed (scripts/install-deps)"
trap summary EXIT

UEFI_WHY="GPT with an EFI system partition (partition 1) and no BIOS boot code"
NOTFOUND='no bootable UEFI loader (no loader at the removable-media path \EFI\BOOT\BOOTX64.EFI of the EFI system partition and no boot entry naming one): the firmware said "BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Not Found" and started the UEFI shell'

# the three guests in the qemu engine at once (each waits for OVMF under
# TCG), and --firmware=uefi forced on a BIOS disk
guest uefi-fallback
fallback=$GUEST
guest uefi-nofallback
nofallback=$GUEST
guest uefi-emptyesp
empty=$GUEST
guest tiny
tiny=$GUEST
validate fallback --engine=qemu --timeout=300 "$fallback" &
validate nofallback --engine=qemu --timeout=300 "$nofallback" &
validate emptyesp --engine=qemu --timeout=300 "$empty" &
validate forced --engine=qemu --firmware=uefi --timeout=300 "$tiny" &
wait
# then the built-in VMM, one appliance at a time (auto: the nested engine)
validate n-fallback --engine=nested --timeout=400 "$fallback"
validate auto --timeout=400 "$nofallback"
validate n-emptyesp --engine=nested --timeout=400 "$empty"

for n in fallback n-fallback; do
	verdict $n 0 true userspace "reached userspace"
	[ "$(field $n '[.stages[].stage] | join(",")')" = \
	  firmware,bootloader,kernel,root,userspace ] || fail "$n: stages"
	grep -qF 'BdsDxe: starting Boot0001 "UEFI Misc Device"' \
		"$T/$n.console" || fail "$n: OVMF did not start the disk's loader"
	grep -qF 'Welcome to GRUB!' "$T/$n.console" || fail "$n: no GRUB"
	grep -qF 'VMCONV-GUEST-USERSPACE-OK' "$T/$n.console" ||
		fail "$n: no marker"
done
for n in fallback nofallback emptyesp n-fallback auto n-emptyesp; do
	[ "$(field $n .firmware)" = uefi ] || fail "$n: firmware"
	[ "$(field $n .firmware_reason)" = "$UEFI_WHY" ] ||
		fail "$n: firmware_reason $(field $n .firmware_reason)"
	[ "$(field $n .firmware_image)" = /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
		fail "$n: firmware_image"
done
for n in fallback nofallback emptyesp; do
	[ "$(field $n .engine)" = qemu ] || fail "$n: engine"
done
for n in n-fallback auto n-emptyesp; do
	[ "$(field $n .engine)" = nested ] || fail "$n: engine"
	[ "$(field $n .inner_engine)" = direct ] || fail "$n: inner engine"
done
for n in nofallback emptyesp auto n-emptyesp; do
	verdict $n 1 false firmware "$NOTFOUND"
	[ "$(field $n .reason)" = "$NOTFOUND" ] ||
		fail "$n: reason is not the literal one"
	[ "$(field $n '.stages | length')" = 1 ] || fail "$n: stages"
done
# the same verdicts from both engines
for p in fallback:n-fallback nofallback:auto emptyesp:n-emptyesp; do
	a=${p%%:*} b=${p#*:}
	[ "$(field $a '[.booted, .stage, .reason] | tostring')" = \
	  "$(field $b '[.booted, .stage, .reason] | tostring')" ] ||
		fail "$a and $b: different verdicts"
done

# --firmware=uefi on a BIOS disk: asked for, and the disk's word kept
[ "$(field forced .firmware)" = uefi ] || fail "forced: firmware"
field forced .firmware_reason | grep -qF "asked for with --firmware (the disk says bios: MBR disk with boot code)" ||
	fail "forced: the disk's word: $(field forced .firmware_reason)"
[ "$(field forced .booted)" = false ] || fail "forced: booted"

# --firmware=uefi with --boot=kernel, and a bad --firmware
expect_exit 2 "$VMCONV" validate --firmware=uefi --boot=kernel \
	--kernel=/dev/null "$nofallback"
expect_exit 2 "$VMCONV" validate --firmware=pc "$nofallback"
"$VMCONV" validate --firmware=pc "$nofallback" 2>&1 |
	grep -qF "vmconv: --firmware must be auto, bios or uefi, not 'pc'" ||
	fail "--firmware=pc message"
exit 0
