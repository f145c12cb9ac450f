# Damaged VMDK files through the CLI: each fails with exit 1 (or check's
# 2) and a message naming the file and the structure, never a crash (exit
# above 128), a hang (timeout) or a file left under the target name.
# The sources are made by qemu-img and then patched.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io timeout

cd "$T" || fail cd
# put32 FILE OFFSET VALUE: a little-endian 32-bit value
put32() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($3 & 255)) \
		$((($3 >> 8) & 255)) $((($3 >> 16) & 255)) \
		$((($3 >> 24) & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
get32() {
	od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '
}
# fails FILE PATTERN: convert and info fail cleanly, naming PATTERN
fails() {
	local rc
	timeout 60 "$VMCONV" convert -O raw "$1" out.raw 2> err.txt; rc=$?
	cat err.txt
	[ $rc -eq 1 ] || fail "$1: convert exited $rc (want 1)"
	grep -q -- "$2" err.txt || fail "$1: error lacks '$2'"
	grep -q "$1" err.txt || fail "$1: error names no file"
	[ ! -e out.raw ] || fail "$1: a failed convert left out.raw"
	timeout 60 "$VMCONV" info "$1" >/dev/null 2>&1; rc=$?
	[ $rc -le 2 ] || fail "$1: info exited $rc"
}

qemu-img create -q -f vmdk good.vmdk 8M
qemu-io -f vmdk -c 'write -P 0x5a 0 192k' -c 'write -P 0x5b 4M 64k' \
	good.vmdk >/dev/null
run "$VMCONV" check good.vmdk || fail "check on a good image"
gd=$(( $(get32 good.vmdk 56) * 512 ))
gt=$(( $(get32 good.vmdk $gd) * 512 ))

cp good.vmdk a.vmdk; put32 a.vmdk 56 0x7fffffff
fails a.vmdk "grain directory"
cp good.vmdk b.vmdk; put32 b.vmdk 44 0
fails b.vmdk "entries per grain table"
cp good.vmdk c.vmdk; put32 c.vmdk 20 12345
fails c.vmdk "grain size"
cp good.vmdk d.vmdk; put32 d.vmdk 16 0x100000	# capacity 2^52 sectors
fails d.vmdk "grain directory entries"
cp good.vmdk e.vmdk; put32 e.vmdk $gd 0x7ffffff0
fails e.vmdk "grain directory entry 0"
cp good.vmdk f.vmdk; put32 f.vmdk $((gt + 4)) 0x7ffffff0
fails f.vmdk "grain table entry for grain 1"
# check counts it as corruption: exit 2
expect_exit 2 "$VMCONV" check f.vmdk
# two grains sharing one offset
cp good.vmdk g.vmdk; put32 g.vmdk $((gt + 4)) "$(get32 g.vmdk $gt)"
expect_exit 2 "$VMCONV" check g.vmdk
# qemu-img check as the oracle where it looks: clean is clean for both
# (exit 0), and a grain past the end of the file is an error for both
# (qemu-img stops the check with exit 1, vmconv counts the corruption);
# grains sharing an offset and the redundant tables qemu-img does not check
expect_exit 0 qemu-img check good.vmdk
expect_exit 1 qemu-img check f.vmdk
"$VMCONV" check --output=json f.vmdk > f.json
grep -q '"corruptions": 2,' f.json || fail "f.vmdk: not 2 corruptions"
# a grain table that differs from its redundant copy (qemu-img check
# does not look; vmconv check does)
rgd=$(( $(get32 good.vmdk 48) * 512 ))
rgt=$(( $(get32 good.vmdk $rgd) * 512 ))
cp good.vmdk r.vmdk; put32 r.vmdk $((rgt + 8)) 0
run "$VMCONV" convert -O raw r.vmdk r.raw || fail "the primary table is fine"
expect_exit 2 "$VMCONV" check r.vmdk
"$VMCONV" check r.vmdk | grep -q "differs from its redundant copy" ||
	fail "redundant table mismatch not named"
# truncated in the middle of the grains
head -c 200000 good.vmdk > h.vmdk
fails h.vmdk "h.vmdk"

# a 512 TiB disk with an empty grain directory: walked by whole grain
# tables, so map, check and convert finish (timeout guards a hang)
cp good.vmdk big.vmdk
put32 big.vmdk 12 0; put32 big.vmdk 16 256	# capacity 2^40 sectors
put32 big.vmdk 20 2048				# 1 MiB grains
truncate -s 8M big.vmdk
head -c 4194304 /dev/zero | dd of=big.vmdk bs=512 \
	seek=$(get32 big.vmdk 56) conv=notrunc status=none
timeout 60 "$VMCONV" map big.vmdk > big.map || fail "map of a huge disk"
grep -q 'unallocated' big.map || fail "huge disk map"
timeout 60 "$VMCONV" convert -O qcow2 big.vmdk big.qcow2 ||
	fail "convert of a huge empty disk"
qemu-img info big.qcow2 | grep -q '512 TiB' || fail "huge size"
rm -f big.vmdk big.qcow2 big.map

# streams: an absurd marker size, then garbage instead of deflate
qemu-img create -q -f vmdk -o subformat=streamOptimized s.vmdk 8M
qemu-img convert -O vmdk -o subformat=streamOptimized good.vmdk s.vmdk
sgd=$(( $(get32 s.vmdk 56) * 512 ))
sgt=$(( $(get32 s.vmdk $sgd) * 512 ))
m=$(( $(get32 s.vmdk $sgt) * 512 ))
cp s.vmdk s1.vmdk; put32 s1.vmdk $((m + 8)) 0x7fffffff
fails s1.vmdk "compressed size"
cp s.vmdk s2.vmdk; head -c 100 /dev/zero | dd of=s2.vmdk bs=1 \
	seek=$((m + 12)) conv=notrunc status=none
fails s2.vmdk "corrupt"
cp s.vmdk s3.vmdk; put32 s3.vmdk $m 77
fails s3.vmdk "is for sector 77"
expect_exit 2 "$VMCONV" check s3.vmdk

# descriptors
printf 'version=1\ncreateType="monolithicFlat"\nRW 100 FLAT "gone.vmdk" 0\n' \
	> m1.vmdk
fails m1.vmdk "gone.vmdk"
printf 'version=1\ncreateType="monolithicFlat"\nRW 100 FLAT "../x" 0\n' \
	> m2.vmdk
fails m2.vmdk "outside"
{ printf 'version=1\ncreateType="'; head -c 200000 /dev/zero | tr '\0' x
  printf '"\n'; } > m3.vmdk
fails m3.vmdk "bytes long"
printf 'version=1\ncreateType="x"\nRW 1 FLAT "a\n' > m4.vmdk
fails m4.vmdk "closing quote"
exit 0
