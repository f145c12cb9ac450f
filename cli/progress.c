/* Conversion progress: a bar on a terminal, or with -p the records
 * qemu-img convert -p prints (util/qemu-progress.c): "    (%3.2f/100%)\r"
 * at 0, whenever the percentage has grown by more than 1 since the last
 * record, and at 100, then "\n" at the end.  Programs that drive qemu-img
 * (KubeVirt CDI, oVirt) split its output on '\r' and parse the number. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

struct vmc_progress {
	enum vmc_progress_kind kind;
	FILE *out;
	const char *label;
	double start, last;
	float last_pct;
	bool drawn;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void record(struct vmc_progress *p, float pct)
{
	p->last_pct = pct;
	fprintf(p->out, "    (%3.2f/100%%)\r", pct);
	fflush(p->out);
}

struct vmc_progress *vmc_progress_new(enum vmc_progress_kind kind, FILE *out,
				      const char *label)
{
	struct vmc_progress *p;

	if (kind == VMC_PROGRESS_OFF ||
	    (kind == VMC_PROGRESS_BAR && !isatty(STDERR_FILENO)))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind;
	p->out = kind == VMC_PROGRESS_QEMU ? out : stderr;
	p->label = label;
	p->start = now();
	if (kind == VMC_PROGRESS_QEMU)
		record(p, 0);
	return p;
}

static void draw(struct vmc_progress *p, uint64_t done, uint64_t total)
{
	double t = now() - p->start, frac = total ? (double)done / total : 1;
	double rate = t > 0 ? (double)done / t : 0;
	char d[32], r[32], bar[31];
	int fill = (int)(frac * 30), eta = -1;

	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	if (rate > 0 && done < total)
		eta = (int)((double)(total - done) / rate);
	vmc_cli_human_size(done, d, sizeof(d));
	vmc_cli_human_size((uint64_t)rate, r, sizeof(r));
	fprintf(stderr, "\r%s [%s] %5.1f%% %s %s/s", p->label, bar,
		frac * 100, d, r);
	if (eta >= 0)
		fprintf(stderr, " %d:%02d left ", eta / 60, eta % 60);
	else
		fprintf(stderr, "          ");
	fflush(stderr);
	p->drawn = true;
}

void vmc_progress_update(void *ctx, uint64_t done, uint64_t total)
{
	struct vmc_progress *p = ctx;
	double t;

	if (!p)
		return;
	if (p->kind == VMC_PROGRESS_QEMU) {
		float pct = total && done < total ?
			    (float)((double)done * 100 / (double)total) : 100;

		if (pct - p->last_pct > 1.0f || pct == 100)
			record(p, pct);
		return;
	}
	t = now();
	if (t - p->last < 0.1 && done < total)
		return;
	p->last = t;
	draw(p, done, total);
}

void vmc_progress_finish(struct vmc_progress *p, bool ok)
{
	if (!p)
		return;
	if (p->kind == VMC_PROGRESS_QEMU) {
		if (ok)
			record(p, 100);
		fputc('\n', p->out);
		fflush(p->out);
	} else if (p->drawn) {
		fputc('\n', stderr);
	}
	free(p);
}
