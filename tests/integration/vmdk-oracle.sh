# qemu-img as the oracle for VMDK, both directions, every subformat:
# what `qemu-img convert -O vmdk -o subformat=S` writes, vmconv reads
# bit-exact; what vmconv writes, qemu-img compare finds identical to the
# source and qemu-img check finds clean.  The disk is 5 GiB (sparse) so
# the twoGbMaxExtent subformats get three extent files, with data across
# extent boundaries.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3

src=$T/src.raw
run qemu-img create -q -f raw "$src" 5G
# a run across the first 2047 MiB extent boundary, random data, text,
# a partial grain at the end of the disk
head -c 3M /dev/urandom > "$T/rnd"
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 100M 1M' \
	-c 'write -P 0x33 2046M 2M' -c 'write -P 0x44 4606M 512' \
	-c 'write -P 0x55 5119M 1M' "$src" >/dev/null || fail qemu-io
dd if="$T/rnd" of="$src" bs=1M seek=300 conv=notrunc status=none
yes 'vmconv vmdk test' | head -c 2M | dd of="$src" bs=1M seek=3000 \
	conv=notrunc status=none

for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse \
	   twoGbMaxExtentFlat streamOptimized; do
	d=$T/$sub
	mkdir -p "$d/q" "$d/v"
	# qemu-img writes, vmconv reads
	run qemu-img convert -f raw -O vmdk -o subformat=$sub "$src" \
		"$d/q/disk.vmdk" || fail "qemu-img convert $sub"
	run "$VMCONV" convert -O raw "$d/q/disk.vmdk" "$d/q.raw" ||
		fail "vmconv read $sub"
	qemu-img compare -q -f raw -F raw "$src" "$d/q.raw" ||
		fail "vmconv read of qemu-img's $sub differs"
	"$VMCONV" compare "$d/q/disk.vmdk" "$src" >/dev/null ||
		fail "vmconv compare on $sub"
	rm -f "$d/q.raw"
	# vmconv writes, qemu-img reads
	run "$VMCONV" convert -O vmdk -o subformat=$sub "$src" \
		"$d/v/disk.vmdk" || fail "vmconv write $sub"
	run qemu-img compare -f raw -F vmdk "$src" "$d/v/disk.vmdk" ||
		fail "qemu-img compare on vmconv's $sub"
	run qemu-img check -f vmdk "$d/v/disk.vmdk" ||
		fail "qemu-img check on vmconv's $sub"
	qemu-img info --output=json "$d/v/disk.vmdk" | grep -q \
		"\"create-type\": \"$sub\"" || fail "qemu-img info: create type"
	run "$VMCONV" check "$d/v/disk.vmdk" || fail "vmconv check on $sub"
	run "$VMCONV" check "$d/q/disk.vmdk" || fail "vmconv check, qemu's $sub"
	# info: sizes as qemu-img gives them (descriptor and extents counted)
	same_sizes_as_qemu "$d/q/disk.vmdk"
	same_sizes_as_qemu "$d/v/disk.vmdk"
	# vmconv reads its own output the same
	"$VMCONV" compare "$d/v/disk.vmdk" "$src" >/dev/null ||
		fail "vmconv re-read of $sub"
	# the same files, extent for extent
	(cd "$d/q" && ls) > "$d/qfiles"
	(cd "$d/v" && ls) > "$d/vfiles"
	diff "$d/qfiles" "$d/vfiles" || fail "$sub: extent files differ"
	ls -ls "$d/v"
	rm -rf "$d"
done

# what qemu-img calls monolithicSparse in its own multi-extent test: a
# split disk's extents are relative to the descriptor, not the cwd
run "$VMCONV" convert -O vmdk -o subformat=twoGbMaxExtentSparse "$src" \
	"$T/split.vmdk" || fail "split write"
[ "$(ls "$T"/split-s00?.vmdk | wc -l)" = 3 ] || fail "expected 3 extents"
(cd / && "$VMCONV" compare "$T/split.vmdk" "$src" >/dev/null) ||
	fail "extents resolved against the cwd"
grep -q '^RW 4192256 SPARSE "split-s001.vmdk"$' "$T/split.vmdk" ||
	fail "extent line not as VMware writes it"

# adapter type, hardware version, descriptor layout
small=$T/small.raw
qemu-img create -q -f raw "$small" 10M
for a in ide lsilogic buslogic pvscsi legacyESX; do
	run "$VMCONV" convert -O vmdk \
		-o subformat=monolithicFlat,adapter_type=$a,hwversion=14 \
		"$small" "$T/a-$a.vmdk" || fail "adapter $a"
	grep -q "^ddb.adapterType = \"$a\"$" "$T/a-$a.vmdk" ||
		fail "adapterType $a not written"
	grep -q '^ddb.virtualHWVersion = "14"$' "$T/a-$a.vmdk" ||
		fail "hwversion not written"
	qemu-img compare -q "$small" "$T/a-$a.vmdk" || fail "adapter $a data"
done
grep -q '^ddb.geometry.heads = "16"$' "$T/a-ide.vmdk" || fail "ide geometry"
grep -q '^ddb.geometry.heads = "255"$' "$T/a-lsilogic.vmdk" ||
	fail "scsi geometry"
cat "$T/a-lsilogic.vmdk"
# the default is not qemu's template
run "$VMCONV" convert -O vmdk "$small" "$T/def.vmdk" || fail default
! strings "$T/def.vmdk" | grep -q 'virtualHWVersion = "4"' ||
	fail "default descriptor uses qemu's hardware version 4"
strings "$T/def.vmdk" | grep -q '^ddb.uuid = "' || fail "no ddb.uuid"
"$VMCONV" info --output=json "$T/a-ide.vmdk" > "$T/info.json"
grep -q '"create-type": "monolithicFlat"' "$T/info.json" || fail info
grep -q '"adapter-type": "ide"' "$T/info.json" || fail "info adapter"
grep -q '"hardware-version": "14"' "$T/info.json" || fail "info hw"
grep -q '"format": "FLAT"' "$T/info.json" || fail "info extent"
expect_exit 1 "$VMCONV" convert -O vmdk -o subformat=vmfsThin "$small" \
	"$T/bad.vmdk"
expect_exit 1 "$VMCONV" convert -O vmdk -o adapter_type=scsi "$small" \
	"$T/bad.vmdk"
[ ! -e "$T/bad.vmdk" ] || fail "failed create left a file"

# a size that is not a multiple of the grain, nor of 1 MiB
qemu-img create -q -f raw "$T/odd.raw" 1000000000
qemu-io -f raw -c 'write -P 0x77 999999488 512' "$T/odd.raw" >/dev/null
for sub in monolithicSparse streamOptimized; do
	run "$VMCONV" convert -O vmdk -o subformat=$sub "$T/odd.raw" \
		"$T/odd-$sub.vmdk" || fail "odd $sub"
	qemu-img compare -q "$T/odd.raw" "$T/odd-$sub.vmdk" || fail "odd $sub"
done
# ESXi's layout: a descriptor (vmfs, vmfsThin, vmfsPreallocated,
# vmfsEagerZeroedThick) plus a -flat extent, read the way qemu reads it,
# and converted to a streamOptimized disk for an OVA
qemu-img create -q -f raw "$T/esx-flat.vmdk" 10M
qemu-io -f raw -c 'write -P 0x21 0 1M' -c 'write -P 0x43 9M 512' \
	"$T/esx-flat.vmdk" >/dev/null
for t in vmfs vmfsThin vmfsPreallocated vmfsEagerZeroedThick; do
	cat > "$T/esx.vmdk" <<DESC
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=9a4e1f3b
parentCID=ffffffff
isNativeSnapshot="no"
createType="$t"

# Extent description
RW 20480 VMFS "esx-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "1"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "2b7d5e0c8f1a3b6d4e9f0a1b9a4e1f3b"
ddb.thinProvisioned = "1"
ddb.uuid = "60 00 C2 9f 1e 2d 3c 4b-5a 69 78 87 96 a5 b4 c3"
ddb.virtualHWVersion = "19"
DESC
	run "$VMCONV" convert -O raw "$T/esx.vmdk" "$T/esx.v" || fail "read $t"
	cmp "$T/esx-flat.vmdk" "$T/esx.v" || fail "$t reads differently"
	# qemu 7.2 knows only "vmfs" of these types
	if [ $t = vmfs ]; then
		qemu-img convert -O raw "$T/esx.vmdk" "$T/esx.q" || fail qemu
		cmp "$T/esx.q" "$T/esx.v" || fail "vmfs differs from qemu-img"
	fi
	"$VMCONV" info --output=json "$T/esx.vmdk" |
		grep -q "\"create-type\": \"$t\"" ||
		fail "info $t"
done
run "$VMCONV" convert -O vmdk -o subformat=streamOptimized "$T/esx.vmdk" \
	"$T/ova-disk.vmdk" || fail "vmfs to stream"
qemu-img compare -q -f raw "$T/esx-flat.vmdk" "$T/ova-disk.vmdk" ||
	fail "vmfs to stream"
# vmconv writes ESXi's own layout too: createType vmfs, a VMFS extent
run "$VMCONV" convert -O vmdk -o subformat=vmfs,adapter_type=pvscsi "$src" \
	"$T/esxi.vmdk" || fail "write vmfs"
grep -q '^createType="vmfs"$' "$T/esxi.vmdk" || fail "vmfs createType"
grep -q '^RW 10485760 VMFS "esxi-flat.vmdk"$' "$T/esxi.vmdk" ||
	fail "vmfs extent line"
run qemu-img compare -f raw "$src" "$T/esxi.vmdk" || fail "vmfs compare"
rm -f "$T"/esxi*

# streamOptimized grains are compressed by the engine's worker threads
# (the compress callback), not one by one in the writer: the summary
# counts the bytes they produced
"$VMCONV" convert --output=json -O vmdk -o subformat=streamOptimized \
	"$T/esx-flat.vmdk" "$T/par.vmdk" > "$T/par.json" || fail "stream json"
cat "$T/par.json"
grep -q '"compressed-bytes": [1-9]' "$T/par.json" ||
	fail "no grain went through the parallel compress path"
qemu-img compare -q -f raw "$T/esx-flat.vmdk" "$T/par.vmdk" || fail "par"
# a split disk of more extents than the process may hold open: extent
# files are opened on demand (as twoGbMaxExtent disks of many TiB need)
mkdir "$T/many" && cd "$T/many" || fail cd
{ echo 'version=1'; echo 'createType="twoGbMaxExtentFlat"'; } > many.vmdk
for i in $(seq 1 300); do
	yes "$i" | head -c 4096 > "f$i.bin"
	echo "RW 8 FLAT \"f$i.bin\" 0" >> many.vmdk
	cat "f$i.bin" >> all.raw
done
(ulimit -n 64 && "$VMCONV" compare many.vmdk all.raw) ||
	fail "300 extents under a limit of 64 descriptors"
(ulimit -n 64 && "$VMCONV" convert -O vmdk many.vmdk one.vmdk) ||
	fail "convert of 300 extents"
qemu-img compare -q -f raw all.raw one.vmdk || fail "300 extents"
cd "$T" || fail cd
exit 0
