/* The guest's installed kernels (/boot/vmlinuz-*), the initramfs of each
 * and the modules it holds (downloaded and listed with libarchive,
 * inject/initramfs.c), the modules built into each kernel
 * (/lib/modules/V/modules.builtin), and the default kernel (the one the
 * boot loader's default entry names). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/gfs.h"
#include "inject/initramfs.h"
#include "inject/inspect.h"

static const char *const initrd_names[] = {
	"/boot/initrd.img-%s", "/boot/initramfs-%s.img", "/boot/initrd-%s",
	"/boot/initrd-%s.img",
};

static void builtin(guestfs_h *g, struct vmc_kernel *k)
{
	char path[VMC_STR + 64], *text;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin",
		 k->version);
	text = vmc_gfs_read(g, path, 8 << 20);
	for (char *l = text ? strtok(text, "\n") : NULL; l;
	     l = strtok(NULL, "\n"))
		vmc_modset_add(&k->builtin, l);
	free(text);
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/drivers/block",
		 k->version);
	if (vmc_modset_has(&k->builtin, "virtio_blk")) {
		k->virtio_available = true;
	} else if (vmc_gfs_is_dir(g, path)) {
		char **ls = guestfs_ls(g, path);
		char name[64];

		for (size_t i = 0; ls && ls[i]; i++)
			if (vmc_module_name(ls[i], name, sizeof(name)) &&
			    !strcmp(name, "virtio_blk"))
				k->virtio_available = true;
		vmc_gfs_free_strings(ls);
	}
}

/* Download the initramfs and list it (errors go into the kernel's
 * record: one unreadable initramfs does not stop inspection). */
static void list_initrd(guestfs_h *g, struct vmc_kernel *k)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], local[4200];
	struct vmc_error err = { 0 };
	int64_t sz = guestfs_filesize(g, k->initrd);

	if (sz < 0 || (uint64_t)sz > VMC_INITRAMFS_MAX) {
		snprintf(k->initrd_error, sizeof(k->initrd_error),
			 "%s: unreadable or larger than %llu MiB", k->initrd,
			 VMC_INITRAMFS_MAX >> 20);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/vmconv-initrd.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(k->initrd_error, sizeof(k->initrd_error),
			 "%.200s: %s", dir, strerror(errno));
		return;
	}
	snprintf(local, sizeof(local), "%s/initrd", dir);
	if (guestfs_download(g, k->initrd, local) < 0)
		snprintf(k->initrd_error, sizeof(k->initrd_error), "%s: %s",
			 k->initrd, guestfs_last_error(g));
	else if (vmc_initramfs_modules(local, &k->initrd_mods,
				       &k->initrd_entries, &err) < 0)
		snprintf(k->initrd_error, sizeof(k->initrd_error), "%s (in"
			 " the guest at %s)", err.msg, k->initrd);
	unlink(local);
	rmdir(dir);
}

static void one_kernel(guestfs_h *g, const char *vmlinuz,
		       struct vmc_kernel *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->vmlinuz, sizeof(k->vmlinuz), "%s", vmlinuz);
	snprintf(k->version, sizeof(k->version), "%s",
		 vmlinuz + strlen("/boot/vmlinuz-"));
	for (size_t i = 0; i < sizeof(initrd_names) / sizeof(initrd_names[0]);
	     i++) {
		char p[VMC_STR + 128];

		snprintf(p, sizeof(p), initrd_names[i], k->version);
		if (vmc_gfs_is_file(g, p)) {
			snprintf(k->initrd, sizeof(k->initrd), "%.250s", p);
			break;
		}
	}
	builtin(g, k);
	if (k->initrd[0])
		list_initrd(g, k);
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static void default_kernel(struct vmc_guest *gu)
{
	const struct vmc_bootentry *e;

	if (gu->default_entry < 0)
		return;
	e = &gu->entries[gu->default_entry];
	for (int i = 0; i < gu->nkernels; i++)
		if (!strcmp(base(e->kernel), base(gu->kernels[i].vmlinuz)))
			gu->default_kernel = i;
}

static void initramfs_tool(guestfs_h *g, struct vmc_guest *gu)
{
	static const char *const tools[][2] = {
		{ "/usr/sbin/update-initramfs", "initramfs-tools" },
		{ "/usr/bin/dracut", "dracut" },
		{ "/sbin/dracut", "dracut" },
		{ "/usr/sbin/dracut", "dracut" },
		{ "/sbin/mkinitrd", "mkinitrd" },
		{ "/usr/sbin/mkinitrd", "mkinitrd" },
	};

	snprintf(gu->initramfs_tool, sizeof(gu->initramfs_tool), "none");
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (vmc_gfs_is_file(g, tools[i][0])) {
			snprintf(gu->initramfs_tool,
				 sizeof(gu->initramfs_tool), "%s",
				 tools[i][1]);
			return;
		}
}

int vmc_inspect_kernels(guestfs_h *g, const char *image,
			struct vmc_guest *gu, struct vmc_error *err)
{
	char **ks = guestfs_glob_expand(g, "/boot/vmlinuz-*");

	if (!ks)
		return vmc_gfs_error(g, err, image, "listing /boot");
	for (size_t i = 0; ks[i] && gu->nkernels < VMC_GUEST_MAX; i++)
		one_kernel(g, ks[i], &gu->kernels[gu->nkernels++]);
	vmc_gfs_free_strings(ks);
	default_kernel(gu);
	initramfs_tool(g, gu);
	return 0;
}
