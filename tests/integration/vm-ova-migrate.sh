# The one command for whole VMs, both ways: an OVA to qcow2 disks plus a
# libvirt domain (virt-xml-validate checks it, qemu-img compare every
# disk), and the libvirt VM back to an OVA that Debian's virt-v2v reads
# (virt-v2v -i ova X.ova -o null --print-source).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vm-common.inc"
requires qemu-img jq tar virt-xml-validate virt-v2v
cd "$T" || fail cd
make_disks "$T"
ovf_vmware web01 efi 67108864 33554432 > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf
ova web01.ova web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk

# -- OVA -> qcow2 disks and web01.xml --
"$VMCONV" web01.ova --to qcow2 --out kvm --no-inject --output=json > j || fail "ova -> qcow2"
cat j
[ "$(jq -r '.disks | length' j)" = 2 ] || fail "summary lists two disks"
[ "$(jq -r '.configuration' j)" = "$T/kvm/web01.xml" ] || fail "configuration"
jq -r '.disks[0].source' j | grep -q 'web01.ova:web01-disk1.vmdk' || fail "source name"
ls -A kvm
[ "$(ls -A kvm | tr '\n' ' ')" = "web01-disk1.qcow2 web01-disk2.qcow2 web01.xml " ] ||
	fail "unexpected files in kvm/"
run qemu-img compare -f raw -F qcow2 d1.raw kvm/web01-disk1.qcow2 || fail "disk 1 differs"
run qemu-img compare -f raw -F qcow2 d2.raw kvm/web01-disk2.qcow2 || fail "disk 2 differs"
run qemu-img check kvm/web01-disk1.qcow2 || fail "qemu-img check"
run virt-xml-validate kvm/web01.xml domain || fail "domain XML invalid"
cat kvm/web01.xml
grep -q "<mac address=\"00:50:56:aa:bb:01\"/>" kvm/web01.xml || fail "MAC kept"
grep -q '<vcpu placement="static">2</vcpu>' kvm/web01.xml || fail vcpus
grep -q '<memory unit="KiB">1048576</memory>' kvm/web01.xml || fail memory
grep -q 'OVMF_CODE' kvm/web01.xml || fail "UEFI loader"
[ "$(grep -c 'bus="virtio"' kvm/web01.xml)" = 2 ] || fail "virtio disks"
# the domain reads back as the same shape
"$VMCONV" info --output=json kvm/web01.xml > j2 || fail "info domain"
[ "$(jq -r '.vcpus, .memory, .firmware, .nics[0].mac, (.disks|length)' j2 | tr '\n' ' ')" = \
  "2 1073741824 efi 00:50:56:aa:bb:01 2 " ] || fail "domain shape"

# -- libvirt domain -> OVA --
"$VMCONV" kvm/web01.xml --to ova --out back.ova -q || fail "xml -> ova"
tar tvf back.ova
[ "$(tar tf back.ova | tr '\n' ' ')" = \
  "web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk " ] || fail "member order"
ls -a | grep -q 'vmconv' && fail "temporary files left: $(ls -a)"
mkdir x && tar -C x -xf back.ova
(cd x && sed 's/^SHA256(\(.*\))= \(.*\)$/\2  \1/' web01.mf | sha256sum -c) || fail "manifest"
grep -q 'vmdk.html#streamOptimized' x/web01.ovf || fail "format URL"
grep -q 'createType="streamOptimized"' x/web01-disk1.vmdk || fail "not streamOptimized"
run qemu-img compare -f raw -F vmdk d1.raw x/web01-disk1.vmdk || fail "ova disk 1 differs"
run qemu-img compare -f raw -F vmdk d2.raw x/web01-disk2.vmdk || fail "ova disk 2 differs"
"$VMCONV" info --output=json back.ova > j3 || fail "vmconv reads its own OVA"
[ "$(jq -r '.vcpus, .memory, .firmware, .nics[0].mac' j3 | tr '\n' ' ')" = \
  "2 1073741824 efi 00:50:56:aa:bb:01 " ] || fail "OVA shape"

# -- an independent reader: virt-v2v --
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
start=$(date +%s.%N)
virt-v2v -i ova back.ova -o null --print-source > v2v 2>&1 || { cat v2v; fail "virt-v2v"; }
echo "virt-v2v --print-source: $(echo "$(date +%s.%N) - $start" | bc) s"
cat v2v
grep -Eq 'source name: web01' v2v || fail "v2v name"
grep -Eq 'memory: 1073741824' v2v || fail "v2v memory"
grep -Eq 'nr vCPUs: 2' v2v || fail "v2v vcpus"
grep -Eq 'firmware: uefi' v2v || fail "v2v firmware"
grep -Eq 'mac: 00:50:56:aa:bb:01' v2v || fail "v2v mac"
[ "$(grep -Ec '^\s+[0-9]+ \[scsi\]' v2v)" = 2 ] || fail "v2v disks"

# -- a failed conversion leaves nothing: a domain naming a missing disk --
sed 's|kvm/web01-disk2.qcow2|kvm/nosuch.qcow2|; s|web01-disk2.qcow2|nosuch.qcow2|' kvm/web01.xml > kvm/bad.xml
"$VMCONV" kvm/bad.xml --to ova --out bad.ova -q 2> err && fail "bad domain converted"
cat err
grep -q "disk '.*nosuch.qcow2' is not a file inside" err || fail "bad domain error"
[ -e bad.ova ] && fail "bad.ova written"
exit 0
