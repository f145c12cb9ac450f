/* What the QEMU-based parts of the validator share: QEMU's names for
 * formats (from the driver table), the start of its command line, and the raw export for images
 * QEMU cannot (or must not) read itself.  See validate/qemu.h. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "validate/qemu.h"

const char *vmc_qemu_format(const char *drv)
{
	const struct vmc_driver *d = vmc_driver_find(drv);

	return d ? d->qemu_name : NULL;
}

int vmc_export_raw(struct vmc_image *img, const char *path,
		   struct vmc_error *err)
{
	struct vmc_convert_params cp = { .src = img };
	struct vmc_convert_stats st;

	return vmc_convert_to_file(&cp, path, "raw", NULL, &st, err);
}

int vmc_qemu_machine_args(const char **argv, bool kvm, const char *cpu,
			  const char *mem, const char *smp)
{
	int n = 0;

	argv[n++] = QEMU;
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	/* QEMU's own seccomp filter, as libvirt starts every VM: a guest
	 * that escapes the device model still cannot spawn programs, gain
	 * privileges or use obsolete system calls */
	argv[n++] = "-sandbox";
	argv[n++] = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
		    "resourcecontrol=deny";
	argv[n++] = "-M";
	argv[n++] = "pc";
	argv[n++] = "-accel";
	argv[n++] = kvm ? "kvm" : "tcg";
	if (cpu) {
		argv[n++] = "-cpu";
		argv[n++] = cpu;
	}
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-smp";
	argv[n++] = smp ? smp : "1";
	/* -nographic: no display, and SeaBIOS mirrors the BIOS text screen
	 * (its own messages, the boot loader's menus) to the serial port */
	argv[n++] = "-nographic";
	return n;
}

bool vmc_qemu_usable(char *why, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, exe[PATH_MAX];
	bool found = false;

	copy = strdup(path && *path ? path : "/usr/bin:/bin");
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save))
		found = snprintf(exe, sizeof(exe), "%s/" QEMU, d) <
			(int)sizeof(exe) && access(exe, X_OK) == 0;
	free(copy);
	snprintf(why, len, "%s", found ? "" : QEMU " is not installed");
	return found;
}

char *vmc_qemu_pinned_name(const struct vmc_image *img, unsigned files)
{
	json_t *o, *file;
	char abs[PATH_MAX], *s = NULL, *res = NULL;
	bool qcow2 = !strcmp(img->drv->name, "qcow2");

	if ((!qcow2 && strcmp(img->drv->name, "raw")) || files > 1 ||
	    !realpath(img->filename, abs))
		return NULL;
	o = json_pack("{s:s, s:{s:s, s:s}}", "driver", img->drv->name,
		      "file", "driver", "file", "filename", abs);
	if (!o)
		return NULL;
	if (qcow2)
		json_object_set_new(o, "backing", json_null());
	file = json_object_get(o, "file");
	json_object_set_new(file, "locking", json_string("off"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s && asprintf(&res, "json:%s", s) < 0)
		res = NULL;
	free(s);
	return res;
}
