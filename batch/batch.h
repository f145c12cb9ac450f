/* Batch migrations: a plan of VMs, a state folder shared by whatever runs
 * them (the local pool, GNU parallel, Slurm, Kubernetes), one run-one
 * process per VM, and the pre-cutover report.
 *
 * State folder layout (all files replaced by rename, never rewritten):
 *   plan.json          the checked plan, paths absolute, ids 0..n-1
 *   run.lock           flock'd by `batch run` (one run at a time)
 *   vm/ID.json         the VM's journal (phase, outcome, results)
 *   vm/ID.lock         flock'd by the run-one process working on ID
 *   vm/ID.progress     "PHASE DONE TOTAL" while converting
 *   logs/ID.log        run-one's own output; logs/ID.console.log the guest's
 */
#ifndef VMC_BATCH_BATCH_H
#define VMC_BATCH_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <vmconv/error.h>

struct vmc_batch_vm {
	char *name, *source, *to, *dest, *expect, *target;
	char *bus;			/* NULL: the target's own */
	char *engine;			/* NULL: auto */
	unsigned timeout_s;		/* 0: the validator's default */
	bool validate;
	/* driver injection into the boot disk (KVM targets); a plan that
	 * does not say gets the one-command form's default */
	bool inject, inject_set;
	uint64_t estimate;		/* bytes the output may take */
	char *problem;			/* set by vmc_batch_plan_check */
};

struct vmc_batch_plan {
	size_t n;
	struct vmc_batch_vm *vms;
};

/* Read a JSON or CSV plan (by content: '{' or '[' first is JSON).
 * Relative paths are taken from the plan file's folder; dest defaults to
 * dest_default (or the plan's folder when NULL). */
struct vmc_batch_plan *vmc_batch_plan_read(const char *path,
					   const char *dest_default,
					   struct vmc_error *err);
void vmc_batch_plan_free(struct vmc_batch_plan *p);

/* Check every entry (source opens, target free and unique, format known
 * and writable, expect compiles); sets vm->problem and vm->estimate.
 * state may be NULL; with it, targets its journals own are not "taken".
 * Returns the number of entries with a problem.  *space_problem gets a
 * malloc'd message when some destination lacks the free space. */
size_t vmc_batch_plan_check(struct vmc_batch_plan *p, const char *state,
			    char **space_problem);
json_t *vmc_batch_plan_json(const struct vmc_batch_plan *p);
struct vmc_batch_plan *vmc_batch_plan_from_json(json_t *j,
						struct vmc_error *err);

/* ---- state folder (state.c) ---- */
enum vmc_batch_phase {
	VMC_BATCH_PENDING, VMC_BATCH_CONVERTING, VMC_BATCH_INJECTING,
	VMC_BATCH_VALIDATING,
	VMC_BATCH_DONE,
};
const char *vmc_batch_phase_name(enum vmc_batch_phase ph);

/* Create the folders and write plan.json. */
int vmc_batch_state_prepare(const char *state, const struct vmc_batch_plan *p,
			    struct vmc_error *err);
/* Read plan.json back. */
struct vmc_batch_plan *vmc_batch_state_plan(const char *state,
					    struct vmc_error *err);
/* "STATE/vm/ID.json" and the like, malloc'd. */
char *vmc_batch_path(const char *state, const char *dir, size_t id,
		     const char *suffix);
/* The journal, or NULL (no journal yet, or unreadable). */
json_t *vmc_batch_journal_read(const char *state, size_t id);
int vmc_batch_journal_write(const char *state, size_t id, json_t *j,
			    struct vmc_error *err);
/* flock: returns the fd, -1 with EWOULDBLOCK in err->code when held. */
int vmc_batch_lock(const char *path, struct vmc_error *err);
/* True when no process holds the VM's lock (nothing is working on it). */
bool vmc_batch_vm_idle(const char *state, size_t id);
/* Write "PHASE DONE TOTAL" to vm/ID.progress (by rename). */
void vmc_batch_progress_write(const char *state, size_t id, const char *phase,
			      uint64_t done, uint64_t total);
int vmc_batch_progress_read(const char *state, size_t id, char *phase,
			    size_t len, uint64_t *done, uint64_t *total);
/* Write a file by temp + rename. */
int vmc_batch_write_file(const char *path, const char *data, size_t len,
			 struct vmc_error *err);

/* ---- one VM (one.c) ---- */
enum vmc_batch_outcome {
	VMC_BATCH_READY,	/* converted and booted */
	VMC_BATCH_CONVERTED,	/* converted, not validated (not asked) */
	VMC_BATCH_NOT_READY,	/* converted, did not boot */
	VMC_BATCH_FAILED,	/* not converted */
	VMC_BATCH_UNFINISHED,	/* no outcome yet */
};
const char *vmc_batch_outcome_name(enum vmc_batch_outcome o);
enum vmc_batch_outcome vmc_batch_outcome_of(json_t *journal);

/* Run VM id of the state's plan: skip it when its journal says finished
 * (and the target is still the one written), else remove what an earlier
 * attempt left and migrate it.  0 when the VM has its outcome, -1 with
 * err when the state cannot be used (EWOULDBLOCK: another process holds
 * the VM). */
int vmc_batch_run_one(const char *state, size_t id, bool retry_failed,
		      enum vmc_batch_outcome *out, struct vmc_error *err);

/* ---- the local pool (run.c) ---- */
struct vmc_batch_events {
	void *ctx;
	void (*started)(void *ctx, size_t id);
	/* status as waitpid gives it */
	void (*ended)(void *ctx, size_t id, int status);
	void (*tick)(void *ctx);	/* about twice a second */
};

struct vmc_batch_run_opts {
	const char *state;
	const char *self;		/* the vmconv binary to exec */
	unsigned jobs;			/* 0: from cores and memory */
	bool retry_failed;
	struct vmc_batch_events ev;
};
unsigned vmc_batch_default_jobs(const struct vmc_batch_plan *p);
/* Runs every VM of the state's plan (run-one skips the finished ones), N
 * at once, under the state's run lock (EBUSY when another run holds it).
 * The VMs' outcomes are in their journals. */
int vmc_batch_run(const struct vmc_batch_run_opts *o, struct vmc_error *err);

/* ---- reports (report.c, report-html.c) ---- */
/* The merged report: summary and one object per VM. */
json_t *vmc_batch_report(const char *state, struct vmc_error *err);
int vmc_batch_report_html(json_t *rep, const char *path,
			  struct vmc_error *err);

/* ---- other engines (emit.c) ---- */
struct vmc_batch_emit_opts {
	const char *engine;		/* parallel, slurm, k8s */
	const char *state, *self;
	size_t n;
	unsigned jobs;
	const char *image;		/* k8s container image */
	const char *claim;		/* k8s volume claim holding the state */
};
int vmc_batch_emit(const struct vmc_batch_emit_opts *o, FILE *out,
		   struct vmc_error *err);

#endif
