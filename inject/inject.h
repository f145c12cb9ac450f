/* Driver injection: make a guest bootable on the target's disk
 * controller.  For Linux going to KVM: the virtio drivers into every
 * installed kernel's initramfs with the guest's own tool, run in the
 * libguestfs appliance (inject/rebuild.c), and the device names the new
 * controller breaks replaced with UUID= (inject/rename.c); the old
 * hypervisor's tools reported, or removed (inject/tools.c).  Every change
 * is listed; a dry run lists them and writes nothing. */
#ifndef VMC_INJECT_INJECT_H
#define VMC_INJECT_INJECT_H

#include <stdbool.h>

#include <jansson.h>

#include <vmconv/error.h>

#include "inject/inspect.h"
#include "inject/plan.h"

/* How each initramfs gets the virtio drivers: the guest's own tool run
 * in the appliance (the rewrite on the host only where it has none or it
 * fails), or always the rewrite on the host (inject/initramfs-direct.c),
 * which is much faster under TCG. */
enum vmc_initramfs_method {
	VMC_INITRAMFS_GUEST,
	VMC_INITRAMFS_DIRECT,
};

struct vmc_inject_opts {
	enum vmc_guest_bus bus;		/* the target's controller */
	enum vmc_initramfs_method initramfs;
	bool dry_run;			/* plan only, write nothing */
	bool remove_tools;		/* remove the old hypervisor's tools */
	bool kvm;			/* libguestfs may use KVM */
};

enum vmc_inject_status {
	VMC_INJECT_NO_OS,		/* no operating system: nothing to do */
	VMC_INJECT_READY,		/* already bootable: nothing changed */
	VMC_INJECT_PLANNED,		/* dry run: plan made, nothing written */
	VMC_INJECT_CHANGED,		/* changes written and verified */
	VMC_INJECT_UNSUPPORTED,		/* needs injection vmconv cannot do */
};

struct vmc_inject_result {
	enum vmc_inject_status status;
	char message[1024];		/* one line for the user */
	struct vmc_guest before, after;	/* after: when changed */
	struct vmc_plan plan;
	double launch_s, inspect_s, inject_s;
};

/* "guest", "direct"; parsing returns -1 for any other name. */
const char *vmc_initramfs_method_name(enum vmc_initramfs_method m);
int vmc_initramfs_method_parse(const char *s, enum vmc_initramfs_method *m);

/* The modules injection adds for KVM. */
extern const char *const vmc_virtio_modules[];

/* Inject into the image at path (format qfmt: raw or qcow2, a file
 * vmconv wrote or a user's image; written in place unless dry_run). */
int vmc_inject_image(const char *path, const char *qfmt,
		     const struct vmc_inject_opts *o,
		     struct vmc_inject_result *r, struct vmc_error *err);

/* The same on a launched handle (nothing mounted). */
int vmc_inject_guest(guestfs_h *g, const char *image,
		     const struct vmc_inject_opts *o,
		     struct vmc_inject_result *r, struct vmc_error *err);

void vmc_inject_result_free(struct vmc_inject_result *r);

const char *vmc_inject_status_name(enum vmc_inject_status s);

/* {"status", "message", "changes": [...], "notes": [...],
 *  "before": inspection, "after": inspection} */
json_t *vmc_inject_json(const struct vmc_inject_result *r);

/* Steps, each its own file. */
int vmc_inject_names(guestfs_h *g, const struct vmc_guest *gu, bool virtio,
		     bool dry_run, bool *wrote_grub_defaults,
		     struct vmc_plan *plan, const char *image,
		     struct vmc_error *err);
/* Each initramfs change carries its method (vmc_change.method):
 * "update-initramfs" or "dracut" (the guest's tool), or "direct". */
int vmc_inject_initramfs(guestfs_h *g, const struct vmc_guest *gu,
			 enum vmc_initramfs_method m, bool dry_run,
			 struct vmc_plan *plan, const char *image,
			 struct vmc_error *err);
/* Whether kernel k's initramfs needs the virtio drivers (or the root
 * file system's) and can get them (its kernel has virtio modules). */
bool vmc_inject_kernel_needs(const struct vmc_guest *gu,
			     const struct vmc_kernel *k);
/* The initramfs rewritten without the guest's tool (inject/initramfs-
 * direct.c); why: the reason ("update-initramfs failed: ..."), NULL for
 * "<the tool that built it> missing". */
int vmc_inject_initramfs_direct(guestfs_h *g, const struct vmc_guest *gu,
				const char *why, bool dry_run,
				struct vmc_plan *plan, const char *image,
				struct vmc_error *err);
int vmc_inject_net(guestfs_h *g, bool dry_run, struct vmc_plan *plan,
		   const char *image, struct vmc_error *err);
/* The old hypervisor's guest tools: noted as leftovers, or removed with
 * the guest's package manager (remove; inject/tools.c). */
int vmc_inject_tools(guestfs_h *g, const struct vmc_guest *gu, bool remove,
		     bool dry_run, struct vmc_plan *plan, const char *image,
		     struct vmc_error *err);
/* Whether a hypervisor tool is still installed (its name in which). */
bool vmc_inject_tools_left(const struct vmc_guest *after, char *which,
			   size_t len);
int vmc_inject_grub_mkconfig(guestfs_h *g, const struct vmc_guest *gu,
			     struct vmc_plan *plan, const char *image,
			     struct vmc_error *err);

#endif
