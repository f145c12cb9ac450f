# The one-shot form: vmconv SRC --to FMT writes beside SRC with FMT's
# extension, or at --out; --output=json gives the summary.
. "$(dirname "$0")/lib.sh"

mkdir "$T/vms"
truncate -s 32M "$T/vms/web01.disk"
printf 'hello' | dd of="$T/vms/web01.disk" bs=1 seek=4096 conv=notrunc status=none
run "$VMCONV" "$T/vms/web01.disk" --to raw --no-inject -q || fail migrate
[ -f "$T/vms/web01.img" ] || fail "default target name web01.img missing"
expect_exit 0 "$VMCONV" compare "$T/vms/web01.disk" "$T/vms/web01.img"
run "$VMCONV" "$T/vms/web01.disk" --to raw --out "$T/other.raw" --no-inject --digest --output=json > "$T/j" || fail migrate
cat "$T/j"
for k in source target source-format target-format virtual-size sha256 injection; do
	grep -q "\"$k\"" "$T/j" || fail "summary lacks $k"
done
expect_exit 1 "$VMCONV" "$T/vms/web01.disk" --to nosuchformat
exit 0
