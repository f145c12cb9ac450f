/* The progress bar: bytes done, rate, time left; only on a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

struct vmc_progress {
	const char *label;
	double start, last;
	bool drawn;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct vmc_progress *vmc_progress_new(bool enabled, const char *label)
{
	struct vmc_progress *p;

	if (!enabled || !isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p) {
		p->label = label;
		p->start = now();
	}
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
	t = now();
	if (t - p->last < 0.1 && done < total)
		return;
	p->last = t;
	draw(p, done, total);
}

void vmc_progress_finish(struct vmc_progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		fputc('\n', stderr);
	free(p);
}
