/* The migration of one batch disk through the one-command migration
 * (migrate/migrate.h: conversion, injection, validation on the target's
 * disk controller), with the console log in the state folder.  Progress
 * goes to vm/ID.progress for the runner's view, at most twice a second;
 * the journal's phase turns to injecting and validating as those start. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmconv/vmconv.h>

#include "batch/one.h"
#include "migrate/migrate.h"
#include "vm/vm.h"

struct progress {
	struct vmc_batch_one *c;
	struct timespec last;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total && (now.tv_sec - p->last.tv_sec) * 1000 +
	    (now.tv_nsec - p->last.tv_nsec) / 1000000 < 500)
		return;
	p->last = now;
	vmc_batch_progress_write(p->c->state, p->c->id, "converting", done,
				 total);
}

/* The migration's next step (injecting, validating) into the journal and
 * the progress file. */
static void on_phase(void *ctx, const char *phase)
{
	struct progress *p = ctx;

	vmc_batch_progress_write(p->c->state, p->c->id, phase, 0, 0);
	vmc_batch_one_phase(p->c, phase, NULL);
}

static void params(struct vmc_batch_one *c, struct vmc_migrate_params *mp,
		   struct progress *pr, char *log)
{
	const struct vmc_batch_vm *vm = c->vm;
	char why[512];

	mp->kvm = mp->inject && vmc_direct_usable(why, sizeof(why));
	mp->digest = true;
	mp->progress = on_progress;
	mp->phase = on_phase;
	mp->progress_ctx = pr;
	mp->dst_fmt = vm->to;
	mp->vo.timeout_s = vm->timeout_s;
	mp->vo.expect = vm->expect;
	mp->vo.console_log = log;
	if (vm->engine)
		vmc_engine_parse(vm->engine, &mp->vo.engine);
	if (vm->bus) {
		mp->bus_set = true;
		mp->vo.bus = strcmp(vm->bus, "ide") ? VMC_BUS_VIRTIO :
			     VMC_BUS_IDE;
	}
}

/* The validation's result into the journal: the report as the one-command
 * form gives it, or "could not run" with the reason. */
static void record_validation(struct vmc_batch_one *c,
			      struct vmc_migrate_result *res)
{
	json_t *v = json_object_get(res->summary, "validation");

	json_object_set(c->jn, "validation", v);
	if (res->validate_failed)
		json_object_set_new(c->jn, "reason",
				    json_string(res->validate_err.msg));
	else
		json_object_set(c->jn, "reason",
				json_object_get(v, "reason"));
	json_object_del(res->summary, "validation");
}

int vmc_batch_one_disk(struct vmc_batch_one *c, const char *src,
		       const char *src_fmt, const char *dst,
		       const struct vmc_vm *vm, bool boot, json_t **sum,
		       struct vmc_error *err)
{
	char *log = vmc_batch_path(c->state, "logs", c->id, ".console.log");
	bool validate = boot && c->vm->validate;
	struct progress pr = { .c = c };
	struct vmc_migrate_params mp = {
		.src_path = src, .src_fmt = src_fmt, .dst_path = dst,
		.validate = validate, .inject = boot && c->vm->inject,
	};
	struct vmc_migrate_result res;
	int r;

	params(c, &mp, &pr, log);
	if (vm) {	/* the VM's own shape */
		mp.vo.mem_mib = vm->memory >> 20 > 16384 ? 16384 :
				(unsigned)(vm->memory >> 20);
		mp.vo.vcpus = vm->vcpus;
		if (vm->firmware == VMC_FW_EFI)
			mp.vo.firmware = VMC_FIRMWARE_UEFI;
	}
	r = vmc_migrate(&mp, &res, err);
	if (r == 0) {
		if (validate)
			record_validation(c, &res);
		*sum = json_incref(res.summary);
		vmc_migrate_result_free(&res);
	}
	free(log);
	return r;
}

int vmc_batch_one_convert(struct vmc_batch_one *c, struct vmc_error *err)
{
	json_t *sum = NULL;

	if (vmc_vm_probe(c->vm->source))
		return vmc_batch_one_convert_vm(c, err);
	if (vmc_batch_one_disk(c, c->vm->source, NULL, c->vm->target, NULL,
			       true, &sum, err) < 0)
		return -1;
	json_object_set_new(c->jn, "migration", sum);
	return 0;
}
