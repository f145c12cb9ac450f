/* The VM thread's seccomp allow-list (libseccomp), installed after set-up
 * and before the first KVM_RUN, for the calling thread only (no TSYNC), so
 * it binds the code a hostile guest can reach (the run loop and the
 * devices) and not the rest of vmconv.  What stays allowed: the few KVM
 * ioctls the loop uses, reading the image (the format drivers), writing
 * to already-open files (the console callbacks), memory management for
 * malloc, the timer, futexes, and thread exit.  Everything else (open,
 * exec, socket, other ioctls, ...) fails with EPERM.
 */
#include <errno.h>
#include <seccomp.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "validate/vmm/vmm.h"

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(close), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettid),
	SCMP_SYS(getpid), SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
	SCMP_SYS(timer_delete), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrandom), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
};

static const unsigned long ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS,
	KVM_GET_LAPIC, KVM_GET_IRQCHIP, KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS,
	TCGETS,
};

int vmc_seccomp_install(struct vmc_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = 0;

	if (!ctx)
		return vmc_error_set(err, ENOMEM, "seccomp_init failed");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
	if (r) {
		seccomp_release(ctx);
		return vmc_error_set(err, EINVAL,
				     "cannot build the seccomp allow-list");
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return vmc_error_errno(err, -r, "cannot install the seccomp "
				       "allow-list");
	return 0;
}
