/* The migration of one batch VM: the conversion with its digest, then the
 * boot validation on the target's disk controller, with the console log
 * in the state folder.  Progress goes to vm/ID.progress for the runner's
 * view, at most twice a second. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmconv/vmconv.h>

#include "batch/one.h"
#include "validate/validate.h"
#include "vm/vm.h"

struct progress {
	const char *state;
	size_t id;
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
	vmc_batch_progress_write(p->state, p->id, "converting", done, total);
}

static json_t *summary(const char *src_path, const char *dst,
		       struct vmc_image *src, const struct vmc_convert_stats *st)
{
	char hex[65];
	json_t *o;

	vmc_sha256_hex(st->sha256, hex);
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:s}",
		      "source", src_path, "source-format", src->drv->name,
		      "target", dst, "target-format", st->target_format,
		      "virtual-size", (json_int_t)st->virtual_size,
		      "data-bytes", (json_int_t)st->data_bytes,
		      "zero-bytes", (json_int_t)st->zero_bytes,
		      "hole-bytes", (json_int_t)st->hole_bytes,
		      "written-bytes", (json_int_t)st->written_bytes,
		      "seconds", st->seconds, "sha256", hex);
	json_object_set_new(o, "injection",
			    json_string("not available in this build"));
	return o;
}

int vmc_batch_one_convert_file(struct vmc_batch_one *c, const char *src_path,
			       const char *src_fmt, const char *dst,
			       json_t **sum, struct vmc_error *err)
{
	struct progress pr = { .state = c->state, .id = c->id };
	struct vmc_convert_stats st;
	struct vmc_image *src;
	int r;

	src = vmc_image_open(src_path, src_fmt, 0, NULL, err);
	if (!src)
		return -1;
	struct vmc_convert_params p = {
		.src = src, .digest = true, .threads = 1,
		.progress = on_progress, .progress_ctx = &pr,
	};
	r = vmc_convert_to_file(&p, dst, c->vm->to, NULL, &st, err);
	if (r == 0)
		*sum = summary(src_path, dst, src, &st);
	vmc_image_close(src);
	return r;
}

int vmc_batch_one_convert(struct vmc_batch_one *c, struct vmc_error *err)
{
	json_t *sum = NULL;

	if (vmc_vm_probe(c->vm->source))
		return vmc_batch_one_convert_vm(c, err);
	if (vmc_batch_one_convert_file(c, c->vm->source, NULL, c->vm->target,
				       &sum, err) < 0)
		return -1;
	json_object_set_new(c->jn, "migration", sum);
	return 0;
}

/* The disk controller a guest meets on the hypervisor a format is for
 * (as the one-command form chooses it). */
static enum vmc_vm_bus target_bus(const struct vmc_batch_vm *vm)
{
	static const char *const ide[] = { "vhd", "vpc", "vhdx", "vmdk" };

	if (vm->bus)
		return strcmp(vm->bus, "ide") ? VMC_BUS_VIRTIO : VMC_BUS_IDE;
	for (size_t i = 0; i < sizeof(ide) / sizeof(ide[0]); i++)
		if (!strcmp(vm->to, ide[i]))
			return VMC_BUS_IDE;
	return VMC_BUS_VIRTIO;
}

enum vmc_batch_outcome vmc_batch_one_validate(struct vmc_batch_one *c,
					      const char **reason)
{
	char *log = vmc_batch_path(c->state, "logs", c->id, ".console.log");
	struct vmc_validate_opts vo = {
		.image = c->vm->target, .format = c->vm->to,
		.bus = target_bus(c->vm), .boot = VMC_BOOT_FIRMWARE,
		.timeout_s = c->vm->timeout_s, .expect = c->vm->expect,
		.console_log = log,
	};
	struct vmc_error err = { 0 };
	json_t *rep = NULL;
	enum vmc_batch_outcome o = VMC_BATCH_NOT_READY;

	if (c->vm->engine)
		vmc_engine_parse(c->vm->engine, &vo.engine);
	vmc_batch_progress_write(c->state, c->id, "validating", 0, 0);
	if (vmc_validate(&vo, &rep, &err) < 0) {
		json_object_set_new(c->jn, "validation",
				    json_string("could not run"));
		json_object_set_new(c->jn, "reason", json_string(err.msg));
		*reason = json_string_value(json_object_get(c->jn, "reason"));
		goto out;
	}
	if (json_is_true(json_object_get(rep, "booted")))
		o = VMC_BATCH_READY;
	json_object_set_new(c->jn, "validation", rep);
	*reason = json_string_value(json_object_get(rep, "reason"));
out:
	free(log);
	return o;
}
