/* The direct engine's self-test (validate/vmm/selftest.c) on this host's
 * /dev/kvm.  Where KVM is the paravirtual kvm_pvm (guest kernel code run
 * by KVM's instruction emulator), it must refuse, with the measured speed
 * as the reason; elsewhere its verdict must come with a reason either
 * way.  Skipped without /dev/kvm. */
#include <fcntl.h>
#include <sys/stat.h>

#include "vmm-test.h"

static bool kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

Test(vmm_selftest, verdict_with_reason, .timeout = 60)
{
	struct vmc_error err;
	char reason[256];
	bool usable;
	struct stat st;

	if (!kvm_usable())
		cr_skip_test("/dev/kvm is not usable here");
	cr_assert_eq(vmc_vm_selftest(&usable, reason, sizeof(reason), &err),
		     0, "%s", err.msg);
	cr_assert_neq(reason[0], 0);
	cr_log_info("self-test: %s: %s", usable ? "usable" : "refused",
		    reason);
	if (stat("/sys/module/kvm_pvm", &st) == 0) {
		cr_assert_not(usable, "paravirtual KVM accepted: %s", reason);
		cr_assert(strstr(reason, "million instructions per second") ||
			  strstr(reason, "could not run") ||
			  strstr(reason, "CPUID"), "%s", reason);
	}
	if (usable)
		cr_assert(strstr(reason, "million instructions"), "%s",
			  reason);
}
