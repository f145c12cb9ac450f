/* The virtio drivers into an initramfs without the guest's tool, for a
 * guest that has none (or whose tool failed): the modules (virtio_pci,
 * virtio_blk, virtio_scsi, virtio_net, the root file system's driver when
 * the initramfs lacks it, and what modules.dep says each needs) copied
 * from the guest's /lib/modules/VER as they are there (compressed or
 * not), its module indexes (modules.dep, .alias, ... and their .bin
 * forms, which kmod reads first), and what makes the initramfs load them:
 *
 *   initramfs-tools  conf/modules, which its init modprobes line by line
 *   dracut           etc/cmdline.d/ with rd.driver.pre=, which dracut
 *                    reads as part of the kernel command line
 *   both, and any    etc/modules-load.d/ (systemd-modules-load)
 *
 * all in one newc archive appended to the initramfs, compressed as its
 * main archive is (inject/initramfs-write.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/gfs.h"
#include "inject/initramfs-write.h"
#include "inject/inject.h"

#define MODFILE_MAX (64u << 20)

static const char *const indexes[] = {
	"modules.dep", "modules.dep.bin", "modules.alias",
	"modules.alias.bin", "modules.softdep", "modules.symbols",
	"modules.symbols.bin", "modules.builtin", "modules.builtin.bin",
	"modules.builtin.alias.bin", "modules.builtin.modinfo",
	"modules.order", "modules.devname", NULL,
};

struct files {
	struct vmc_initramfs_file *v;
	size_t n, cap;
	char names[1024];		/* the modules asked for, by name */
	size_t nmods;			/* module files, dependencies too */
};

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].data);
	}
	free(f->v);
}

/* Add a file with its content (taken over). */
static int add(struct files *f, const char *path, uint8_t *data, size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].path, path)) {
			free(data);
			return 0;
		}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct vmc_initramfs_file *v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			goto nomem;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n].path = strdup(path);
	if (!f->v[f->n].path)
		goto nomem;
	f->v[f->n].data = data;
	f->v[f->n++].len = len;
	return 0;
nomem:
	free(data);
	return -1;
}

/* A file of the guest's /lib/modules/VER into the list. */
static int guest_file(guestfs_h *g, struct files *f, const char *ver,
		      const char *rel, bool must, const char *image,
		      struct vmc_error *err)
{
	char gpath[1024], ipath[1024];
	int64_t sz;
	size_t len;
	char *data;

	snprintf(gpath, sizeof(gpath), "/lib/modules/%s/%s", ver, rel);
	snprintf(ipath, sizeof(ipath), "lib/modules/%s/%s", ver, rel);
	if (!vmc_gfs_is_file(g, gpath))
		return must ? vmc_error_set(err, ENOENT, "%s: %s is named in"
					    " modules.dep but missing", image,
					    gpath) : 0;
	sz = guestfs_filesize(g, gpath);
	if (sz < 0 || sz > MODFILE_MAX)
		return vmc_error_set(err, EFBIG, "%s: %s: unreadable or larger"
				     " than %u MiB", image, gpath,
				     MODFILE_MAX >> 20);
	data = guestfs_read_file(g, gpath, &len);
	if (!data)
		return vmc_gfs_error(g, err, image, gpath);
	if (add(f, ipath, (uint8_t *)data, len) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* The line of modules.dep for module name ("" when none). */
static char *dep_line(char *dep, const char *name)
{
	for (char *l = dep; l && *l;) {
		char *nl = strchr(l, '\n'), *colon = strchr(l, ':'), m[256];

		if (colon && (!nl || colon < nl)) {
			char first[1024];

			snprintf(first, sizeof(first), "%.*s", (int)(colon - l),
				 l);
			if (vmc_module_name(first, m, sizeof(m)) &&
			    !strcmp(m, name))
				return l;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* One module and its dependencies (modules.dep lists them all). */
static int one_module(guestfs_h *g, struct files *f, char *dep,
		      const struct vmc_kernel *k, const char *name,
		      const char *image, struct vmc_error *err)
{
	char *l = dep_line(dep, name), line[8192], *tok, *save = NULL;
	size_t used = strlen(f->names);

	if (vmc_modset_has(&k->builtin, name))
		return 0;
	if (!l)
		return vmc_error_set(err, ENOENT, "%s: kernel %s: %s is in"
				     " neither modules.dep nor modules.builtin",
				     image, k->version, name);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
	for (tok = strtok_r(line, ": \t", &save); tok;
	     tok = strtok_r(NULL, ": \t", &save)) {
		size_t before = f->n;

		if (strstr(tok, "..") || tok[0] == '/')
			return vmc_error_set(err, EINVAL, "%s: kernel %s:"
					     " modules.dep names %s", image,
					     k->version, tok);
		if (guest_file(g, f, k->version, tok, true, image, err) < 0)
			return -1;
		f->nmods += f->n - before;
	}
	snprintf(f->names + used, sizeof(f->names) - used, "%s%s",
		 used ? " " : "", name);
	return 0;
}

static int modules(guestfs_h *g, const struct vmc_guest *gu,
		   const struct vmc_kernel *k, struct files *f,
		   const char *image, struct vmc_error *err)
{
	const char *fs = vmc_guest_root_module(gu);
	char path[512], *dep;
	int ret = 0;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep",
		 k->version);
	dep = vmc_gfs_read(g, path, 16 << 20);
	if (!dep)
		return vmc_error_set(err, ENOENT, "%s: %s: missing or larger"
				     " than 16 MiB", image, path);
	for (int i = 0; vmc_virtio_modules[i] && !ret; i++)
		ret = one_module(g, f, dep, k, vmc_virtio_modules[i], image,
				 err);
	if (!ret && *fs && !vmc_kernel_has(k, fs))
		ret = one_module(g, f, dep, k, fs, image, err);
	for (int i = 0; indexes[i] && !ret; i++)
		ret = guest_file(g, f, k->version, indexes[i], false, image,
				 err);
	free(dep);
	return ret;
}

struct has {
	const char *const *names;
	bool found;
};

static int has_one(void *ctx, const struct vmc_cpio_entry *e)
{
	struct has *h = ctx;

	for (int i = 0; h->names[i]; i++)
		if (!strcmp(vmc_cpio_name(e->name), h->names[i]))
			h->found = true;
	return 0;
}

static bool has(const struct vmc_initramfs *ir, const char *const *names)
{
	struct has h = { names, false };
	struct vmc_error err;

	return vmc_initramfs_walk(ir, has_one, &h, &err) == 0 && h.found;
}

static int text(struct files *f, const char *path, const char *s)
{
	char *d = strdup(s);

	return d ? add(f, path, (uint8_t *)d, strlen(d)) : -1;
}

/* Whether a line of t starts with the word name. */
static bool listed(const char *t, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = t; l && *l; l = strchr(l, '\n'), l = l ? l + 1 :
	     NULL)
		if (!strncmp(l, name, n) && (l[n] == '\n' || l[n] == ' ' ||
					     l[n] == 0))
			return true;
	return false;
}

/* conf/modules with the names it does not list yet. */
static int conf_modules(const struct vmc_initramfs *ir, struct files *f)
{
	struct vmc_error err;
	size_t len = 0, cap;
	char *old = (char *)vmc_initramfs_get(ir, "conf/modules", &len, &err);
	char *nt, names[1024], *tok, *save = NULL;
	int r;

	cap = len + sizeof(f->names) + 64;
	nt = malloc(cap);
	if (!nt) {
		free(old);
		return -1;
	}
	snprintf(nt, cap, "%s%s", old ? old : "",
		 len && old[len - 1] != '\n' ? "\n" : "");
	snprintf(names, sizeof(names), "%s", f->names);
	for (tok = strtok_r(names, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!listed(nt, tok))
			snprintf(nt + strlen(nt), cap - strlen(nt), "%s\n",
				 tok);
	}
	free(old);
	r = add(f, "conf/modules", (uint8_t *)nt, strlen(nt));
	return r;
}

/* What makes the initramfs load the modules; *kind names it. */
static int loader(const struct vmc_initramfs *ir, struct files *f,
		  const char **kind)
{
	static const char *const itools[] = { "conf/modules",
		"scripts/init-top", "conf/initramfs.conf", NULL };
	static const char *const dracut[] = { "usr/lib/dracut",
		"lib/dracut", "dracut-state.sh", NULL };
	char pre[1100], load[1100];
	int r = 0;

	snprintf(pre, sizeof(pre), "rd.driver.pre=%s\n", f->names);
	for (char *c = pre + 14; *c; c++)
		if (*c == ' ')
			*c = ',';
	snprintf(load, sizeof(load), "%s\n", f->names);
	for (char *c = load; *c; c++)
		if (*c == ' ')
			*c = '\n';
	*kind = "unknown";
	if (has(ir, itools)) {
		*kind = "initramfs-tools";
		r = conf_modules(ir, f);
	} else if (has(ir, dracut)) {
		*kind = "dracut";
		r = text(f, "etc/cmdline.d/50-vmconv-virtio.conf", pre);
	}
	return r ? r : text(f, "etc/modules-load.d/50-vmconv-virtio.conf",
			    load);
}

/* Upload the new initramfs beside the old one, then over it. */
static int put_back(guestfs_h *g, const char *local, const char *initrd,
		    const char *image, struct vmc_error *err)
{
	char tmp[VMC_STR + 32];

	snprintf(tmp, sizeof(tmp), "%s.vmconv-new", initrd);
	if (guestfs_upload(g, local, tmp) < 0 ||
	    guestfs_mv(g, tmp, initrd) < 0)
		return vmc_gfs_error(g, err, image, initrd);
	return 0;
}

static int rewrite(guestfs_h *g, const struct vmc_guest *gu,
		   const struct vmc_kernel *k, const char *dir,
		   struct files *f, struct vmc_initramfs *ir, bool dry_run,
		   const char **kind, const char *image,
		   struct vmc_error *err)
{
	char local[4200], out[4200];

	snprintf(local, sizeof(local), "%s/initrd", dir);
	snprintf(out, sizeof(out), "%s/initrd.new", dir);
	if (guestfs_download(g, k->initrd, local) < 0)
		return vmc_gfs_error(g, err, image, k->initrd);
	if (vmc_initramfs_load(local, ir, err) < 0 ||
	    vmc_initramfs_can_append(ir, err) < 0 ||
	    modules(g, gu, k, f, image, err) < 0)
		goto fail;
	if (loader(ir, f, kind) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_initramfs_append(ir, f->v, f->n, out, err) < 0)
		goto fail;
	if (!dry_run && put_back(g, out, k->initrd, image, err) < 0)
		return -1;
	return 0;
fail:
	vmc_error_prefix(err, "%s: %s (the guest's %s)", image, k->initrd,
			 k->version);
	return -1;
}

/* Rewrite kernel k's initramfs; the change says why and what. */
static int one_kernel(guestfs_h *g, const struct vmc_guest *gu,
		      const struct vmc_kernel *k, const char *why,
		      bool dry_run, struct vmc_plan *plan, const char *image,
		      struct vmc_error *err)
{
	const char *tmp = getenv("TMPDIR"), *kind = "unknown";
	struct vmc_initramfs ir = { 0 };
	struct files f = { 0 };
	char dir[4096], before[256], after[2048];
	int ret;

	snprintf(dir, sizeof(dir), "%.1900s/vmconv-initrd.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return vmc_error_errno(err, errno, "%s", dir);
	ret = rewrite(g, gu, k, dir, &f, &ir, dry_run, &kind, image, err);
	if (ret == 0) {
		snprintf(before, sizeof(before), "%llu bytes, %s, built by"
			 " %s", (unsigned long long)ir.len, ir.filter_name,
			 kind);
		char missing[64];

		snprintf(missing, sizeof(missing), "%s missing",
			 !strcmp(kind, "initramfs-tools") ? "update-initramfs"
			 : !strcmp(kind, "dracut") ? "dracut" :
			 "an initramfs tool");
		snprintf(after, sizeof(after), "%sinitrd rewritten directly:"
			 " %s; appended a %s cpio archive with %s (%zu module"
			 " files with their dependencies, the module indexes)"
			 " and what loads them at boot (%s)",
			 dry_run ? "(planned) " : "", why ? why : missing,
			 ir.filter_name,
			 f.names, f.nmods, !strcmp(kind, "initramfs-tools") ?
			 "conf/modules" : !strcmp(kind, "dracut") ?
			 "rd.driver.pre in etc/cmdline.d" :
			 "etc/modules-load.d");
		if (vmc_plan_add_method(plan, k->initrd, before, after,
					"direct") < 0)
			ret = vmc_error_set(err, ENOMEM, "out of memory");
		if (!strcmp(kind, "unknown"))
			vmc_plan_note(plan, "%s: not built by initramfs-tools"
				      " or dracut: only systemd-modules-load"
				      " and udev will load the modules",
				      k->initrd);
	}
	vmc_initramfs_free(&ir);
	files_free(&f);
	snprintf(after, sizeof(after), "%.2000s/initrd", dir);
	unlink(after);
	snprintf(after, sizeof(after), "%.2000s/initrd.new", dir);
	unlink(after);
	if (rmdir(dir) < 0 && ret == 0)
		ret = vmc_error_errno(err, errno, "%s: cannot remove", dir);
	return ret;
}

int vmc_inject_initramfs_direct(guestfs_h *g, const struct vmc_guest *gu,
				const char *why, bool dry_run,
				struct vmc_plan *plan, const char *image,
				struct vmc_error *err)
{
	for (int i = 0; i < gu->nkernels; i++) {
		const struct vmc_kernel *k = &gu->kernels[i];

		if (!vmc_inject_kernel_needs(gu, k))
			continue;
		if (one_kernel(g, gu, k, why, dry_run, plan, image, err) < 0)
			return -1;
	}
	return 0;
}
