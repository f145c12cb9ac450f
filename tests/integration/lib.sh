# Sourced by every integration test.  Provides:
#   requires CMD...      skip the test (exit 77) unless each CMD exists;
#                        under CI (CI=true) a missing CMD is a failure:
#                        scripts/install-deps must have installed it
#   skip "why"           skip the test
#   fail "why"           fail the test
#   samples DIR          the ../shared/samples folder, or skip
#   $VMCONV              the vmconv binary under test
#   $T                   a scratch folder, removed at exit
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
run() { echo "+ $*"; "$@"; }
expect_exit() {
	local want=$1; shift
	echo "+ $* (expect exit $want)"
	"$@"; local got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}
