# The direct engine runs the built-in VMM only where the host's KVM passes
# its self-test, and what the self-test must say is known from the host:
# - a paravirtual KVM (kvm_pvm, as on the machines this project is built
#   on: guest kernel code is emulated at about a million instructions a
#   second) must be refused for its speed, with the measured figure;
# - a hardware KVM (kvm_intel or kvm_amd) must pass, and the direct engine
#   must then boot the good guest to its login prompt.
# Any other refusal (no VMM in the build, /dev/kvm unusable, a reason that
# is not this host's) fails.  Without /dev/kvm there is nothing to test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
[ -e /dev/kvm ] || skip "no /dev/kvm on this host"
guest good

validate direct --engine=direct --timeout=120 "$GUEST"
grep -q 'not part of this build' "$T/direct.err" &&
	fail "the built-in VMM is not in this build"
if [ -d /sys/module/kvm_pvm ]; then
	[ "$(cat "$T/direct.rc")" = 2 ] ||
		fail "the paravirtual KVM was not refused (exit $(cat "$T/direct.rc"))"
	grep -qE "the host's KVM failed the self-test: KVM runs guest kernel code at about [0-9.]+ million instructions per second" \
		"$T/direct.err" ||
		fail "the refusal does not give the paravirtual KVM's speed"
elif [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then
	verdict direct 0 true userspace "login prompt"
	[ "$(field direct .engine)" = direct ] || fail "engine"
	grep -q 'vmconv-guest login:' "$T/direct.console" ||
		fail "no prompt in the console log"
else
	fail "/dev/kvm is neither kvm_pvm nor kvm_intel/kvm_amd: what the" \
		"self-test must say here is not known"
fi
exit 0
