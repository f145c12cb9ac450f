# VMDK images written by other tools (../shared/samples): VMware ESXi
# seSparse, qemu-img streamOptimized version 3, monolithicSparse from
# dfvfs and plaso, VMware Workstation descriptors.  qemu-img is the
# oracle where it can open the image; the samples' README gives the
# expected content otherwise.
. "$(dirname "$0")/lib.sh"
requires qemu-img
S=$(samples) || skip "no samples folder ($VMCONV_TOP/../shared/samples)"

n=0
for f in vmdk-forensic/stream_opt vmdk-forensic/compressed_stream_opt \
	 vmdk-forensic/plaso_image dfvfs/ext2; do
	[ -f "$S/$f.vmdk.gz" ] || continue
	b=$(basename "$f")
	zcat "$S/$f.vmdk.gz" > "$T/$b.vmdk"
	qemu-img convert -O raw "$T/$b.vmdk" "$T/$b.q" || fail "qemu-img $b"
	run "$VMCONV" convert -O raw "$T/$b.vmdk" "$T/$b.v" || fail "read $b"
	cmp "$T/$b.q" "$T/$b.v" || fail "$b reads differently from qemu-img"
	"$VMCONV" info --output=json "$T/$b.vmdk" > "$T/$b.json" ||
		fail "info $b"
	n=$((n + 1))
done
if [ -f "$T/stream_opt.json" ]; then
	grep -q '"create-type": "streamOptimized"' "$T/stream_opt.json" ||
		fail "stream create type"
	grep -q '"compressed": true' "$T/stream_opt.json" || fail "compressed"
fi
if [ -f "$T/ext2.vmdk" ]; then
	# an ext2 file system: the superblock magic 0xef53 at 1024+56
	[ "$(od -An -tx2 -j 1080 -N2 "$T/ext2.v" | tr -d ' ')" = ef53 ] ||
		fail "ext2.vmdk has no ext2 superblock"
	# and vmconv writes it back in every subformat identically
	for sub in monolithicSparse streamOptimized twoGbMaxExtentFlat; do
		run "$VMCONV" convert -O vmdk -o subformat=$sub "$T/ext2.vmdk" \
			"$T/ext2-$sub.vmdk" || fail "rewrite $sub"
		qemu-img compare -q "$T/ext2.vmdk" "$T/ext2-$sub.vmdk" ||
			fail "rewrite $sub differs"
	done
fi

# ESXi seSparse with a hand-written descriptor: the first 16 MiB are 'a'
if [ -f "$S/dissect/sesparse.vmdk.gz" ]; then
	zcat "$S/dissect/sesparse.vmdk.gz" > "$T/sesparse.vmdk"
	cp "$S/dissect/_sesparse-descriptor.vmdk" "$T/desc.vmdk"
	run "$VMCONV" convert -O raw "$T/desc.vmdk" "$T/se.v" ||
		fail "read seSparse"
	[ "$(stat -c %s "$T/se.v")" = 536870912 ] || fail "seSparse size"
	head -c 16M /dev/zero | tr '\0' a | cmp -n 16777216 - "$T/se.v" ||
		fail "seSparse: first 16 MiB are not 0x61"
	qemu-img convert -O raw "$T/desc.vmdk" "$T/se.q" || fail "qemu-img se"
	cmp "$T/se.q" "$T/se.v" || fail "seSparse differs from qemu-img"
	"$VMCONV" info --output=json "$T/desc.vmdk" | grep -q '"SESPARSE"' ||
		fail "seSparse info"
	# the extent alone opens too (qemu cannot): same content
	run "$VMCONV" compare "$T/sesparse.vmdk" "$T/se.v" ||
		fail "bare seSparse extent"
	"$VMCONV" info --output=json "$T/sesparse.vmdk" |
		grep -q '"create-type": "seSparse"' || fail "bare seSparse info"
	run "$VMCONV" check "$T/desc.vmdk" || fail "check seSparse"
	n=$((n + 1))
fi

# VMware Workstation's descriptor for a 16-extent split disk whose
# extents are absent: a clear error naming the missing extent
if [ -f "$S/vmdk-forensic/ms3-win.vmdk.gz" ]; then
	zcat "$S/vmdk-forensic/ms3-win.vmdk.gz" > "$T/ms3-win.vmdk"
	expect_exit 1 "$VMCONV" info "$T/ms3-win.vmdk" 2> "$T/err"
	cat "$T/err"
	grep -q 'disk-s001.vmdk' "$T/err" || fail "missing extent not named"
	n=$((n + 1))
fi

# libvmdk's VMware Player descriptor (windows-1252): parses, and names
# its missing extent
if [ -f "$S/libyal/libvmdk/descriptor_file.1" ]; then
	cp "$S/libyal/libvmdk/descriptor_file.1" "$T/player.vmdk"
	expect_exit 1 "$VMCONV" info "$T/player.vmdk" 2> "$T/err"
	cat "$T/err"
	grep -q 'test1.vmdk' "$T/err" || fail "libvmdk descriptor"
	n=$((n + 1))
fi
[ "$n" -gt 0 ] || skip "no VMDK samples present"
echo "$n samples checked"
exit 0
