/* The EFI system partition and the removable-media fallback path: see
 * inject/efi.h.  UEFI 2.10 section 3.5.1.1: with no boot option for a
 * disk, the firmware boots \EFI\BOOT\BOOTX64.EFI on x86-64.  What goes
 * there is what the guest's own tools put there when told to install
 * for removable media (grub-install --removable: shim as BOOTX64.EFI with
 * GRUB and MokManager beside it, or GRUB alone; Windows' bcdboot copies
 * bootmgfw.efi). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "inject/efi.h"
#include "inject/gfs.h"
#include "inject/inject.h"

#define ESP_GUID "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"

/* The partition whose GPT type (or MBR id 0xEF) says it is the ESP. */
static void find_esp(guestfs_h *g, struct vmc_esp *esp)
{
	char **parts = guestfs_list_partitions(g);

	for (size_t i = 0; parts && parts[i] && !esp->found; i++) {
		char *dev = guestfs_part_to_dev(g, parts[i]);
		char *pt = dev ? guestfs_part_get_parttype(g, dev) : NULL;
		int n = guestfs_part_to_partnum(g, parts[i]);
		char *guid = NULL;

		if (pt && n > 0 && !strcmp(pt, "gpt"))
			guid = guestfs_part_get_gpt_type(g, dev, n);
		if ((guid && !strcasecmp(guid, ESP_GUID)) ||
		    (pt && n > 0 && !strcmp(pt, "msdos") &&
		     guestfs_part_get_mbr_id(g, dev, n) == 0xef)) {
			esp->found = true;
			esp->partition = n;
			snprintf(esp->device, sizeof(esp->device), "%s",
				 parts[i]);
		}
		free(guid);
		free(pt);
		free(dev);
	}
	vmc_gfs_free_strings(parts);
}

static bool is_efi(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcasecmp(name + n - 4, ".efi");
}

/* The EFI applications in one folder under /EFI. */
static void list_dir(guestfs_h *g, const char *dir, struct vmc_esp *esp)
{
	char path[512], **files;

	snprintf(path, sizeof(path), "/EFI/%s", dir);
	files = guestfs_ls(g, path);
	for (size_t j = 0; files && files[j]; j++) {
		char f[1024];

		snprintf(f, sizeof(f), "%s/%s", path, files[j]);
		if (!is_efi(files[j]) || !vmc_gfs_is_file(g, f) ||
		    esp->nloaders >= VMC_ESP_LOADERS)
			continue;
		snprintf(esp->loaders[esp->nloaders++],
			 sizeof(esp->loaders[0]), "\\EFI\\%s\\%s", dir,
			 files[j]);
		if (!strcasecmp(dir, "BOOT") &&
		    !strcasecmp(files[j], "BOOTX64.EFI"))
			esp->fallback = true;
	}
	vmc_gfs_free_strings(files);
}

void vmc_esp_inspect(guestfs_h *g, struct vmc_esp *esp)
{
	char *efi, **dirs;

	memset(esp, 0, sizeof(*esp));
	find_esp(g, esp);
	if (!esp->found)
		return;
	if (guestfs_mount_ro(g, esp->device, "/") < 0) {
		snprintf(esp->error, sizeof(esp->error), "%s cannot be"
			 " mounted: %s", esp->device, guestfs_last_error(g));
		return;
	}
	/* FAT: the names' case is not significant */
	efi = guestfs_case_sensitive_path(g, "/EFI");
	dirs = efi && vmc_gfs_is_dir(g, efi) ? guestfs_ls(g, efi) : NULL;
	for (size_t i = 0; dirs && dirs[i]; i++) {
		char d[512];

		snprintf(d, sizeof(d), "%s/%s", efi, dirs[i]);
		if (vmc_gfs_is_dir(g, d))
			list_dir(g, dirs[i], esp);
	}
	vmc_gfs_free_strings(dirs);
	free(efi);
	guestfs_umount_all(g);
}

json_t *vmc_esp_json(const struct vmc_esp *esp)
{
	json_t *o, *a;

	if (!esp->found)
		return json_null();
	o = json_object();
	a = json_array();
	json_object_set_new(o, "partition", json_string(esp->device));
	for (int i = 0; i < esp->nloaders; i++)
		json_array_append_new(a, json_string(esp->loaders[i]));
	json_object_set_new(o, "loaders", a);
	json_object_set_new(o, "fallback", json_boolean(esp->fallback));
	if (esp->error[0])
		json_object_set_new(o, "error", json_string(esp->error));
	return o;
}

/* The folder holding the loader to copy and the file that becomes
 * BOOTX64.EFI: shim first (it starts the GRUB beside it), then GRUB,
 * then Windows Boot Manager. */
static bool pick_loader(const struct vmc_esp *esp, char *dir, size_t dlen,
			const char **main_file)
{
	static const char *const order[] = {
		"shimx64.efi", "grubx64.efi", "bootmgfw.efi",
	};

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (int i = 0; i < esp->nloaders; i++) {
			const char *l = esp->loaders[i];
			const char *b = strrchr(l, '\\');

			if (!strncasecmp(l, "\\EFI\\BOOT\\", 10) ||
			    strcasecmp(b + 1, order[k]))
				continue;
			snprintf(dir, dlen, "%.*s", (int)(b - l), l);
			*main_file = b + 1;
			return true;
		}
	return false;
}

/* "\EFI\debian" -> "/EFI/debian" */
static void unix_path(char *dst, size_t len, const char *win,
		      const char *file)
{
	size_t i;

	snprintf(dst, len, "%s/%s", win, file);
	for (i = 0; dst[i]; i++)
		if (dst[i] == '\\')
			dst[i] = '/';
}

/* One copy into \EFI\BOOT, listed in the plan. */
static int copy_one(guestfs_h *g, const char *dir, const char *from,
		    const char *to, bool dry_run, struct vmc_plan *plan,
		    const char *image, struct vmc_error *err)
{
	char src[600], dst[600], *real, before[64], after[640];

	unix_path(src, sizeof(src), dir, from);
	snprintf(dst, sizeof(dst), "/EFI/BOOT/%s", to);
	real = dry_run ? NULL : guestfs_case_sensitive_path(g, src);
	if (!dry_run && (!real || !vmc_gfs_is_file(g, real))) {
		free(real);
		return 0;		/* an optional companion file */
	}
	if (!dry_run && guestfs_cp(g, real, dst) < 0) {
		free(real);
		return vmc_gfs_error(g, err, image, "copying the UEFI loader"
				     " to the fallback path");
	}
	free(real);
	snprintf(before, sizeof(before), "(missing)");
	snprintf(after, sizeof(after), "a copy of %s\\%s%s", dir, from,
		 dry_run ? " (planned)" : "");
	snprintf(dst, sizeof(dst), "\\EFI\\BOOT\\%s", to);
	return vmc_plan_add(plan, dst, before, after) < 0 ?
	       vmc_error_set(err, ENOMEM, "out of memory") : 0;
}

/* The copies for the loader in dir: BOOTX64.EFI and, beside it, what
 * that loader looks for in its own folder. */
static int copy_loader(guestfs_h *g, const char *dir, const char *main_file, bool dry_run,
		       struct vmc_plan *plan, const char *image,
		       struct vmc_error *err)
{
	static const char *const companions[] = {
		"grubx64.efi", "mmx64.efi", "grub.cfg",
	};

	if (copy_one(g, dir, main_file, "BOOTX64.EFI", dry_run, plan, image,
		     err) < 0)
		return -1;
	if (!strcasecmp(main_file, "bootmgfw.efi") || dry_run)
		return 0;
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]);
	     i++) {
		char have[64];

		snprintf(have, sizeof(have), "/EFI/BOOT/%s", companions[i]);
		if (strcasecmp(main_file, companions[i]) &&
		    !vmc_gfs_is_file(g, have) &&
		    copy_one(g, dir, companions[i], companions[i], false, plan,
			     image, err) < 0)
			return -1;
	}
	return 0;
}

int vmc_inject_efi_fallback(guestfs_h *g, const struct vmc_esp *esp,
			    bool dry_run, struct vmc_plan *plan,
			    const char *image, struct vmc_error *err)
{
	char dir[256];
	const char *main_file;
	int ret;

	if (!esp->found || esp->fallback || esp->error[0])
		return 0;
	if (!pick_loader(esp, dir, sizeof(dir), &main_file)) {
		vmc_plan_note(plan, "the EFI system partition %s has no"
			      " \\EFI\\BOOT\\BOOTX64.EFI and no loader to copy"
			      " there (shimx64.efi, grubx64.efi,"
			      " bootmgfw.efi)", esp->device);
		return 0;
	}
	if (!dry_run && (guestfs_mount(g, esp->device, "/") < 0 ||
			 guestfs_mkdir_p(g, "/EFI/BOOT") < 0))
		return vmc_gfs_error(g, err, image, "mounting the EFI system"
				     " partition");
	ret = copy_loader(g, dir, main_file, dry_run, plan, image, err);
	if (!dry_run && guestfs_umount_all(g) < 0 && ret == 0)
		return vmc_gfs_error(g, err, image, "unmounting the EFI"
				     " system partition");
	return ret;
}

int vmc_inject_efi_only(guestfs_h *g, const char *image,
			const struct vmc_inject_opts *o,
			struct vmc_inject_result *r, struct vmc_error *err)
{
	size_t n0 = r->plan.n;
	char was[sizeof(r->message)];
	struct timespec t0, t1;

	if (r->status == VMC_INJECT_UNSUPPORTED)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (vmc_inject_efi_fallback(g, &r->before.esp, o->dry_run, &r->plan,
				    image, err) < 0)
		return -1;
	if (r->plan.n == n0)
		return 0;
	snprintf(was, sizeof(was), "%s", r->message);
	if (o->dry_run) {
		r->status = VMC_INJECT_PLANNED;
		snprintf(r->message, sizeof(r->message), "dry run: %zu changes"
			 " planned, nothing written (%.600s)", r->plan.n, was);
		return 0;
	}
	if (vmc_inspect_again(g, image, &r->before, &r->after, err) < 0)
		return -1;
	if (!r->after.esp.fallback)
		return vmc_error_set(err, EIO, "%s: after the copy the EFI system"
				     " partition still has no"
				     " \\EFI\\BOOT\\BOOTX64.EFI", image);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->inject_s = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r->status = VMC_INJECT_CHANGED;
	snprintf(r->message, sizeof(r->message), "made bootable by UEFI"
		 " firmware without boot entries: %zu changes (%.600s)",
		 r->plan.n, was);
	return 0;
}
