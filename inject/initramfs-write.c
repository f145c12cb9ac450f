/* Appending a newc archive to an initramfs.  See inject/initramfs-write.h.
 *
 * The kernel (init/initramfs.c) creates a directory entry with mkdir and
 * a file with open(O_TRUNC) after unlinking whatever of another type has
 * the name; it does not create missing parent directories.  So each new
 * file's path is first resolved through the initramfs's own symbolic
 * links (usrmerged initramfs-tools images have lib -> usr/lib), and every
 * directory above it that the initramfs lacks is added before it.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject/initramfs-write.h"

#define NAME_MAX_LEN 4096
#define MAX_HOPS 40

struct ent {
	char *name;		/* without "./" */
	uint32_t mode;
	char *link;		/* a symlink's target */
};

struct index {
	struct ent *v;
	size_t n, cap;
};

static struct ent *find(const struct index *x, const char *name)
{
	for (size_t i = x->n; i-- > 0;)
		if (!strcmp(x->v[i].name, name))
			return &x->v[i];
	return NULL;
}

static int put(struct index *x, const char *name, uint32_t mode,
	       const uint8_t *link, uint64_t llen)
{
	struct ent *e = find(x, name);

	if (!e) {
		if (x->n == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 256;
			struct ent *v = realloc(x->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			x->v = v;
			x->cap = cap;
		}
		e = &x->v[x->n++];
		*e = (struct ent){ strdup(name), 0, NULL };
		if (!e->name)
			return -ENOMEM;
	}
	e->mode = mode;
	free(e->link);
	e->link = NULL;
	if (S_ISLNK(mode) && llen < NAME_MAX_LEN) {
		e->link = strndup((const char *)link, (size_t)llen);
		if (!e->link)
			return -ENOMEM;
	}
	return 0;
}

static int index_one(void *ctx, const struct vmc_cpio_entry *e)
{
	const char *n = vmc_cpio_name(e->name);

	return *n ? put(ctx, n, e->mode, e->data, e->size) : 0;
}

static void index_free(struct index *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].link);
	}
	free(x->v);
}

/* path with the links of x followed, into out (NAME_MAX_LEN bytes). */
static int resolve(const struct index *x, const char *path, char *out)
{
	char rest[NAME_MAX_LEN], next[NAME_MAX_LEN], cand[NAME_MAX_LEN];
	int hops = 0;

	snprintf(rest, sizeof(rest), "%s", path);
	out[0] = 0;
	while (rest[0]) {
		char *slash = strchr(rest, '/');
		const char *more = slash ? slash + 1 : "";
		const struct ent *e;

		if (slash)
			*slash = 0;
		if (!rest[0] || !strcmp(rest, ".")) {
			memmove(rest, more, strlen(more) + 1);
			continue;
		}
		if (!strcmp(rest, "..")) {
			char *s = strrchr(out, '/');

			*(s ? s : out) = 0;
			memmove(rest, more, strlen(more) + 1);
			continue;
		}
		if (snprintf(cand, sizeof(cand), "%s%s%s", out,
			     out[0] ? "/" : "", rest) >= (int)sizeof(cand))
			return -1;
		e = find(x, cand);
		if (e && e->link) {
			if (++hops > MAX_HOPS ||
			    snprintf(next, sizeof(next), "%s/%s", e->link,
				     more) >= (int)sizeof(next))
				return -1;
			if (e->link[0] == '/')
				out[0] = 0;
			memcpy(rest, next, sizeof(rest));
			continue;
		}
		memcpy(out, cand, sizeof(cand));
		memmove(rest, more, strlen(more) + 1);
	}
	return out[0] ? 0 : -1;
}

int vmc_initramfs_can_append(const struct vmc_initramfs *ir,
			     struct vmc_error *err)
{
	switch (ir->filter) {
	case ARCHIVE_FILTER_NONE:
	case ARCHIVE_FILTER_GZIP:
	case ARCHIVE_FILTER_BZIP2:
	case ARCHIVE_FILTER_ZSTD:
		return 0;
	}
	return vmc_error_set(err, ENOTSUP, "%s: its main archive is %s"
			     " compressed: the direct rewrite writes gzip,"
			     " zstd, bzip2 or uncompressed archives only",
			     ir->path, ir->filter_name);
}

static int entry(struct archive *a, const char *name, uint32_t mode,
		 const uint8_t *data, size_t len, int64_t ino)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return ARCHIVE_FATAL;
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, mode);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
	archive_entry_set_ino64(e, ino);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && len &&
	    archive_write_data(a, data, len) != (la_ssize_t)len)
		r = ARCHIVE_FATAL;
	archive_entry_free(e);
	return r;
}

/* The directories above path that the initramfs lacks, then the file. */
static int add_file(struct archive *a, struct index *x,
		    const struct vmc_initramfs_file *f, int64_t *ino,
		    const char *what, struct vmc_error *err)
{
	char p[NAME_MAX_LEN];
	const struct ent *e;

	if (resolve(x, f->path, p) < 0)
		return vmc_error_set(err, EINVAL, "%s: %s: its path cannot be"
				     " followed through the initramfs's"
				     " links", what, f->path);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		e = find(x, p);
		if (e && !S_ISDIR(e->mode)) {
			vmc_error_set(err, EEXIST, "%s: %s is not a directory"
				      " in the initramfs", what, p);
			return -1;
		}
		if (!e && (put(x, p, S_IFDIR | 0755, NULL, 0) < 0 ||
			   entry(a, p, S_IFDIR | 0755, NULL, 0, (*ino)++)))
			goto fail;
		*s = '/';
	}
	e = find(x, p);
	if (e && S_ISDIR(e->mode))
		return vmc_error_set(err, EEXIST, "%s: %s is a directory in"
				     " the initramfs", what, p);
	if (put(x, p, S_IFREG | 0644, NULL, 0) < 0 ||
	    entry(a, p, S_IFREG | 0644, f->data, f->len, (*ino)++))
		goto fail;
	return 0;
fail:
	return vmc_error_set(err, EIO, "%s: writing %s: %s", what, p,
			     archive_error_string(a) ? archive_error_string(a)
			     : "out of memory");
}

static int write_all(int fd, const uint8_t *b, uint64_t len)
{
	while (len) {
		ssize_t n = write(fd, b, len > (1 << 30) ? 1 << 30 : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int append(const struct vmc_initramfs *ir, struct index *x,
		  const struct vmc_initramfs_file *f, size_t n, int fd,
		  const char *out, struct vmc_error *err)
{
	struct archive *a = archive_write_new();
	int64_t ino = 0x7f000000;
	int ret = -1;

	if (!a)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    (ir->filter != ARCHIVE_FILTER_NONE &&
	     archive_write_add_filter(a, ir->filter) != ARCHIVE_OK) ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s archive: %s", out,
			      ir->filter_name, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (add_file(a, x, &f[i], &ino, out, err) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s", out, archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	return ret;
}

int vmc_initramfs_append(const struct vmc_initramfs *ir,
			 const struct vmc_initramfs_file *f, size_t n,
			 const char *out, struct vmc_error *err)
{
	struct index x = { 0 };
	int fd = -1, ret = -1, r;

	if (vmc_initramfs_can_append(ir, err) < 0)
		return -1;
	r = vmc_initramfs_walk(ir, index_one, &x, err);
	if (r) {
		if (r == -ENOMEM)
			vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		vmc_error_errno(err, errno, "%s", out);
		goto out;
	}
	if (write_all(fd, ir->buf, ir->len) < 0) {
		vmc_error_errno(err, errno ? errno : EIO, "%s: write", out);
		goto out;
	}
	ret = append(ir, &x, f, n, fd, out, err);
out:
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = vmc_error_errno(err, errno, "%s: close", out);
	if (ret < 0 && fd >= 0)
		unlink(out);
	index_free(&x);
	return ret;
}

struct getter {
	const char *name;
	const uint8_t *data;
	uint64_t len;
	bool found;
};

static int get_one(void *ctx, const struct vmc_cpio_entry *e)
{
	struct getter *g = ctx;

	if (!strcmp(vmc_cpio_name(e->name), g->name) && S_ISREG(e->mode)) {
		g->data = e->data;
		g->len = e->size;
		g->found = true;
	}
	return 0;
}

uint8_t *vmc_initramfs_get(const struct vmc_initramfs *ir, const char *name,
			   size_t *len, struct vmc_error *err)
{
	struct getter g = { vmc_cpio_name(name), NULL, 0, false };
	uint8_t *copy;

	if (vmc_initramfs_walk(ir, get_one, &g, err) || !g.found)
		return NULL;
	copy = malloc(g.len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, g.data, g.len);
	copy[g.len] = 0;
	*len = g.len;
	return copy;
}
