/* The one-command migration: see migrate/migrate.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

/* The disk controller a guest meets on the hypervisor a format is for
 * (the driver table's target_bus). */
static enum vmc_vm_bus target_bus(const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);

	return d && d->target_bus == VMC_TARGET_BUS_IDE ? VMC_BUS_IDE :
	       VMC_BUS_VIRTIO;
}

char *vmc_migrate_default_target(const char *src, const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);
	const char *ext = d && d->extension ? d->extension : fmt;
	const char *slash = strrchr(src, '/');
	const char *dot = strrchr(src, '.');
	size_t stem = (dot && (!slash || dot > slash) && dot != src &&
		       dot[-1] != '/') ? (size_t)(dot - src) : strlen(src);
	char *res = malloc(stem + strlen(ext) + 2);

	if (res)
		sprintf(res, "%.*s.%s", (int)stem, src, ext);
	return res;
}


bool vmc_migrate_kvm_target(const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);

	return d && d->target_bus == VMC_TARGET_BUS_VIRTIO;
}

struct inject_ctx {
	const struct vmc_migrate_params *p;
	struct vmc_migrate_result *res;
	const char *dst;
};

/* Driver injection into the finished temporary output: a failure (or a
 * guest that needs injection vmconv cannot do) abandons it. */
static int inject(void *ctx, const char *tmp, struct vmc_error *err)
{
	struct inject_ctx *c = ctx;
	struct vmc_inject_opts o = { .kvm = c->p->kvm,
				     .remove_tools = c->p->remove_tools,
				     .initramfs = c->p->initramfs };

	o.bus = c->p->bus_set && c->p->vo.bus == VMC_BUS_IDE ? VMC_GBUS_IDE :
		VMC_GBUS_VIRTIO;
	c->res->injected = true;
	if (c->p->phase)
		c->p->phase(c->p->progress_ctx, "injecting");
	if (!tmp)
		return vmc_error_set(err, EINVAL, "%s: not a file that can be"
				     " changed before it is in place", c->dst);
	if (vmc_inject_image(tmp, c->p->dst_fmt, &o, &c->res->inject,
			     err) < 0) {
		vmc_error_prefix(err, "%s: driver injection", c->dst);
		return -1;
	}
	if (c->res->inject.status == VMC_INJECT_UNSUPPORTED)
		return vmc_error_set(err, ENOTSUP, "%s: %s (--no-inject"
				     " converts without it)", c->dst,
				     c->res->inject.message);
	return 0;
}

static int convert(const struct vmc_migrate_params *p, const char *dst,
		   struct vmc_migrate_result *res, struct vmc_error *err)
{
	struct inject_ctx ic = { p, res, dst };
	json_t **summary = &res->summary;
	struct vmc_convert_params cp = {
		.compress = p->compress, .digest = p->digest,
		.cache = p->cache, .progress = p->progress, .progress_ctx = p->progress_ctx,
	};

	if (p->inject && vmc_migrate_kvm_target(p->dst_fmt)) {
		cp.before_commit = inject;
		cp.commit_ctx = &ic;
	}
	struct vmc_convert_stats st;
	int r;

	cp.src = vmc_image_open(p->src_path, p->src_fmt, 0, NULL, err);
	if (!cp.src)
		return -1;
	r = vmc_convert_to_file(&cp, dst, p->dst_fmt, p->create_opts, &st,
				err);
	if (r == 0)
		*summary = vmc_convert_summary(p->src_path, dst, cp.src, &st);
	vmc_image_close(cp.src);
	return r;
}

/* Boot the converted output as the target will boot it. */
static void validate(const struct vmc_migrate_params *p, const char *dst,
		     struct vmc_migrate_result *res)
{
	struct vmc_validate_opts vo = p->vo;

	if (p->phase)
		p->phase(p->progress_ctx, "validating");
	vo.image = dst;
	vo.format = p->dst_fmt;
	vo.boot = VMC_BOOT_FIRMWARE;
	if (!p->bus_set)
		vo.bus = target_bus(p->dst_fmt);
	if (vmc_validate(&vo, &res->report, &res->validate_err) < 0) {
		res->validate_failed = true;
		json_object_set_new(res->summary, "validation",
				    json_string("could not run"));
		return;
	}
	json_object_set_new(res->summary, "validation", res->report);
}

int vmc_migrate(const struct vmc_migrate_params *p,
		struct vmc_migrate_result *res, struct vmc_error *err)
{
	char *target = NULL;
	const char *dst = p->dst_path;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!vmc_driver_find(p->dst_fmt))
		return vmc_error_set(err, EINVAL, "unknown target format '%s'"
				     " (vmconv formats lists them)",
				     p->dst_fmt);
	if (!dst) {
		dst = target = vmc_migrate_default_target(p->src_path,
							  p->dst_fmt);
		if (!target)
			return vmc_error_set(err, ENOMEM, "out of memory");
	}
	if (convert(p, dst, res, err) < 0)
		goto out;
	if (res->injected)
		json_object_set_new(res->summary, "injection",
				    vmc_inject_json(&res->inject));
	else
		json_object_set_new(res->summary, "injection", json_string(
			!p->inject ? "not run: guest unchanged (--no-inject)" :
			"not a KVM target: guest unchanged"));
	if (p->validate)
		validate(p, dst, res);
	ret = 0;
out:
	free(target);
	return ret;
}

void vmc_migrate_result_free(struct vmc_migrate_result *res)
{
	vmc_inject_result_free(&res->inject);
	json_decref(res->summary);
	res->summary = NULL;
	res->report = NULL;
}
