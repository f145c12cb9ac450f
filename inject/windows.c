/* Windows guests: what the registry says, read through libguestfs's hivex
 * API (the hives are parsed inside the appliance, so a hostile hive can at
 * worst fail a call).  From SOFTWARE\Microsoft\Windows NT\CurrentVersion:
 * ProductName, EditionID, CurrentVersion, CurrentMajorVersionNumber and
 * CurrentMinorVersionNumber, CurrentBuildNumber.  From SYSTEM, in the
 * control set Select\Current names: Services\<driver> (Start, ImagePath)
 * for the drivers vmc_windrivers lists, and whether each driver's .sys
 * file is on the disk.  Nothing here writes to the guest. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inject/gfs.h"
#include "inject/inspect.h"

const char *const vmc_windrivers[VMC_WIN_DRIVERS] = {
	"viostor", "vioscsi", "netkvm",		/* virtio (KVM) */
	"atapi", "intelide", "pciide",		/* in-box IDE */
	"storvsc", "vmbus", "netvsc",		/* Hyper-V */
	"pvscsi", "vmxnet3",			/* VMware */
};

/* What went wrong reading the registry, each hive's first problem (with
 * libguestfs's message when a call failed), "; "-separated. */
static void note(struct vmc_windows *w, guestfs_h *g, const char *hive,
		 const char *what, bool failed)
{
	const char *e = failed ? guestfs_last_error(g) : NULL;
	size_t l = strlen(w->registry_error);

	if (l + 2 < sizeof(w->registry_error))
		snprintf(w->registry_error + l, sizeof(w->registry_error) - l,
			 "%s%s: %s%s%s", l ? "; " : "", hive, what,
			 e ? ": " : "", e ? e : "");
}

/* The node at path (components separated by '\'), 0 when absent, -1 on
 * an error. */
static int64_t node_at(guestfs_h *g, const char *path)
{
	char buf[VMC_STR], *save = NULL;
	int64_t n = guestfs_hivex_root(g);

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = strtok_r(buf, "\\", &save); c && n > 0;
	     c = strtok_r(NULL, "\\", &save))
		n = guestfs_hivex_node_get_child(g, n, c);
	return n;
}

/* A REG_SZ / REG_EXPAND_SZ value as UTF-8 ("" when absent or another
 * type). */
static void string_value(guestfs_h *g, int64_t node, const char *key,
			 char *dst, size_t len)
{
	int64_t v = guestfs_hivex_node_get_value(g, node, key);
	int64_t t = v > 0 ? guestfs_hivex_value_type(g, v) : -1;
	char *s = (t == 1 || t == 2) ? guestfs_hivex_value_string(g, v) : NULL;

	snprintf(dst, len, "%s", s ? s : "");
	free(s);
}

/* A REG_DWORD value, or -1 when absent, of another type or size. */
static int64_t dword_value(guestfs_h *g, int64_t node, const char *key)
{
	int64_t v = guestfs_hivex_node_get_value(g, node, key);
	size_t n = 0;
	char *d;
	int64_t r = -1;

	if (v <= 0 || guestfs_hivex_value_type(g, v) != 4)
		return -1;
	d = guestfs_hivex_value_value(g, v, &n);
	if (d && n == 4)
		r = (int64_t)((uint32_t)(unsigned char)d[0] |
			      (uint32_t)(unsigned char)d[1] << 8 |
			      (uint32_t)(unsigned char)d[2] << 16 |
			      (uint32_t)(unsigned char)d[3] << 24);
	free(d);
	return r;
}

static void software(guestfs_h *g, const char *hive, struct vmc_windows *w)
{
	int64_t n;

	if (guestfs_hivex_open(g, hive, -1) < 0) {
		note(w, g, hive, "cannot open the SOFTWARE hive", true);
		return;
	}
	n = node_at(g, "Microsoft\\Windows NT\\CurrentVersion");
	if (n <= 0) {
		note(w, g, hive, "no Microsoft\\Windows NT\\CurrentVersion",
		     n < 0);
	} else {
		string_value(g, n, "ProductName", w->product,
			     sizeof(w->product));
		string_value(g, n, "EditionID", w->edition,
			     sizeof(w->edition));
		string_value(g, n, "CurrentVersion", w->current_version,
			     sizeof(w->current_version));
		string_value(g, n, "CurrentBuildNumber", w->build,
			     sizeof(w->build));
		if (!w->build[0])
			string_value(g, n, "CurrentBuild", w->build,
				     sizeof(w->build));
		w->major = dword_value(g, n, "CurrentMajorVersionNumber");
		w->minor = dword_value(g, n, "CurrentMinorVersionNumber");
	}
	guestfs_hivex_close(g);
}

/* ImagePath ("System32\drivers\x.sys", "\SystemRoot\System32\...",
 * "\??\C:\Windows\...") as a path in the mounted guest. */
static void sys_path(const char *sysroot, const char *image_path,
		     const char *name, char *dst, size_t len)
{
	const char *p = image_path;

	if (!*p)
		snprintf(dst, len, "%s/System32/drivers/%s.sys", sysroot,
			 name);
	else if (!strncasecmp(p, "\\SystemRoot\\", 12))
		snprintf(dst, len, "%s/%s", sysroot, p + 12);
	else if (!strncmp(p, "\\??\\", 4) && p[4] && p[5] == ':')
		snprintf(dst, len, "%s", p + 6);
	else
		snprintf(dst, len, "%s/%s", sysroot, p);
	for (char *c = dst; *c; c++)
		if (*c == '\\')
			*c = '/';
}

static void driver(guestfs_h *g, int64_t services, struct vmc_windriver *d)
{
	int64_t n = guestfs_hivex_node_get_child(g, services, d->name);

	if (n <= 0)
		return;
	d->service = true;
	d->start = dword_value(g, n, "Start");
	string_value(g, n, "ImagePath", d->image_path, sizeof(d->image_path));
}

static void system_hive(guestfs_h *g, const char *hive, struct vmc_windows *w)
{
	char path[VMC_STR];
	int64_t sel, cur, services = 0;

	if (guestfs_hivex_open(g, hive, -1) < 0) {
		note(w, g, hive, "cannot open the SYSTEM hive", true);
		return;
	}
	sel = node_at(g, "Select");
	cur = sel > 0 ? dword_value(g, sel, "Current") : -1;
	if (cur < 0 || cur > 999) {
		note(w, g, hive, "no control set (Select\\Current)",
		     sel < 0);
	} else {
		snprintf(w->control_set, sizeof(w->control_set),
			 "ControlSet%03d", (int)cur);
		snprintf(path, sizeof(path), "%s\\Services", w->control_set);
		services = node_at(g, path);
		if (services <= 0) {
			note(w, g, hive, "no Services key in the control"
			     " set", services < 0);
			w->control_set[0] = 0;
		}
	}
	for (int i = 0; i < VMC_WIN_DRIVERS && services > 0; i++)
		driver(g, services, &w->drivers[i]);
	guestfs_hivex_close(g);
}

/* Whether each driver's file is on the disk (the hive is closed). */
static void files(guestfs_h *g, struct vmc_windows *w)
{
	for (int i = 0; i < VMC_WIN_DRIVERS; i++) {
		struct vmc_windriver *d = &w->drivers[i];
		char *p;

		if (!d->service)
			continue;
		sys_path(w->systemroot, d->image_path, d->name, d->file,
			 sizeof(d->file));
		p = guestfs_case_sensitive_path(g, d->file);
		d->file_present = p && vmc_gfs_is_file(g, p);
		if (p)
			snprintf(d->file, sizeof(d->file), "%s", p);
		free(p);
	}
}

/* The guest path of hive name under the system root (NULL if absent). */
static char *hive_path(guestfs_h *g, const char *sysroot, const char *name)
{
	char p[VMC_STR + 32];
	char *r;

	snprintf(p, sizeof(p), "%s/System32/config/%s", sysroot, name);
	r = guestfs_case_sensitive_path(g, p);
	if (r && !vmc_gfs_is_file(g, r)) {
		free(r);
		r = NULL;
	}
	return r;
}

void vmc_inspect_windows(guestfs_h *g, const char *root,
			 struct vmc_guest *gu)
{
	struct vmc_windows *w = &gu->win;
	char *sr = root ? guestfs_inspect_get_windows_systemroot(g, root) :
		   NULL;
	char *sw, *sy;

	w->major = w->minor = -1;
	for (int i = 0; i < VMC_WIN_DRIVERS; i++) {
		snprintf(w->drivers[i].name, sizeof(w->drivers[i].name), "%s",
			 vmc_windrivers[i]);
		w->drivers[i].start = -1;
	}
	if (sr || !w->systemroot[0])
		snprintf(w->systemroot, sizeof(w->systemroot), "%s",
			 sr ? sr : "/Windows");
	sw = hive_path(g, w->systemroot, "SOFTWARE");
	sy = hive_path(g, w->systemroot, "SYSTEM");
	if (!sw || !sy)
		note(w, g, w->systemroot, !sw ? "no System32/config/SOFTWARE"
		     " hive" : "no System32/config/SYSTEM hive", false);
	if (sw)
		software(g, sw, w);
	if (sy)
		system_hive(g, sy, w);
	files(g, w);
	free(sw);
	free(sy);
	free(sr);
}

/* What libguestfs's inspection looks for (daemon/inspect_fs_windows.ml,
 * is_systemroot): system32, system32/config and system32/cmd.exe. */
static bool systemroot_at(guestfs_h *g, const char *dir, char *out,
			  size_t len)
{
	char p[64];
	char *r = guestfs_case_sensitive_path(g, dir), *c;
	bool ok = false;

	if (!r)
		return false;
	snprintf(p, sizeof(p), "%s/system32/config", dir);
	c = guestfs_case_sensitive_path(g, p);
	ok = c && vmc_gfs_is_dir(g, c);
	free(c);
	snprintf(p, sizeof(p), "%s/system32/cmd.exe", dir);
	c = ok ? guestfs_case_sensitive_path(g, p) : NULL;
	ok = c && vmc_gfs_is_file(g, c);
	free(c);
	if (ok)
		snprintf(out, len, "%s", r);
	free(r);
	return ok;
}

/* The architecture of cmd.exe, as libguestfs's inspection finds it. */
static void arch(guestfs_h *g, struct vmc_guest *gu)
{
	char p[VMC_STR + 32];
	char *c, *a = NULL;

	snprintf(p, sizeof(p), "%s/system32/cmd.exe", gu->win.systemroot);
	c = guestfs_case_sensitive_path(g, p);
	if (c)
		a = guestfs_file_architecture(g, c);
	snprintf(gu->id.arch, sizeof(gu->id.arch), "%s", a ? a : "");
	free(a);
	free(c);
}

bool vmc_windows_find(guestfs_h *g, struct vmc_guest *gu)
{
	char **fs;
	bool found = false;

	/* The failed inspection can leave the file system it gave up on
	 * mounted. */
	guestfs_umount_all(g);
	fs = guestfs_list_filesystems(g);

	for (size_t i = 0; fs && fs[i] && fs[i + 1] && !found; i += 2) {
		if (guestfs_mount_ro(g, fs[i], "/") < 0)
			continue;
		found = systemroot_at(g, "/windows", gu->win.systemroot,
				      sizeof(gu->win.systemroot)) ||
			systemroot_at(g, "/winnt", gu->win.systemroot,
				      sizeof(gu->win.systemroot));
		if (found) {
			arch(g, gu);
			snprintf(gu->id.root_fs, sizeof(gu->id.root_fs), "%s",
				 fs[i]);
			snprintf(gu->id.root_fstype, sizeof(gu->id.root_fstype),
				 "%s", fs[i + 1]);
		} else {
			guestfs_umount_all(g);
		}
	}
	vmc_gfs_free_strings(fs);
	return found;
}

const struct vmc_windriver *vmc_windows_driver(const struct vmc_windows *w,
					       const char *name)
{
	for (int i = 0; i < VMC_WIN_DRIVERS; i++)
		if (!strcmp(w->drivers[i].name, name))
			return &w->drivers[i];
	return NULL;
}

bool vmc_windriver_boots(const struct vmc_windriver *d)
{
	return d && d->service && d->file_present && d->start == 0;
}
