# A UEFI guest whose loader is only at \EFI\debian\grubx64.efi (its NVRAM
# boot entries stayed on the old hypervisor), as a Hyper-V VHDX, migrated
# to qcow2 in one command: without injection the validator says it does
# not boot (OVMF found nothing); with injection the loader is copied to
# \EFI\BOOT\BOOTX64.EFI, listed as a change, and the validator says it
# boots; QEMU with OVMF boots the output on its own; inspect reports the
# EFI system partition before and after.
# run-tests: timeout=2400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
requires grub-mkimage mcopy mkfs.vfat sfdisk timeout
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
	fail "Debian's ovmf is not installed (scripts/install-deps)"
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
MARKER=VMCONV-GUEST-USERSPACE-OK

guest uefi-nofallback
run "$VMCONV" convert -O vhdx "$GUEST" "$T/guest-uefi.vhdx" || fail "to vhdx"
sum=$(sha256sum <"$T/guest-uefi.vhdx")

# before: the ESP, its loader, no fallback
"$VMCONV" inspect --output=json "$T/guest-uefi.vhdx" >"$T/before.json" ||
	fail "inspect the source"
cat "$T/before.json"
[ "$(jq -r .firmware "$T/before.json")" = uefi ] || fail "firmware before"
[ "$(jq -r .esp.partition "$T/before.json")" = /dev/sda1 ] || fail "esp"
[ "$(jq -r '.esp.loaders | join(",")' "$T/before.json")" = \
  '\EFI\debian\grubx64.efi' ] || fail "loaders before"
[ "$(jq -r .esp.fallback "$T/before.json")" = false ] || fail "fallback"

# without injection: does not boot, in OVMF's words
"$VMCONV" "$T/guest-uefi.vhdx" --to qcow2 --out "$T/plain.qcow2" \
	--no-inject --validate --engine=qemu --timeout=300 --output=json -q \
	>"$T/plain.json"; rc=$?
cat "$T/plain.json"
[ $rc -eq 1 ] || fail "without injection: exit $rc, expected 1"
[ "$(jq -r .validation.booted "$T/plain.json")" = false ] || fail "booted"
[ "$(jq -r .validation.stage "$T/plain.json")" = firmware ] || fail "stage"
[ "$(jq -r .validation.firmware "$T/plain.json")" = uefi ] ||
	fail "auto did not find UEFI"
jq -r .validation.reason "$T/plain.json" | grep -qF \
	'no bootable UEFI loader (no loader at the removable-media path \EFI\BOOT\BOOTX64.EFI' ||
	fail "reason"
jq -r .validation.reason "$T/plain.json" | grep -qF ': Not Found" and started the UEFI shell' ||
	fail "the firmware's words"

# the one command (injection is its default): the fallback path is made
# and the guest boots
"$VMCONV" "$T/guest-uefi.vhdx" --to qcow2 --out "$T/guest-uefi.qcow2" \
	--validate --engine=qemu --timeout=300 --output=json -q \
	>"$T/fixed.json"; rc=$?
cat "$T/fixed.json"
[ $rc -eq 0 ] || fail "with injection: exit $rc"
[ "$(jq -r .injection.status "$T/fixed.json")" = changed ] ||
	fail "injection status"
[ "$(jq -r '.injection.changes[0].file' "$T/fixed.json")" = \
  '\EFI\BOOT\BOOTX64.EFI' ] || fail "the change"
[ "$(jq -r '.injection.changes[0].after' "$T/fixed.json")" = \
  'a copy of \EFI\debian\grubx64.efi' ] || fail "the change's source"
[ "$(jq -r .validation.booted "$T/fixed.json")" = true ] || fail "booted"
[ "$(jq -r .validation.stage "$T/fixed.json")" = userspace ] || fail stage
[ "$(jq -r '[.validation.stages[].stage] | join(",")' "$T/fixed.json")" = \
  firmware,bootloader,kernel,root,userspace ] || fail "stages"
[ "$(sha256sum <"$T/guest-uefi.vhdx")" = "$sum" ] || fail "source changed"

# QEMU with OVMF on its own: a fresh variable store, the output on virtio
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/vars.fd"
timeout 400 qemu-system-x86_64 -nodefaults -no-user-config -M pc \
	-accel tcg -m 512 -nographic -serial "file:$T/ovmf.log" \
	-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,unit=1,file="$T/vars.fd" \
	-drive "file=$T/guest-uefi.qcow2,if=virtio,format=qcow2,snapshot=on" \
	-no-reboot >/dev/null 2>&1
tr -d '\r' <"$T/ovmf.log" | grep -E 'BdsDxe|GRUB|vmconv-guest|VMCONV' || true
grep -q "$MARKER" "$T/ovmf.log" || fail "QEMU with OVMF: no marker"

# after: the fallback is there
"$VMCONV" inspect --output=json "$T/guest-uefi.qcow2" >"$T/after.json" ||
	fail "inspect the output"
[ "$(jq -r .esp.fallback "$T/after.json")" = true ] || fail "fallback after"
jq -r '.esp.loaders[]' "$T/after.json" | grep -qxF '\EFI\BOOT\BOOTX64.EFI' ||
	fail "loaders after"
exit 0
