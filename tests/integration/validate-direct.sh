# The direct engine runs the built-in VMM only where the host's KVM passes
# its self-test.  This machine's paravirtual KVM (kvm_pvm: guest kernel
# code is emulated at about a million instructions a second) must be
# refused with the self-test's reason; on hosts with hardware KVM the
# direct engine must boot the good guest.  Needs the built-in VMM: without
# it this fails, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
[ -e /dev/kvm ] || skip "no /dev/kvm"
guest good

"$VMCONV" validate --engine=direct --timeout=60 --output=json \
	--console-log="$T/direct.console" "$GUEST" >"$T/direct.json" \
	2>"$T/direct.err"; rc=$?
cat "$T/direct.json" "$T/direct.err"
grep -q 'not part of this build' "$T/direct.err" &&
	fail "the built-in VMM is not in this build"
if [ -d /sys/module/kvm_pvm ]; then
	[ $rc -eq 2 ] || fail "the paravirtual KVM was not refused (exit $rc)"
	grep -q 'failed the self-test' "$T/direct.err" ||
		fail "the refusal does not give the self-test's reason"
else
	case $rc in
	0) [ "$(jq -r .engine "$T/direct.json")" = direct ] || fail engine;;
	2) grep -q 'failed the self-test' "$T/direct.err" || fail "refusal";;
	*) fail "direct engine: exit $rc";;
	esac
fi
exit 0
