/* Device names into stable names in the guest's files: /etc/fstab,
 * /etc/crypttab, /etc/default/grub and the boot-loader configuration
 * (inject/names.c does the text).  A guest name /dev/sdaN, /dev/hdaN or
 * /dev/xvdaN is the first disk's partition N: libguestfs's /dev/sdaN,
 * whose file system UUID (else label) replaces it.  GRUB's device.map
 * names whole disks: on virtio /dev/sda becomes /dev/vda there. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inject.h"
#include "inject/names.h"

#define TEXT_MAX (1 << 20)

struct resolve_ctx {
	guestfs_h *g;
};

static int resolve(void *ctx, const char *dev, char *out, size_t len)
{
	struct resolve_ctx *c = ctx;
	const char *p = dev + 5;		/* after /dev/ */
	char adev[64], *v;

	p += !strncmp(p, "xvd", 3) ? 3 : 2;
	if (*p != 'a')				/* one disk: the first */
		return -1;
	snprintf(adev, sizeof(adev), "/dev/sda%s", p + 1);
	v = guestfs_vfs_uuid(c->g, adev);
	if (v && *v) {
		snprintf(out, len, "UUID=%s", v);
		free(v);
		return 0;
	}
	free(v);
	v = guestfs_vfs_label(c->g, adev);
	if (v && *v) {
		snprintf(out, len, "LABEL=%s", v);
		free(v);
		return 0;
	}
	free(v);
	return -1;
}

/* Rewrite one file; writes it unless dry_run.  *changed when it did. */
static int one_file(guestfs_h *g, const char *path, enum vmc_names_kind k,
		    bool dry_run, bool *changed, struct vmc_plan *plan,
		    const char *image, struct vmc_error *err)
{
	struct resolve_ctx c = { g };
	char *text = vmc_gfs_read(g, path, TEXT_MAX), *nt;
	int ret = 0;

	*changed = false;
	if (!text)
		return 0;
	nt = vmc_names_rewrite(text, k, path, k == VMC_NAMES_DEVMAP ?
			       vmc_name_on_virtio : resolve, &c, plan);
	if (!nt) {
		free(text);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	*changed = strcmp(text, nt) != 0;
	if (*changed && !dry_run &&
	    guestfs_write(g, path, nt, strlen(nt)) < 0)
		ret = vmc_gfs_error(g, err, image, path);
	free(text);
	free(nt);
	return ret;
}

int vmc_inject_names(guestfs_h *g, const struct vmc_guest *gu, bool virtio,
		     bool dry_run, bool *wrote_grub_defaults,
		     struct vmc_plan *plan, const char *image,
		     struct vmc_error *err)
{
	bool ch, regen = gu->default_grub && gu->grub_mkconfig[0] &&
			 !strcmp(gu->bootloader, "grub2");

	if (virtio && one_file(g, "/boot/grub/device.map", VMC_NAMES_DEVMAP,
			       dry_run, &ch, plan, image, err) < 0)
		return -1;
	if (one_file(g, "/etc/fstab", VMC_NAMES_FSTAB, dry_run, &ch, plan,
		     image, err) < 0 ||
	    one_file(g, "/etc/crypttab", VMC_NAMES_CRYPTTAB, dry_run, &ch,
		     plan, image, err) < 0 ||
	    one_file(g, "/etc/default/grub", VMC_NAMES_CMDLINE, dry_run,
		     wrote_grub_defaults, plan, image, err) < 0)
		return -1;
	if (regen)	/* the guest's grub-mkconfig writes grub.cfg */
		return 0;
	for (int i = 0; i < gu->nbootcfg; i++)
		if (one_file(g, gu->bootcfg[i], VMC_NAMES_CMDLINE, dry_run,
			     &ch, plan, image, err) < 0)
			return -1;
	return 0;
}
