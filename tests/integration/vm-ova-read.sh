# Reading OVA and OVF packages (DSP0243) as VMware lays them out: the
# shape (vCPUs, memory, firmware, controllers, disks with their bus, NICs
# with MACs), manifests with SHA256 and SHA1, chunked and gzip-compressed
# disks; and every malformed package ending in a clear error that names
# the file and the structure, with nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vm-common.inc"
requires qemu-img jq tar gzip split
cd "$T" || fail cd
make_disks "$T"
C1=67108864 C2=33554432

# -- a good two-disk OVA with a SHA256 manifest --
ovf_vmware web01 efi $C1 $C2 > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf
ova good.ova web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk
run "$VMCONV" info good.ova || fail "info good.ova"
"$VMCONV" info --output=json good.ova > j || fail "info json"
cat j
[ "$(jq -r '.name, .vcpus, .memory, .firmware' j | tr '\n' ' ')" = \
  "web01 2 1073741824 efi " ] || fail "shape"
[ "$(jq -r '.disks | length' j)" = 2 ] || fail "two disks"
[ "$(jq -r '.disks[0].bus, .disks[0].capacity, .disks[0].format' j | tr '\n' ' ')" = \
  "scsi $C1 vmdk " ] || fail "disk 1"
[ "$(jq -r '.disks[1].bus, .disks[1].unit, .disks[1].capacity' j | tr '\n' ' ')" = \
  "sata 1 $C2 " ] || fail "disk 2"
[ "$(jq -r '.nics[0].mac, .nics[0].model, .nics[0].network' j | tr '\n' ' ')" = \
  "00:50:56:aa:bb:01 VmxNet3 VM Network " ] || fail "nic"
[ "$(jq -r '.controllers[] | .bus + ":" + .model' j | tr '\n' ' ')" = \
  "scsi:lsilogic sata:vmware.sata.ahci " ] || fail "controllers"
jq -r '.notes[]' j | grep -q "3 digests checked" || fail "manifest not checked"
jq -r '.notes[]' j | grep -q "ResourceType 24" || fail "video card not reported"
jq -r '.notes[]' j | grep -q "BootOrderSection" || fail "unknown section not reported"
ls -a | grep -q vmconv-ova && fail "scratch folder left behind"

# -- a hostile VM name never leaves the output folder; a scratch folder
#    of a killed run (its process gone) is removed --
ovf_vmware '../../evil' bios $C1 "" > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk > web01.mf
ova evil.ova web01.ovf web01.mf web01-disk1.vmdk
mkdir -p evil/sub/.vmconv-ova.4194303.AbCdEf && touch evil/sub/.vmconv-ova.4194303.AbCdEf/x.vmdk
mkdir -p evil/sub/.vmconv-ova.1.AbCdEf	# pid 1 lives: kept
"$VMCONV" evil.ova --to qcow2 --out evil/sub --no-inject -q || fail "evil name"
ls -A evil/sub evil
[ "$(ls evil/sub | grep -c 'evil-disk1.qcow2$')" = 1 ] || fail "evil disk not in the output folder"
[ "$(ls -A evil | tr '\n' ' ')" = "sub " ] || fail "evil name escaped the output folder"
[ -e evil/sub/.vmconv-ova.4194303.AbCdEf ] && fail "stale scratch folder kept"
[ -e evil/sub/.vmconv-ova.1.AbCdEf ] || fail "a live process's scratch folder removed"
ovf_vmware web01 efi $C1 $C2 > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf

# -- the same as a loose OVF folder, and BIOS firmware --
mkdir loose && cp web01-disk1.vmdk web01-disk2.vmdk loose/
ovf_vmware web01 bios $C1 $C2 > loose/web01.ovf
"$VMCONV" info --output=json loose/web01.ovf > j || fail "info loose ovf"
[ "$(jq -r '.firmware, .source' j | tr '\n' ' ')" = "bios ovf " ] || fail "loose"

# -- VirtualBox's layout: OVF 1.0, no Name, /disk/ host resources, AHCI,
#    MegaBytes, MAC and firmware only in vbox:Machine, BSD-style manifest --
mkdir vb && cp web01-disk1.vmdk vb/vbox1-disk001.vmdk
cat > vb/vbox1.ovf <<'EOF'
<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="vbox1-disk001.vmdk"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="67108864" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" vbox:uuid="8f0e6a1c-3b2a-4c7e-9d61-0a1b2c3d4e5f"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="vbox1">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="96">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>vbox1</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>1 virtual CPU</rasd:Caption>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>768 MB of memory</rasd:Caption>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>768 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>768</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>ideController0</rasd:Caption>
        <rasd:Description>IDE Controller</rasd:Description>
        <rasd:ElementName>ideController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>
        <rasd:ResourceType>5</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:Description>SATA Controller</rasd:Description>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>6</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:Description>Disk Image</rasd:Description>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>7</rasd:InstanceID>
        <rasd:Parent>5</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{3c1f0e2a-5b4d-4e6f-8a9b-0c1d2e3f4a5b}" name="vbox1">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Hardware>
        <CPU count="1"/>
        <Memory RAMSize="768"/>
        <Firmware type="EFI"/>
        <Network>
          <Adapter slot="0" enabled="true" MACAddress="080027A1B2C3" type="82540EM">
            <NAT/>
          </Adapter>
          <Adapter slot="1" enabled="false" MACAddress="080027000001" type="82540EM"/>
        </Network>
      </Hardware>
    </vbox:Machine>
  </VirtualSystem>
</Envelope>
EOF
(cd vb && for f in vbox1.ovf vbox1-disk001.vmdk; do s=$(sha256sum $f); echo "SHA256 ($f) = ${s%% *}"; done > vbox1.mf)
ova vbox1.ova vb/vbox1.ovf vb/vbox1.mf vb/vbox1-disk001.vmdk
"$VMCONV" info --output=json vbox1.ova > j || fail "info VirtualBox OVA"
cat j
[ "$(jq -r '.name, .vcpus, .memory, .firmware, .nics[0].mac, .disks[0].bus' j | tr '\n' ' ')" = \
  "vbox1 1 805306368 efi 08:00:27:a1:b2:c3 sata " ] || fail "VirtualBox shape"
jq -r '.notes[]' j | grep -q "2 digests checked" || fail "BSD-style manifest"

# -- SHA1 manifest (OVF 1.x), gzip-compressed disk 1, chunked disk 2 --
mkdir cz && cd cz || fail cd
ovf_vmware web01 bios $C1 $C2 |
	sed 's|ovf:href="web01-disk1.vmdk" ovf:id="file1"|& ovf:compression="gzip"|;
	     s|ovf:href="web01-disk2.vmdk" ovf:id="file2"|& ovf:chunkSize="20000"|' > web01.ovf
gzip -c ../web01-disk1.vmdk > web01-disk1.vmdk
split -d -a 9 -b 20000 ../web01-disk2.vmdk web01-disk2.vmdk.
ls
manifest SHA1 web01.ovf web01-disk1.vmdk web01-disk2.vmdk.* > web01.mf
ova ../cz.ova web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk.*
cd .. || fail cd
"$VMCONV" info --output=json cz.ova > j || fail "info gzip/chunked"
jq -r '.notes[]' j | grep -q "digests checked" || fail "sha1 manifest"
run "$VMCONV" cz.ova --to raw --out czout --no-inject -q || fail "convert gzip/chunked"
cmp d1.raw czout/web01-disk1.img || fail "gzip disk differs"
cmp d2.raw czout/web01-disk2.img || fail "chunked disk differs"

# -- malformed packages: an error naming the problem, and no output --
bad() {	# NAME REGEX: info and the one-shot form both fail with REGEX
	local name=$1 re=$2
	echo "== $name"
	"$VMCONV" info "$name.ova" > out 2> err && fail "$name: info succeeded"
	cat err
	grep -Eq "$re" err || fail "$name: error does not say '$re'"
	[ "$(wc -l < err)" -eq 1 ] || fail "$name: more than one error line"
	"$VMCONV" "$name.ova" --to qcow2 --out "out-$name" --no-inject -q 2> err &&
		fail "$name: migration succeeded"
	grep -Eq "$re" err || fail "$name: migration error does not say '$re'"
	[ -z "$(ls -A "out-$name")" ] || fail "$name: left $(ls -A "out-$name")"
	ls -a | grep -q vmconv-ova && fail "$name: scratch folder left"
	return 0
}
# a digest that does not match
sed 's/^\(SHA256(web01-disk2.vmdk)= \)./\10/; s/^\(SHA256(web01-disk2.vmdk)= \)0\(.*\)/\1f\2/' web01.mf > m
grep -q "$(sed -n 3p web01.mf)" m && sed -i '3s/= ./= 1/' m
mkdir wd && cp web01.ovf web01-disk1.vmdk web01-disk2.vmdk wd/ && cp m wd/web01.mf
ova wrong-digest.ova wd/web01.ovf wd/web01.mf wd/web01-disk1.vmdk wd/web01-disk2.vmdk
bad wrong-digest "wrong-digest.ova: web01.mf: SHA256 of 'web01-disk2.vmdk' does not match"
# a disk missing from the archive
mkdir md && cp web01.ovf web01-disk1.vmdk md/
manifest SHA256 md/web01.ovf md/web01-disk1.vmdk > md/web01.mf
ova missing-disk.ova md/web01.ovf md/web01.mf md/web01-disk1.vmdk
bad missing-disk "missing-disk.ova: web01.ovf: References file 'web01-disk2.vmdk' is missing"
# a descriptor that is not XML
mkdir nx && echo 'this is not <XML' > nx/web01.ovf && cp web01-disk1.vmdk nx/
ova not-xml.ova nx/web01.ovf nx/web01-disk1.vmdk
bad not-xml "not-xml.ova: web01.ovf: not an XML document \(line"
# '..' in References
mkdir dd && ovf_vmware web01 bios $C1 $C2 ../web01-disk2.vmdk > dd/web01.ovf
cp web01-disk1.vmdk web01-disk2.vmdk dd/
ova dotdot.ova dd/web01.ovf dd/web01-disk1.vmdk dd/web01-disk2.vmdk
bad dotdot "References file '../web01-disk2.vmdk' leaves the package folder"
# one file listed as two disks
mkdir tw && ovf_vmware web01 bios $C1 $C1 web01-disk2.vmdk file1 > tw/web01.ovf
cp web01-disk1.vmdk web01-disk2.vmdk tw/
ova twice.ova tw/web01.ovf tw/web01-disk1.vmdk tw/web01-disk2.vmdk
bad twice "file 'web01-disk1.vmdk' is listed twice in DiskSection"
# 1 TB stated for a 64 MiB disk
mkdir tb && ovf_vmware web01 bios 1099511627776 "" > tb/web01.ovf
cp web01-disk1.vmdk tb/
ova terabyte.ova tb/web01.ovf tb/web01-disk1.vmdk
bad terabyte "disk 'vmdisk1' is stated as 1099511627776 bytes, but its file 'web01-disk1.vmdk' holds a 67108864-byte disk"
# a member twice in the tar
cp web01.ovf tw2.ovf
tar --format=ustar -cf dup-member.ova web01.ovf web01-disk1.vmdk web01-disk2.vmdk web01-disk2.vmdk
bad dup-member "tar member 'web01-disk2.vmdk' appears twice"
# not a tar at all
head -c 10240 /dev/urandom > not-tar.ova
bad not-tar "not-tar.ova: not an OVA \(tar\) archive"
# a gzip member that inflates far past its disk's capacity
mkdir gb && cd gb || fail cd
ovf_vmware web01 bios 1048576 "" | sed 's|ovf:href="web01-disk1.vmdk" ovf:id="file1"|& ovf:compression="gzip"|' > web01.ovf
head -c 64M /dev/zero | gzip -c > web01-disk1.vmdk
ova ../gzip-bomb.ova web01.ovf web01-disk1.vmdk
cd .. || fail cd
bad gzip-bomb "'web01-disk1.vmdk' inflates to more than"
exit 0
