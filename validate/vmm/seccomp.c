/* The VM process's seccomp allow-list (libseccomp), installed by the
 * child process that runs the guest (sandbox.c) after set-up and before
 * the first KVM_RUN.  The child is single-threaded, so the filter binds
 * all of the code a hostile guest can reach (the run loop, the devices,
 * the format drivers reading the disk).  What stays allowed: the KVM
 * ioctls the loop uses, on the VM and vCPU fds only; reading and seeking
 * (the image's files are all the process still holds: sandbox.c); writing to the socket to the parent only; memory management
 * for malloc, never with PROT_EXEC; the tick timer, futexes, its own
 * SIGSYS (tgkill on itself) and exit.  Opening a file fails with EPERM
 * (glibc's malloc reads /proc/sys/vm/overcommit_memory when it trims an
 * arena it made on another thread before the fork; nothing is opened).
 * Anything else raises SIGSYS, which kills the VM process; the parent
 * reports the system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "validate/vmm/vmm.h"

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(close),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettid), SCMP_SYS(getpid),
	SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
	SCMP_SYS(timer_delete), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrandom), SCMP_SYS(exit),
	SCMP_SYS(exit_group),
};

static const unsigned long kvm_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS,
	KVM_GET_LAPIC, KVM_GET_IRQCHIP, KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS,
	KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO,
	KVM_INTERRUPT,
};

static int add_ioctls(scmp_filter_ctx ctx, int vm_fd, int vcpu_fd)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(kvm_ioctls) / sizeof(kvm_ioctls[0]);
	     i++) {
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (unsigned)vm_fd),
				      SCMP_A1(SCMP_CMP_EQ, kvm_ioctls[i]));
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (unsigned)vcpu_fd),
				      SCMP_A1(SCMP_CMP_EQ, kvm_ioctls[i]));
	}
	return r;
}

static int add_rules(scmp_filter_ctx ctx, int vm_fd, int vcpu_fd,
		     int chan_fd)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	r |= add_ioctls(ctx, vm_fd, vcpu_fd);
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
			      SCMP_A0(SCMP_CMP_EQ, (unsigned)chan_fd));
	/* the SIGSYS handler's own end (sandbox.c) */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
			      SCMP_A0(SCMP_CMP_EQ, (unsigned)getpid()),
			      SCMP_A2(SCMP_CMP_EQ, SIGSYS));
	/* see the top of the file: nothing may be opened, quietly */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 0);
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 0);
	/* memory for malloc, never executable */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return r;
}

int vmc_seccomp_install(int vm_fd, int vcpu_fd, int chan_fd,
			struct vmc_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx)
		return vmc_error_set(err, ENOMEM, "seccomp_init failed");
	if (add_rules(ctx, vm_fd, vcpu_fd, chan_fd)) {
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
