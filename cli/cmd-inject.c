/* vmconv inject --target=kvm [--bus=virtio|ide|scsi] [--dry-run] IMG:
 * make the guest on IMG bootable on KVM's disk controller.  The image is
 * rewritten through a new file (converted to its own format, injected,
 * renamed over IMG), so a failure or a kill leaves IMG as it was.  The
 * same step runs inside the one-command migration (cli/cmd-migrate.c)
 * through vmc_cli_inject_hook. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "inject/gfs.h"
#include "inject/inject.h"

static const char usage[] =
"usage: vmconv inject --target=kvm [--bus=virtio|ide|scsi] [--dry-run]\n"
"                     [--remove-tools] [--initramfs=guest|direct] [-f FMT]\n"
"                     [--output=human|json] IMG\n"
"\n"
"Make the Linux guest on IMG bootable on KVM: the virtio drivers go into\n"
"every installed kernel's initramfs (rebuilt with the guest's own\n"
"update-initramfs or dracut), and /dev/sdX, /dev/hdX and /dev/xvdX names in\n"
"fstab, crypttab and the boot loader's root= become UUID=.  The old\n"
"hypervisor's guest tools (open-vm-tools, hyperv-daemons, ...) are reported,\n"
"and with --remove-tools removed by the guest's package manager.  Every change is\n"
"listed (file, before, after; an initramfs with its method).\n"
"--initramfs=direct skips the guest's tool: each initramfs is rewritten on\n"
"the host (the virtio modules and their dependencies from the guest's\n"
"/lib/modules appended), much faster than the tool under emulation;\n"
"guest, the default, runs the tool and rewrites directly only where the\n"
"guest has none or it fails.  --dry-run lists the changes and writes nothing\n"
"(any image format); otherwise IMG must be raw or qcow2 and is replaced\n"
"atomically.  Exit 0 when the guest is ready (or has no OS), 1 otherwise\n"
"(Windows guests: injection is not supported yet).\n";

int vmc_cli_parse_gbus(const char *s, enum vmc_guest_bus *b)
{
	for (int i = 0; i < VMC_GBUS_COUNT; i++)
		if (!strcmp(s, vmc_guest_bus_name(i))) {
			*b = i;
			return 0;
		}
	vmc_cli_errorf("--bus must be virtio, ide or scsi, not '%s'", s);
	return -1;
}

int vmc_cli_parse_initramfs(const char *s, enum vmc_initramfs_method *m)
{
	if (vmc_initramfs_method_parse(s, m) == 0)
		return 0;
	vmc_cli_errorf("--initramfs must be guest (the guest's own tool) or"
		       " direct (rewritten on the host), not '%s'", s);
	return -1;
}

int vmc_cli_inject_hook(void *ctx, const char *tmp, struct vmc_error *err)
{
	struct vmc_cli_inject *ci = ctx;

	ci->ran = true;
	if (!tmp)
		return vmc_error_set(err, EINVAL, "%s: not a file that can be"
				     " changed before it is in place",
				     ci->image);
	if (vmc_inject_image(tmp, ci->qfmt, &ci->o, &ci->r, err) < 0) {
		vmc_error_prefix(err, "%s: driver injection", ci->image);
		return -1;
	}
	if (ci->r.status == VMC_INJECT_UNSUPPORTED)
		return vmc_error_set(err, ENOTSUP, "%s: %s (--no-inject"
				     " converts without it)", ci->image,
				     ci->r.message);
	return 0;
}

void vmc_cli_print_injection(const struct vmc_inject_result *r)
{
	printf("guest: %s\n", r->message);
	vmc_cli_print_changes(r);
}

void vmc_cli_inject_report(const struct vmc_cli_inject *ci, bool verbose)
{
	vmc_cli_print_injection(&ci->r);
}

static int dry_run(struct vmc_cli_inject *ci, const char *fmt)
{
	struct vmc_error err = { 0 };
	struct vmc_gdisk d;
	guestfs_h *g;
	int ret = 1;

	if (vmc_gdisk_prepare(ci->image, fmt, &d, &err) < 0) {
		vmc_cli_error(&err);
		return 1;
	}
	g = vmc_gfs_launch(d.path, d.qfmt, true, ci->o.kvm, &err);
	if (g && vmc_inject_guest(g, ci->image, &ci->o, &ci->r, &err) == 0)
		ret = ci->r.status == VMC_INJECT_UNSUPPORTED;
	else
		vmc_cli_error(&err);
	vmc_gfs_close(g, false, ci->image, NULL);
	vmc_gdisk_cleanup(&d);
	return ret;
}

static int in_place(struct vmc_cli_inject *ci, const char *fmt)
{
	struct vmc_cli_convert c = { 0 };
	json_t *summary = NULL;
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(ci->image, fmt, 0, NULL, &err);
	int ret;

	if (!img) {
		vmc_cli_error(&err);
		return 1;
	}
	ci->qfmt = strcmp(img->drv->name, "raw") ? "qcow2" : "raw";
	if (strcmp(img->drv->name, "raw") && strcmp(img->drv->name, "qcow2")) {
		vmc_cli_errorf("%s: inject rewrites raw and qcow2 images, not"
			       " %s: migrate it (vmconv %s --to qcow2) or use"
			       " --dry-run", ci->image, img->drv->name,
			       ci->image);
		vmc_image_close(img);
		return 1;
	}
	vmc_image_close(img);
	c.src_path = c.dst_path = ci->image;
	c.src_fmt = c.dst_fmt = ci->qfmt;
	c.same_file_ok = true;
	c.quiet = true;
	c.before_commit = vmc_cli_inject_hook;
	c.hook_ctx = ci;
	ret = vmc_cli_run_convert(&c, &summary);
	json_decref(summary);
	return ret;
}

int vmc_cmd_inject(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "target", required_argument, NULL, 'T' },
		{ "bus", required_argument, NULL, 'B' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "remove-tools", no_argument, NULL, 'R' },
		{ "initramfs", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_cli_inject ci = { 0 };
	const char *fmt = NULL, *target = NULL;
	bool json = false;
	int opt, ret, done;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:", lo, usage, &json,
				     &done)) != -1) {
		switch (opt) {
		case 'T': target = optarg; break;
		case 'f': fmt = optarg; break;
		case 'n': ci.o.dry_run = true; break;
		case 'R': ci.o.remove_tools = true; break;
		case 'i':
			if (vmc_cli_parse_initramfs(optarg,
						    &ci.o.initramfs) < 0)
				return 1;
			break;
		case 'B':
			if (vmc_cli_parse_gbus(optarg, &ci.o.bus) < 0)
				return 1;
			break;
		}
	}
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return vmc_cli_usage(usage, false);
	if (!target || strcmp(target, "kvm")) {
		vmc_cli_errorf("--target=kvm is required (the only target"
			       " driver injection knows)");
		return 1;
	}
	ci.image = argv[optind];
	ci.o.kvm = vmc_cli_kvm_usable();
	ret = ci.o.dry_run ? dry_run(&ci, fmt) : in_place(&ci, fmt);
	if (ci.ran || ci.o.dry_run) {
		if (json) {
			json_t *o = vmc_inject_json(&ci.r);

			json_object_set_new(o, "image", json_string(ci.image));
			vmc_cli_print_json(o);
			json_decref(o);
		} else if (ci.r.message[0]) {
			vmc_cli_inject_report(&ci, true);
		}
	}
	vmc_inject_result_free(&ci.r);
	return ret;
}
