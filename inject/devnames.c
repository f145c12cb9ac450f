/* Where the guest names its devices: /etc/fstab, /etc/crypttab, each
 * boot-loader entry's root=, /etc/default/grub.  Every name is listed,
 * the ones a new controller breaks marked unstable (inject/names.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inspect.h"
#include "inject/names.h"

#define TEXT_MAX (1 << 20)

static void add_name(struct vmc_guest *gu, const char *where,
		     const char *name)
{
	struct vmc_devname *d;

	if (gu->nnames >= VMC_GUEST_NAMES)
		return;
	d = &gu->names[gu->nnames++];
	snprintf(d->where, sizeof(d->where), "%s", where);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->unstable = vmc_name_unstable(name);
}

/* fstab: every entry, and root's spec. */
static void fstab(guestfs_h *g, struct vmc_guest *gu)
{
	char *text = vmc_gfs_read(g, "/etc/fstab", TEXT_MAX);
	unsigned n = 0;

	for (char *l = text ? strtok(text, "\n") : NULL; l;
	     l = strtok(NULL, "\n")) {
		char spec[VMC_STR], mp[VMC_STR], where[VMC_STR];

		n++;
		while (isspace((unsigned char)*l))
			l++;
		if (*l == '#' || sscanf(l, "%255s %255s", spec, mp) != 2)
			continue;
		snprintf(where, sizeof(where), "/etc/fstab line %u (%.200s)", n,
			 mp);
		add_name(gu, where, spec);
		if (!strcmp(mp, "/"))
			snprintf(gu->root_spec, sizeof(gu->root_spec), "%s",
				 spec);
	}
	free(text);
}

static void crypttab(guestfs_h *g, struct vmc_guest *gu)
{
	char *text = vmc_gfs_read(g, "/etc/crypttab", TEXT_MAX);
	unsigned n = 0;

	for (char *l = text ? strtok(text, "\n") : NULL; l;
	     l = strtok(NULL, "\n")) {
		char name[VMC_STR], dev[VMC_STR], where[VMC_STR];

		n++;
		while (isspace((unsigned char)*l))
			l++;
		if (*l == '#' || sscanf(l, "%255s %255s", name, dev) != 2)
			continue;
		snprintf(where, sizeof(where), "/etc/crypttab line %u (%.200s)",
			 n, name);
		add_name(gu, where, dev);
	}
	free(text);
}

struct scan_ctx {
	struct vmc_guest *gu;
	const char *file;
};

static void scanned(void *ctx, const char *dev, unsigned line)
{
	struct scan_ctx *c = ctx;
	char where[VMC_STR];

	snprintf(where, sizeof(where), "%s line %u", c->file, line);
	add_name(c->gu, where, dev);
}

void vmc_inspect_names(guestfs_h *g, struct vmc_guest *gu)
{
	char *text;

	fstab(g, gu);
	crypttab(g, gu);
	for (int i = 0; i < gu->nentries; i++) {
		char where[VMC_STR];

		if (!gu->entries[i].root[0])
			continue;
		snprintf(where, sizeof(where), "%.200s entry %d (root=)",
			 gu->nbootcfg ? gu->bootcfg[0] : "boot loader", i);
		add_name(gu, where, gu->entries[i].root);
	}
	text = vmc_gfs_read(g, "/etc/default/grub", TEXT_MAX);
	if (text) {
		struct scan_ctx c = { gu, "/etc/default/grub" };

		vmc_names_scan(text, VMC_NAMES_CMDLINE, scanned, &c);
		free(text);
	}
}
