/* OVA reader: DSP0243 section 5.3, a tar archive (ustar, pax) holding
 * the .ovf descriptor (first), the optional .mf manifest and .cert
 * certificate, and the files References names.  The archive is not
 * unpacked: ova-members.c names each member as a file window over the
 * OVA, so the disk drivers read a disk stored plainly where it lies; only
 * gzip-compressed or chunked files are streamed into a scratch folder
 * (ovf-files.c).  The manifest is checked against digests of the members'
 * bytes (a read pass over each, where it lies) before the descriptor is
 * believed and before anything is written.  A loose .ovf (descriptor
 * beside its files) is read by vmc_ovf_read at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/window.h"
#include "vm/manifest.h"
#include "vm/ova.h"
#include "vm/ovf.h"

#define MAX_TEXT VMC_OVA_MAX_TEXT

static int has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && !strcasecmp(name + n - e, ext);
}

static int member_digest(void *ctx, const char *name, struct vmc_digests *d,
			 struct vmc_error *err)
{
	struct vmc_ova *o = ctx;

	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->m[i].name, name))
			continue;
		if (vmc_ova_member_digest(o, &o->m[i]) < 0) {
			if (err != o->err)
				*err = *o->err;
			return -1;
		}
		*d = o->m[i].d;
		return 0;
	}
	return vmc_error_set(err, ENOENT, "not in the archive");
}

/* A whole small file into memory. */
static char *slurp(const char *path, size_t *len, struct vmc_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return vmc_error_errno(err, errno, "%s", path), NULL;
	buf = malloc(MAX_TEXT + 1);
	*len = buf ? fread(buf, 1, MAX_TEXT + 1, f) : 0;
	fclose(f);
	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	if (*len > MAX_TEXT) {
		free(buf);
		return vmc_error_set(err, EFBIG, "%s: larger than %u bytes",
				     path, MAX_TEXT), NULL;
	}
	buf[*len] = 0;
	return buf;
}

/* The disk's member, if its file is one read through a window. */
static struct vmc_ova_member *disk_member(struct vmc_ova *o,
					  const struct vmc_vm_disk *d)
{
	size_t n = strlen(o->path);

	if (!d->path || strncmp(d->path, o->path, n) || d->path[n] != '/')
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].name, d->path + n + 1))
			return &o->m[i];
	return NULL;
}

/* Per disk: read where it lies in the OVA, or copied out of it. */
static void mark_disks(struct vmc_ova *o, struct vmc_vm *vm)
{
	for (size_t i = 0; i < vm->n_disks; i++) {
		struct vmc_vm_disk *d = &vm->disks[i];
		struct vmc_ova_member *m = disk_member(o, d);

		if (d->cdrom || !d->path)
			continue;
		d->origin = m && !m->extracted ? VMC_DISK_IN_PLACE :
			    VMC_DISK_EXTRACTED;
		d->member_offset = m ? m->off : 0;
		if (m && m->extracted)
			vmc_vm_add_note(vm, "member %s copied into a"
					" temporary folder: its data did not"
					" read back at offset %" PRIu64,
					m->name, m->off);
	}
}

static int check_manifest(struct vmc_ova *o, size_t *checked)
{
	struct vmc_ova_member *mf = &o->m[o->mf];
	char *name;
	int r;

	if (asprintf(&name, "%s: %s", o->path, mf->name) < 0)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	r = vmc_manifest_check(mf->text, mf->text_len, name, member_digest,
			       o, checked, o->err);
	free(name);
	return r;
}

static void add_notes(struct vmc_ova *o, struct vmc_vm *vm, size_t checked)
{
	if (o->ovf != 0)
		vmc_vm_add_note(vm, "the descriptor is not the archive's first"
				" member, as OVF requires");
	if (o->mf < 0)
		vmc_vm_add_note(vm, "no manifest: digests not checked");
	else
		vmc_vm_add_note(vm, "manifest %s: %zu digests checked",
				o->m[o->mf].name, checked);
	for (size_t i = 0; i < o->n; i++)
		if (has_ext(o->m[i].name, ".cert"))
			vmc_vm_add_note(vm, "certificate %s present, not"
					" verified", o->m[i].name);
}

static struct vmc_vm *ova_parse(struct vmc_ova *o)
{
	struct vmc_ova_member *ovf;
	struct vmc_vm *vm = NULL;
	char *name = NULL, *copy = NULL;
	size_t checked = 0;

	if (o->ovf < 0) {
		vmc_error_set(o->err, EINVAL, "%s: no .ovf descriptor in the"
			      " archive", o->path);
		return NULL;
	}
	if (o->mf >= 0 && check_manifest(o, &checked) < 0)
		return NULL;
	ovf = &o->m[o->ovf];
	copy = strdup(o->path);
	if (!copy || asprintf(&name, "%s: %s", o->path, ovf->name) < 0) {
		vmc_error_set(o->err, ENOMEM, "out of memory");
		goto out;
	}
	vm = vmc_ovf_parse(ovf->text, ovf->text_len, name, o->path, o->dir,
			   o->tmp_parent ? o->tmp_parent : dirname(copy),
			   o->err);
	if (vm) {
		add_notes(o, vm, checked);
		mark_disks(o, vm);
	}
out:
	free(copy);
	free(name);
	return vm;
}

static void ova_free(struct vmc_ova *o)
{
	if (o->fd >= 0)
		close(o->fd);
	for (size_t i = 0; i < o->n; i++) {
		free(o->m[i].name);
		free(o->m[i].text);
	}
	free(o);
}

struct vmc_vm *vmc_ova_read(const char *path, const char *tmp_parent,
			    struct vmc_error *err)
{
	struct vmc_ova *o = calloc(1, sizeof(*o));
	struct vmc_vm *vm = NULL;

	if (!o)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	o->path = path;
	o->tmp_parent = tmp_parent;
	o->err = err;
	o->fd = -1;
	o->ovf = o->mf = -1;
	o->owner = strdup(path);
	/* stale scratch folders of killed runs go even when this run
	 * needs none */
	if (o->owner)
		vmc_scratch_clean_stale(tmp_parent ? tmp_parent :
					dirname(o->owner));
	free(o->owner);
	o->owner = strdup(path);
	if (!o->owner)
		vmc_error_set(err, ENOMEM, "out of memory");
	else if (vmc_ova_members(o) == 0)
		vm = ova_parse(o);
	if (vm) {
		free(vm->source_kind);
		vm->source_kind = strdup("ova");
		if (o->dir) {	/* the OVF reader made none: it used ours */
			free(vm->tmpdir);
			vm->tmpdir = o->dir;
		}
		vm->windows = o->owner;
	} else {
		vmc_window_drop(o->owner);
		free(o->owner);
		vmc_scratch_remove(o->dir);
		free(o->dir);
	}
	ova_free(o);
	return vm;
}

static int file_digest(void *ctx, const char *name, struct vmc_digests *d,
		       struct vmc_error *err)
{
	char *p;
	int r;

	if (vmc_ovf_check_name("manifest", "file", name, err) < 0)
		return -1;
	if (asprintf(&p, "%s/%s", (const char *)ctx, name) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	r = vmc_digest_file(p, d, err);
	free(p);
	return r;
}

struct vmc_vm *vmc_ovf_read(const char *path, const char *pkg_dir,
			    struct vmc_error *err)
{
	char *desc, *mfp = NULL, *mft = NULL;
	struct vmc_vm *vm = NULL;
	size_t len, checked = 0;
	const char *dot = strrchr(path, '.');

	desc = slurp(path, &len, err);
	if (!desc)
		return NULL;
	if (dot && asprintf(&mfp, "%.*s.mf", (int)(dot - path), path) > 0 &&
	    access(mfp, F_OK) == 0) {
		mft = slurp(mfp, &len, err);
		if (!mft || vmc_manifest_check(mft, len, mfp, file_digest,
					       (void *)pkg_dir, &checked,
					       err) < 0)
			goto out;
		free(desc);
		desc = slurp(path, &len, err);
		if (!desc)
			goto out;
	}
	vm = vmc_ovf_parse(desc, len, path, pkg_dir, NULL, NULL, err);
	if (vm && mft)
		vmc_vm_add_note(vm, "manifest %s: %zu digests checked", mfp,
				checked);
out:
	free(desc);
	free(mft);
	free(mfp);
	return vm;
}
