# The one-shot migration form with --validate boots the converted output
# (not the source) on the target's controller and exits 1 when it does not
# reach userspace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"

guest good
"$VMCONV" "$GUEST" --to raw --out "$T/good.raw" --no-inject --validate=qemu \
	--timeout=300 --output=json -q >"$T/good.json"; rc=$?
cat "$T/good.json"
[ $rc -eq 0 ] || fail "migrate --validate: exit $rc"
[ "$(jq -r .validation.booted "$T/good.json")" = true ] || fail booted
[ "$(jq -r .validation.stage "$T/good.json")" = userspace ] || fail stage
jq -r .validation.reason "$T/good.json" | grep -qF "login prompt" ||
	fail "reason"
[ "$(jq -r .validation.image "$T/good.json")" = "$T/good.raw" ] ||
	fail "the converted output was not the one validated"
[ "$(jq -r .validation.bus "$T/good.json")" = virtio ] ||
	fail "a raw (KVM) target is validated on virtio"
cmp "$GUEST" "$T/good.raw" || fail "the output changed"

# to Hyper-V: a VHDX, validated on IDE (generation 1), QEMU reading it
# through its overlay
"$VMCONV" "$GUEST" --to vhdx --out "$T/good.vhdx" --validate=qemu \
	--timeout=300 --output=json -q >"$T/vhdx.json"; rc=$?
cat "$T/vhdx.json"
[ $rc -eq 0 ] || fail "migrate --to vhdx --validate: exit $rc"
[ "$(jq -r .validation.booted "$T/vhdx.json")" = true ] || fail "vhdx booted"
[ "$(jq -r .validation.stage "$T/vhdx.json")" = userspace ] ||
	fail "vhdx stage"
jq -r .validation.reason "$T/vhdx.json" | grep -qF "login prompt" ||
	fail "vhdx reason"
[ "$(jq -r .validation.bus "$T/vhdx.json")" = ide ] ||
	fail "a vhdx (Hyper-V) target is validated on IDE"
[ "$(jq -r .validation.format "$T/vhdx.json")" = vhdx ] ||
	fail "format"

guest nosig
"$VMCONV" "$GUEST" --to raw --out "$T/nosig.raw" --no-inject --validate=qemu \
	--timeout=60 >"$T/nosig.out"; rc=$?
cat "$T/nosig.out"
[ $rc -eq 1 ] || fail "a guest that does not boot: exit $rc"
grep -q 'DID NOT BOOT' "$T/nosig.out" || fail "human summary"
grep -q 'no bootable disk' "$T/nosig.out" || fail "reason"
[ -f "$T/nosig.raw" ] || fail "the converted output was removed"

expect_exit 1 "$VMCONV" "$GUEST" --to raw --out "$T/x.raw" --bus=ide
expect_exit 1 "$VMCONV" "$GUEST" --to raw --out "$T/x.raw" --validate=bogus
exit 0
