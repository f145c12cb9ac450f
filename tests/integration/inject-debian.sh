# Driver injection end to end on a real Debian 12 guest built by
# debootstrap (initramfs-tools with only IDE and Hyper-V storage drivers,
# root=/dev/sda1): see inject-common.inc.  Here the source and the output
# are inspected by `vmconv inject --dry-run` (the plan on the source,
# nothing written; nothing left to do on the output), the other two
# guests by `vmconv inspect`.  Then: a kill during injection leaves no
# target and the source untouched.  The kill is tested on this guest only:
# what it proves (the target appears only when conversion and injection
# are complete; the appliance goes with vmconv) does not depend on the
# guest's initramfs tool or layout.
# run-tests: timeout=5400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inject-common.inc"

migrate_guest debian-itools /dev/sda1 \
	'no virtio_blk in /boot/initrd.img-.*root named /dev/sda1 \(the disk becomes /dev/vda\)' \
	dry-run
jq -r '.injection.changes[].file' "$T/migrate.json" |
	grep -q '^/boot/grub/grub.cfg' || fail "no grub.cfg change listed"
jq -r .validation.reason "$T/noinj.json" | grep -q '/dev/sda1 does not exist' ||
	fail "--no-inject reason: $(jq -r .validation.reason "$T/noinj.json")"
# open-vm-tools (installed by apt in the guest) is a leftover, not removed
# unasked; the dry run on the source (with --remove-tools) planned its
# removal
jq -r '.injection.notes[]' "$T/migrate.json" |
	grep -q '^open-vm-tools is installed: a leftover' ||
	fail "open-vm-tools not reported as a leftover"
jq -e '.injection.after.guest_tools | index("open-vm-tools")' \
	"$T/migrate.json" >/dev/null || fail "open-vm-tools removed unasked"
jq -r '.changes[] | select(.file == "package open-vm-tools") | .after' \
	"$T/before.json.dry" | grep -q '^to be removed: apt-get .*purge' ||
	fail "the removal of open-vm-tools is not planned"

# a kill during injection (once the appliance runs on the temporary
# output) leaves no target and the source untouched
sum=$(sha256sum <"$SRC")
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
ls "$T"
exit 0
