/* Which boot loader a guest has, its configuration files, and the entries
 * they list (kernel, initramfs, command line, root=).  GRUB 2 grub.cfg,
 * GRUB legacy menu.lst, SYSLINUX and EXTLINUX. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inject/gfs.h"
#include "inject/inspect.h"

#define CFG_MAX (1 << 20)

static const struct {
	const char *path, *kind;
} configs[] = {
	{ "/boot/grub/grub.cfg", "grub2" },
	{ "/boot/grub2/grub.cfg", "grub2" },
	{ "/boot/grub/menu.lst", "grub-legacy" },
	{ "/boot/grub/grub.conf", "grub-legacy" },
	{ "/boot/extlinux/extlinux.conf", "extlinux" },
	{ "/extlinux.conf", "extlinux" },
	{ "/boot/syslinux/syslinux.cfg", "syslinux" },
	{ "/syslinux.cfg", "syslinux" },
};

static char *next_word(char *s, char *w, size_t len)
{
	size_t n = 0;
	char q = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\'' || *s == '"')
		q = *s++;
	while (*s && (q ? *s != q : (*s != ' ' && *s != '\t'))) {
		if (n + 1 < len)
			w[n++] = *s;
		s++;
	}
	if (q && *s == q)
		s++;
	w[n] = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void root_arg(struct vmc_bootentry *e)
{
	for (char *p = e->cmdline; (p = strstr(p, "root=")); p++)
		if (p == e->cmdline || isspace((unsigned char)p[-1])) {
			snprintf(e->root, sizeof(e->root), "%.*s",
				 (int)strcspn(p + 5, " \t"), p + 5);
			return;
		}
}

static struct vmc_bootentry *new_entry(struct vmc_guest *gu,
				       const char *title)
{
	struct vmc_bootentry *e;

	if (gu->nentries >= VMC_GUEST_MAX)
		return NULL;
	e = &gu->entries[gu->nentries++];
	memset(e, 0, sizeof(*e));
	snprintf(e->title, sizeof(e->title), "%s", title);
	return e;
}

/* GRUB 2 and legacy: "menuentry 'T' {" / "title T"; linux/kernel,
 * initrd lines; "set default=N" / "default N". */
static void parse_grub(char *cfg, struct vmc_guest *gu)
{
	struct vmc_bootentry *e = NULL;
	char kw[64], w[VMC_STR];

	for (char *l = strtok(cfg, "\n"); l; l = strtok(NULL, "\n")) {
		char *r = next_word(l, kw, sizeof(kw));

		if (!strcmp(kw, "menuentry") || !strcmp(kw, "title")) {
			if (!strcmp(kw, "title"))
				snprintf(w, sizeof(w), "%s", r);
			else
				next_word(r, w, sizeof(w));
			e = new_entry(gu, w);
		} else if (e && (!strncmp(kw, "linux", 5) ||
				 !strcmp(kw, "kernel"))) {
			r = next_word(r, e->kernel, sizeof(e->kernel));
			snprintf(e->cmdline, sizeof(e->cmdline), "%s", r);
			root_arg(e);
		} else if (e && !strncmp(kw, "initrd", 6)) {
			next_word(r, e->initrd, sizeof(e->initrd));
		} else if (!strcmp(kw, "set") && !strncmp(r, "default=", 8)) {
			next_word(r + 8, w, sizeof(w));
			if (isdigit((unsigned char)w[0]))
				gu->default_entry = atoi(w);
		} else if (!strcmp(kw, "default") &&
			   isdigit((unsigned char)r[0])) {
			gu->default_entry = atoi(r);
		}
	}
}

static void parse_syslinux(char *cfg, struct vmc_guest *gu)
{
	struct vmc_bootentry *e = NULL;
	char kw[64], w[VMC_STR], def[VMC_STR] = "";

	for (char *l = strtok(cfg, "\n"); l; l = strtok(NULL, "\n")) {
		char *r = next_word(l, kw, sizeof(kw));

		if (!strcasecmp(kw, "DEFAULT")) {
			next_word(r, def, sizeof(def));
		} else if (!strcasecmp(kw, "LABEL")) {
			next_word(r, w, sizeof(w));
			e = new_entry(gu, w);
			if (e && !strcmp(w, def))
				gu->default_entry = gu->nentries - 1;
		} else if (e && (!strcasecmp(kw, "KERNEL") ||
				 !strcasecmp(kw, "LINUX"))) {
			next_word(r, e->kernel, sizeof(e->kernel));
		} else if (e && !strcasecmp(kw, "INITRD")) {
			next_word(r, e->initrd, sizeof(e->initrd));
		} else if (e && !strcasecmp(kw, "APPEND")) {
			snprintf(e->cmdline, sizeof(e->cmdline), "%s", r);
			root_arg(e);
		}
	}
}

void vmc_inspect_bootloader(guestfs_h *g, struct vmc_guest *gu)
{
	static const char *const mkconfig[] = {
		"/usr/sbin/grub-mkconfig", "/usr/sbin/grub2-mkconfig",
		"/sbin/grub-mkconfig", "/sbin/grub2-mkconfig",
	};

	snprintf(gu->bootloader, sizeof(gu->bootloader), "none");
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		char *cfg;

		if (gu->nbootcfg >= 4 || !(cfg = vmc_gfs_read(g,
				configs[i].path, CFG_MAX)))
			continue;
		if (!gu->nbootcfg) {
			snprintf(gu->bootloader, sizeof(gu->bootloader), "%s",
				 configs[i].kind);
			if (!strcmp(configs[i].kind, "grub2") ||
			    !strcmp(configs[i].kind, "grub-legacy"))
				parse_grub(cfg, gu);
			else
				parse_syslinux(cfg, gu);
		}
		snprintf(gu->bootcfg[gu->nbootcfg++], VMC_STR, "%s",
			 configs[i].path);
		free(cfg);
	}
	gu->default_grub = vmc_gfs_is_file(g, "/etc/default/grub");
	for (size_t i = 0; i < sizeof(mkconfig) / sizeof(mkconfig[0]); i++)
		if (vmc_gfs_is_file(g, mkconfig[i])) {
			snprintf(gu->grub_mkconfig, sizeof(gu->grub_mkconfig),
				 "%s", mkconfig[i]);
			break;
		}
	if (gu->default_entry < 0 || gu->default_entry >= gu->nentries)
		gu->default_entry = gu->nentries ? 0 : -1;
}
