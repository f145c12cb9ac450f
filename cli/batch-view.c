/* What `vmconv batch run` shows: on a terminal, one line per running VM
 * (phase, percent, rate, ETA) under the finished VMs' lines, with a
 * summary line, redrawn twice a second; otherwise plain lines, one when a
 * VM starts and one when it ends. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cli/batch.h"

struct vmc_batch_view {
	const char *state;
	const struct vmc_batch_plan *p;
	bool tty;
	FILE *out;
	double *start;		/* per VM: when it started, 0 when idle */
	size_t counts[VMC_BATCH_UNFINISHED + 1];
	int drawn;		/* lines of the live view on screen */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct vmc_batch_view *vmc_cli_batch_view_new(const char *state,
					      const struct vmc_batch_plan *p,
					      bool tty, FILE *out)
{
	struct vmc_batch_view *v = calloc(1, sizeof(*v));

	if (!v || !(v->start = calloc(p->n, sizeof(double)))) {
		free(v);
		return NULL;
	}
	v->state = state;
	v->p = p;
	v->tty = tty;
	v->out = out;
	return v;
}

void vmc_cli_batch_view_free(struct vmc_batch_view *v)
{
	if (v)
		free(v->start);
	free(v);
}

static void clear(struct vmc_batch_view *v)
{
	if (v->tty && v->drawn)
		fprintf(v->out, "\033[%dA\033[J", v->drawn);
	v->drawn = 0;
}

void vmc_cli_batch_view_started(void *ctx, size_t id)
{
	struct vmc_batch_view *v = ctx;

	v->start[id] = mono();
	if (!v->tty)
		fprintf(v->out, "%s: started (VM %zu)\n", v->p->vms[id].name,
			id);
	fflush(v->out);
}

void vmc_cli_batch_view_ended(void *ctx, size_t id, int status)
{
	struct vmc_batch_view *v = ctx;
	json_t *jn = vmc_batch_journal_read(v->state, id);
	enum vmc_batch_outcome o = vmc_batch_outcome_of(jn);
	const char *why = json_string_value(json_object_get(jn, "reason"));

	clear(v);
	v->counts[o]++;
	fprintf(v->out, "%s: %s", v->p->vms[id].name,
		vmc_batch_outcome_name(o));
	if (o == VMC_BATCH_UNFINISHED && WIFSIGNALED(status))
		fprintf(v->out, " (worker killed by signal %d)",
			WTERMSIG(status));
	else if (o == VMC_BATCH_UNFINISHED)
		fprintf(v->out, " (worker exited %d; see %s/logs/%zu.log)",
			WEXITSTATUS(status), v->state, id);
	else if (why && o != VMC_BATCH_READY)
		fprintf(v->out, ": %s", why);
	fprintf(v->out, " [%.1f s]\n", mono() - v->start[id]);
	v->start[id] = 0;
	json_decref(jn);
	fflush(v->out);
}

static void running_line(struct vmc_batch_view *v, size_t id)
{
	char phase[32] = "starting";
	uint64_t done = 0, total = 0;
	double el = mono() - v->start[id];

	vmc_batch_progress_read(v->state, id, phase, sizeof(phase), &done,
				&total);
	fprintf(v->out, "  %-24.24s %-11s", v->p->vms[id].name, phase);
	if (total && !strcmp(phase, "converting")) {
		double rate = el > 0 ? (double)done / el : 0;

		fprintf(v->out, " %5.1f%%  %7.1f MiB/s", 100.0 * (double)done /
			(double)total, rate / 1048576);
		if (rate > 0)
			fprintf(v->out, "  ETA %4.0f s",
				(double)(total - done) / rate);
	}
	fprintf(v->out, "  %5.0f s\n", el);
	v->drawn++;
}

void vmc_cli_batch_view_tick(void *ctx)
{
	struct vmc_batch_view *v = ctx;
	size_t running = 0, done = 0;

	if (!v->tty)
		return;
	clear(v);
	for (size_t i = 0; i < v->p->n; i++)
		if (v->start[i] > 0) {
			running_line(v, i);
			running++;
		}
	for (int k = 0; k <= VMC_BATCH_UNFINISHED; k++)
		done += v->counts[k];
	fprintf(v->out, "%zu/%zu done: %zu ready, %zu converted, %zu not"
		" ready, %zu failed; %zu running\n", done, v->p->n,
		v->counts[VMC_BATCH_READY], v->counts[VMC_BATCH_CONVERTED],
		v->counts[VMC_BATCH_NOT_READY], v->counts[VMC_BATCH_FAILED],
		running);
	v->drawn++;
	fflush(v->out);
}

void vmc_cli_batch_view_done(struct vmc_batch_view *v)
{
	clear(v);
	fflush(v->out);
}
