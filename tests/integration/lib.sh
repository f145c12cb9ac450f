# Sourced by every integration test.  Provides:
#   requires CMD...      skip the test (exit 77) unless each CMD exists;
#                        under CI (CI=true) a missing CMD is a failure:
#                        scripts/install-deps must have installed it
#   skip "why"           skip the test
#   fail "why"           fail the test
#   samples DIR          the ../shared/samples folder, or skip
#   $VMCONV              the vmconv binary under test
#   $T                   a scratch folder, removed at exit
#   vhdi_python          print the python3 that has libvhdi's bindings
#                        (python3-libvhdi: an independent VHD/VHDX reader)
#   same_sizes_as_qemu IMG [QEMU_FMT]
#                        fail unless vmconv info and qemu-img info give IMG
#                        the same virtual-size and actual-size
#   map_runs             a JSON map (qemu-img map's or vmconv map's) on
#                        stdin as lines "START LENGTH DATA ZERO", runs of
#                        one kind merged (the tools split them differently)
#   run CMD...           echo and run a command
#   expect_exit N CMD... run CMD, fail unless it exits N
set -u
: "${VMCONV:?run through tests/run-tests or make check}"
T=$(mktemp -d "${TMPDIR:-/tmp}/vmconv-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }
requires() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		[ "${CI:-}" = true ] &&
			fail "$c is not installed (missing from scripts/install-deps)"
		skip "$c is not installed"
	done
}
samples() {
	local d="$VMCONV_TOP/../shared/samples"
	[ -d "$d" ] || skip "no samples folder ($d)"
	echo "$d"
}
vhdi_python() {
	local p
	for p in /usr/bin/python3 python3; do
		"$p" -c 'import pyvhdi' 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
run() { echo "+ $*"; "$@"; }
map_runs() {
	python3 -c 'import json, sys
out = []
for r in json.load(sys.stdin):
    k = (r["data"], r["zero"])
    if out and out[-1][2:] == k and out[-1][0] + out[-1][1] == r["start"]:
        out[-1][1] += r["length"]
    else:
        out.append([r["start"], r["length"], *k])
for r in out:
    print(*r)'
}
same_sizes_as_qemu() {
	local py='import json, sys; d = json.load(sys.stdin); print(d["virtual-size"], d["actual-size"])'
	local v q
	# written files' allocation (st_blocks) settles at writeback: both
	# tools must see it settled, not one before and one after
	sync -f "$1"
	v=$("$VMCONV" info --output=json "$1" | python3 -c "$py") ||
		fail "vmconv info $1"
	q=$(qemu-img info ${2:+-f "$2"} --output=json "$1" |
	    python3 -c "$py") ||
		fail "qemu-img info $1"
	echo "$1: virtual-size, actual-size: vmconv $v, qemu-img $q"
	[ "$v" = "$q" ] || fail "$1: vmconv info says $v, qemu-img info $q"
}
# check_err EXIT PATTERN CMD...: CMD exits EXIT with a one-line error
# holding PATTERN.
check_err() {	# check_err EXIT PATTERN CMD...
	local want=$1 pat=$2; shift 2
	echo "+ $*"
	"$@" >"$T/out" 2>"$T/err"; local got=$?
	cat "$T/err"
	[ $got -eq $want ] || fail "'$*' exited $got, expected $want"
	grep -q -- "$pat" "$T/err" || fail "'$*': error does not say '$pat'"
	[ "$(wc -l < "$T/err")" -eq 1 ] || fail "'$*': error is not one line"
}

expect_exit() {
	local want=$1; shift
	echo "+ $* (expect exit $want)"
	"$@"; local got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# Under make check-asan (VMCONV_SANITIZE=1): LeakSanitizer cannot run under
# ptrace, so a traced vmconv runs without it (traced CMD...); an LD_PRELOAD
# shim must come after ASan's runtime (preload SHIM prints the value).
traced() {
	if [ -n "${VMCONV_SANITIZE:-}" ]; then
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$@"
	else
		"$@"
	fi
}
preload() {
	if [ -n "${VMCONV_SANITIZE:-}" ]; then
		echo "$(${CC:-cc} -print-file-name=libasan.so):$1"
	else
		echo "$1"
	fi
}
