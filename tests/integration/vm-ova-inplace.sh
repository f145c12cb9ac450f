# OVA disks stored plainly are read where they lie in the tar, never
# copied out: ustar, pax (extended headers) and GNU (long names) archives
# made by GNU tar, the member offsets vmconv reports checked against
# Python's tarfile, the conversion traced (strace) to show that no file is
# created but the outputs and that TMPDIR stays empty, every output
# compared with its original disk by qemu-img; the manifest still checked
# (a wrong SHA-1 refused naming both digests); a gzip member still
# streamed to a scratch folder; and hostile archives (a member running
# past the end, a size that overflows, '..', a name twice, a truncated or
# damaged header, a disk whose tables point past its member into the
# next one) ending in one clear error naming the OVA, the member and the
# offset, with nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vm-common.inc"
requires qemu-img jq tar gzip strace python3
cd "$T" || fail cd
make_disks "$T"
C1=67108864 C2=33554432
LONG=web01-$(printf 'x%.0s' $(seq 1 110))-disk2.vmdk	# over ustar's 100
cp web01-disk2.vmdk "$LONG"
ovf_vmware web01 bios $C1 $C2 "$LONG" > web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk "$LONG" > web01.mf
tar --format=pax -cf pax.ova web01.ovf web01.mf web01-disk1.vmdk "$LONG"
tar --format=gnu -cf gnu.ova web01.ovf web01.mf web01-disk1.vmdk "$LONG"
ovf_vmware web01 bios $C1 $C2 > short.ovf
mkdir us && cp short.ovf us/web01.ovf && cp web01-disk1.vmdk web01-disk2.vmdk us/
manifest SHA1 us/web01.ovf us/web01-disk1.vmdk us/web01-disk2.vmdk > us/web01.mf
ova ustar.ova us/web01.ovf us/web01.mf us/web01-disk1.vmdk us/web01-disk2.vmdk

# Member data offsets by Python's tarfile, an independent tar reader.
offsets() {
	python3 -c 'import sys, tarfile
for m in tarfile.open(sys.argv[1]):
    if m.name.endswith(".vmdk"): print(m.offset_data)' "$1"
}

for kind in ustar pax gnu; do
	echo "== $kind"
	"$VMCONV" info --output=json $kind.ova > j || fail "$kind: info"
	[ "$(jq -r '.disks[].read' j | tr '\n' ' ')" = "in place in place " ] ||
		fail "$kind: disks not read in place"
	[ "$(jq -r '.disks[]."member-offset"' j)" = "$(offsets $kind.ova)" ] ||
		fail "$kind: offsets differ from tarfile's: $(offsets $kind.ova)"
	jq -r '.notes[]' j | grep -q "manifest web01.mf: 3 digests checked" ||
		fail "$kind: manifest not checked"
	# the conversion: nothing created but the outputs (their temporary
	# names, renamed into place), TMPDIR left empty
	mkdir tmp-$kind out-$kind
	TMPDIR=$T/tmp-$kind traced strace -f -o trace-$kind \
		-e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2 \
		"$VMCONV" $kind.ova --to qcow2 --out out-$kind --no-inject \
		--output=json > s-$kind || fail "$kind: convert"
	[ -z "$(ls -A tmp-$kind)" ] || fail "$kind: TMPDIR got $(ls -A tmp-$kind)"
	grep -E 'O_CREAT|mkdir|creat\(' trace-$kind | grep -vE 'ENOENT|EEXIST' > created
	cat created
	[ "$(grep -c . created)" = 3 ] || fail "$kind: not 3 files created"
	grep -vqE "out-$kind/\.web01(-disk[12]\.qcow2|\.xml)\.vmconv-tmp" created &&
		fail "$kind: a file other than the outputs was created"
	ls -a . | grep -q vmconv- && fail "$kind: scratch folder made"
	[ "$(jq -r '.disks[]."source-read"' s-$kind | tr '\n' ' ')" = \
	  "in place in place " ] || fail "$kind: summary does not say in place"
	qemu-img compare d1.raw out-$kind/web01-disk1.qcow2 || fail "$kind: disk 1"
	qemu-img compare d2.raw out-$kind/web01-disk2.qcow2 || fail "$kind: disk 2"
done
"$VMCONV" gnu.ova --to raw --out out-text --no-inject > text || fail "text"
cat text
[ "$(grep -c 'read in place' text)" = 2 ] || fail "summary text: in place"

# -- a gzip member is still streamed to a scratch folder (removed after);
#    the plain one beside it is read in place --
mkdir gz && cd gz || fail cd
sed 's|ovf:href="web01-disk1.vmdk" ovf:id="file1"|& ovf:compression="gzip"|' \
	../short.ovf > web01.ovf
gzip -c ../web01-disk1.vmdk > web01-disk1.vmdk
cp ../web01-disk2.vmdk .
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf
ova ../gz.ova web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk
cd .. || fail cd
"$VMCONV" gz.ova --to qcow2 --out out-gz --no-inject --output=json > s ||
	fail "gz convert"
[ "$(jq -r '.disks[]."source-read"' s | tr '\n' ' ')" = \
  "extracted in place " ] || fail "gz: $(jq -c '.disks' s)"
qemu-img compare d1.raw out-gz/web01-disk1.qcow2 || fail "gz: disk 1"
qemu-img compare d2.raw out-gz/web01-disk2.qcow2 || fail "gz: disk 2"
ls -a . out-gz | grep -q vmconv- && fail "gz: scratch folder left"

# -- a VMDK descriptor whose flat extent is another member: the extent is
#    found among the members, read in place; one naming a file beside
#    the OVA or above it is refused --
mkdir fl && cd fl || fail cd
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat ../d1.raw web01-disk1.vmdk
ovf_vmware web01 bios $C1 "" > web01.ovf
ova ../flat.ova web01.ovf web01-disk1.vmdk web01-disk1-flat.vmdk
sed -i 's|"web01-disk1-flat.vmdk"|"../d1.raw"|' web01-disk1.vmdk
ova ../flat-up.ova web01.ovf web01-disk1.vmdk web01-disk1-flat.vmdk
sed -i 's|"../d1.raw"|"d1.raw"|' web01-disk1.vmdk
ova ../flat-beside.ova web01.ovf web01-disk1.vmdk web01-disk1-flat.vmdk
cd .. || fail cd
"$VMCONV" flat.ova --to qcow2 --out out-flat --no-inject --output=json > s ||
	fail "flat convert"
[ "$(jq -r '.disks[]."source-read"' s)" = "in place" ] || fail "flat: not in place"
qemu-img compare d1.raw out-flat/web01-disk1.qcow2 || fail "flat: disk 1"
check_err 1 "flat-up.ova/web01-disk1.vmdk: extent '../d1.raw' refused" \
	"$VMCONV" info flat-up.ova
check_err 1 "extent 'd1.raw' (flat-beside.ova/d1.raw): Not a directory" \
	"$VMCONV" info flat-beside.ova

# -- hostile archives: one error line naming OVA, member and offset;
#    nothing written, no scratch folder --
bad() {	# NAME REGEX
	local name=$1 re=$2
	echo "== $name"
	check_err 1 "" "$VMCONV" info "$name.ova"
	grep -Eq "$re" "$T/err" || fail "$name: error does not say '$re'"
	mkdir "out-$name"
	"$VMCONV" "$name.ova" --to qcow2 --out "out-$name" --no-inject -q \
		2> err && fail "$name: conversion succeeded"
	grep -Eq "$re" err || fail "$name: conversion error does not say '$re'"
	[ -z "$(ls -A "out-$name")" ] || fail "$name: left $(ls -A "out-$name")"
	ls -a | grep -q vmconv- && fail "$name: scratch folder left"
	return 0
}
# a wrong SHA-1 of a member read in place: both digests named
sed -i '3s/= \(.*\)\(.\)$/= \2\1/' us/web01.mf
sed -n 3p us/web01.mf
ova wrong-sha1.ova us/web01.ovf us/web01.mf us/web01-disk1.vmdk us/web01-disk2.vmdk
want=$(sed -n '3s/.*= //p' us/web01.mf)
have=$(sha1sum < web01-disk2.vmdk | cut -d' ' -f1)
bad wrong-sha1 "wrong-sha1.ova: web01.mf: SHA1 of 'web01-disk2.vmdk' does not match: the manifest says $want, the file has $have"

# Hostile tars made with Python's tarfile from the good members.
cat > hostile.py <<'EOF'
import sys, tarfile
kind, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
fmt = tarfile.GNU_FORMAT if kind in ("huge", "past") else tarfile.USTAR_FORMAT
with tarfile.open(out, "w", format=fmt) as t:
    for f in files[:-1]:
        t.add(f)
    t.add(files[-1], arcname="../" + files[-1] if kind == "dotdot" else None)
    if kind == "twice":
        t.add(files[-1])
if kind in ("huge", "past"):	# the last header's size, checksum redone
    with tarfile.open(out) as t:
        h = t.getmembers()[-1].offset
    b = bytearray(open(out, "rb").read())
    if kind == "huge":	# base-256, near 2^63: offset + size overflows
        b[h + 124:h + 136] = b"\x80" + (2 ** 63 - 512).to_bytes(11, "big")
    else:		# 1 GiB, far past the end
        b[h + 124:h + 136] = b"%011o\0" % (1 << 30)
    b[h + 148:h + 156] = b" " * 8
    b[h + 148:h + 156] = b"%06o\0 " % sum(b[h:h + 512])
    open(out, "wb").write(b)
EOF
cp short.ovf web01.ovf
manifest SHA256 web01.ovf web01-disk1.vmdk web01-disk2.vmdk > web01.mf
for k in dotdot twice huge past clean; do
	python3 hostile.py $k $k.ova web01.ovf web01.mf web01-disk1.vmdk \
		web01-disk2.vmdk || fail "hostile.py $k"
done
# where the last member's header and data start, in a clean archive of
# the same layout
last_hdr() {
	python3 -c 'import sys, tarfile
print(tarfile.open(sys.argv[1]).getmembers()[-1].offset)' "$1"
}
hdr=$(last_hdr clean.ova) data=$(offsets clean.ova | tail -1)
bad dotdot "dotdot.ova \(header at offset $hdr\): tar member '../web01-disk2.vmdk' leaves the package folder"
bad twice "twice.ova: tar member 'web01-disk2.vmdk' appears twice \(data at offsets $data and [0-9]+\)"
bad huge "huge.ova: tar member 'web01-disk2.vmdk' \(header at offset $hdr\) holds 9223372036854775296 bytes from offset $data, past the end of the archive"
bad past "past.ova: tar member 'web01-disk2.vmdk' \(header at offset $hdr\) holds 1073741824 bytes from offset $data, past the end of the archive"
hdr=$(last_hdr ustar.ova) data=$(offsets ustar.ova | tail -1)
# the archive cut inside the last member's data, then inside its header
cp ustar.ova cut-data.ova
truncate -s $((data + 4096)) cut-data.ova
bad cut-data "cut-data.ova: tar member 'web01-disk2.vmdk' \(header at offset $hdr\) holds [0-9]+ bytes from offset $data, past the end of the archive \($((data + 4096)) bytes\)"
cp ustar.ova cut-header.ova
truncate -s $((hdr + 300)) cut-header.ova
bad cut-header "cut-header.ova: truncated or damaged tar header at offset $hdr \(after member 'web01-disk1.vmdk'\)"
cp ustar.ova bad-sum.ova
printf 'ZZ' | dd of=bad-sum.ova bs=1 seek=$((hdr + 130)) conv=notrunc status=none
bad bad-sum "bad-sum.ova: truncated or damaged tar header at offset $hdr \(after member 'web01-disk1.vmdk'\)"

# -- a disk whose tables point past its member: its reads stop at the
#    member's end, never running into the next member's bytes --
mkdir sh && cd sh || fail cd
qemu-img convert -f raw -O vmdk ../d1.raw full.vmdk
head -c $(( $(stat -c %s full.vmdk) / 2 )) full.vmdk > web01-disk1.vmdk
cp full.vmdk web01-disk2.vmdk	# the bytes a runaway read would find
ovf_vmware web01 bios $C1 $C1 > web01.ovf
ova ../short-member.ova web01.ovf web01-disk1.vmdk web01-disk2.vmdk
cd .. || fail cd
mkdir out-short
check_err 1 "short-member.ova/web01-disk1.vmdk: grain table entry for grain [0-9]* points to offset 0x[0-9a-f]*, past the end of the file (size 0x$(printf %x $(stat -c %s sh/web01-disk1.vmdk)))" \
	"$VMCONV" short-member.ova --to qcow2 --out out-short --no-inject -q
[ -z "$(ls -A out-short)" ] || fail "short member: left $(ls -A out-short)"
exit 0
