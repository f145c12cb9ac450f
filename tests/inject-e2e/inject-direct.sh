# The initramfs rewritten directly, and the old hypervisor's tools
# removed, on a real Debian 12 guest (the cached itools guest: IDE and
# Hyper-V storage drivers only, root=/dev/sda1, open-vm-tools installed by
# apt).  A copy of it has /usr/sbin/update-initramfs deleted: this
# simulates a guest without its initramfs tool.  The one command with
# --remove-tools then appends the virtio modules to the initramfs itself
# (listed "initrd rewritten directly: update-initramfs missing"), purges
# open-vm-tools with the guest's apt-get, and the output boots to
# userspace on virtio (qemu engine); beside it, the same copy with
# --no-inject does not boot.
# run-tests: timeout=5400
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/inject-common.inc"
requires guestfish

export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
rc=0
g=$("$VMCONV_TOP/tests/guests/cached-guest" debian-itools) || rc=$?
[ $rc -eq 77 ] && skip "test guest debian-itools cannot be built here"
[ $rc -eq 0 ] || fail "building test guest debian-itools"
SRC=$T/notool.img
cp --sparse=always "$g" "$SRC"
timed remove-tool guestfish --format=raw -a "$SRC" -i \
	rm /usr/sbin/update-initramfs || fail "guestfish rm"
sum=$(sha256sum <"$SRC")

timed migrate "$VMCONV" "$SRC" --to qcow2 --out "$T/out.qcow2" \
	--remove-tools --validate=qemu --timeout=900 --expect="$USERSPACE" \
	--output=json -q >"$T/migrate.json" & pid=$!
timed no-inject "$VMCONV" "$SRC" --to qcow2 --out "$T/noinj.qcow2" \
	--no-inject --validate=qemu --timeout=900 --output=json -q \
	>"$T/noinj.json" || rc=$?
cat "$T/noinj.json"
[ $rc -eq 1 ] || fail "--no-inject: exit $rc"
[ "$(jq -r .validation.booted "$T/noinj.json")" = false ] ||
	fail "--no-inject booted"
rm -f "$T/noinj.qcow2"
rc=0
wait $pid || rc=$?
cat "$T/migrate.json"
[ $rc -eq 0 ] || fail "migrate: exit $rc"
[ "$(sha256sum <"$SRC")" = "$sum" ] || fail "the source changed"
j=$T/migrate.json
[ "$(jq -r .injection.before.initramfs_tool "$j")" = none ] ||
	fail "the tool is still found"
jq -r '.injection.before.guest_tools[]' "$j" | grep -qx open-vm-tools ||
	fail "open-vm-tools not found before"
jq -e '.injection.after.guest_tools | index("open-vm-tools") | not' "$j" \
	>/dev/null || fail "open-vm-tools still installed after"
jq -r '.injection.changes[] | select(.file == "package open-vm-tools")
	| .after' "$j" | grep -q 'removed: apt-get .*purge' ||
	fail "no removal of open-vm-tools listed"
jq -r '.injection.changes[] | select(.file | startswith("/boot/initrd.img-"))
	| .after' "$j" | grep -q \
	'^initrd rewritten directly: update-initramfs missing; appended a' ||
	fail "no direct rewrite listed"
jq -e '.injection.after.kernels[0].initrd_drivers | index("virtio_blk")' \
	"$j" >/dev/null || fail "after: virtio_blk not in the initramfs"
[ "$(jq -r .validation.booted "$j")" = true ] ||
	fail "the injected guest did not boot: $(jq -r .validation.reason "$j")"
[ "$(jq -r .validation.bus "$j")" = virtio ] || fail bus
exit 0
