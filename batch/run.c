/* The local pool of `batch run`: N worker processes, one `vmconv batch
 * run-one` per VM, in the runner's process group and killed with it
 * (PR_SET_PDEATHSIG), conversions and validations interleaved so the CPU
 * stays busy while memory stays bounded.  The caller's events (the
 * command line's view) hear of each start and end, and twice a second. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch/batch.h"

/* Validation memory (the validator's default guest RAM) plus the VMM's
 * or QEMU's own, per VM. */
#define VM_MEM_MIB (512 + 256)

static uint64_t mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024;
}

unsigned vmc_batch_default_jobs(const struct vmc_batch_plan *p)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t by_mem = mem_available_mib() / VM_MEM_MIB;
	unsigned n = cpus > 0 ? (unsigned)cpus : 1;

	if (by_mem && by_mem < n)
		n = (unsigned)by_mem;
	if (p && p->n < n)
		n = (unsigned)p->n;
	return n ? n : 1;
}

/* Validations and plain conversions alternate in the queue. */
static size_t *make_queue(const struct vmc_batch_plan *p)
{
	size_t *q = malloc(p->n * sizeof(*q)), k = 0, a = 0, b = 0;

	while (q && k < p->n) {
		while (a < p->n && !p->vms[a].validate)
			a++;
		if (a < p->n)
			q[k++] = a++;
		while (b < p->n && p->vms[b].validate)
			b++;
		if (b < p->n)
			q[k++] = b++;
	}
	return q;
}

static pid_t spawn(const struct vmc_batch_run_opts *o, size_t id,
		   struct vmc_error *err)
{
	pid_t parent = getpid(), pid;
	char ids[32], *log = vmc_batch_path(o->state, "logs", id, ".log");

	snprintf(ids, sizeof(ids), "%zu", id);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		vmc_error_errno(err, errno, "cannot start a worker");
		free(log);
		return -1;
	}
	if (pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(2);
		fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		execl(o->self, o->self, "batch", "run-one", "--state",
		      o->state, "--id", ids, o->retry_failed ?
		      "--retry-failed" : (char *)NULL, (char *)NULL);
		_exit(2);
	}
	free(log);
	return pid;
}

struct worker {
	pid_t pid;
	size_t id;
};

/* Wait up to 500 ms for a worker to end; returns its slot or -1. */
static int reap(struct worker *w, unsigned n, int *status)
{
	for (int tries = 0; tries < 10; tries++) {
		pid_t pid = waitpid(-1, status, WNOHANG);

		for (unsigned i = 0; pid > 0 && i < n; i++)
			if (w[i].pid == pid)
				return (int)i;
		if (pid > 0 || (pid < 0 && errno == ECHILD))
			continue;
		usleep(50000);
	}
	return -1;
}

static int pool(const struct vmc_batch_run_opts *o,
		const struct vmc_batch_plan *p, unsigned jobs,
		struct vmc_error *err)
{
	struct worker *w = calloc(jobs, sizeof(*w));
	size_t *q = make_queue(p), next = 0;
	unsigned running = 0;
	int ret = -1, status;

	if (!w || !q) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (next < p->n || running) {
		int slot;

		for (unsigned i = 0; i < jobs && next < p->n; i++) {
			if (w[i].pid)
				continue;
			w[i].id = q[next++];
			w[i].pid = spawn(o, w[i].id, err);
			if (w[i].pid < 0)
				goto out;
			running++;
			if (o->ev.started)
				o->ev.started(o->ev.ctx, w[i].id);
		}
		slot = reap(w, jobs, &status);
		if (slot >= 0) {
			if (o->ev.ended)
				o->ev.ended(o->ev.ctx, w[slot].id, status);
			w[slot].pid = 0;
			running--;
		}
		if (o->ev.tick)
			o->ev.tick(o->ev.ctx);
	}
	ret = 0;
out:
	free(w);
	free(q);
	return ret;
}

int vmc_batch_run(const struct vmc_batch_run_opts *o, struct vmc_error *err)
{
	struct vmc_batch_plan *p = vmc_batch_state_plan(o->state, err);
	char *lock = NULL;
	int fd = -1, r = -1;

	if (!p)
		return -1;
	if (asprintf(&lock, "%s/run.lock", o->state) < 0) {
		lock = NULL;
		goto out;
	}
	fd = vmc_batch_lock(lock, err);
	if (fd < 0) {
		if (err->code == EWOULDBLOCK)
			vmc_error_set(err, EBUSY, "%s: another batch run is"
				      " using this state folder", o->state);
		goto out;
	}
	r = pool(o, p, o->jobs ? o->jobs : vmc_batch_default_jobs(p), err);
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	vmc_batch_plan_free(p);
	return r;
}
