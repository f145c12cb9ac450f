# The initramfs rewritten directly, and the old hypervisor's tools
# removed, on a real Debian 12 guest (the cached itools guest: IDE and
# Hyper-V storage drivers only, root=/dev/sda1, open-vm-tools installed by
# apt).
#  1. --initramfs=bogus: the one command and vmconv inject refuse it with
#     a one-line error, write no target and leave the image as it was.
#  2. A copy with /usr/sbin/update-initramfs deleted (a guest without its
#     initramfs tool), `vmconv inject --dry-run` (the default method):
#     the plan falls back to the rewrite on the host ("initrd rewritten
#     directly: update-initramfs missing", method direct), nothing written.
#  3. The guest as it is (it HAS update-initramfs), the one command with
#     --initramfs=direct --remove-tools: the guest's tool is not run, the
#     initramfs is rewritten on the host (method direct in the JSON, the
#     modules also in /etc/initramfs-tools/modules for later kernels),
#     open-vm-tools is purged with the guest's apt-get, and the output
#     boots to userspace on virtio (qemu engine).
# run-tests: timeout=5400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inject-common.inc"
requires guestfish

export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
rc=0
g=$("$VMCONV_TOP/tests/guests/cached-guest" debian-itools) || rc=$?
[ $rc -eq 77 ] && skip "test guest debian-itools cannot be built here"
[ $rc -eq 0 ] || fail "building test guest debian-itools"
SRC=$T/guest.img
cp --sparse=always "$g" "$SRC"
sum=$(sha256sum <"$SRC")

# 1. a bad method
check_err 1 "--initramfs must be guest .* or direct .*, not 'bogus'" \
	"$VMCONV" "$SRC" --to qcow2 --out "$T/bogus.qcow2" --initramfs=bogus
check_err 1 "--initramfs must be guest .* or direct .*, not 'bogus'" \
	"$VMCONV" inject --target=kvm --initramfs=bogus "$SRC"
[ -z "$(ls "$T" | grep -v -x -e guest.img -e out -e err)" ] ||
	fail "--initramfs=bogus left files: $(ls "$T")"
[ "$(sha256sum <"$SRC")" = "$sum" ] || fail "--initramfs=bogus changed IMG"

# 2. no tool: the plan falls back to the rewrite on the host
NOTOOL=$T/notool.img
cp --sparse=always "$g" "$NOTOOL"
timed remove-tool guestfish --format=raw -a "$NOTOOL" -i \
	rm /usr/sbin/update-initramfs || fail "guestfish rm"
nsum=$(sha256sum <"$NOTOOL")
timed dry-run "$VMCONV" inject --target=kvm --dry-run "$NOTOOL" \
	>"$T/dry.txt" || fail "inject --dry-run: exit $?"
cat "$T/dry.txt"
grep -q '^guest: dry run: .* changes planned, nothing written' "$T/dry.txt" ||
	fail "no dry-run summary"
grep -q '^  /boot/initrd.img-.* (initramfs method: direct)$' "$T/dry.txt" ||
	fail "dry run: no initramfs with method direct"
grep -q '+ (planned) initrd rewritten directly: update-initramfs missing;' \
	"$T/dry.txt" || fail "dry run: no planned direct rewrite"
[ "$(sha256sum <"$NOTOOL")" = "$nsum" ] || fail "the dry run wrote"
rm -f "$NOTOOL"

# 3. --initramfs=direct on the guest that has update-initramfs, booted
timed migrate "$VMCONV" "$SRC" --to qcow2 --out "$T/out.qcow2" \
	--initramfs=direct --remove-tools --validate=qemu --timeout=900 \
	--expect="$USERSPACE" --output=json -q >"$T/migrate.json" & pid=$!
rc=0
wait $pid || rc=$?
cat "$T/migrate.json"
[ $rc -eq 0 ] || fail "migrate: exit $rc"
[ "$(sha256sum <"$SRC")" = "$sum" ] || fail "the source changed"
j=$T/migrate.json
[ "$(jq -r .injection.before.initramfs_tool "$j")" = initramfs-tools ] ||
	fail "update-initramfs not found in the guest"
jq -r '.injection.before.guest_tools[]' "$j" | grep -qx open-vm-tools ||
	fail "open-vm-tools not found before"
jq -e '.injection.after.guest_tools | index("open-vm-tools") | not' "$j" \
	>/dev/null || fail "open-vm-tools still installed after"
jq -r '.injection.changes[] | select(.file == "package open-vm-tools")
	| .after' "$j" | grep -q 'removed: apt-get .*purge' ||
	fail "no removal of open-vm-tools listed"
initrds=$(jq -r '[.injection.changes[] |
	select(.file | startswith("/boot/initrd.img-"))] | length' "$j")
[ "$initrds" -ge 1 ] || fail "no initramfs change listed"
[ "$(jq -r '[.injection.changes[] | select(.file |
	startswith("/boot/initrd.img-")) | .method] | unique | join(",")' \
	"$j")" = direct ] || fail "an initramfs change's method is not direct"
jq -r '.injection.changes[] | select(.file | startswith("/boot/initrd.img-"))
	| .after' "$j" | grep -q \
	'^initrd rewritten directly: --initramfs=direct; appended a' ||
	fail "no direct rewrite listed"
jq -r '.injection.changes[] | .file, .after, (.notes // empty)' "$j" |
	grep -q 'update-initramfs failed' && fail "update-initramfs was run"
jq -r '.injection.changes[] | select(.file ==
	"/etc/initramfs-tools/modules") | .after' "$j" | grep -qx virtio_blk ||
	fail "virtio_blk not added to /etc/initramfs-tools/modules"
jq -e '.injection.after.kernels[0].initrd_drivers | index("virtio_blk")' \
	"$j" >/dev/null || fail "after: virtio_blk not in the initramfs"
[ "$(jq -r .validation.booted "$j")" = true ] ||
	fail "the injected guest did not boot: $(jq -r .validation.reason "$j")"
[ "$(jq -r .validation.bus "$j")" = virtio ] || fail bus
exit 0
