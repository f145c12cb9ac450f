/* One VM of a batch (vmconv batch run-one): under the VM's lock, skip it
 * when its journal says it finished and its target is still the file
 * written then; otherwise remove what an interrupted attempt left and
 * migrate it, recording each phase in the journal before it starts. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmconv/output.h>

#include "batch/batch.h"
#include "batch/one.h"

static const char *const outcome_names[] = {
	"ready", "converted", "not-ready", "failed", "unfinished",
};

const char *vmc_batch_outcome_name(enum vmc_batch_outcome o)
{
	return o <= VMC_BATCH_UNFINISHED ? outcome_names[o] : "?";
}

enum vmc_batch_outcome vmc_batch_outcome_of(json_t *journal)
{
	const char *s = json_string_value(json_object_get(journal, "outcome"));

	for (int i = 0; s && i < VMC_BATCH_UNFINISHED; i++)
		if (!strcmp(s, outcome_names[i]))
			return (enum vmc_batch_outcome)i;
	return VMC_BATCH_UNFINISHED;
}

static json_t *target_stat(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return NULL;
	return json_pack("{s:I,s:I,s:I}", "ino", (json_int_t)st.st_ino,
			 "size", (json_int_t)st.st_size,
			 "mtime-ns", (json_int_t)st.st_mtim.tv_sec * 1000000000 +
			 st.st_mtim.tv_nsec);
}

/* The journal says finished and, when a target was written, it is still
 * that file (same inode, size and modification time). */
static bool finished(json_t *jn, bool retry_failed)
{
	enum vmc_batch_outcome o = vmc_batch_outcome_of(jn);
	const char *t = json_string_value(json_object_get(jn, "target"));
	json_t *now;
	bool same;

	if (o == VMC_BATCH_UNFINISHED)
		return false;
	if (o == VMC_BATCH_FAILED)
		return !retry_failed;
	now = t ? target_stat(t) : NULL;
	same = now && json_equal(now, json_object_get(jn, "target-stat"));
	json_decref(now);
	return same;
}

/* Every output of the attempt the journal records (a whole VM's disks
 * and domain XML, else the target). */
static void remove_outputs(json_t *jn, const struct vmc_batch_vm *vm)
{
	json_t *outs = json_object_get(jn, "outputs"), *o;
	size_t i;

	json_array_foreach(outs, i, o)
		unlink(json_string_value(o));
	if (vm->target)
		unlink(vm->target);
}

/* An attempt that did not finish owns its outputs (the journal is written
 * before the conversion starts, and the target did not exist then):
 * remove them, never trusting a file that was not verified. */
static void remove_leftovers(json_t *jn, const struct vmc_batch_vm *vm)
{
	const char *t = json_string_value(json_object_get(jn, "target"));
	const char *ph = json_string_value(json_object_get(jn, "phase"));

	if (!t || !vm->target || strcmp(t, vm->target) || !ph ||
	    (strcmp(ph, "converting") && strcmp(ph, "injecting") &&
	     strcmp(ph, "validating")))
		return;
	remove_outputs(jn, vm);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_t *new_journal(const struct vmc_batch_vm *vm, size_t id)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s,s:s,s:f,s:i,s:s}",
			 "id", (json_int_t)id, "name", vm->name,
			 "source", vm->source, "to", vm->to,
			 "target", vm->target, "phase", "pending",
			 "outcome", "unfinished", "started", now_s(),
			 "pid", (int)getpid(), "host", host);
}

int vmc_batch_one_phase(struct vmc_batch_one *c, const char *phase,
			struct vmc_error *err)
{
	json_object_set_new(c->jn, "phase", json_string(phase));
	return vmc_batch_journal_write(c->state, c->id, c->jn, err);
}

static int finish(struct vmc_batch_one *c, enum vmc_batch_outcome o,
		  const char *reason, struct vmc_error *err)
{
	char *prog = vmc_batch_path(c->state, "vm", c->id, ".progress");

	json_object_set_new(c->jn, "outcome",
			    json_string(vmc_batch_outcome_name(o)));
	if (reason)
		json_object_set_new(c->jn, "reason", json_string(reason));
	json_object_set_new(c->jn, "finished", json_real(now_s()));
	if (c->vm->target && o != VMC_BATCH_FAILED)
		json_object_set_new(c->jn, "target-stat",
				    target_stat(c->vm->target));
	if (prog)
		unlink(prog);
	free(prog);
	c->outcome = o;
	return vmc_batch_one_phase(c, "done", err);
}

/* The outcome the journal's validation gives. */
static enum vmc_batch_outcome verdict(struct vmc_batch_one *c)
{
	json_t *v = json_object_get(c->jn, "validation");

	if (!c->vm->validate || json_is_true(json_object_get(c->jn,
						"validation-skipped")))
		return VMC_BATCH_CONVERTED;
	if (json_is_true(json_object_get(v, "booted")))
		return VMC_BATCH_READY;
	return VMC_BATCH_NOT_READY;
}

static int migrate(struct vmc_batch_one *c, struct vmc_error *err)
{
	struct vmc_error merr = { 0 };

	if (c->vm->problem)
		return finish(c, VMC_BATCH_FAILED, c->vm->problem, err);
	if (vmc_batch_one_phase(c, "converting", err) < 0)
		return -1;
	if (vmc_batch_one_convert(c, &merr) < 0) {
		remove_outputs(c->jn, c->vm);
		return finish(c, VMC_BATCH_FAILED, merr.msg, err);
	}
	return finish(c, verdict(c), NULL, err);
}

int vmc_batch_run_one(const char *state, size_t id, bool retry_failed,
		      enum vmc_batch_outcome *out, struct vmc_error *err)
{
	struct vmc_batch_plan *p = vmc_batch_state_plan(state, err);
	struct vmc_batch_one c = { .state = state, .id = id };
	char *lock = vmc_batch_path(state, "vm", id, ".lock");
	int fd = -1, r = -1;

	if (!p || !lock)
		goto out;
	if (id >= p->n) {
		vmc_error_set(err, EINVAL, "%s: the plan has VMs 0..%zu, not"
			      " %zu", state, p->n - 1, id);
		goto out;
	}
	if ((fd = vmc_batch_lock(lock, err)) < 0)
		goto out;
	c.vm = &p->vms[id];
	c.jn = vmc_batch_journal_read(state, id);
	if (c.jn && finished(c.jn, retry_failed)) {
		*out = vmc_batch_outcome_of(c.jn);
		r = 0;
		goto out;
	}
	if (c.jn)
		remove_leftovers(c.jn, c.vm);
	if (c.vm->target)
		vmc_output_clean_stale(c.vm->target);
	json_decref(c.jn);
	c.jn = new_journal(c.vm, id);
	r = migrate(&c, err);
	*out = c.outcome;
out:
	json_decref(c.jn);
	if (fd >= 0)
		close(fd);
	free(lock);
	vmc_batch_plan_free(p);
	return r;
}
