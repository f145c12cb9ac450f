/* vmconv inspect: what is installed on a disk image and whether it can
 * boot on each disk controller.  Read-only: libguestfs gets the image with
 * its format pinned, or a raw export made through vmconv's drivers. */
#include <stdio.h>

#include "cli/cli.h"
#include "inject/gfs.h"
#include "inject/inspect.h"
#include "validate/validate.h"

static const char usage[] =
"usage: vmconv inspect [-f FMT] [--output=human|json] IMG\n"
"\n"
"Inspect the guest on the disk image IMG (read-only, with libguestfs): OS,\n"
"distribution, version, architecture, firmware, kernels and the default\n"
"one, boot loader and its configuration, the initramfs tool and the\n"
"storage drivers in each initramfs, where the root file system and other\n"
"devices are named, guest tools, and whether it can boot on virtio, IDE\n"
"and virtio-scsi.\n";

bool vmc_cli_kvm_usable(void)
{
	char why[512];

	return vmc_direct_usable(why, sizeof(why));
}

int vmc_cmd_inspect(int argc, char **argv)
{
	const char *fmt = NULL, *path = NULL;
	struct vmc_error err = { 0 };
	struct vmc_gdisk d;
	struct vmc_guest gu;
	guestfs_h *g;
	bool json = false;
	int ret;

	ret = vmc_cli_image_args(argc, argv, usage, &fmt, &json, &path);
	if (ret >= 0)
		return ret;
	if (vmc_gdisk_prepare(path, fmt, &d, &err) < 0) {
		vmc_cli_error(&err);
		return 1;
	}
	g = vmc_gfs_launch(d.path, d.qfmt, true, vmc_cli_kvm_usable(), &err);
	ret = 1;
	if (g && vmc_inspect(g, path, &gu, &err) == 0) {
		if (json) {
			json_t *o = vmc_guest_json(&gu);

			json_object_set_new(o, "image", json_string(path));
			vmc_cli_print_json(o);
			json_decref(o);
		} else {
			vmc_cli_print_guest(path, &gu);
		}
		vmc_guest_free(&gu);
		ret = 0;
	}
	if (ret)
		vmc_cli_error(&err);
	vmc_gfs_close(g, false, path, NULL);
	vmc_gdisk_cleanup(&d);
	return ret;
}
