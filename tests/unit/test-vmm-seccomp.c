/* Unit tests: the VM thread's seccomp allow-list (validate/vmm/seccomp.c)
 * on a thread of its own, without /dev/kvm: what the run loop needs
 * passes; opening a file fails quietly; a socket, an executable mapping
 * and a KVM ioctl on any fd but the VM's and the vCPU's are refused,
 * trapped, and turned into a stopped run naming the first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>

#include <linux/kvm.h>

#include "vmm-test.h"

struct probe {
	int vm_fd, vcpu_fd, other_fd;
	int open_rc, open_errno, exec_ok, rw_ok, ioctl_rc, ioctl_errno;
	int write_rc, first, sock_rc;
	struct vmc_vmctx vm;
};

static void *sandboxed(void *p)
{
	struct probe *pr = p;
	struct vmc_error err;
	void *m;

	if (vmc_seccomp_install(pr->vm_fd, pr->vcpu_fd, &err) < 0)
		return "install failed";
	pr->write_rc = (int)write(pr->other_fd, "x", 1);	/* allowed */
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pr->rw_ok = m != MAP_FAILED;
	if (m != MAP_FAILED)
		munmap(m, 4096);
	pr->open_rc = (int)syscall(SYS_openat, AT_FDCWD, "/etc/hostname",
				   O_RDONLY);
	pr->open_errno = errno;
	pr->first = vmc_seccomp_violation();	/* quiet: still -1 */
	pr->sock_rc = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pr->exec_ok = m != MAP_FAILED;
	pr->ioctl_rc = ioctl(pr->other_fd, KVM_RUN, 0);
	pr->ioctl_errno = errno;
	vmc_seccomp_check(&pr->vm);
	return NULL;
}

Test(vmm_seccomp, refused_calls_stop_the_run_with_a_reason)
{
	struct probe pr = { 0 };
	int fds[2];
	pthread_t t;
	void *ret;

	cr_assert_eq(pipe(fds), 0);
	pr.vm_fd = 1000;		/* not open: only numbers matter */
	pr.vcpu_fd = 1001;
	pr.other_fd = fds[1];
	cr_assert_eq(pthread_create(&t, NULL, sandboxed, &pr), 0);
	pthread_join(t, &ret);
	cr_assert_null(ret, "%s", (char *)ret);
	cr_assert_eq(pr.write_rc, 1, "write to an open fd is allowed");
	cr_assert(pr.rw_ok, "read-write mappings are allowed");
	cr_assert_eq(pr.first, -1, "open is refused quietly");
	cr_assert_eq(pr.sock_rc, -1);
	cr_assert_eq(pr.open_rc, -1);
	cr_assert_eq(pr.open_errno, EPERM);
	cr_assert_not(pr.exec_ok, "an executable mapping was allowed");
	cr_assert_eq(pr.ioctl_rc, -1);
	cr_assert_eq(pr.ioctl_errno, EPERM);
	cr_assert(pr.vm.stop);
	cr_assert_eq(pr.vm.exit, VMC_VM_GUEST_ERROR);
	cr_assert(strstr(pr.vm.reason, "socket"), "%s", pr.vm.reason);
	cr_assert(strstr(pr.vm.reason, "seccomp"), "%s", pr.vm.reason);
	/* the main thread is not bound */
	cr_assert_geq(open("/etc/hostname", O_RDONLY), 0);
}
