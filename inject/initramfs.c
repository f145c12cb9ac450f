/* Reading an initramfs.  The kernel's format (Documentation/driver-api/
 * early-userspace/buffer-format.rst) is a sequence of cpio "newc"
 * archives, each compressed or not, padded with zeros between them.  The
 * uncompressed ones are walked here (110-byte ASCII headers, name and data
 * padded to 4 bytes); the rest of the file from the first compressed one
 * goes to libarchive, which decompresses gzip, xz, lzma, lz4, bzip2 and
 * zstd, concatenated streams included (an archive appended after the
 * first, as inject/initramfs-write.c does); the decompressed bytes are
 * newc archives again, walked the same way.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject/initramfs.h"

#define NEWC_HDR 110

static int hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t r = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		r = r << 4 | (uint32_t)d;
	}
	*v = r;
	return 0;
}

static uint64_t pad4(uint64_t x)
{
	return (x + 3) & ~(uint64_t)3;
}

const char *vmc_cpio_name(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	while (n[0] == '/')
		n++;
	return n;
}

/* One newc archive at *off of b (what names the buffer in errors);
 * *off moves past its trailer. */
static int walk_newc(const char *what, const uint8_t *b, uint64_t len,
		     uint64_t *off, vmc_cpio_fn fn, void *ctx,
		     struct vmc_error *err)
{
	for (;;) {
		uint64_t o = *off, name_end, data_end;
		uint32_t fsize, nsize, mode;
		struct vmc_cpio_entry e;
		char name[4096];
		int r;

		if (len - o < NEWC_HDR || memcmp(b + o, "07070", 5) ||
		    hex8(b + o + 14, &mode) < 0 ||
		    hex8(b + o + 54, &fsize) < 0 ||
		    hex8(b + o + 94, &nsize) < 0 || nsize == 0 ||
		    nsize > sizeof(name))
			return vmc_error_set(err, EINVAL, "%s: cpio header"
					     " damaged (offset 0x%llx)", what,
					     (unsigned long long)o);
		name_end = pad4(o + NEWC_HDR + nsize);
		data_end = pad4(name_end + fsize);
		if (o + NEWC_HDR + nsize > len || name_end + fsize > len)
			return vmc_error_set(err, EINVAL, "%s: cpio entry runs"
					     " past the end (offset 0x%llx)",
					     what, (unsigned long long)o);
		snprintf(name, sizeof(name), "%.*s", (int)nsize - 1,
			 (const char *)b + o + NEWC_HDR);
		*off = data_end > len ? len : data_end;
		if (!strcmp(name, "TRAILER!!!"))
			return 0;
		e = (struct vmc_cpio_entry){ name, mode, b + name_end, fsize };
		r = fn(ctx, &e);
		if (r)
			return r;
	}
}

/* Newc archives and zeros from *off on, up to the first byte that is
 * neither (the start of a compressed archive), or the end. */
static int walk_plain(const char *what, const uint8_t *b, uint64_t len,
		      uint64_t *off, vmc_cpio_fn fn, void *ctx,
		      struct vmc_error *err)
{
	while (*off < len) {
		int r;

		if (b[*off] == 0) {
			(*off)++;
			continue;
		}
		if (len - *off < 6 || memcmp(b + *off, "07070", 5))
			return 0;
		r = walk_newc(what, b, len, off, fn, ctx, err);
		if (r)
			return r;
	}
	return 0;
}

static uint8_t *slurp(const char *path, uint64_t *len, struct vmc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;

	if (fd < 0) {
		vmc_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > VMC_INITRAMFS_MAX) {
		vmc_error_set(err, EFBIG, "%s: not a regular file of at most"
			      " %llu MiB", path, VMC_INITRAMFS_MAX >> 20);
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n <= 0) {
			vmc_error_errno(err, n < 0 ? errno : EIO, "%s: read",
					path);
			free(b);
			b = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return b;
}

static int nothing(void *ctx, const struct vmc_cpio_entry *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

/* Decompress everything from comp_off (concatenated streams too) into
 * ir->plain, at most VMC_INITRAMFS_MAX bytes. */
static int decompress(struct vmc_initramfs *ir, struct vmc_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 1 << 20;
	int ret = -1;
	la_ssize_t n;

	ir->plain = malloc(cap);
	if (!a || !ir->plain) {
		ret = vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, ir->buf + ir->comp_off,
				     ir->len - ir->comp_off) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    archive_filter_count(a) < 2) {
		vmc_error_set(err, EINVAL, "%s: not an initramfs archive at"
			      " offset 0x%llx: %s", ir->path,
			      (unsigned long long)ir->comp_off,
			      archive_error_string(a) ? archive_error_string(a)
			      : "neither cpio nor a known compression");
		goto out;
	}
	ir->filter = archive_filter_code(a, 0);
	snprintf(ir->filter_name, sizeof(ir->filter_name), "%s",
		 archive_filter_name(a, 0));
	for (;;) {
		if (ir->plain_len == cap) {
			uint8_t *p;

			if (cap >= VMC_INITRAMFS_MAX) {
				vmc_error_set(err, EFBIG, "%s: more than %llu"
					      " MiB once decompressed",
					      ir->path,
					      VMC_INITRAMFS_MAX >> 20);
				goto out;
			}
			cap *= 2;
			p = realloc(ir->plain, cap);
			if (!p) {
				vmc_error_set(err, ENOMEM, "out of memory");
				goto out;
			}
			ir->plain = p;
		}
		n = archive_read_data(a, ir->plain + ir->plain_len,
				      cap - ir->plain_len);
		if (n == 0)
			break;
		if (n < 0) {
			vmc_error_set(err, EINVAL, "%s: %s data damaged after"
				      " %llu decompressed bytes: %s",
				      ir->path, ir->filter_name,
				      (unsigned long long)ir->plain_len,
				      archive_error_string(a));
			goto out;
		}
		ir->plain_len += (uint64_t)n;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

int vmc_initramfs_load(const char *path, struct vmc_initramfs *ir,
		       struct vmc_error *err)
{
	memset(ir, 0, sizeof(*ir));
	snprintf(ir->path, sizeof(ir->path), "%s", path);
	ir->filter = ARCHIVE_FILTER_NONE;
	snprintf(ir->filter_name, sizeof(ir->filter_name), "none");
	ir->buf = slurp(path, &ir->len, err);
	if (!ir->buf)
		return -1;
	if (walk_plain(path, ir->buf, ir->len, &ir->comp_off, nothing, NULL,
		       err) < 0 ||
	    (ir->comp_off < ir->len && decompress(ir, err) < 0)) {
		vmc_initramfs_free(ir);
		return -1;
	}
	return 0;
}

void vmc_initramfs_free(struct vmc_initramfs *ir)
{
	free(ir->buf);
	free(ir->plain);
	ir->buf = ir->plain = NULL;
	ir->len = ir->plain_len = 0;
}

int vmc_initramfs_walk(const struct vmc_initramfs *ir, vmc_cpio_fn fn,
		       void *ctx, struct vmc_error *err)
{
	char what[4200];
	uint64_t off = 0;
	int r = walk_plain(ir->path, ir->buf, ir->comp_off, &off, fn, ctx,
			   err);

	if (r || !ir->plain)
		return r;
	snprintf(what, sizeof(what), "%s (%s archive at 0x%llx, decompressed)",
		 ir->path, ir->filter_name, (unsigned long long)ir->comp_off);
	off = 0;
	r = walk_plain(what, ir->plain, ir->plain_len, &off, fn, ctx, err);
	if (!r && off < ir->plain_len)
		r = vmc_error_set(err, EINVAL, "%s: cpio header damaged"
				  " (offset 0x%llx)", what,
				  (unsigned long long)off);
	return r;
}

struct listing {
	struct vmc_modset *mods;
	size_t *entries;
};

static int list_one(void *ctx, const struct vmc_cpio_entry *e)
{
	struct listing *l = ctx;
	char name[256];

	(*l->entries)++;
	if (vmc_module_name(e->name, name, sizeof(name)) &&
	    vmc_modset_add(l->mods, name) < 0)
		return -ENOMEM;
	return 0;
}

int vmc_initramfs_modules(const char *path, struct vmc_modset *mods,
			  size_t *entries, struct vmc_error *err)
{
	struct vmc_initramfs ir;
	struct listing l = { mods, entries };
	int r;

	*entries = 0;
	if (vmc_initramfs_load(path, &ir, err) < 0)
		return -1;
	r = vmc_initramfs_walk(&ir, list_one, &l, err);
	if (r == -ENOMEM)
		r = vmc_error_set(err, ENOMEM, "out of memory");
	vmc_initramfs_free(&ir);
	return r < 0 ? -1 : 0;
}
