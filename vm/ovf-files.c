/* The files an OVF References section names, DSP0243 section 7.2 and
 * 7.3: a plain file, a file split into chunks named HREF.000000000,
 * HREF.000000001, ... (ovf:chunkSize), and a gzip-compressed file
 * (ovf:compression="gzip", compressed before it was chunked).  Joined or
 * inflated copies go into vmconv's scratch folder, never beside the
 * user's files, and never grow past the limit the disk's capacity sets.
 * Files are opened with vmc_confine_open and read with vmc_file_pread,
 * so an OVA member (a file window, common/window.h) is read where it
 * lies, the same way as a loose file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <vmconv/driver.h>
#include <vmconv/io.h>

#include "vm/ovf.h"

#define BUF (1u << 20)
#define MAX_CHUNKS 100000u

static int open_member(struct vmc_ovf_ctx *c, const char *path,
		       const char *href, bool missing_ok)
{
	struct vmc_error e = { 0 };
	int fd = vmc_confine_open(path, O_RDONLY, false, &e);

	if (fd >= 0)
		return fd;
	/* ENOTDIR: "OVA/NAME" that is no member of the OVA */
	if ((e.code == ENOENT || e.code == ENOTDIR) && missing_ok)
		return -2;
	if (e.code == ENOENT || e.code == ENOTDIR)
		return vmc_error_set(c->err, ENOENT, "%s: References file"
				     " '%s' is missing from the package",
				     c->name, href);
	return vmc_error_set(c->err, e.code, "%s: References file '%s': %s",
			     c->name, href, e.msg);
}

static const char *work_dir(struct vmc_ovf_ctx *c)
{
	if (c->scratch)
		return c->scratch;
	if (!c->vm->tmpdir) {
		c->vm->tmpdir = vmc_scratch_new(c->tmp_parent ? c->tmp_parent :
						c->pkg_dir, "ovf", c->err);
		if (!c->vm->tmpdir)
			vmc_error_prefix(c->err, "%s", c->name);
	}
	return c->vm->tmpdir;
}

static int copy_fd(struct vmc_ovf_ctx *c, int in, int out, char *buf,
		   uint64_t *total, uint64_t limit, const char *href)
{
	uint64_t pos = 0;
	ssize_t r;

	while ((r = vmc_file_pread(in, buf, BUF, pos)) > 0) {
		pos += (uint64_t)r;
		*total += (uint64_t)r;
		if (*total > limit)
			return vmc_error_set(c->err, EFBIG, "%s: chunks of '%s'"
					     " add up to more than %llu bytes",
					     c->name, href,
					     (unsigned long long)limit);
		if (write(out, buf, (size_t)r) != r)
			return vmc_error_errno(c->err, errno, "%s: writing the"
					       " joined '%s'", c->name, href);
	}
	return r < 0 ? vmc_error_errno(c->err, errno, "%s: reading '%s'",
				       c->name, href) : 0;
}

/* HREF.000000000 ... joined into out. */
static int join_chunks(struct vmc_ovf_ctx *c, struct vmc_ovf_file *f,
		       int out, char *buf, uint64_t limit)
{
	uint64_t total = 0;
	unsigned k;

	for (k = 0; k < MAX_CHUNKS; k++) {
		char *p;
		int fd, r;

		if (asprintf(&p, "%s/%s.%09u", c->pkg_dir, f->href, k) < 0)
			return vmc_error_set(c->err, ENOMEM, "out of memory");
		fd = open_member(c, p, f->href, k > 0);
		free(p);
		if (fd == -2)
			break;
		if (fd < 0)
			return -1;
		r = copy_fd(c, fd, out, buf, &total, limit, f->href);
		vmc_file_close(fd);
		if (r < 0)
			return -1;
	}
	if (k == MAX_CHUNKS)
		return vmc_error_set(c->err, EINVAL, "%s: '%s' has more than"
				     " %u chunks", c->name, f->href,
				     MAX_CHUNKS);
	return lseek(out, 0, SEEK_SET) < 0 ? -1 : 0;
}

static int gunzip(struct vmc_ovf_ctx *c, struct vmc_ovf_file *f, int in,
		  int out, char *buf, uint64_t limit)
{
	unsigned char *ob = (unsigned char *)buf + BUF / 2;
	z_stream z = { 0 };
	uint64_t total = 0;
	int zr = Z_OK, r = -1;
	uint64_t pos = 0;
	ssize_t n;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return vmc_error_set(c->err, ENOMEM, "out of memory");
	while ((n = vmc_file_pread(in, buf, BUF / 2, pos)) > 0) {
		pos += (uint64_t)n;
		z.next_in = (unsigned char *)buf;
		z.avail_in = (unsigned)n;
		while (z.avail_in) {
			if (zr == Z_STREAM_END)
				inflateReset(&z);	/* next member */
			z.next_out = ob;
			z.avail_out = BUF / 2;
			zr = inflate(&z, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END &&
			    zr != Z_BUF_ERROR) {
				vmc_error_set(c->err, EINVAL, "%s: '%s' is not"
					      " valid gzip data (offset %lu of"
					      " the compressed file): %s",
					      c->name, f->href, z.total_in,
					      z.msg ? z.msg : "inflate error");
				goto out;
			}
			total += BUF / 2 - z.avail_out;
			if (total > limit) {
				vmc_error_set(c->err, EFBIG, "%s: '%s' inflates"
					      " to more than %llu bytes (its"
					      " disk's capacity, or what"
					      " deflate can expand to)",
					      c->name, f->href,
					      (unsigned long long)limit);
				goto out;
			}
			if (write(out, ob, BUF / 2 - z.avail_out) !=
			    (ssize_t)(BUF / 2 - z.avail_out)) {
				vmc_error_errno(c->err, errno, "%s: writing"
						" the inflated '%s'", c->name,
						f->href);
				goto out;
			}
			if (zr == Z_BUF_ERROR && z.avail_in == 0)
				break;
		}
	}
	if (n < 0 || zr != Z_STREAM_END)
		vmc_error_set(c->err, EINVAL, "%s: '%s': gzip data ends early",
			      c->name, f->href);
	else
		r = 0;
out:
	inflateEnd(&z);
	return r;
}

static int new_file(struct vmc_ovf_ctx *c, const char *dir, const char *href,
		    const char *suffix, char **path)
{
	int fd;

	if (asprintf(path, "%s/%s%s", dir, href, suffix) < 0) {
		*path = NULL;
		return vmc_error_set(c->err, ENOMEM, "out of memory");
	}
	fd = open(*path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		vmc_error_errno(c->err, errno, "%s: creating %s", c->name,
				*path);
		free(*path);
		*path = NULL;
	}
	return fd;
}

char *vmc_ovf_file_path(struct vmc_ovf_ctx *c, struct vmc_ovf_file *f,
			uint64_t limit)
{
	bool gz = f->compression && !strcmp(f->compression, "gzip");
	struct stat st;
	const char *dir;
	char *path = NULL, *jpath = NULL, *buf = NULL;
	int in = -1, out = -1, ok = -1;

	if (!gz && !f->chunk) {
		if (asprintf(&path, "%s/%s", c->pkg_dir, f->href) < 0)
			return NULL;
		in = open_member(c, path, f->href, false);
		if (in < 0) {
			free(path);
			return NULL;
		}
		vmc_file_close(in);
		return path;
	}
	dir = work_dir(c);
	buf = malloc(BUF);
	if (!dir || !buf)
		goto out;
	if (f->chunk) {
		in = new_file(c, dir, f->href, ".joined", &jpath);
		if (in < 0 || join_chunks(c, f, in, buf, limit) < 0)
			goto out;
	} else {
		if (asprintf(&jpath, "%s/%s", c->pkg_dir, f->href) < 0)
			goto out;
		in = open_member(c, jpath, f->href, false);
		free(jpath);
		jpath = NULL;
		if (in < 0)
			goto out;
	}
	if (!gz) {
		path = jpath;
		jpath = NULL;
		ok = 0;
		goto out;
	}
	/* deflate expands at most 1032:1: a physical bound besides the
	 * capacity the (untrusted) descriptor states */
	if (vmc_file_fstat(in, &st) == 0 &&
	    (uint64_t)st.st_size < limit / 1032)
		limit = (uint64_t)st.st_size * 1032 + 4096;
	out = new_file(c, dir, f->href, ".gunzipped", &path);
	if (out >= 0)
		ok = gunzip(c, f, in, out, buf, limit);
out:
	if (in >= 0)
		vmc_file_close(in);
	if (out >= 0)
		close(out);
	if (jpath)
		unlink(jpath);
	free(jpath);
	free(buf);
	if (ok < 0) {
		if (path)
			unlink(path);
		free(path);
		return NULL;
	}
	return path;
}
