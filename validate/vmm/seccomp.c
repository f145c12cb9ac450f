/* The VM thread's seccomp allow-list (libseccomp), installed after set-up
 * and before the first KVM_RUN, for the calling thread only (no TSYNC: the
 * rest of vmconv still writes the report and runs tools after the run), so
 * it binds the code a hostile guest can reach (the run loop and the
 * devices).  What stays allowed: the KVM ioctls the loop uses, on the VM
 * and vCPU fds only (and TCGETS, a read-only terminal query stdio makes);
 * reading the image (the format drivers); writing to already-open files
 * (the console callbacks); memory management for malloc, never with
 * PROT_EXEC; the timer, futexes and thread exit.  Opening a file fails
 * with EPERM (glibc's malloc tries one).  Anything else traps:
 * the call fails with EPERM and the run is stopped as the guest's error,
 * naming the system call (vmc_seccomp_violation).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <linux/kvm.h>

#include "validate/vmm/vmm.h"

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(close), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettid),
	SCMP_SYS(getpid), SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
	SCMP_SYS(timer_delete), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrandom), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
};

static const unsigned long kvm_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS,
	KVM_GET_LAPIC, KVM_GET_IRQCHIP, KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS,
	KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO,
};

/* The first refused system call of this thread, or -1. */
static __thread volatile int violation = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	(void)sig;
	if (violation < 0)
		violation = si->si_syscall;
#ifdef REG_RAX
	u->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
	(void)u;
#endif
}

int vmc_seccomp_violation(void)
{
	return violation;
}

static int add_rules(scmp_filter_ctx ctx, int vm_fd, int vcpu_fd)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; i < sizeof(kvm_ioctls) / sizeof(kvm_ioctls[0]);
	     i++) {
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (unsigned)vm_fd),
				      SCMP_A1(SCMP_CMP_EQ, kvm_ioctls[i]));
		r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (unsigned)vcpu_fd),
				      SCMP_A1(SCMP_CMP_EQ, kvm_ioctls[i]));
	}
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			      SCMP_A1(SCMP_CMP_EQ, TCGETS));
	/* glibc's malloc opens /proc/sys/vm/overcommit_memory the first
	 * time it shrinks the VM thread's arena (seen in the nested engine):
	 * opening files fails quietly, as it must, without ending the run */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 0);
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 0);
	/* memory for malloc, never executable */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	r |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return r;
}

int vmc_seccomp_install(int vm_fd, int vcpu_fd, struct vmc_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	struct sigaction sa;
	int r;

	if (!ctx)
		return vmc_error_set(err, ENOMEM, "seccomp_init failed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 ||
	    add_rules(ctx, vm_fd, vcpu_fd)) {
		seccomp_release(ctx);
		return vmc_error_set(err, EINVAL,
				     "cannot build the seccomp allow-list");
	}
	violation = -1;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return vmc_error_errno(err, -r, "cannot install the seccomp "
				       "allow-list");
	return 0;
}

void vmc_seccomp_check(struct vmc_vmctx *vm)
{
	int nr = violation;
	char *name;

	if (nr < 0)
		return;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	vmc_vm_fail(vm, VMC_VM_GUEST_ERROR, "sandbox: the VM thread made "
		    "system call %d (%s), which its seccomp allow-list "
		    "refuses; the run was stopped", nr, name ? name : "?");
	free(name);
}
