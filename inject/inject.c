/* Driver injection's flow: inspect, decide, plan, write, inspect again
 * and check that the guest is now ready for the target's controller.
 * See inject/inject.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inject/gfs.h"
#include "inject/inject.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char *vmc_inject_status_name(enum vmc_inject_status s)
{
	static const char *const n[] = {
		"no-os", "ready", "planned", "changed", "unsupported",
	};

	return n[s];
}

static void drivers_of(const struct vmc_kernel *k, char *buf, size_t len)
{
	snprintf(buf, len, "storage drivers:");
	for (int i = 0; vmc_storage_drivers[i]; i++)
		if (vmc_modset_has(&k->initrd_mods, vmc_storage_drivers[i])) {
			size_t l = strlen(buf);

			snprintf(buf + l, len - l, " %s",
				 vmc_storage_drivers[i]);
		}
}

/* How k's initramfs was rebuilt: "direct" when the rewrite on the host
 * listed it, else the guest's tool. */
static const char *method_of(const struct vmc_inject_result *r,
			     const struct vmc_kernel *k)
{
	const char *m = vmc_plan_method(&r->plan, k->initrd);
	const char *tool = r->before.initramfs_tool;

	if (m)
		return m;
	return !strcmp(tool, "dracut") ? "dracut" :
	       !strcmp(tool, "initramfs-tools") ? "update-initramfs" : NULL;
}

/* One change per initramfs: its drivers before and after (planned, or
 * as found in the rebuilt file), and the method. */
static void initrd_changes(struct vmc_inject_result *r, bool planned)
{
	const struct vmc_guest *b = &r->before, *a = &r->after;

	for (int i = 0; i < b->nkernels; i++) {
		const struct vmc_kernel *k = &b->kernels[i];
		char before[512], after[640];

		if (!k->initrd[0] || !k->virtio_available ||
		    vmc_kernel_has(k, "virtio_blk"))
			continue;
		drivers_of(k, before, sizeof(before));
		if (planned)
			snprintf(after, sizeof(after), "%s + virtio_pci"
				 " virtio_blk virtio_scsi virtio_net"
				 " (planned)", before);
		else if (i < a->nkernels)
			drivers_of(&a->kernels[i], after, sizeof(after));
		else
			snprintf(after, sizeof(after), "(gone)");
		vmc_plan_add_method(&r->plan, k->initrd, before, after,
				    method_of(r, k));
	}
}

/* The decision before any change: no OS, ready (with no tools to
 * remove), or not Linux. */
static bool decided(struct vmc_inject_result *r,
		    const struct vmc_inject_opts *o)
{
	const struct vmc_guest *g = &r->before;
	enum vmc_guest_bus bus = o->bus;
	const char *bn = vmc_guest_bus_name(bus);
	char tool[64];

	if (!g->id.found) {
		r->status = VMC_INJECT_NO_OS;
		snprintf(r->message, sizeof(r->message), "no guest OS found:"
			 " nothing to inject");
	} else if (g->ready[bus] && !strcmp(g->id.type, "linux") &&
		   o->remove_tools && vmc_inject_tools_left(g, tool,
							    sizeof(tool))) {
		return false;
	} else if (g->ready[bus]) {
		vmc_inject_tools(NULL, g, false, true, &r->plan, "", NULL);
		r->status = VMC_INJECT_READY;
		snprintf(r->message, sizeof(r->message), "already bootable"
			 " on %s: nothing changed", bn);
	} else if (!strcmp(g->id.type, "windows")) {
		r->status = VMC_INJECT_UNSUPPORTED;
		snprintf(r->message, sizeof(r->message), "Windows: driver"
			 " injection not supported yet: %.200s%s%.40s (%s"
			 " on %s): %s", g->id.product[0] ? g->id.product :
			 "Windows", g->win.build[0] ? " build " : "",
			 g->win.build, g->win.systemroot, g->id.root_fs,
			 g->verdict[bus]);
	} else if (strcmp(g->id.type, "linux")) {
		r->status = VMC_INJECT_UNSUPPORTED;
		snprintf(r->message, sizeof(r->message), "%s guests: driver"
			 " injection not supported (%s)", g->id.type,
			 g->verdict[bus]);
	} else {
		return false;
	}
	return true;
}

static int change(guestfs_h *g, const char *image,
		  const struct vmc_inject_opts *o,
		  struct vmc_inject_result *r, struct vmc_error *err)
{
	bool grub_defaults = false;
	const struct vmc_guest *b = &r->before;

	if (vmc_inject_efi_fallback(g, &b->esp, o->dry_run, &r->plan, image,
				    err) < 0 ||
	    vmc_guest_mount(g, b->id.root_fs, !o->dry_run, image, err) < 0 ||
	    vmc_inject_names(g, b, o->bus == VMC_GBUS_VIRTIO, o->dry_run,
			     &grub_defaults, &r->plan, image, err) < 0 ||
	    vmc_inject_tools(g, b, o->remove_tools, o->dry_run, &r->plan,
			     image, err) < 0 ||
	    vmc_inject_initramfs(g, b, o->initramfs, o->dry_run, &r->plan,
				 image, err) < 0 ||
	    vmc_inject_net(g, o->dry_run, &r->plan, image, err) < 0)
		return -1;
	if (!o->dry_run && b->default_grub && b->grub_mkconfig[0] &&
	    !strcmp(b->bootloader, "grub2") &&
	    vmc_inject_grub_mkconfig(g, b, &r->plan, image, err) < 0)
		return -1;
	if (guestfs_umount_all(g) < 0)
		return vmc_gfs_error(g, err, image, "unmounting");
	return 0;
}

int vmc_inject_guest(guestfs_h *g, const char *image,
		     const struct vmc_inject_opts *o,
		     struct vmc_inject_result *r, struct vmc_error *err)
{
	double t = now();
	char tool[64];

	if (vmc_inspect(g, image, &r->before, err) < 0)
		return -1;
	r->inspect_s = now() - t;
	if (decided(r, o))		/* UEFI's fallback path alone */
		return vmc_inject_efi_only(g, image, o, r, err);
	t = now();
	if (change(g, image, o, r, err) < 0)
		return -1;
	if (o->dry_run) {
		initrd_changes(r, true);
		r->status = VMC_INJECT_PLANNED;
		snprintf(r->message, sizeof(r->message), "dry run: %zu"
			 " changes planned, nothing written", r->plan.n);
		r->inject_s = now() - t;
		return 0;
	}
	if (vmc_inspect_again(g, image, &r->before, &r->after, err) < 0)
		return -1;
	initrd_changes(r, false);
	r->inject_s = now() - t;
	if (!r->after.ready[o->bus])
		return vmc_error_set(err, EIO, "%s: after injection the guest"
				     " is still not ready: %s", image,
				     r->after.verdict[o->bus]);
	if (o->remove_tools && vmc_inject_tools_left(&r->after, tool,
						     sizeof(tool)))
		return vmc_error_set(err, EIO, "%s: %s is still installed"
				     " after its removal", image, tool);
	r->status = VMC_INJECT_CHANGED;
	snprintf(r->message, sizeof(r->message), "made bootable on %s: %zu"
		 " changes", vmc_guest_bus_name(o->bus), r->plan.n);
	return 0;
}

int vmc_inject_image(const char *path, const char *qfmt,
		     const struct vmc_inject_opts *o,
		     struct vmc_inject_result *r, struct vmc_error *err)
{
	double t = now();
	guestfs_h *g = vmc_gfs_launch(path, qfmt, o->dry_run, o->kvm, err);
	int ret;

	if (!g)
		return -1;
	r->launch_s = now() - t;
	ret = vmc_inject_guest(g, path, o, r, err);
	if (vmc_gfs_close(g, !o->dry_run && ret == 0 &&
			  r->status == VMC_INJECT_CHANGED, path,
			  ret < 0 ? NULL : err) < 0)
		ret = -1;
	return ret;
}

void vmc_inject_result_free(struct vmc_inject_result *r)
{
	vmc_guest_free(&r->before);
	vmc_guest_free(&r->after);
	vmc_plan_free(&r->plan);
}

json_t *vmc_inject_json(const struct vmc_inject_result *r)
{
	json_t *o = vmc_plan_json(&r->plan);

	json_object_set_new(o, "status",
			    json_string(vmc_inject_status_name(r->status)));
	json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "before", vmc_guest_json(&r->before));
	if (r->status == VMC_INJECT_CHANGED)
		json_object_set_new(o, "after", vmc_guest_json(&r->after));
	json_object_set_new(o, "seconds", json_pack("{s:f, s:f, s:f}",
			    "launch", r->launch_s, "inspect", r->inspect_s,
			    "inject", r->inject_s));
	return o;
}
