/* The virtio drivers into every installed kernel's initramfs, rebuilt by
 * the guest's own tool inside the libguestfs appliance (libguestfs runs
 * the command chrooted into the guest, with /dev, /proc and /sys):
 *
 *   initramfs-tools  the modules added to /etc/initramfs-tools/modules
 *                    (kept for later kernels), update-initramfs -u -k all
 *   dracut           /etc/dracut.conf.d/50-vmconv-virtio.conf with
 *                    add_drivers (kept for later kernels), then
 *                    dracut -f --add-drivers ... per kernel; host-only
 *                    mode would otherwise keep only the drivers of the
 *                    appliance's own disks
 *
 * A kernel that has no virtio modules installed is reported, not papered
 * over.  Where the guest has no tool, has mkinitrd (not run by vmconv),
 * or its tool fails, the initramfs is rewritten directly
 * (inject/initramfs-direct.c); with VMC_INITRAMFS_DIRECT always, the
 * tool's configuration still gaining the modules for later kernels. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inject.h"

#define ENV "PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "

const char *const vmc_virtio_modules[] = {
	"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", NULL,
};

/* The virtio modules, and the root file system's when the default
 * kernel's initramfs lacks it (a host-only initramfs listing only the
 * old controller's drivers). */
static void module_list(const struct vmc_guest *gu, char *buf, size_t len,
			const char *sep)
{
	const struct vmc_kernel *k = vmc_guest_default_kernel(gu);
	const char *fs = vmc_guest_root_module(gu);

	buf[0] = 0;
	for (int i = 0; vmc_virtio_modules[i]; i++) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "%s%s", i ? sep : "",
			 vmc_virtio_modules[i]);
	}
	if (k && *fs && !vmc_kernel_has(k, fs)) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "%s%s", sep, fs);
	}
}

/* Run a shell command in the guest; its output is the error's text. */
static int run(guestfs_h *g, const char *cmd, const char *image,
	       struct vmc_error *err)
{
	char *out = guestfs_sh(g, cmd);

	if (!out)
		return vmc_gfs_error(g, err, image, cmd);
	free(out);
	return 0;
}

/* Append lines to a config file (created if absent). */
static int add_lines(guestfs_h *g, const char *path, const char *lines,
		     bool dry_run, struct vmc_plan *plan, const char *image,
		     struct vmc_error *err)
{
	char *old = vmc_gfs_read(g, path, 1 << 20), *nt = NULL;
	int ret = 0;

	if (asprintf(&nt, "%s%s%s", old ? old : "",
		     old && *old && old[strlen(old) - 1] != '\n' ? "\n" : "",
		     lines) < 0) {
		free(old);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	vmc_plan_add(plan, path, old ? "(without the lines after)" :
		     "(no file)", lines);
	if (!dry_run && guestfs_write(g, path, nt, strlen(nt)) < 0)
		ret = vmc_gfs_error(g, err, image, path);
	free(old);
	free(nt);
	return ret;
}

const char *vmc_initramfs_method_name(enum vmc_initramfs_method m)
{
	return m == VMC_INITRAMFS_DIRECT ? "direct" : "guest";
}

int vmc_initramfs_method_parse(const char *s, enum vmc_initramfs_method *m)
{
	if (!strcmp(s, "guest"))
		*m = VMC_INITRAMFS_GUEST;
	else if (!strcmp(s, "direct"))
		*m = VMC_INITRAMFS_DIRECT;
	else
		return -1;
	return 0;
}

/* The modules into /etc/initramfs-tools/modules; update-initramfs run
 * unless dry_run (or no_tool: the rewrite on the host follows). */
static int itools(guestfs_h *g, const struct vmc_guest *gu, bool dry_run,
		  bool no_tool, struct vmc_plan *plan, const char *image,
		  struct vmc_error *err)
{
	char lines[256];

	module_list(gu, lines, sizeof(lines), "\n");
	strcat(lines, "\n");
	if (add_lines(g, "/etc/initramfs-tools/modules", lines, dry_run,
		      plan, image, err) < 0)
		return -1;
	return dry_run || no_tool ? 0 :
	       run(g, ENV "update-initramfs -u -k all 2>&1", image, err);
}

static int dracut(guestfs_h *g, const struct vmc_guest *gu, bool dry_run,
		  bool no_tool, struct vmc_plan *plan, const char *image,
		  struct vmc_error *err)
{
	char mods[256], conf[320], cmd[1024];

	module_list(gu, mods, sizeof(mods), " ");
	snprintf(conf, sizeof(conf), "add_drivers+=\" %s \"\n", mods);
	if (add_lines(g, "/etc/dracut.conf.d/50-vmconv-virtio.conf", conf,
		      dry_run, plan, image, err) < 0)
		return -1;
	for (int i = 0; i < gu->nkernels && !dry_run && !no_tool; i++) {
		const struct vmc_kernel *k = &gu->kernels[i];

		if (!k->initrd[0] || !k->virtio_available)
			continue;
		snprintf(cmd, sizeof(cmd), ENV "dracut -f --add-drivers '%s'"
			 " '%s' '%s' 2>&1", mods, k->initrd, k->version);
		if (run(g, cmd, image, err) < 0)
			return -1;
	}
	return 0;
}

bool vmc_inject_kernel_needs(const struct vmc_guest *gu,
			     const struct vmc_kernel *k)
{
	const char *fs = vmc_guest_root_module(gu);

	return k->virtio_available && k->initrd[0] &&
	       (!vmc_kernel_has(k, "virtio_blk") ||
		(*fs && !vmc_kernel_has(k, fs)));
}

/* Whether any kernel's initramfs needs the drivers; notes the kernels
 * that cannot get them. */
static bool any_needs(const struct vmc_guest *gu, struct vmc_plan *plan)
{
	bool any = false;

	for (int i = 0; i < gu->nkernels; i++) {
		const struct vmc_kernel *k = &gu->kernels[i];

		if (!k->virtio_available)
			vmc_plan_note(plan, "kernel %s has no virtio modules"
				      " installed: its initramfs cannot get"
				      " them", k->version);
		any |= vmc_inject_kernel_needs(gu, k);
	}
	return any;
}

int vmc_inject_initramfs(guestfs_h *g, const struct vmc_guest *gu,
			 enum vmc_initramfs_method m, bool dry_run,
			 struct vmc_plan *plan, const char *image,
			 struct vmc_error *err)
{
	const char *tool = gu->initramfs_tool;
	bool is_dracut = !strcmp(tool, "dracut");
	bool direct = m == VMC_INITRAMFS_DIRECT;
	char why[512];
	int r;

	if (!any_needs(gu, plan))
		return 0;
	if (is_dracut || !strcmp(tool, "initramfs-tools")) {
		r = is_dracut ?
		    dracut(g, gu, dry_run, direct, plan, image, err) :
		    itools(g, gu, dry_run, direct, plan, image, err);
		if (r == 0 && !direct)
			return 0;
		if (r == 0) {
			snprintf(why, sizeof(why), "--initramfs=direct");
		} else {
			snprintf(why, sizeof(why), "%s failed: %.400s",
				 direct ? "adding the modules to the tool's"
				 " configuration" : is_dracut ? "dracut" :
				 "update-initramfs", err->msg);
			vmc_plan_note(plan, "%s", why);
		}
		return vmc_inject_initramfs_direct(g, gu, why, dry_run, plan,
						   image, err);
	}
	return vmc_inject_initramfs_direct(g, gu, !strcmp(tool, "mkinitrd") ?
					   "mkinitrd is not run by vmconv" :
					   direct ? "--initramfs=direct" : NULL,
					   dry_run, plan, image, err);
}

int vmc_inject_grub_mkconfig(guestfs_h *g, const struct vmc_guest *gu,
			     struct vmc_plan *plan, const char *image,
			     struct vmc_error *err)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), ENV "%s -o '%s' 2>&1", gu->grub_mkconfig,
		 gu->bootcfg[0]);
	vmc_plan_add(plan, gu->bootcfg[0], "(as before)",
		     "regenerated by the guest's grub-mkconfig");
	return run(g, cmd, image, err);
}
