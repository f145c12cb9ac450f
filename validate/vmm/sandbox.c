/* The VM's process: every run of guest code happens in a child process
 * (fork) that shares no writable memory with vmconv (guest RAM, the
 * devices and the disk overlay are its own), confined by the seccomp
 * allow-list (seccomp.c) for the whole process before the first KVM_RUN.
 * First thing, the child closes every descriptor it inherited except its
 * socket and the disk's files (close_inherited), so what the allow-list
 * still lets it read is the disk and nothing else of vmconv's.
 * The child talks to the parent over one SOCK_SEQPACKET socket, which is
 * the only file it may write to: each console line, debug-port line and
 * VGA screen is a message, and the parent runs the validator's callbacks
 * and answers whether to stop; the last message is the result.
 *
 * The parent is the watchdog: a child that has not ended by the limit
 * (the run's own timeout plus set-up time) is killed with SIGKILL, wherever
 * it is stuck.  No wait of the parent's is open-ended: its answers never
 * block (a child that stops reading them is killed), and the child's end
 * is waited for by a deadline too (a child that hangs up and lives on is
 * killed; one that does not go even then is given up on).  A system call outside the allow-list raises SIGSYS in the
 * child, whose handler tells the parent the call's number and then dies of
 * SIGSYS; the parent reports "guest-facing VMM violated its sandbox:
 * syscall N (name)" as the guest's error.  Firecracker's jailer and
 * crosvm's per-device processes are the models.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define MSG_PAYLOAD VMC_SANDBOX_PAYLOAD
/* how long a child that closed its end, or was killed, has to be gone */
#define REAP_MS 5000

struct msg {
	uint32_t type;
	uint32_t len;
	uint8_t data[MSG_PAYLOAD];
};

/* ---- the child's side ---- */

static int child_chan = -1;

/* One message (SOCK_SEQPACKET: whole or not at all); the run loop's tick
 * signal interrupts blocking calls (no SA_RESTART), so EINTR is retried. */
static bool send_msg(int fd, uint32_t type, const void *p, size_t len)
{
	struct msg m;
	size_t n = offsetof(struct msg, data) + len;
	ssize_t k;

	if (len > MSG_PAYLOAD)
		return false;
	m.type = type;
	m.len = (uint32_t)len;
	memcpy(m.data, p, len);
	do
		k = write(fd, &m, n);
	while (k < 0 && errno == EINTR);
	return k == (ssize_t)n;
}

/* The parent's answer: stop (also when it is gone) or go on. */
static bool wait_reply(void)
{
	uint8_t b = 1;
	ssize_t k;

	do
		k = read(child_chan, &b, 1);
	while (k < 0 && errno == EINTR);
	return k != 1 || b;
}

static bool px_console(void *ctx, const char *buf, size_t len)
{
	bool stop = false;

	(void)ctx;
	while (len && !stop) {
		size_t k = len < MSG_PAYLOAD ? len : MSG_PAYLOAD;

		if (!send_msg(child_chan, VMC_SANDBOX_CONSOLE, buf, k))
			return true;
		stop = wait_reply();
		buf += k;
		len -= k;
	}
	return stop;
}

static void px_debug(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	while (len) {
		size_t k = len < MSG_PAYLOAD ? len : MSG_PAYLOAD;

		send_msg(child_chan, VMC_SANDBOX_DEBUG, buf, k);
		buf += k;
		len -= k;
	}
}

static bool px_screen(void *ctx, const uint16_t *cells, bool final)
{
	uint8_t b[1 + VMC_VGA_CELLS * 2];

	(void)ctx;
	b[0] = final;
	memcpy(b + 1, cells, VMC_VGA_CELLS * 2);
	if (!send_msg(child_chan, VMC_SANDBOX_SCREEN, b, sizeof(b)))
		return true;
	return wait_reply();
}

static void px_stats(void *ctx, const struct vmc_vm_stats *st)
{
	(void)ctx;
	send_msg(child_chan, VMC_SANDBOX_STATS, st, sizeof(*st));
}

/* SIGSYS from the allow-list (SA_RESETHAND|SA_NODEFER: the default action
 * is back and not blocked): say which call, then die of the signal. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;

	(void)uc;
	send_msg(child_chan, VMC_SANDBOX_VIOLATION, &nr, sizeof(nr));
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
	_exit(125);
}

/* Straight to the kernel, past any sigaction a runtime interposes
 * (sanitizers wrap it). */
static void default_action(int sig)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} ks = { SIG_DFL, 0, NULL, 0 };

	syscall(SYS_rt_sigaction, sig, &ks, NULL, sizeof(ks.mask));
}

static void child_setup(int chan)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				   SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD,
				   SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
				   SIGTRAP };
	struct rlimit no_core = { 0, 0 };
	struct sigaction sa;

	child_chan = chan;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setrlimit(RLIMIT_CORE, &no_core);
	/* vmconv's own handlers (a conversion's clean-up on ^C, a
	 * sanitizer's crash report) are not the child's business: it dies
	 * of the signal and the parent says which */
	for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		default_action(dfl[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes [lo, hi]: close_range, or one by one where the kernel has none
 * (before Linux 5.9). */
static void close_span(unsigned lo, unsigned hi)
{
	struct rlimit rl;

	if (lo > hi || syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > 1u << 20)
		rl.rlim_max = 1u << 20;
	for (unsigned long fd = lo; fd <= hi && fd < rl.rlim_max; fd++)
		close((int)fd);
}

/* Every descriptor the child inherited is closed but its end of the
 * socket and the disk's files (the image's own, its chain's, data file
 * and extents: vmc_image_fds); 0, 1 and 2 become /dev/null.  So a guest
 * that takes over the VMM can read nothing of vmconv's: not its console
 * log, its terminal, another job's image or a file it was writing. */
static int close_inherited(int chan, const struct vmc_image *disk,
			   struct vmc_error *err)
{
	size_t n = disk ? vmc_image_fds(disk, NULL, 0) : 0, k = 0;
	int *keep = malloc((n + 4) * sizeof(*keep));
	int null;
	unsigned next = 0;

	if (!keep)
		return vmc_error_set(err, ENOMEM, "no memory to list the VM "
				     "process's descriptors");
	if (disk)
		k = VMC_MIN(vmc_image_fds(disk, keep, n), n);
	keep[k++] = chan;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++) {
		bool used = false;

		for (size_t i = 0; i < k; i++)
			used |= keep[i] == fd;
		if (!used && null >= 0 && null != fd)
			dup2(null, fd);
		keep[k++] = fd;
	}
	qsort(keep, k, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < k; i++) {
		if ((unsigned)keep[i] > next)
			close_span(next, (unsigned)keep[i] - 1);
		next = (unsigned)keep[i] + 1;
	}
	close_span(next, ~0u);
	free(keep);
	return 0;
}

static void __attribute__((noreturn))
child_main(int chan, const struct vmc_vm_config *cfg, vmc_sandbox_body body,
	   void *arg)
{
	struct vmc_vm_config pcfg = *cfg;
	struct vmc_sandbox_result r;

	child_setup(chan);
	memset(&r, 0, sizeof(r));
	if (close_inherited(chan, cfg->disk, &r.err) < 0) {
		r.ret = -1;
		send_msg(chan, VMC_SANDBOX_RESULT, &r, sizeof(r));
		_exit(0);
	}
	pcfg.on_console = cfg->on_console ? px_console : NULL;
	pcfg.on_debug = cfg->on_debug ? px_debug : NULL;
	pcfg.on_screen = cfg->on_screen ? px_screen : NULL;
	pcfg.on_stats = cfg->on_stats ? px_stats : NULL;
	pcfg.ctx = NULL;
	r.ret = body(arg, chan, &pcfg, &r.res, &r.err);
	send_msg(chan, VMC_SANDBOX_RESULT, &r, sizeof(r));
	_exit(0);
}

/* ---- the parent's side ---- */

struct parent {
	const struct vmc_vm_config *cfg;
	int fd;
	struct vmc_sandbox_result r;
	bool have_result;
	int violation;			/* syscall number, or -1 */
	bool killed;			/* by the watchdog */
	bool deaf;			/* stopped reading its answers */
	bool mute;			/* closed its end, did not exit */
	bool lost;			/* did not end even when killed */
};

static unsigned long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Never blocks: a child reads each answer before its next question, so
 * a full socket means it stopped listening (serve() then ends it); a
 * child that is gone shows as end of file in serve(). */
static void reply(struct parent *p, bool stop)
{
	uint8_t b = stop;
	ssize_t k;

	do
		k = send(p->fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		p->deaf = true;
}

/* The child may have been taken over by its guest: what it says is
 * checked like any other untrusted input. */
static void take_result(struct parent *p, const uint8_t *data)
{
	struct vmc_sandbox_result *r = &p->r;

	memcpy(r, data, sizeof(*r));
	r->res.stats.kvm = data[offsetof(struct vmc_sandbox_result,
					 res.stats.kvm)] != 0;
	r->res.reason[sizeof(r->res.reason) - 1] = 0;
	r->err.msg[sizeof(r->err.msg) - 1] = 0;
	if ((unsigned)r->res.exit > VMC_VM_GUEST_ERROR) {
		r->res.exit = VMC_VM_GUEST_ERROR;
		snprintf(r->res.reason, sizeof(r->res.reason), "the VM "
			 "process sent a malformed result");
	}
	if (r->ret < 0 && (r->err.code <= 0 || !r->err.msg[0]))
		vmc_error_set(&r->err, EIO, "the VM process failed without "
			      "saying why");
	p->have_result = true;
}

static void dispatch(struct parent *p, const struct msg *m, size_t len)
{
	const struct vmc_vm_config *c = p->cfg;

	if (len < offsetof(struct msg, data) ||
	    m->len != len - offsetof(struct msg, data))
		return;
	switch (m->type) {
	case VMC_SANDBOX_CONSOLE:
		reply(p, c->on_console ?
		      c->on_console(c->ctx, (const char *)m->data, m->len) :
		      false);
		break;
	case VMC_SANDBOX_DEBUG:
		if (c->on_debug)
			c->on_debug(c->ctx, (const char *)m->data, m->len);
		break;
	case VMC_SANDBOX_SCREEN: {
		uint16_t cells[VMC_VGA_CELLS];

		if (m->len != 1 + sizeof(cells))
			break;
		memcpy(cells, m->data + 1, sizeof(cells));
		reply(p, c->on_screen ?
		      c->on_screen(c->ctx, cells, m->data[0]) : false);
		break;
	}
	case VMC_SANDBOX_RESULT:
		if (m->len == sizeof(p->r))
			take_result(p, m->data);
		break;
	case VMC_SANDBOX_STATS: {
		struct vmc_vm_stats st;

		if (m->len != sizeof(st) || !c->on_stats)
			break;
		memcpy(&st, m->data, sizeof(st));
		st.kvm = !!m->data[offsetof(struct vmc_vm_stats, kvm)];
		c->on_stats(c->ctx, &st);
		break;
	}
	case VMC_SANDBOX_VIOLATION:
		if (m->len == sizeof(int) && p->violation < 0)
			memcpy(&p->violation, m->data, sizeof(int));
		break;
	}
}

/* Messages until the child's end closes, or the limit passes (then the
 * child is killed). */
static void serve(struct parent *p, pid_t pid, unsigned limit_ms)
{
	unsigned long long end = now_ms() + limit_ms;
	struct msg *m = malloc(sizeof(*m));

	for (;;) {
		unsigned long long t = now_ms();
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		int wait = -1;
		ssize_t k;

		if (limit_ms) {
			if (t >= end) {
				kill(pid, SIGKILL);
				p->killed = true;
				break;
			}
			wait = (int)(end - t);
		}
		if (poll(&pf, 1, wait) < 0 && errno != EINTR)
			break;
		if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		k = m ? recv(p->fd, m, sizeof(*m), MSG_DONTWAIT) : 0;
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		dispatch(p, m, (size_t)k);
		if (p->deaf) {
			kill(pid, SIGKILL);
			break;
		}
	}
	free(m);
}

/* The child's status, waited for with a deadline whatever it does: one
 * that closed its end but lives on, or that was killed but does not go,
 * is killed (again) and given up on at the deadline. */
static int reap(struct parent *p, pid_t pid)
{
	unsigned long long end = now_ms() + REAP_MS, t;
	/* readable when the child ends: no timer needed to notice */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pf = { .fd = pfd, .events = POLLIN };
	bool sent = p->killed || p->deaf;
	int status = 0, wait;
	pid_t w;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		t = now_ms();
		if (t >= end) {
			if (sent) {
				p->lost = true;
				break;
			}
			kill(pid, SIGKILL);
			sent = true;
			p->mute = true;
			end = t + REAP_MS;
			continue;
		}
		wait = (int)(end - t);
		if (pfd < 0 && wait > 10)
			wait = 10;	/* no pidfd: look every 10 ms */
		poll(&pf, pfd >= 0, wait);
	}
	if (pfd >= 0)
		close(pfd);
	return w == pid ? status : 0;
}

static void signal_reason(struct parent *p, int sig, struct vmc_vm_result *res)
{
	char *name = NULL;

	res->exit = VMC_VM_GUEST_ERROR;
	if (sig != SIGSYS) {
		snprintf(res->reason, sizeof(res->reason), "the VM process "
			 "died of signal %d (%s)", sig, strsignal(sig));
		return;
	}
	if (p->violation >= 0)
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
							p->violation);
	snprintf(res->reason, sizeof(res->reason), "guest-facing VMM "
		 "violated its sandbox: syscall %d (%s); the VM process was "
		 "killed", p->violation, name ? name : "unknown");
	free(name);
}

/* The ways a child ends that only a guest in control of it could cause. */
static bool misbehaved(const struct parent *p, struct vmc_vm_result *res)
{
	const char *why;

	if (p->lost && !p->killed)
		why = "the VM process did not end when killed; vmconv gave "
		      "up waiting for it";
	else if (p->deaf)
		why = "the VM process stopped reading the answers to its "
		      "messages and was killed";
	else if (p->mute)
		why = "the VM process closed its channel but did not exit "
		      "and was killed";
	else
		return false;
	res->exit = VMC_VM_GUEST_ERROR;
	snprintf(res->reason, sizeof(res->reason), "%s", why);
	return true;
}

static int conclude(struct parent *p, int status, unsigned limit_ms,
		    unsigned long long t0, struct vmc_vm_result *res,
		    struct vmc_error *err)
{
	if (p->have_result && WIFEXITED(status) && !p->lost && !p->deaf &&
	    !p->mute) {
		*res = p->r.res;
		if (p->r.ret < 0 && err)
			*err = p->r.err;
		return p->r.ret < 0 ? -1 : 0;
	}
	memset(res, 0, sizeof(*res));
	res->elapsed_ms = (unsigned)(now_ms() - t0);
	if (misbehaved(p, res))
		return 0;
	if (p->killed) {
		res->exit = VMC_VM_TIMEOUT;
		snprintf(res->reason, sizeof(res->reason), "timed out after "
			 "%u s: the watchdog killed a VM process that had not "
			 "returned to KVM_RUN", (limit_ms + 999) / 1000);
		return 0;
	}
	if (WIFSIGNALED(status)) {
		signal_reason(p, WTERMSIG(status), res);
		return 0;
	}
	return vmc_error_set(err, EIO, "the VM process exited with status %d"
			     " without a result", WEXITSTATUS(status));
}

int vmc_sandbox_run(const struct vmc_vm_config *cfg, vmc_sandbox_body body,
		    void *arg, unsigned limit_ms, struct vmc_vm_result *res,
		    struct vmc_error *err)
{
	struct parent p = { .cfg = cfg, .violation = -1 };
	unsigned long long t0 = now_ms();
	int sv[2], status = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vmc_error_errno(err, errno, "cannot make the VM "
				       "process's socket");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return vmc_error_errno(err, errno, "cannot start the VM "
				       "process");
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sv[1], cfg, body, arg);
	}
	close(sv[1]);
	p.fd = sv[0];
	serve(&p, pid, limit_ms);
	close(p.fd);
	status = reap(&p, pid);
	return conclude(&p, status, limit_ms, t0, res, err);
}
