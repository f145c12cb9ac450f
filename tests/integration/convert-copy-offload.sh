# Copy offload to raw targets (-C, as qemu-img's): data a raw or qcow2
# source holds plain is copied with copy_file_range (seen with strace),
# holes stay holes, zeros the source allocated stay allocated; without -C
# nothing is offloaded and those zeros are left sparse (qemu-img's -S 4k);
# -C with -c or -S is refused;
# compressed clusters and a file system pair the kernel refuses (tmpfs ->
# the test folder: EXDEV) take the read-and-write path; every output equals
# its source (qemu-img compare).
. "$(dirname "$0")/lib.sh"
requires qemu-img strace

src=$T/src.raw
truncate -s 256M "$src"
for off in 0 17 100 255; do
	head -c 1M /dev/urandom | dd of="$src" bs=1M seek=$off conv=notrunc status=none
done
dd if=/dev/zero of="$src" bs=1M seek=50 count=8 conv=notrunc status=none
qemu-img convert -O qcow2 "$src" "$T/src.qcow2"
qemu-img convert -c -O qcow2 "$src" "$T/src-c.qcow2"

# copies IN OUT ARGS...: convert under strace, print the number of
# copy_file_range calls that copied bytes
copies() {
	local in=$1 out=$2
	shift 2
	rm -f "$out"
	traced strace -f -qq -e trace=copy_file_range -o "$T/st" \
		"$VMCONV" convert -q "$@" -O raw "$in" "$out" || fail "convert $in $*"
	qemu-img compare -q "$src" "$out" || fail "$in -> $out ($*) differs"
	grep -c 'copy_file_range(.*= [1-9]' "$T/st" || true
}
alloc() { echo $(( $(stat -c %b "$1") * 512 >> 20 )); }

n=$(copies "$src" "$T/a.raw" -C)
[ "$n" -gt 0 ] || fail "raw -> raw -C made no copy_file_range call"
a=$(alloc "$T/a.raw")
echo "raw -> raw: $n copies, $a MiB allocated"
[ "$a" -ge 12 ] && [ "$a" -le 16 ] ||
	fail "raw -> raw: $a MiB allocated (4 MiB data + 8 MiB allocated zeros)"

n=$(copies "$src" "$T/s.raw")
[ "$n" = 0 ] || fail "without -C: $n copy_file_range calls"
a=$(alloc "$T/s.raw")
[ "$a" -le 5 ] || fail "without -C: $a MiB allocated (the zeros were not left sparse)"
check_err 1 "cannot be used with -S" "$VMCONV" convert -C -S 4k -O raw "$src" "$T/e.raw"
check_err 1 "cannot be used with -c" "$VMCONV" convert -C -c -O qcow2 "$src" "$T/e.qcow2"

n=$(copies "$T/src.qcow2" "$T/q.raw" -C)
[ "$n" -gt 0 ] || fail "qcow2 -> raw made no copy_file_range call"
a=$(alloc "$T/q.raw")
[ "$a" -le 5 ] || fail "qcow2 -> raw: $a MiB allocated"

# compressed clusters are inflated and written; only clusters qemu-img
# stored plain (random data does not compress) may be copied
copies "$T/src-c.qcow2" "$T/c.raw" -C > /dev/null

n=$(copies "$src" "$T/d.raw" -C --digest)
[ "$n" = 0 ] || fail "--digest made $n copy_file_range calls"

# a pair the kernel refuses: the by-hand copy gives the same bytes
shm=$(mktemp -d /dev/shm/vmconv-offload.XXXXXX) || skip "no /dev/shm"
trap 'rm -rf "$shm" "$T"' EXIT
cp --sparse=always "$src" "$shm/src.raw"
rm -f "$T/x.raw"
traced strace -f -qq -e trace=copy_file_range -o "$T/st" \
	"$VMCONV" convert -q -C -O raw "$shm/src.raw" "$T/x.raw" || fail "tmpfs source"
qemu-img compare -q "$src" "$T/x.raw" || fail "tmpfs -> here differs"
cat "$T/st" | head -3
exit 0
