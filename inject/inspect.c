/* Guest inspection: the operating system through libguestfs's own
 * inspection (guestfs_inspect_os), then the boot chain vmconv needs to
 * know about (inject/bootloader.c, kernels.c, devnames.c, extras.c) and a
 * verdict per disk controller (verdict.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inspect.h"

static void copy(char *dst, size_t len, char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
	free(src);
}

static int by_length(const void *a, const void *b)
{
	return (int)strlen(*(char *const *)a) - (int)strlen(*(char *const *)b);
}

int vmc_guest_mount(guestfs_h *g, const char *root, bool rw,
		    const char *image, struct vmc_error *err)
{
	char **mp = guestfs_inspect_get_mountpoints(g, root);
	char *order[64];
	size_t n = 0;
	int ret = 0;

	if (!mp)
		return vmc_gfs_error(g, err, image, "finding mount points");
	for (size_t i = 0; mp[i] && mp[i + 1] && n < 64; i += 2)
		order[n++] = mp[i];
	qsort(order, n, sizeof(order[0]), by_length);
	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *dev = NULL;

		for (size_t j = 0; mp[j]; j += 2)
			if (mp[j] == order[i])
				dev = mp[j + 1];
		if ((rw ? guestfs_mount(g, dev, order[i]) :
		     guestfs_mount_ro(g, dev, order[i])) < 0 &&
		    !strcmp(order[i], "/"))
			ret = vmc_gfs_error(g, err, image, "mounting root");
	}
	vmc_gfs_free_strings(mp);
	return ret;
}

static void os_facts(guestfs_h *g, const char *root,
		     struct vmc_guest_id *id)
{
	copy(id->type, sizeof(id->type), guestfs_inspect_get_type(g, root));
	copy(id->distro, sizeof(id->distro),
	     guestfs_inspect_get_distro(g, root));
	copy(id->product, sizeof(id->product),
	     guestfs_inspect_get_product_name(g, root));
	copy(id->arch, sizeof(id->arch), guestfs_inspect_get_arch(g, root));
	copy(id->hostname, sizeof(id->hostname),
	     guestfs_inspect_get_hostname(g, root));
	id->major = guestfs_inspect_get_major_version(g, root);
	id->minor = guestfs_inspect_get_minor_version(g, root);
}

/* BIOS unless the disk is GPT with an EFI system partition. */
static void firmware(guestfs_h *g, struct vmc_guest *gu)
{
	char *pt = guestfs_part_get_parttype(g, "/dev/sda");
	char **parts = NULL;
	char *fw = gu->id.firmware;

	snprintf(fw, sizeof(gu->id.firmware), "bios");
	if (pt && !strcmp(pt, "gpt"))
		parts = guestfs_list_partitions(g);
	for (size_t i = 0; parts && parts[i]; i++) {
		char *guid = guestfs_part_get_gpt_type(g, "/dev/sda",
						       (int)i + 1);

		if (guid && !strcasecmp(guid,
					"C12A7328-F81F-11D2-BA4B-00A0C93EC93B"))
			snprintf(fw, sizeof(gu->id.firmware), "uefi");
		free(guid);
	}
	free(pt);
	vmc_gfs_free_strings(parts);
	vmc_esp_inspect(g, &gu->esp);
}

static void lvm(guestfs_h *g, struct vmc_guest_id *id)
{
	char **lvs = guestfs_lvs(g);

	for (size_t i = 0; lvs && lvs[i] && id->nlvm < VMC_GUEST_MAX; i++)
		snprintf(id->lvm[id->nlvm++], VMC_STR, "%s", lvs[i]);
	vmc_gfs_free_strings(lvs);
}

/* libguestfs's inspection failed: a Windows guest whose registry its
 * inspection cannot parse (it gives up on the whole disk) is still
 * reported as Windows, with the registry's error; else the error. */
static int windows_unreadable(guestfs_h *g, const char *image,
			      struct vmc_guest *gu, struct vmc_error *err)
{
	char why[320];
	const char *e = guestfs_last_error(g);

	snprintf(why, sizeof(why), "%s", e ? e : "unknown error");
	firmware(g, gu);
	if (!vmc_windows_find(g, gu))
		return vmc_error_set(err, EIO, "%s: inspecting: %s", image,
				     why);
	gu->id.found = true;
	snprintf(gu->id.type, sizeof(gu->id.type), "windows");
	snprintf(gu->id.distro, sizeof(gu->id.distro), "windows");
	gu->id.major = gu->id.minor = -1;
	vmc_inspect_windows(g, NULL, gu);
	if (!gu->win.registry_error[0])
		snprintf(gu->win.registry_error,
			 sizeof(gu->win.registry_error), "libguestfs's"
			 " inspection failed: %s", why);
	snprintf(gu->id.product, sizeof(gu->id.product), "%s", gu->win.product);
	vmc_inspect_verdicts(gu);
	guestfs_umount_all(g);
	return 0;
}

/* What injection can change, read with the guest's file systems mounted
 * read-only; gu's identity (root, type, firmware) is already filled. */
static int facts(guestfs_h *g, const char *image, struct vmc_guest *gu,
		 struct vmc_error *err)
{
	int ret = 0;

	if (vmc_guest_mount(g, gu->id.root_fs, false, image, err) < 0)
		return -1;
	vmc_inspect_bootloader(g, gu);
	if (!strcmp(gu->id.type, "linux")) {
		ret = vmc_inspect_kernels(g, image, gu, err);
		vmc_inspect_names(g, gu);
	}
	if (!strcmp(gu->id.type, "windows"))
		vmc_inspect_windows(g, gu->id.root_fs, gu);
	vmc_inspect_extras(g, gu);
	vmc_inspect_verdicts(gu);
	guestfs_umount_all(g);
	return ret;
}

int vmc_inspect(guestfs_h *g, const char *image, struct vmc_guest *gu,
		struct vmc_error *err)
{
	char **roots;
	int ret = 0;

	memset(gu, 0, sizeof(*gu));
	gu->default_kernel = gu->default_entry = -1;
	roots = guestfs_inspect_os(g);
	if (!roots)
		return windows_unreadable(g, image, gu, err);
	firmware(g, gu);
	lvm(g, &gu->id);
	if (roots[0]) {
		gu->id.found = true;
		snprintf(gu->id.root_fs, sizeof(gu->id.root_fs), "%s", roots[0]);
		os_facts(g, roots[0], &gu->id);
		copy(gu->id.root_fstype, sizeof(gu->id.root_fstype),
		     guestfs_vfs_type(g, roots[0]));
		ret = facts(g, image, gu, err);
	}
	vmc_gfs_free_strings(roots);
	return ret;
}

int vmc_inspect_again(guestfs_h *g, const char *image,
		      const struct vmc_guest *before, struct vmc_guest *gu,
		      struct vmc_error *err)
{
	if (before->id.found && !before->id.root_fs[0])	/* no libguestfs root */
		return vmc_inspect(g, image, gu, err);
	memset(gu, 0, sizeof(*gu));
	gu->default_kernel = gu->default_entry = -1;
	gu->id = before->id;
	if (before->esp.found)
		vmc_esp_inspect(g, &gu->esp);
	return gu->id.found ? facts(g, image, gu, err) : 0;
}

void vmc_guest_free(struct vmc_guest *gu)
{
	for (int i = 0; i < gu->nkernels; i++) {
		vmc_modset_free(&gu->kernels[i].initrd_mods);
		vmc_modset_free(&gu->kernels[i].builtin);
	}
	gu->nkernels = 0;
}

const struct vmc_kernel *vmc_guest_default_kernel(const struct vmc_guest *g)
{
	if (g->default_kernel >= 0)
		return &g->kernels[g->default_kernel];
	return g->nkernels ? &g->kernels[0] : NULL;
}

const char *vmc_guest_root_module(const struct vmc_guest *g)
{
	static const char *const fs[] = { "ext4", "xfs", "btrfs" };
	const char *t = g->id.root_fstype;

	if (!strcmp(t, "ext2") || !strcmp(t, "ext3"))
		return "ext4";		/* the ext4 driver mounts them */
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if (!strcmp(t, fs[i]))
			return fs[i];
	return "";
}

bool vmc_kernel_has(const struct vmc_kernel *k, const char *m)
{
	return vmc_modset_has(&k->initrd_mods, m) ||
	       vmc_modset_has(&k->builtin, m);
}
