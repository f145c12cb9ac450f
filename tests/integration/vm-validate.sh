# The one command for a whole VM with --validate: the OVA's boot disk is
# converted and booted (QEMU engine) with the VM's own memory and its two
# vCPUs; the data disk is converted and left alone (--no-inject: the
# guest is not changed either; batch-resume injects a whole VM's boot
# disk).  An EFI VM's boot disk boots with OVMF, in the qemu engine and
# in the built-in VMM (nested here) alike.
# The boot limit is generous: under TCG on a loaded 2-core host the tiny
# guest took 90 s to reach its kernel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
. "$(dirname "$0")/vm-common.inc"
requires qemu-img tar
guest good
cd "$T" || fail cd
qemu-img convert -O vmdk -o subformat=streamOptimized "$GUEST" web01-disk1.vmdk
truncate -s 32M d2.raw
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized d2.raw web01-disk2.vmdk
cap1=$(qemu-img info --output=json "$GUEST" | jq '.["virtual-size"]')
ovf_vmware web01 bios "$cap1" 33554432 | sed 's|<rasd:VirtualQuantity>1024<|<rasd:VirtualQuantity>384<|' > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf
ova web01.ova web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk
"$VMCONV" web01.ova --to qcow2 --out kvm --validate=qemu --timeout=600 \
	--no-inject --output=json -q > j; rc=$?
cat j
[ $rc -eq 0 ] || fail "exit $rc"
[ "$(jq -r .validation.booted j)" = true ] || fail "boot disk did not boot"
[ "$(jq -r .validation.image j)" = "$T/kvm/web01-disk1.qcow2" ] || fail "image"
[ "$(jq -r .validation.bus j)" = virtio ] || fail bus
[ "$(jq -r '.["validation-memory-mib"]' j)" = 384 ] || fail "VM memory not used"
[ "$(jq -r .validation.vcpus j)" = 2 ] || fail "the VM's vCPUs not used"
[ "$(jq -r '.["validation-vcpus"]' j)" = 2 ] || fail "validation-vcpus"
jq -r .injection j | grep -q "^not run" || fail "injection: $(jq .injection j)"
[ "$(jq -r '.disks[1].injection' j)" = "data disk: left alone" ] ||
	fail "data disk's injection"
run qemu-img compare "$GUEST" kvm/web01-disk1.qcow2 || fail "disk 1 changed"

# UEFI: the GPT guest with GRUB at the removable-media path, as an EFI VM
guest uefi-fallback
qemu-img convert -O vmdk -o subformat=streamOptimized "$GUEST" web01-disk1.vmdk
cap1=$(qemu-img info --output=json "$GUEST" | jq '.["virtual-size"]')
ovf_vmware web02 efi "$cap1" "" > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk > web01.mf
ova web02.ova web01.ovf web01.mf web01-disk1.vmdk
"$VMCONV" web02.ova --to qcow2 --out kvm2 --no-inject --validate=qemu \
	--timeout=600 --output=json -q > j; rc=$?
cat j
[ $rc -eq 0 ] || fail "UEFI VM: exit $rc"
[ "$(jq -r .validation.firmware j)" = uefi ] || fail "UEFI VM: firmware"
[ "$(jq -r .validation.booted j)" = true ] || fail "UEFI VM did not boot"
# the built-in VMM (nested, OVMF inside the appliance): the same verdict
"$VMCONV" web02.ova --to qcow2 --out kvm3 --no-inject --validate=nested \
	--timeout=600 --output=json -q > j; rc=$?
cat j
[ $rc -eq 0 ] || fail "UEFI VM on the nested engine: exit $rc"
[ "$(jq -r .validation.engine j)" = nested ] || fail "nested: engine"
[ "$(jq -r .validation.firmware j)" = uefi ] || fail "nested: firmware"
[ "$(jq -r .validation.booted j)" = true ] || fail "nested: not booted"
[ "$(jq -r .validation.stage j)" = userspace ] || fail "nested: stage"
exit 0
