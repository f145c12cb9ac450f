/* OVA reader: DSP0243 section 5.3, a tar archive (ustar, pax) holding
 * the .ovf descriptor (first), the optional .mf manifest and .cert
 * certificate, and the files References names.  Members are streamed
 * with libarchive into a fresh scratch folder, their SHA-1 and SHA-256
 * computed on the way; the manifest is checked against those digests
 * before the descriptor is believed.  A loose .ovf (descriptor beside
 * its files) is read by vmc_ovf_read at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "vm/manifest.h"
#include "vm/ovf.h"

#define MAX_MEMBERS 1024
#define MAX_TEXT (16u << 20)	/* descriptor, manifest */

struct member {
	char *name;
	struct vmc_digests d;
};

struct ova {
	const char *path;
	char *dir;
	struct member m[MAX_MEMBERS];
	size_t n;
	int ovf, mf;		/* member indexes, -1 if none */
	struct vmc_error *err;
};

static int has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && !strcasecmp(name + n - e, ext);
}

static int extract_data(struct ova *o, struct archive *a, int fd,
			struct member *m)
{
	struct vmc_digester *g = vmc_digester_new();
	const void *buf;
	size_t len;
	la_int64_t off, pos = 0;
	int r;

	if (!g)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		if (off != pos) {	/* sparse tar member */
			vmc_digester_final(g, &m->d);
			return vmc_error_set(o->err, ENOTSUP, "%s: member '%s'"
					     " is a sparse tar file", o->path,
					     m->name);
		}
		vmc_digester_update(g, buf, len);
		if (write(fd, buf, len) != (ssize_t)len) {
			vmc_digester_final(g, &m->d);
			return vmc_error_errno(o->err, errno, "%s: writing"
					       " member '%s' to %s", o->path,
					       m->name, o->dir);
		}
		pos += (la_int64_t)len;
	}
	vmc_digester_final(g, &m->d);
	if (r != ARCHIVE_EOF)
		return vmc_error_set(o->err, EIO, "%s: member '%s': %s",
				     o->path, m->name,
				     archive_error_string(a));
	return 0;
}

static int extract_one(struct ova *o, struct archive *a,
		       struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	struct member *m;
	char *p;
	int fd, r;

	if (name && !strncmp(name, "./", 2))
		name += 2;
	if (!name || vmc_ovf_check_name(o->path, "tar member", name,
					o->err) < 0)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].name, name))
			return vmc_error_set(o->err, EINVAL, "%s: tar member"
					     " '%s' appears twice", o->path,
					     name);
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return vmc_error_set(o->err, EINVAL, "%s: tar member '%s' is"
				     " not a regular file", o->path, name);
	if (o->n == MAX_MEMBERS)
		return vmc_error_set(o->err, EINVAL, "%s: more than %d tar"
				     " members", o->path, MAX_MEMBERS);
	m = &o->m[o->n];
	if (!(m->name = strdup(name)) ||
	    asprintf(&p, "%s/%s", o->dir, name) < 0)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	o->n++;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	free(p);
	if (fd < 0)
		return vmc_error_errno(o->err, errno, "%s: member '%s'",
				       o->path, name);
	r = extract_data(o, a, fd, m);
	if (close(fd) < 0 && r == 0)
		r = vmc_error_errno(o->err, errno, "%s: member '%s'", o->path,
				    name);
	if (has_ext(name, ".ovf")) {
		if (o->ovf >= 0)
			return vmc_error_set(o->err, EINVAL, "%s: two OVF"
					     " descriptors ('%s', '%s')",
					     o->path, o->m[o->ovf].name, name);
		o->ovf = (int)(m - o->m);
	} else if (has_ext(name, ".mf")) {
		if (o->mf >= 0)
			return vmc_error_set(o->err, EINVAL, "%s: two"
					     " manifests", o->path);
		o->mf = (int)(m - o->m);
	}
	return r;
}

static int extract_all(struct ova *o)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = -1, ar;

	if (!a)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, o->path, 1 << 20) != ARCHIVE_OK) {
		vmc_error_set(o->err, EINVAL, "%s: not an OVA (tar) archive:"
			      " %s", o->path, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (extract_one(o, a, e) < 0)
			goto out;
	if (ar != ARCHIVE_EOF) {
		vmc_error_set(o->err, EINVAL, "%s: not an OVA (tar) archive"
			      " or damaged after member %zu: %s", o->path,
			      o->n, archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_read_free(a);
	return r;
}

static int member_digest(void *ctx, const char *name, struct vmc_digests *d,
			 struct vmc_error *err)
{
	struct ova *o = ctx;

	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].name, name)) {
			*d = o->m[i].d;
			return 0;
		}
	return vmc_error_set(err, ENOENT, "not in the archive");
}

/* A whole small file of the scratch folder into memory. */
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

static char *member_text(struct ova *o, int i, size_t *len)
{
	char *p, *t;

	if (asprintf(&p, "%s/%s", o->dir, o->m[i].name) < 0)
		return NULL;
	t = slurp(p, len, o->err);
	free(p);
	if (!t)
		vmc_error_prefix(o->err, "%s", o->path);
	return t;
}

static struct vmc_vm *ova_parse(struct ova *o)
{
	char *mft = NULL, *desc = NULL, *name = NULL;
	struct vmc_vm *vm = NULL;
	size_t len, checked = 0;

	if (o->ovf < 0) {
		vmc_error_set(o->err, EINVAL, "%s: no .ovf descriptor in the"
			      " archive", o->path);
		return NULL;
	}
	if (o->mf >= 0) {
		mft = member_text(o, o->mf, &len);
		if (!mft || asprintf(&name, "%s: %s", o->path,
				     o->m[o->mf].name) < 0 ||
		    vmc_manifest_check(mft, len, name, member_digest, o,
				       &checked, o->err) < 0)
			goto out;
		free(name);
		name = NULL;
	}
	desc = member_text(o, o->ovf, &len);
	if (!desc || asprintf(&name, "%s: %s", o->path,
			      o->m[o->ovf].name) < 0)
		goto out;
	vm = vmc_ovf_parse(desc, len, name, o->dir, true, o->err);
	if (!vm)
		goto out;
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
out:
	free(mft);
	free(desc);
	free(name);
	return vm;
}

static char *scratch_dir(const char *path, const char *parent,
			 struct vmc_error *err)
{
	char *copy = strdup(path), *t;

	if (!copy)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	t = vmc_scratch_new(parent ? parent : dirname(copy), "ova", err);
	if (!t)
		vmc_error_prefix(err, "%s", path);
	free(copy);
	return t;
}

struct vmc_vm *vmc_ova_read(const char *path, const char *tmp_parent,
			    struct vmc_error *err)
{
	struct ova *o = calloc(1, sizeof(*o));
	struct vmc_vm *vm = NULL;

	if (!o)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	o->path = path;
	o->err = err;
	o->ovf = o->mf = -1;
	o->dir = scratch_dir(path, tmp_parent, err);
	if (o->dir && extract_all(o) == 0)
		vm = ova_parse(o);
	if (vm) {
		free(vm->source_kind);
		vm->source_kind = strdup("ova");
		vm->tmpdir = o->dir;
	} else {
		vmc_scratch_remove(o->dir);
		free(o->dir);
	}
	for (size_t i = 0; i < o->n; i++)
		free(o->m[i].name);
	free(o);
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
	vm = vmc_ovf_parse(desc, len, path, pkg_dir, false, err);
	if (vm && mft)
		vmc_vm_add_note(vm, "manifest %s: %zu digests checked", mfp,
				checked);
out:
	free(desc);
	free(mft);
	free(mfp);
	return vm;
}
