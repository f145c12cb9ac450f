# A guest whose console is only on the screen (no console=ttyS0): the
# qemu engine reads the VGA text buffer and still reaches the verdict,
# and says that it read the screen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
guest tiny-noserial
validate screen --engine=qemu --timeout=90 \
	--expect=VMCONV-GUEST-USERSPACE-OK "$GUEST"
verdict screen 0 true userspace "read from the VGA text screen"
[ "$(field screen .console_source)" = screen ] || fail "console_source"
grep -q VMCONV-GUEST-USERSPACE-OK "$(field screen .screen_log)" ||
	fail "the screen log lacks the marker"
# the serial port alone saw only the firmware and the boot loader
! grep -q 'Linux version' "$T/screen.console" ||
	fail "the guest did print on its serial port"
exit 0
