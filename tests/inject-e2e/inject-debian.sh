# Driver injection end to end on a real Debian 12 guest built by
# debootstrap (initramfs-tools with only IDE and Hyper-V storage drivers,
# root=/dev/sda1): see inject-common.inc.  Then: a kill during injection
# leaves no target; vmconv inject --dry-run plans and writes nothing.
# run-tests: timeout=5400
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/inject-common.inc"

migrate_guest debian-itools /dev/sda1 \
	'no virtio_blk in /boot/initrd.img-.*root named /dev/sda1 \(the disk becomes /dev/vda\)'
jq -r '.injection.changes[].file' "$T/migrate.json" |
	grep -q '^/boot/grub/grub.cfg' || fail "no grub.cfg change listed"
jq -r .validation.reason "$T/noinj.json" | grep -q '/dev/sda1 does not exist' ||
	fail "--no-inject reason: $(jq -r .validation.reason "$T/noinj.json")"
# open-vm-tools (installed by apt in the guest) is a leftover, not removed
jq -r '.injection.notes[]' "$T/migrate.json" |
	grep -q '^open-vm-tools is installed: a leftover' ||
	fail "open-vm-tools not reported as a leftover"
jq -e '.injection.after.guest_tools | index("open-vm-tools")' \
	"$T/migrate.json" >/dev/null || fail "open-vm-tools removed unasked"

# beside each other: a dry run on the source with --remove-tools (the
# plan, the removal in it, nothing written); the injected output needs nothing more; a kill during
# injection leaves no target and the source untouched
sum=$(sha256sum <"$SRC")
timed dry-run "$VMCONV" inject --target=kvm --dry-run --remove-tools \
	--output=json "$SRC" >"$T/dry.json" & dry=$!
timed again "$VMCONV" inject --target=kvm --dry-run "$OUT" \
	>"$T/again.out" & again=$!

"$VMCONV" "$SRC" --to qcow2 --out "$T/killed.qcow2" -q & pid=$!
for i in $(seq 1200); do
	pgrep -f "qemu.*vmconv-tmp.$pid" >/dev/null && break
	sleep 0.5
done
pgrep -f "qemu.*vmconv-tmp.$pid" >/dev/null || fail "injection never started"
sleep 5
kill -KILL $pid
wait $pid 2>/dev/null
[ ! -e "$T/killed.qcow2" ] || fail "a target after a kill"
[ "$(sha256sum <"$SRC")" = "$sum" ] || fail "the source changed"
for i in $(seq 60); do
	pgrep -f "qemu.*vmconv-tmp.$pid" >/dev/null || break
	sleep 1
done
pgrep -f "qemu.*vmconv-tmp.$pid" >/dev/null && fail "the appliance outlived vmconv"

wait $dry || fail "dry run"
cat "$T/dry.json"
[ "$(jq -r .status "$T/dry.json")" = planned ] || fail "dry-run status"
jq -e '.changes | length > 2' "$T/dry.json" >/dev/null || fail "plan"
jq -r '.changes[] | select(.file == "package open-vm-tools") | .after' \
	"$T/dry.json" | grep -q '^to be removed: apt-get .*purge' ||
	fail "the removal of open-vm-tools is not planned"
[ "$(sha256sum <"$SRC")" = "$sum" ] || fail "the dry run wrote"
wait $again || fail "again"
cat "$T/again.out"
grep -q 'already bootable on virtio: nothing changed' "$T/again.out" ||
	fail "$(cat "$T/again.out")"
exit 0
