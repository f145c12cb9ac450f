# validate -v (the guest's console copied to stderr), real timeout
# verdicts, and the one-shot form's --validate on vmdk and vhd targets
# (IDE) and with the default engine (auto), all on the cached tiny guest.
# run-tests: timeout=2700
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
guest tiny
MARK=VMCONV-GUEST-USERSPACE-OK

# A boot sector that never finishes booting (jmp $): the firmware starts
# it, nothing more comes.  With -v its console (SeaBIOS's lines) is on
# stderr; without, it is not.
bootsector hang '\xeb\xfe'
validate hang --engine=qemu --timeout=8 -v "$T/hang.img"
verdict hang 1 false bootloader "timed out after 8 s in stage bootloader"
[ "$(field hang .reason)" = "timed out after 8 s in stage bootloader" ] ||
	fail "hang: reason '$(field hang .reason)'"
field hang '.seconds >= 8 and .seconds < 60' | grep -qx true ||
	fail "hang: stopped after $(field hang .seconds) s"
grep -q 'Booting from Hard Disk' "$T/hang.err" ||
	fail "-v: the console is not on stderr"
validate hang-quiet --engine=qemu --timeout=8 "$T/hang.img"
verdict hang-quiet 1 false bootloader "timed out after 8 s in stage bootloader"
grep -q 'Booting from' "$T/hang-quiet.err" &&
	fail "without -v the console reached stderr"

# The tiny guest given less time than it needs (on an idle machine it
# reaches userspace in about 5 s of TCG, more under load): it times out
# in the stage it had reached.
validate short --engine=qemu --timeout=2 "$GUEST"
st=$(field short .stage)
verdict short 1 false "$st" "timed out after 2 s in stage $st"
case $st in firmware|bootloader|kernel|root) ;;
*) fail "short: stage $st after 2 s";; esac
grep -q "$MARK" "$T/short.console" && fail "short: the guest had finished"

# -v on a whole boot: stderr is the console log byte for byte, but for
# control bytes, which are shown as \xNN (\r dropped): the log stays raw
validate tinyv --engine=qemu --timeout=240 -v "$GUEST"
verdict tinyv 0 true userspace "reached userspace"
grep -q "$MARK" "$T/tinyv.err" || fail "-v: no marker on stderr"
python3 - "$T/tinyv.console" > "$T/tinyv.escaped" <<'PY' || fail "escaping"
import sys
out = bytearray()
for c in open(sys.argv[1], 'rb').read():
    if c in (10, 9) or 0x20 <= c < 0x7f:
        out.append(c)
    elif c != 13:
        out += b'\\x%02x' % c
sys.stdout.buffer.write(out)
PY
cmp "$T/tinyv.escaped" "$T/tinyv.err" ||
	fail "-v: stderr is not the console with control bytes escaped"

# The one-shot form: vmdk and vhd targets boot on IDE through the qemu
# engine; with --validate alone the default engine (auto) is used.
oneshot() {	# NAME FMT ARGS...: migrate the tiny guest, summary in NAME.report
	local n=$1 fmt=$2 rc=0
	shift 2
	echo "+ vmconv tiny --to $fmt $*"
	"$VMCONV" "$GUEST" --to "$fmt" --out "$T/$n.$fmt" --output=json -q \
		"$@" > "$T/$n.report" 2> "$T/$n.err" || rc=$?
	cat "$T/$n.report" "$T/$n.err"
	[ $rc -eq 0 ] || fail "$n: exit $rc"
	[ "$(jq -r .validation.booted "$T/$n.report")" = true ] || fail "$n: did not boot"
	[ "$(jq -r .validation.stage "$T/$n.report")" = userspace ] || fail "$n: stage"
	[ "$(jq -r .validation.image "$T/$n.report")" = "$T/$n.$fmt" ] ||
		fail "$n: the converted output was not the one validated"
	qemu-img compare -F "$(jq -r '.["target-format"] | sub("^vhd$"; "vpc")' \
		"$T/$n.report")" "$GUEST" "$T/$n.$fmt" || fail "$n: content"
}
oneshot vmdk vmdk --validate=qemu --timeout=240
[ "$(jq -r .validation.bus "$T/vmdk.report")" = ide ] || fail "vmdk: not on IDE"
[ "$(jq -r .validation.format "$T/vmdk.report")" = vmdk ] || fail "vmdk: format"
"$VMCONV" formats | grep -q '^vhd' || fail "no vhd plugin"
oneshot vhd vhd --validate=qemu --timeout=240
[ "$(jq -r .validation.bus "$T/vhd.report")" = ide ] || fail "vhd: not on IDE"
[ "$(jq -r .validation.engine "$T/vhd.report")" = qemu ] || fail "vhd: engine"

# auto: direct where the host's KVM passes the self-test, else nested
# (here), and the report says why.  Nested boots on TCG are slow.
oneshot auto qcow2 --validate --timeout=900
eng=$(jq -r .validation.engine "$T/auto.report")
case $eng in direct|nested) ;; *) fail "auto picked '$eng'";; esac
[ -n "$(jq -r '.validation.engine_reason // empty' "$T/auto.report")" ] ||
	fail "auto: no engine_reason"
[ "$(jq -r .validation.bus "$T/auto.report")" = virtio ] || fail "auto: bus"
summary
exit 0
