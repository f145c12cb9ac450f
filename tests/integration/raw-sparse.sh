# raw -> raw of a sparse multi-GiB image is bit-exact, stays sparse, and
# the on-the-fly digest equals sha256sum of the source.
. "$(dirname "$0")/lib.sh"
requires qemu-img sha256sum

src=$T/src.raw dst=$T/dst.raw
truncate -s 4G "$src"
for off in 0 17 1000 2047 3000 4095; do	# MiB offsets, last one at the end
	head -c 1M /dev/urandom | dd of="$src" bs=1M seek=$off conv=notrunc status=none
done
# allocated zeros become holes too
dd if=/dev/zero of="$src" bs=1M seek=500 count=8 conv=notrunc status=none

run "$VMCONV" convert -O raw --digest --output=json "$src" "$dst" > "$T/out.json" || fail convert
cat "$T/out.json"
want=$(sha256sum "$src" | cut -d' ' -f1)
grep -q "\"sha256\": \"$want\"" "$T/out.json" || fail "digest differs from sha256sum ($want)"
[ "$(stat -c %s "$dst")" = "$(stat -c %s "$src")" ] || fail "sizes differ"
run qemu-img compare -f raw -F raw "$src" "$dst" || fail "qemu-img compare finds a difference"
expect_exit 0 "$VMCONV" compare "$src" "$dst"
used=$(( $(stat -c %b "$dst") * 512 ))
echo "target uses $used bytes"
[ "$used" -le $((16 << 20)) ] || fail "target is not sparse ($used bytes allocated)"
exit 0
