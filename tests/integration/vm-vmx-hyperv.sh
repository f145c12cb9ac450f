# VMware .vmx (a BIOS and an EFI guest, as ESXi and Workstation write
# them, with VMDK descriptors beside) and a Hyper-V 2012 R2 export
# (Virtual Machines/GUID.xml in UTF-16, Virtual Hard Disks/*.vhdx) read
# into the same shape, and converted by the one command.
. "$(dirname "$0")/lib.sh"
requires qemu-img jq iconv virt-xml-validate
cd "$T" || fail cd

# -- ESXi-style BIOS guest: SCSI pvscsi + an IDE CD, static MAC --
mkdir esx
qemu-img create -q -f vmdk esx/web01.vmdk 64M
qemu-img create -q -f vmdk -o subformat=monolithicFlat esx/web01_1.vmdk 16M
cat > esx/web01.vmx <<'EOF'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "13"
displayName = "web01"
# comment line
guestOS = "debian10-64"
memsize = "2048"
numvcpus = "4"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "web01.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "web01_1.vmdk"
scsi0:2.present = "FALSE"
scsi0:2.fileName = "gone.vmdk"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-image"
ide1:0.fileName = "/vmfs/volumes/datastore1/iso/debian.iso"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:01:02:03"
ethernet1.present = "TRUE"
ethernet1.virtualDev = "e1000e"
ethernet1.addressType = "generated"
ethernet1.generatedAddress = "00:0c:29:aa:bb:cc"
EOF
"$VMCONV" info --output=json esx/web01.vmx > j || fail "info vmx"
cat j
[ "$(jq -r '.name, .vcpus, .memory, .firmware, .["os-type"]' j | tr '\n' ' ')" = \
  "web01 4 2147483648 bios debian10-64 " ] || fail "vmx shape"
[ "$(jq -r '.disks[] | .id + "/" + .bus + "/" + .device + "/" + (.capacity|tostring)' j | tr '\n' ' ')" = \
  "ide1:0/ide/cdrom/0 scsi0:0/scsi/disk/67108864 scsi0:1/scsi/disk/16777216 " ] || fail "vmx disks"
[ "$(jq -r '.nics[] | .model + "/" + .mac' j | tr '\n' ' ')" = \
  "vmxnet3/00:50:56:01:02:03 e1000e/00:0c:29:aa:bb:cc " ] || fail "vmx nics"
jq -r '.controllers[] | .bus + (.index|tostring) + ":" + .model' j | grep -qx 'scsi0:pvscsi' || fail "pvscsi"
"$VMCONV" esx/web01.vmx --to qcow2 --out kvm --no-inject -q || fail "vmx -> qcow2"
run qemu-img compare esx/web01.vmdk kvm/web01-disk1.qcow2 || fail "disk 1"
run qemu-img compare esx/web01_1.vmdk kvm/web01-disk2.qcow2 || fail "disk 2"
run virt-xml-validate kvm/web01.xml domain || fail "domain XML"
grep -q '00:0c:29:aa:bb:cc' kvm/web01.xml || fail "generated MAC kept"

# the guest OS type goes into the OVA the way VMware names it
"$VMCONV" esx/web01.vmx --to ova --out esx.ova -q || fail "vmx -> ova"
"$VMCONV" info --output=json esx.ova > j || fail "info esx.ova"
[ "$(jq -r '.["os-type"], .["os-id"], .vcpus, (.disks|length), .nics[1].mac' j | tr '\n' ' ')" = \
  "debian10_64Guest 101 4 2 00:0c:29:aa:bb:cc " ] || fail "vmx -> ova shape"

# -- Workstation-style EFI guest on NVMe --
mkdir ws
qemu-img create -q -f vmdk ws/ws.vmdk 32M
cat > ws/ws.vmx <<'EOF'
.encoding = "windows-1252"
displayName = "ws efi"
firmware = "efi"
guestOS = "other5xlinux-64"
memsize = "1024"
nvme0.present = "TRUE"
nvme0:0.present = "TRUE"
nvme0:0.fileName = "ws.vmdk"
EOF
"$VMCONV" info --output=json ws/ws.vmx > j || fail "info efi vmx"
[ "$(jq -r '.firmware, .vcpus, .disks[0].bus' j | tr '\n' ' ')" = "efi 1 nvme " ] || fail "efi vmx"

# -- hostile .vmx: a disk outside its folder, a bad line --
printf 'memsize = "512"\nscsi0.present = "TRUE"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "../../etc/passwd"\n' > esx/evil.vmx
"$VMCONV" info esx/evil.vmx 2> err && fail "evil vmx read"
cat err; grep -q "disk '../../etc/passwd' is not a file inside" err || fail "evil error"
printf 'memsize = "512\n' > esx/broken.vmx
"$VMCONV" info esx/broken.vmx 2> err && fail "broken vmx read"
cat err; grep -q "broken.vmx: line 1 is not" err || fail "broken error"

# -- Hyper-V 2012 R2 export, generation 2, UTF-16 --
mkdir -p "hv/web03/Virtual Machines" "hv/web03/Virtual Hard Disks"
qemu-img create -q -f vhdx "hv/web03/Virtual Hard Disks/web03.vhdx" 48M
qemu-img create -q -f vhdx "hv/web03/Virtual Hard Disks/data.vhdx" 16M
G=5B1C3A8E-1D2F-4C3B-9A8D-7E6F5A4B3C2D
cat <<'EOF' | iconv -f UTF-8 -t UTF-16 > "hv/web03/Virtual Machines/$G.xml"
<?xml version="1.0" encoding="UTF-16" standalone="yes"?>
<configuration>
  <properties>
    <creation_time type="bytes">AAAAAA==</creation_time>
    <global_id type="string">5B1C3A8E-1D2F-4C3B-9A8D-7E6F5A4B3C2D</global_id>
    <name type="string">web03</name>
    <subtype type="integer">1</subtype>
    <type_id type="string">Virtual Machines</type_id>
    <version type="integer">1280</version>
  </properties>
  <settings>
    <memory>
      <bank>
        <dynamic_memory_enabled type="bool">False</dynamic_memory_enabled>
        <limit type="integer">1048576</limit>
        <reservation type="integer">512</reservation>
        <size type="integer">3072</size>
      </bank>
    </memory>
    <processors>
      <count type="integer">2</count>
    </processors>
  </settings>
  <_d422512d-2bf2-4752-809d-7b82b5fcb1b4_>
    <controller0>
      <drive0>
        <pathname type="string">C:\Hyper-V\web03\Virtual Hard Disks\web03.vhdx</pathname>
        <type type="string">VHD</type>
      </drive0>
      <drive1>
        <pathname type="string">D:\data\data.vhdx</pathname>
        <type type="string">VHD</type>
      </drive1>
      <drive2>
        <pathname type="string">C:\iso\setup.iso</pathname>
        <type type="string">ISO</type>
      </drive2>
    </controller0>
  </_d422512d-2bf2-4752-809d-7b82b5fcb1b4_>
  <_8e3a359f-559a-4b6a-98a9-1690a6100ed7_>
    <ChannelInstanceGuid type="string">{2c4a9f1e-0000-4000-8000-000000000001}</ChannelInstanceGuid>
    <Connection>
      <AltSwitchName type="string">External</AltSwitchName>
    </Connection>
    <FriendlyName type="string">Network Adapter</FriendlyName>
    <MacAddress type="string">00155D0A0B0C</MacAddress>
    <IsSynthetic type="bool">True</IsSynthetic>
  </_8e3a359f-559a-4b6a-98a9-1690a6100ed7_>
</configuration>
EOF
"$VMCONV" info --output=json "hv/web03/Virtual Machines/$G.xml" > j || fail "info hyperv"
cat j
[ "$(jq -r '.name, .source, .vcpus, .memory, .firmware' j | tr '\n' ' ')" = \
  "web03 hyperv 2 3221225472 efi " ] || fail "hyperv shape"
[ "$(jq -r '.disks[] | .bus + "/" + .device + "/" + (.format // "-")' j | tr '\n' ' ')" = \
  "scsi/disk/vhdx scsi/disk/vhdx scsi/cdrom/- " ] || fail "hyperv disks"
[ "$(jq -r '.nics[0].mac, .nics[0].network' j | tr '\n' ' ')" = "00:15:5d:0a:0b:0c External " ] || fail "hyperv nic"
"$VMCONV" "hv/web03/Virtual Machines/$G.xml" --to qcow2 --out hvkvm --no-inject -q || fail "hyperv -> qcow2"
run qemu-img compare "hv/web03/Virtual Hard Disks/web03.vhdx" hvkvm/web03-disk1.qcow2 || fail "hv disk 1"
run qemu-img compare "hv/web03/Virtual Hard Disks/data.vhdx" hvkvm/web03-disk2.qcow2 || fail "hv disk 2"
run virt-xml-validate hvkvm/web03.xml domain || fail "hyperv domain XML"
# -- a .vmcx is said to be unreadable --
touch "hv/web03/Virtual Machines/$G.vmcx"
"$VMCONV" info "hv/web03/Virtual Machines/$G.vmcx" 2> err && fail "vmcx read"
cat err; grep -q "binary and undocumented" err || fail "vmcx error"
exit 0
