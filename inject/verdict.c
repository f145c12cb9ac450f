/* Readiness per disk controller: can the default kernel's initramfs find
 * the disk on this bus, and do the names the guest uses for its disk
 * survive the move?  virtio-blk names the disk /dev/vda; IDE through
 * ata_piix and virtio-scsi name it /dev/sda. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "inject/inspect.h"

static const char *const needs[VMC_GBUS_COUNT][3] = {
	[VMC_GBUS_VIRTIO] = { "virtio_pci", "virtio_blk", NULL },
	[VMC_GBUS_IDE] = { "ata_piix", "sd_mod", NULL },
	[VMC_GBUS_SCSI] = { "virtio_pci", "virtio_scsi", "sd_mod" },
};

static const char *const becomes[VMC_GBUS_COUNT] = {
	"/dev/vda", "/dev/sda", "/dev/sda",
};

const char *vmc_guest_bus_name(enum vmc_guest_bus b)
{
	static const char *const n[] = { "virtio", "ide", "scsi" };

	return n[b];
}

/* Whether a name keeps working on bus b (only /dev/sdX does, on IDE and
 * virtio-scsi, for the first disk). */
static bool name_survives(const char *name, enum vmc_guest_bus b)
{
	return b != VMC_GBUS_VIRTIO && !strncmp(name, "/dev/sd", 7);
}

static void append(char *buf, size_t len, const char *fmt, const char *a,
		   const char *b)
{
	size_t l = strlen(buf);

	snprintf(buf + l, len - l, "%s", l ? "; " : "");
	l = strlen(buf);
	snprintf(buf + l, len - l, fmt, a, b);
}

static void linux_verdict(struct vmc_guest *gu, enum vmc_guest_bus b,
			  char *why, size_t len)
{
	const struct vmc_kernel *k = vmc_guest_default_kernel(gu);

	if (!k) {
		append(why, len, "%sno kernel in /boot%s", "", "");
		return;
	}
	if (!k->initrd[0] && !vmc_kernel_has(k, needs[b][1]))
		append(why, len, "%s has no initramfs and no built-in %s",
		       k->vmlinuz, needs[b][1]);
	else if (!k->initrd_entries && k->initrd_error[0])
		append(why, len, "%s%s", "initramfs unreadable: ",
		       k->initrd_error);
	else
		for (int i = 0; i < 3 && needs[b][i]; i++)
			if (!vmc_kernel_has(k, needs[b][i]))
				append(why, len, "no %s in %s", needs[b][i],
				       k->initrd);
	if (k->initrd_entries && *vmc_guest_root_module(gu) &&
	    !vmc_kernel_has(k, vmc_guest_root_module(gu)))
		append(why, len, "no %s (the root file system's driver) in"
		       " %s", vmc_guest_root_module(gu), k->initrd);
	for (int i = 0; i < gu->nnames; i++) {
		const struct vmc_devname *d = &gu->names[i];
		char what[VMC_STR + 32];

		if (!d->unstable || name_survives(d->name, b))
			continue;
		if (strstr(d->where, "root=") || strstr(d->where, "(/)"))
			snprintf(what, sizeof(what), "root named %s",
				 d->name);
		else
			snprintf(what, sizeof(what), "%s named in %s",
				 d->name, d->where);
		if (!strstr(why, what))
			append(why, len, "%s (the disk becomes %s)", what,
			       becomes[b]);
	}
}

/* Why Windows driver name (what: "the virtio-blk driver") cannot start
 * the disk, or "" when it can. */
static void windriver_why(const struct vmc_windows *w, const char *name,
			  const char *what, char *why, size_t len)
{
	const struct vmc_windriver *d = vmc_windows_driver(w, name);

	if (!w->control_set[0])
		snprintf(why, len, "registry unreadable (%s)",
			 w->registry_error);
	else if (!d->service)
		snprintf(why, len, "%s (%s) is not installed (no %s\\Services"
			 "\\%s in SYSTEM)", name, what, w->control_set, name);
	else if (!d->file_present)
		snprintf(why, len, "%s's service names %s, which is missing",
			 name, d->file);
	else if (d->start != 0)
		snprintf(why, len, "%s is installed but does not start at boot"
			 " (Start=%" PRId64 ", 0 needed)", name, d->start);
	else
		why[0] = 0;
}

/* virtio-blk needs viostor, virtio-scsi vioscsi, QEMU's IDE (PIIX) atapi
 * and intelide or pciide, each started at boot (Start 0: Windows loads
 * only boot-start drivers before it mounts its system disk, else it stops
 * with INACCESSIBLE_BOOT_DEVICE). */
static void windows_verdict(struct vmc_guest *gu, enum vmc_guest_bus b,
			    char *why, size_t len)
{
	const struct vmc_windows *w = &gu->win;
	char one[640], two[640];

	if (b == VMC_GBUS_VIRTIO) {
		windriver_why(w, "viostor", "the virtio-blk driver", one,
			      sizeof(one));
	} else if (b == VMC_GBUS_SCSI) {
		windriver_why(w, "vioscsi", "the virtio-scsi driver", one,
			      sizeof(one));
	} else {
		windriver_why(w, "intelide", "the PIIX IDE controller driver",
			      one, sizeof(one));
		windriver_why(w, "pciide", "the generic IDE controller driver",
			      two, sizeof(two));
		if (!two[0] || !w->control_set[0])
			one[0] = 0;		/* pciide will do */
		if (one[0])
			append(why, len, "%s%s", one, "");
		windriver_why(w, "atapi", "the IDE channel driver", one,
			      sizeof(one));
	}
	if (one[0] && !strstr(why, one))
		append(why, len, "%s%s", one, "");
}

void vmc_inspect_verdicts(struct vmc_guest *gu)
{
	for (int b = 0; b < VMC_GBUS_COUNT; b++) {
		char why[640] = "";

		if (!gu->id.found)
			snprintf(why, sizeof(why), "no operating system found");
		else if (!strcmp(gu->id.type, "linux"))
			linux_verdict(gu, b, why, sizeof(why));
		else if (!strcmp(gu->id.type, "windows"))
			windows_verdict(gu, b, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s guests are not"
				 " checked", gu->id.type);
		gu->ready[b] = !why[0];
		snprintf(gu->verdict[b], sizeof(gu->verdict[b]), "%s: %s%s",
			 vmc_guest_bus_name(b), why[0] ? "will not boot: " :
			 "ready", why);
	}
}
