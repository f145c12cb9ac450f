/* Child processes for the QEMU-based engines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "validate/process.h"

unsigned long long vmc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int vmc_proc_spawn(struct vmc_proc *p, char *const argv[], int nextra,
		   struct vmc_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int ex[VMC_PROC_EXTRA][2];
	pid_t parent = getpid();

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->nextra = nextra;
	for (int i = 0; i < VMC_PROC_EXTRA; i++)
		ex[i][0] = ex[i][1] = -1;
	if (nextra > VMC_PROC_EXTRA)
		return vmc_error_set(err, EINVAL, "too many pipes");
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(er, O_CLOEXEC))
		goto fail_errno;
	for (int i = 0; i < nextra; i++)
		if (pipe2(ex[i], O_CLOEXEC))
			goto fail_errno;
	p->pid = fork();
	if (p->pid < 0)
		goto fail_errno;
	if (p->pid == 0) {
		int hi[3 + VMC_PROC_EXTRA];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* move every end above the targets first, then place it */
		hi[0] = fcntl(in[0], F_DUPFD, 20);
		hi[1] = fcntl(out[1], F_DUPFD, 20);
		hi[2] = fcntl(er[1], F_DUPFD, 20);
		for (int i = 0; i < nextra; i++)
			hi[3 + i] = fcntl(ex[i][1], F_DUPFD, 20);
		for (int i = 0; i < 3 + nextra; i++)
			if (hi[i] < 0 || dup2(hi[i], i) < 0)
				_exit(127);
		for (int i = 0; i < 3 + nextra; i++)
			close(hi[i]);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	p->in = in[1];
	p->out = out[0];
	p->errfd = er[0];
	for (int i = 0; i < nextra; i++) {
		close(ex[i][1]);
		p->extra[i] = ex[i][0];
	}
	for (int i = nextra; i < VMC_PROC_EXTRA; i++)
		p->extra[i] = -1;
	return 0;

fail_errno:
	vmc_error_errno(err, errno, "cannot start %s", argv[0]);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&er[0]);
	close_fd(&er[1]);
	for (int i = 0; i < VMC_PROC_EXTRA; i++) {
		close_fd(&ex[i][0]);
		close_fd(&ex[i][1]);
	}
	return -1;
}

void vmc_proc_take_stderr(struct vmc_proc *p, const char *buf, size_t len)
{
	size_t cap = sizeof(p->errbuf) - 1;

	if (len >= cap) {
		buf += len - cap;
		len = cap;
	}
	if (p->errlen + len > cap) {
		size_t drop = p->errlen + len - cap;

		memmove(p->errbuf, p->errbuf + drop, p->errlen - drop);
		p->errlen -= drop;
	}
	memcpy(p->errbuf + p->errlen, buf, len);
	p->errlen += len;
	p->errbuf[p->errlen] = 0;
}

int vmc_proc_end(struct vmc_proc *p, bool kill_it)
{
	int status = 0;

	if (p->pid > 0) {
		if (kill_it)
			kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
		p->pid = -1;
	}
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->errfd);
	for (int i = 0; i < VMC_PROC_EXTRA; i++)
		close_fd(&p->extra[i]);
	return status;
}

int vmc_proc_run(char *const argv[], struct vmc_error *err)
{
	struct vmc_proc p;
	char buf[4096];
	int status;

	if (vmc_proc_spawn(&p, argv, 0, err) < 0)
		return -1;
	close_fd(&p.in);
	while (p.out >= 0 || p.errfd >= 0) {
		struct pollfd pf[2] = { { p.out, POLLIN, 0 },
					{ p.errfd, POLLIN, 0 } };
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &p.errfd : &p.out;

			if (*fd < 0 || !pf[i].revents)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				close_fd(fd);
			} else if (i) {
				vmc_proc_take_stderr(&p, buf, (size_t)n);
			}
		}
	}
	status = vmc_proc_end(&p, false);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	while (p.errlen && (p.errbuf[p.errlen - 1] == '\n'))
		p.errbuf[--p.errlen] = 0;
	return vmc_error_set(err, EIO, "%s failed%s%s", argv[0],
			     p.errlen ? ": " : "", p.errbuf);
}

void vmc_pump_add(struct vmc_pump *pu, int *fd)
{
	if (pu->n < VMC_PUMP_MAX)
		pu->fd[pu->n++] = fd;
}

bool vmc_pump_open(const struct vmc_pump *pu)
{
	for (int i = 0; i < pu->n; i++)
		if (*pu->fd[i] >= 0)
			return true;
	return false;
}

int vmc_pump_wait(struct vmc_pump *pu, int wait_ms)
{
	for (int i = 0; i < pu->n; i++)
		pu->pf[i] = (struct pollfd){ *pu->fd[i], POLLIN, 0 };
	if (poll(pu->pf, (nfds_t)pu->n, wait_ms) < 0 && errno != EINTR)
		return -1;
	return 0;
}

ssize_t vmc_pump_read(struct vmc_pump *pu, int i, char *buf, size_t len)
{
	ssize_t k;

	if (*pu->fd[i] < 0 || !pu->pf[i].revents)
		return 0;
	k = read(*pu->fd[i], buf, len);
	if (k > 0)
		return k;
	if (k < 0 && errno == EINTR)
		return 0;
	close_fd(pu->fd[i]);
	return 0;
}
