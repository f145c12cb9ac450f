# UEFI guests through the qemu engine (OVMF on flash, a fresh variable
# store for each run, so no boot entries: a guest on a new hypervisor):
# the GPT guest with GRUB at the removable-media path boots; the same
# guest with GRUB only at \EFI\debian\grubx64.efi and a GPT disk with an
# empty EFI system partition do not, with the firmware's own words in the
# reason.  auto detects UEFI from the disk, and the auto engine is the
# qemu engine for it on a host without hardware KVM like this one: the
# built-in VMM has OVMF, but the nested engine's appliance would run on
# QEMU 7.2's software SVM, which aborts under OVMF, so the nested engine
# refuses it rather than give a verdict.
# run-tests: timeout=900
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
requires grub-mkimage mcopy mkfs.vfat sfdisk
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
	fail "Debian's ovmf is not installed (scripts/install-deps)"
trap summary EXIT

UEFI_WHY="GPT with an EFI system partition (partition 1) and no BIOS boot code"
NOTFOUND='no bootable UEFI loader (no loader at the removable-media path \EFI\BOOT\BOOTX64.EFI of the EFI system partition and no boot entry naming one): the firmware said "BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Not Found" and started the UEFI shell'

# the three guests, booted at once (each waits for OVMF under TCG)
guest uefi-fallback
fallback=$GUEST
guest uefi-nofallback
nofallback=$GUEST
guest uefi-emptyesp
empty=$GUEST
validate fallback --engine=qemu --timeout=300 "$fallback" &
validate nofallback --engine=qemu --timeout=300 "$nofallback" &
validate emptyesp --engine=qemu --timeout=300 "$empty" &
# auto: the qemu engine, the only one that boots UEFI on this host
validate auto --timeout=300 "$nofallback" &
wait

verdict fallback 0 true userspace "reached userspace"
[ "$(field fallback '[.stages[].stage] | join(",")')" = \
  firmware,bootloader,kernel,root,userspace ] || fail "fallback: stages"
grep -qF 'BdsDxe: starting Boot0001 "UEFI Misc Device"' "$T/fallback.console" ||
	fail "fallback: OVMF did not start the disk's loader"
grep -qF 'Welcome to GRUB!' "$T/fallback.console" || fail "fallback: no GRUB"
grep -qF 'VMCONV-GUEST-USERSPACE-OK' "$T/fallback.console" ||
	fail "fallback: no marker"
for n in fallback nofallback emptyesp; do
	[ "$(field $n .firmware)" = uefi ] || fail "$n: firmware"
	[ "$(field $n .firmware_reason)" = "$UEFI_WHY" ] ||
		fail "$n: firmware_reason $(field $n .firmware_reason)"
	[ "$(field $n .engine)" = qemu ] || fail "$n: engine"
	[ "$(field $n .firmware_image)" = /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
		fail "$n: firmware_image"
done
for n in nofallback emptyesp; do
	verdict $n 1 false firmware "$NOTFOUND"
	[ "$(field $n .reason)" = "$NOTFOUND" ] ||
		fail "$n: reason is not the literal one"
	[ "$(field $n '.stages | length')" = 1 ] || fail "$n: stages"
done

verdict auto 1 false firmware "$NOTFOUND"
[ "$(field auto .engine)" = qemu ] || fail "auto: engine $(field auto .engine)"
field auto .engine_reason | grep -qF "a UEFI guest: the built-in VMM cannot boot OVMF here: the appliance would run on QEMU's software SVM" ||
	fail "auto: engine_reason $(field auto .engine_reason)"

# --firmware=uefi on a BIOS disk: asked for, and the disk's word kept
guest tiny
validate forced --engine=nested --firmware=uefi "$GUEST"
[ "$(cat "$T/forced.rc")" = 2 ] || fail "forced: exit status"
grep -qF "the nested engine cannot boot this UEFI guest here" \
	"$T/forced.err" || fail "forced: no refusal"
grep -qF "asked for with --firmware (the disk says bios: MBR disk with boot code)" \
	"$T/forced.err" || fail "forced: the disk's word"

# the nested engine refuses a UEFI guest here, in words, exit 2
validate refuse-nested --engine=nested "$nofallback"
[ "$(cat "$T/refuse-nested.rc")" = 2 ] || fail "nested: exit status"
grep -qF "the nested engine cannot boot this UEFI guest here: the appliance would run on QEMU's software SVM" \
	"$T/refuse-nested.err" || fail "nested: no refusal"
grep -qF 'tcg_handle_interrupt: assertion failed' "$T/refuse-nested.err" ||
	fail "nested: the reason does not name QEMU's abort"
grep -qF "$UEFI_WHY" "$T/refuse-nested.err" || fail "nested: no why"
[ ! -s "$T/refuse-nested.json" ] || fail "nested: a report for a refusal"

# --firmware=uefi with --boot=kernel, and a bad --firmware
expect_exit 2 "$VMCONV" validate --firmware=uefi --boot=kernel \
	--kernel=/dev/null "$nofallback"
expect_exit 2 "$VMCONV" validate --firmware=pc "$nofallback"
"$VMCONV" validate --firmware=pc "$nofallback" 2>&1 |
	grep -qF "vmconv: --firmware must be auto, bios or uefi, not 'pc'" ||
	fail "--firmware=pc message"
exit 0
