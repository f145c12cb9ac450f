# vmconv validate's arguments and errors: exit 2 with a clear message when
# it cannot run, never a crash; nothing is written to the image.
. "$(dirname "$0")/lib.sh"
requires jq

expect_exit 0 "$VMCONV" validate --help
expect_exit 2 "$VMCONV" validate
expect_exit 2 "$VMCONV" validate --engine=bogus x.img
expect_exit 2 "$VMCONV" validate --bus=scsi x.img
expect_exit 2 "$VMCONV" validate --timeout=0 x.img
expect_exit 2 "$VMCONV" validate --timeout=abc x.img

"$VMCONV" validate --engine=qemu "$T/missing.img" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] || fail "missing image: exit $rc"
grep -q "missing.img" "$T/err" || fail "the error does not name the file"

truncate -s 1M "$T/blank.img"
"$VMCONV" validate --engine=qemu --expect='([a-' "$T/blank.img" 2>"$T/err"
[ $? -eq 2 ] && grep -q -- '--expect' "$T/err" || fail "bad --expect"
# --boot=kernel without --kernel looks for the guest's boot loader
# configuration (libguestfs): a blank disk has none
"$VMCONV" validate --engine=qemu --boot=kernel "$T/blank.img" 2>"$T/err"
[ $? -eq 2 ] && grep -q 'give --kernel' "$T/err" ||
	{ cat "$T/err"; fail "--boot=kernel on a disk without a kernel"; }
"$VMCONV" validate --engine=qemu --boot=kernel --kernel "$T/none" \
	"$T/blank.img" 2>"$T/err"
[ $? -eq 2 ] || fail "--kernel that does not exist"
cat "$T/err"

# a blank disk: no signature, the firmware finds nothing; the image is
# still all zeros afterwards
requires qemu-system-x86_64
"$VMCONV" validate --engine=qemu --timeout=30 --output=json \
	--console-log="$T/blank.log" "$T/blank.img" >"$T/blank.json"; rc=$?
cat "$T/blank.json"
[ $rc -eq 1 ] || fail "blank disk: exit $rc"
jq -r .reason "$T/blank.json" | grep -q 'boot sector has no signature' ||
	fail "blank disk: reason"
for k in booted stage reason stages engine bus console_log; do
	jq -e "has(\"$k\")" "$T/blank.json" >/dev/null || fail "no key $k"
done
cmp -s "$T/blank.img" <(head -c 1M /dev/zero) || fail "image modified"
exit 0
