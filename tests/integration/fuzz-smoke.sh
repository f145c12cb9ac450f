# Every libFuzzer target builds and survives a short run from seeds made
# here with qemu-img (small images of each format qemu-img writes).  The
# corpus is left in build/fuzz/corpus/ for longer runs:
#   build/fuzz/fuzz-NAME -max_total_time=600 build/fuzz/corpus/NAME
# The qcow2 target also starts from qcow2-fuzz-seeds' damaged images:
# run-tests: after=qcow2-fuzz-seeds timeout=3600 (it builds six ASan targets)
. "$(dirname "$0")/lib.sh"
requires clang qemu-img
[ -n "${VMCONV_SANITIZE:-}" ] && skip "fuzz targets are built once, not under check-asan"

make -s -C "$VMCONV_TOP" fuzz >/dev/null || fail "make fuzz"
seeds=$VMCONV_TOP/build/fuzz/seeds
rm -rf "$seeds"; mkdir -p "$seeds"
for f in qcow2:compat=0.10 qcow2:compat=1.1 qcow2:cluster_size=4096 \
	 vmdk:subformat=monolithicSparse vmdk:subformat=streamOptimized \
	 vhdx:subformat=dynamic vpc:subformat=dynamic; do
	fmt=${f%%:*} opt=${f#*:}
	name=$fmt-${opt#*=}
	qemu-img create -q -f "$fmt" -o "$opt" "$T/$name" 4M ||
		fail "qemu-img create -f $fmt -o $opt"
	qemu-io -f "$fmt" -c 'write -P 0x5a 0 64k' -c 'write -z 1M 64k' \
		"$T/$name" >"$T/qio" 2>&1 ||
		{ cat "$T/qio"; fail "qemu-io on $name"; }
	! grep -qi 'error\|fail' "$T/qio" || { cat "$T/qio"; fail "qemu-io on $name"; }
	# only the metadata matters to a fuzzer: keep the first 256 KiB
	head -c 262144 "$T/$name" > "$seeds/$name"
done
# the whole-VM readers (fuzz-ovf) start from a descriptor as VMware lays it out
. "$(dirname "$0")/vm-common.inc"
ovf_vmware web01 efi 1048576 1048576 > "$seeds/web01.ovf"
ls -l "$seeds"
[ "$(ls "$seeds" | wc -l)" = 8 ] || fail "not every seed was made (7 images and the OVF)"
for t in "$VMCONV_TOP"/build/fuzz/fuzz-*; do
	# the targets, not the logs make fuzz-long leaves beside them
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	corpus=$VMCONV_TOP/build/fuzz/corpus/$name
	mkdir -p "$corpus"
	echo "+ $name"
	"$t" -max_total_time=15 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$T/" "$corpus" "$seeds" > "$T/$name.log" 2>&1 ||
		{ tail -40 "$T/$name.log"; fail "$name found a crash"; }
	tail -1 "$T/$name.log"
done
exit 0
