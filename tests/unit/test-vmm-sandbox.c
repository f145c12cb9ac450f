/* Unit tests: the VM process (validate/vmm/sandbox.c) and its seccomp
 * allow-list (validate/vmm/seccomp.c), without /dev/kvm: a body stands in
 * for the run loop, confines itself with the VMM's own allow-list (fake
 * VM and vCPU fd numbers: only numbers matter) and then does what a
 * guest that took over the VMM might.  Every forbidden call kills the
 * child and the parent reports it by number and name; what the loop
 * needs works; the console callbacks run in the parent and their answer
 * reaches the child; a child stuck anywhere is killed at the limit; the
 * child's memory is its own; the child holds no descriptor but its socket,
 * the disk's files and /dev/null as 0, 1 and 2. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <time.h>

#include <linux/kvm.h>

#include "vmm-test.h"

#define VM_FD 1000
#define VCPU_FD 1001

enum act { ACT_SOCKET, ACT_WRITE_STDERR, ACT_EXEC_MAP, ACT_IOCTL_OTHER_FD,
	   ACT_IOCTL_OTHER_CMD, ACT_FORK, ACT_ALLOWED, ACT_SPIN, ACT_SEGV,
	   ACT_FAIL, ACT_SCRIBBLE, ACT_SIGNALS, ACT_FORGE, ACT_MUTE,
	   ACT_DEAF, ACT_FLOOD, ACT_FDS };

static int scribble = 7;		/* the child changes its copy */
static char console[256];
static size_t console_len;

static bool on_console(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (console_len + len < sizeof(console)) {
		memcpy(console + console_len, buf, len);
		console_len += len;
	}
	return memmem(buf, len, "STOP", 4) != NULL;
}

/* What the run loop needs: the console (its answer comes back), memory,
 * reading, the clock; opening a file fails quietly. */
static void allowed(const struct vmc_vm_config *cfg, struct vmc_vm_result *res)
{
	struct timespec t;
	bool go_on, stop;
	void *m;
	int fd;

	go_on = cfg->on_console(cfg->ctx, "hello ", 6);
	stop = cfg->on_console(cfg->ctx, "STOP", 4);
	m = malloc(1 << 20);
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
	snprintf(res->reason, sizeof(res->reason), "%d %d %d %d %d %d",
		 go_on, stop, m != NULL, fd, fd < 0 ? errno : 0,
		 clock_gettime(CLOCK_MONOTONIC, &t));
	free(m);
	res->exit = VMC_VM_POWEROFF;
}

static void misbehave(enum act a, int pipe_fd)
{
	void *m;

	switch (a) {
	case ACT_SOCKET:
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		break;
	case ACT_WRITE_STDERR:
		syscall(SYS_write, 2, "leak\n", 5);
		break;
	case ACT_EXEC_MAP:
		m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		(void)m;
		break;
	case ACT_IOCTL_OTHER_FD:
		ioctl(pipe_fd, KVM_RUN, 0);
		break;
	case ACT_IOCTL_OTHER_CMD:
		ioctl(VM_FD, KVM_SET_USER_MEMORY_REGION, NULL);
		break;
	case ACT_FORK:
		syscall(SYS_fork);
		break;
	case ACT_SPIN:
		for (;;)
			;
	case ACT_SEGV:
		/* below mmap_min_addr: never mapped; aligned for UBSan */
		*(volatile int *)((uintptr_t)pipe_fd * 4096) = 1;
		break;
	default:
		break;
	}
}

static int pipe_fds[2];

static void on_alarm(int sig)
{
	(void)sig;
}

/* The run loop's tick interrupts blocking calls (no SA_RESTART): under a
 * 1 ms timer, every console line still gets its own answer. */
static void signal_storm(const struct vmc_vm_config *cfg,
			 struct vmc_vm_result *res)
{
	unsigned stops = 0;

	for (int i = 0; i < 3000; i++)
		stops += cfg->on_console(cfg->ctx, "tick ", 5);
	snprintf(res->reason, sizeof(res->reason), "%u", stops);
	res->exit = VMC_VM_POWEROFF;
}

static void start_storm(void)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART, as the tick */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* A child its guest took over: a result with no terminating NUL in its
 * strings and an exit kind that does not exist, then a quiet exit. */
static int forge_exit = 999;

static void forge(int chan)
{
	static struct {
		uint32_t type, len;
		struct vmc_sandbox_result r;
	} m;

	m.type = VMC_SANDBOX_RESULT;
	m.len = sizeof(m.r);
	memset(&m.r, 'X', sizeof(m.r));
	m.r.ret = 0;
	m.r.res.exit = (enum vmc_vm_exit)forge_exit;
	if (write(chan, &m, sizeof(m)) == (ssize_t)sizeof(m))
		_exit(0);
}

/* A child its guest took over, talking past the protocol: it closes its
 * end and lives on (MUTE), asks question after question without reading
 * an answer (DEAF), or sends debug lines as fast as it can (FLOOD). */
static void rogue(enum act a, int chan)
{
	struct {
		uint32_t type, len;
		char data[4];
	} m = { a == ACT_DEAF ? VMC_SANDBOX_CONSOLE : VMC_SANDBOX_DEBUG, 4,
		"spam" };

	if (a == ACT_MUTE) {
		close(chan);
		for (;;)
			;
	}
	for (;;)
		if (write(chan, &m, sizeof(m)) < 0 && errno != EINTR)
			break;
	for (;;)
		;
}

/* The parent's own open file, which the child must not have. */
static int extra_fd = -1;

/* The child's descriptors (from /proc/self/fd), "c" for its socket,
 * "n" for /dev/null, "d" for a file of the disk's. */
static void list_fds(int chan, const struct vmc_vm_config *cfg, char *out,
		     size_t len)
{
	int disk[8];
	size_t nd = cfg->disk ? vmc_image_fds(cfg->disk, disk, 8) : 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t used = 0;
	struct stat st;

	out[0] = 0;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		const char *what = "?";

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (fd == chan)
			what = "c";
		else if (!fstat(fd, &st) && S_ISCHR(st.st_mode) &&
			 st.st_rdev == makedev(1, 3))
			what = "n";
		for (size_t i = 0; i < nd && i < 8; i++)
			if (disk[i] == fd)
				what = "d";
		used += (size_t)snprintf(out + used, len - used, "%d%s ", fd,
					 what);
		if (used >= len)
			break;
	}
	if (d)
		closedir(d);
}

/* Before the allow-list: what the child holds; after it, a read of the
 * disk through its chain (sector 5 is all 5s). */
static void descriptors(int chan, const struct vmc_vm_config *cfg,
			struct vmc_vm_result *res, struct vmc_error *err)
{
	char fds[128];
	uint8_t sector[512];
	int gone = fcntl(extra_fd, F_GETFD) < 0 && errno == EBADF;
	int r = 0;

	list_fds(chan, cfg, fds, sizeof(fds));
	if (vmc_seccomp_install(VM_FD, VCPU_FD, chan, err) < 0)
		return;
	if (cfg->disk)
		r = vmc_image_pread(cfg->disk, sector, 512, 5 * 512, err) ||
		    sector[0] != 5 || sector[511] != 5;
	snprintf(res->reason, sizeof(res->reason), "gone %d read %d: %s",
		 gone, r, fds);
	res->exit = VMC_VM_POWEROFF;
}

static int body(void *arg, int chan, const struct vmc_vm_config *cfg,
		struct vmc_vm_result *res, struct vmc_error *err)
{
	enum act a = *(enum act *)arg;

	if (a == ACT_FDS) {
		descriptors(chan, cfg, res, err);
		return 0;
	}

	if (a == ACT_FAIL)
		return vmc_error_set(err, EINVAL, "set-up failed on purpose");
	if (a == ACT_SIGNALS)
		start_storm();
	if (vmc_seccomp_install(VM_FD, VCPU_FD, chan, err) < 0)
		return -1;
	if (a == ACT_SIGNALS) {
		signal_storm(cfg, res);
		return 0;
	}
	if (a == ACT_FORGE)
		forge(chan);
	if (a == ACT_MUTE || a == ACT_DEAF || a == ACT_FLOOD)
		rogue(a, chan);
	if (a == ACT_ALLOWED) {
		allowed(cfg, res);
		return 0;
	}
	if (a == ACT_SCRIBBLE) {
		scribble = 99;
		res->exit = VMC_VM_POWEROFF;
		return 0;
	}
	misbehave(a, pipe_fds[1]);
	snprintf(res->reason, sizeof(res->reason), "the forbidden call "
		 "returned");
	return 0;
}

static struct vmc_image *disk;

static int run(enum act a, unsigned limit_ms, struct vmc_vm_result *res,
	       struct vmc_error *err)
{
	struct vmc_vm_config cfg = { 0 };

	cfg.disk = disk;
	cfg.on_console = on_console;
	console_len = 0;
	memset(console, 0, sizeof(console));
	cr_assert_eq(pipe(pipe_fds), 0);
	int r = vmc_sandbox_run(&cfg, body, &a, limit_ms, res, err);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return r;
}

static void killed_for(enum act a, int nr, const char *name)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };
	char want[128];

	cr_assert_eq(run(a, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%d: %s", res.exit,
		     res.reason);
	snprintf(want, sizeof(want), "guest-facing VMM violated its sandbox:"
		 " syscall %d (%s)", nr, name);
	cr_assert(strstr(res.reason, want), "'%s' lacks '%s'", res.reason,
		  want);
}

TestSuite(vmm_sandbox, .timeout = 60);

Test(vmm_sandbox, socket_kills_the_vm_process)
{
	killed_for(ACT_SOCKET, SYS_socket, "socket");
}

Test(vmm_sandbox, write_to_an_inherited_fd_kills)
{
	killed_for(ACT_WRITE_STDERR, SYS_write, "write");
}

Test(vmm_sandbox, executable_mapping_kills)
{
	killed_for(ACT_EXEC_MAP, SYS_mmap, "mmap");
}

Test(vmm_sandbox, ioctl_on_another_fd_kills)
{
	killed_for(ACT_IOCTL_OTHER_FD, SYS_ioctl, "ioctl");
}

Test(vmm_sandbox, ioctl_outside_the_list_kills)
{
	killed_for(ACT_IOCTL_OTHER_CMD, SYS_ioctl, "ioctl");
}

Test(vmm_sandbox, fork_kills)
{
	killed_for(ACT_FORK, SYS_fork, "fork");
}

Test(vmm_sandbox, what_the_loop_needs_works)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };
	char want[64];

	cr_assert_eq(run(ACT_ALLOWED, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	/* go on, then stop (the parent's answers); malloc; open refused
	 * with EPERM; the clock */
	snprintf(want, sizeof(want), "0 1 1 -1 %d 0", EPERM);
	cr_assert_str_eq(res.reason, want);
	cr_assert_str_eq(console, "hello STOP", "the parent saw the console");
}

Test(vmm_sandbox, stuck_child_is_killed_at_the_limit)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_SPIN, 1500, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert(strstr(res.reason, "watchdog killed"), "%s", res.reason);
	cr_assert_geq(res.elapsed_ms, 1500);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_sandbox, crash_is_the_guests_error)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_SEGV, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR);
	cr_assert(strstr(res.reason, "signal 11"), "%s", res.reason);
}

Test(vmm_sandbox, set_up_failure_is_returned)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_FAIL, 20000, &res, &err), -1);
	cr_assert_str_eq(err.msg, "set-up failed on purpose");
}

Test(vmm_sandbox, child_memory_is_its_own)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_SCRIBBLE, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF);
	cr_assert_eq(scribble, 7);
}

Test(vmm_sandbox, signals_do_not_break_the_conversation)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_SIGNALS, 60000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	cr_assert_str_eq(res.reason, "0", "a console line read as 'stop'");
}

Test(vmm_sandbox, forged_result_is_checked)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cr_assert_eq(run(ACT_FORGE, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR);
	cr_assert_str_eq(res.reason, "the VM process sent a malformed result");
}

Test(vmm_sandbox, forged_strings_are_terminated)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	forge_exit = VMC_VM_POWEROFF;
	cr_assert_eq(run(ACT_FORGE, 20000, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF);
	cr_assert_eq(strlen(res.reason), sizeof(res.reason) - 1);
}

/* However the child talks, or stops talking, the parent's wait ends by a
 * deadline of its own: run() returns and says why. */
static void ends_with(enum act a, unsigned limit_ms, enum vmc_vm_exit want,
		      const char *why)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(run(a, limit_ms, &res, &err), 0, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert_eq(res.exit, want, "%d: %s", res.exit, res.reason);
	cr_assert(strstr(res.reason, why), "'%s' lacks '%s'", res.reason,
		  why);
	cr_assert_lt(ms, 15000, "the parent waited %ld ms", ms);
}

Test(vmm_sandbox, child_that_hangs_up_and_lives_on_is_killed)
{
	/* no limit at all: the hang-up starts a deadline of its own */
	ends_with(ACT_MUTE, 0, VMC_VM_GUEST_ERROR, "closed its channel");
}

Test(vmm_sandbox, child_that_stops_reading_answers_is_killed)
{
	ends_with(ACT_DEAF, 60000, VMC_VM_GUEST_ERROR,
		  "stopped reading the answers");
}

Test(vmm_sandbox, message_flood_still_meets_the_limit)
{
	ends_with(ACT_FLOOD, 1500, VMC_VM_TIMEOUT, "watchdog killed");
}

/* The parent holds more than the child needs: an open file of its own
 * (as the console log, another job's image), and a disk made of two files
 * (a qcow2 over a raw backing file, by qemu-img).  The child keeps the
 * disk's two, its socket, and 0, 1 and 2 as /dev/null; the rest is
 * closed before the allow-list, and the disk reads through its chain. */
Test(vmm_sandbox, inherited_descriptors_are_closed)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };
	char base[64], top[80], cmd[320];

	extra_fd = open("/etc/hostname", O_RDONLY);
	cr_assert_geq(extra_fd, 0);
	vmc_image_close(test_disk(base, sizeof(base), 16));
	snprintf(top, sizeof(top), "%s.qcow2", base);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 -F raw -b "
		 "'%s' '%s'", strrchr(base, '/') + 1, top);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	disk = vmc_image_open(top, "qcow2", 0, NULL, &err);
	cr_assert_not_null(disk, "%s", err.msg);
	cr_assert_eq(vmc_image_fds(disk, NULL, 0), 2, "the disk's files");

	cr_assert_eq(run(ACT_FDS, 20000, &res, &err), 0, "%s", err.msg);
	vmc_image_close(disk);
	disk = NULL;
	close(extra_fd);
	unlink(top);
	unlink(base);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	cr_assert(!strncmp(res.reason, "gone 1 read 0: 0n 1n 2n ", 24),
		  "%s", res.reason);
	/* then exactly the socket and the disk's two files, in fd order */
	int c = 0, d = 0, other = 0;
	for (char *p = res.reason + 24; *p; p++) {
		if (*p == 'c')
			c++;
		else if (*p == 'd')
			d++;
		else if (*p == '?' || *p == 'n')
			other++;
	}
	cr_assert(c == 1 && d == 2 && !other, "%s", res.reason);
}

/* Without a disk: the socket and /dev/null only. */
Test(vmm_sandbox, no_disk_no_descriptors)
{
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };
	char want[64];

	extra_fd = open("/etc/hostname", O_RDONLY);
	cr_assert_geq(extra_fd, 0);
	cr_assert_eq(run(ACT_FDS, 20000, &res, &err), 0, "%s", err.msg);
	close(extra_fd);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	/* pipe_fds are open in the parent too: gone as well */
	snprintf(want, sizeof(want), "gone 1 read 0: 0n 1n 2n ");
	cr_assert(!strncmp(res.reason, want, strlen(want)), "%s",
		  res.reason);
	cr_assert(strstr(res.reason, "c ") &&
		  strlen(res.reason + strlen(want)) < 6, "%s", res.reason);
}
