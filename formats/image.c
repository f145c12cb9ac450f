/* The generic image API: open, create, bounds-checked I/O, chain-loop
 * detection.  See include/vmconv/image.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vmconv/image.h>
#include <vmconv/output.h>

#include "common/bytes.h"
#include "common/confine.h"
#include "common/held.h"

/* Images being opened on this thread, innermost last: a backing file or
 * parent that is already on this stack is a loop. */
#define MAX_CHAIN 256
static __thread struct { dev_t dev; ino_t ino; } chain[MAX_CHAIN];
static __thread unsigned chain_len;

static int chain_push(const char *filename, struct vmc_error *err)
{
	struct stat st;

	if (stat(filename, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot open", filename);
	for (unsigned i = 0; i < chain_len; i++)
		if (chain[i].dev == st.st_dev && chain[i].ino == st.st_ino)
			return vmc_error_set(err, ELOOP,
				"%s: backing chain loops back to this file",
				filename);
	if (chain_len == MAX_CHAIN)
		return vmc_error_set(err, ELOOP,
			"%s: backing chain deeper than %d images", filename,
			MAX_CHAIN);
	chain[chain_len].dev = st.st_dev;
	chain[chain_len].ino = st.st_ino;
	chain_len++;
	return 0;
}

static struct vmc_image *image_new(const struct vmc_driver *d,
				   const char *filename, unsigned flags,
				   struct vmc_error *err)
{
	struct vmc_image *img = calloc(1, sizeof(*img));

	if (!img || !(img->filename = strdup(filename)) ||
	    !(img->held = calloc(1, sizeof(*img->held)))) {
		if (img)
			free(img->filename);
		free(img);
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	img->drv = d;
	img->flags = flags;
	return img;
}

static void image_free(struct vmc_image *img)
{
	if (img->held)
		vmc_held_free(img->held);
	free(img->held);
	free(img->filename);
	free(img);
}

/* The driver opens img; every file it (or an image it opens in turn)
 * opens is recorded in img->held, and in the list of the image whose open
 * this one is part of.  On failure img is freed. */
static int driver_open(struct vmc_image *img, const char *filename,
		       struct vmc_opts *opts, struct vmc_error *err)
{
	struct vmc_held_files *prev = vmc_confine_record(img->held);
	int r = img->drv->open(img, filename, opts, err);

	vmc_confine_record(prev);
	if (r < 0) {
		image_free(img);
		return -1;
	}
	if (prev && vmc_held_merge(prev, img->held) < 0) {
		vmc_image_close(img);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

size_t vmc_image_fds(const struct vmc_image *img, int *fds, size_t max)
{
	return img->held ? vmc_held_fds(img->held, fds, max) : 0;
}

static struct vmc_image *open_in_chain(const char *filename,
				       const char *format, unsigned flags,
				       struct vmc_opts *opts,
				       struct vmc_error *err)
{
	const struct vmc_driver *d;
	struct vmc_image *img;

	if (format) {
		d = vmc_driver_find(format);
		if (!d) {
			vmc_error_set(err, EINVAL, "%s: unknown format '%s'",
				      filename, format);
			return NULL;
		}
	} else {
		d = vmc_driver_probe(filename, err);
		if (!d)
			return NULL;
	}
	if ((flags & VMC_OPEN_RDWR) && !d->pwrite) {
		vmc_error_set(err, EROFS, "%s: format %s is read-only",
			      filename, d->name);
		return NULL;
	}
	if (chain_push(filename, err) < 0)
		return NULL;
	img = image_new(d, filename, flags, err);
	if (img && driver_open(img, filename, opts, err) < 0)
		img = NULL;
	chain_len--;
	return img;
}

/* The parent policy (common/confine.h) learns which image is the top
 * one: the first opened on this thread's stack. */
struct vmc_image *vmc_image_open(const char *filename, const char *format,
				 unsigned flags, struct vmc_opts *opts,
				 struct vmc_error *err)
{
	struct vmc_image *img;

	if (vmc_confine_enter(filename, err) < 0)
		return NULL;
	img = open_in_chain(filename, format, flags, opts, err);
	vmc_confine_leave();
	if (img && vmc_opts_check_used(opts, filename, err) < 0) {
		vmc_image_close(img);
		img = NULL;
	}
	return img;
}

struct vmc_opts *vmc_driver_opts(const struct vmc_driver *d,
				 const struct vmc_opts *opts,
				 const char *what, struct vmc_error *err)
{
	struct vmc_opts *o = vmc_opts_dup(opts);

	if (!o) {
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (d->create_opts &&
	    vmc_opts_apply(o, d->create_opts, what, err) < 0) {
		vmc_opts_free(o);
		return NULL;
	}
	return o;
}

struct vmc_image *vmc_image_create(const char *filename, const char *format,
				   uint64_t size, struct vmc_opts *opts,
				   struct vmc_output *out,
				   struct vmc_error *err)
{
	const struct vmc_driver *d = vmc_driver_find(format);
	struct vmc_opts *own;
	struct vmc_image *img = NULL;

	if (!d) {
		vmc_error_set(err, EINVAL, "unknown format '%s'", format);
		return NULL;
	}
	if (!d->create) {
		vmc_error_set(err, ENOTSUP, "format %s cannot be written",
			      d->name);
		return NULL;
	}
	own = vmc_driver_opts(d, opts, filename, err);
	if (!own)
		return NULL;
	img = image_new(d, filename, VMC_OPEN_RDWR, err);
	if (!img)
		goto out;
	img->out = out;
	if (d->create(img, filename, size, own, err) < 0) {
		image_free(img);
		img = NULL;
	} else if (vmc_opts_check_used(own, d->name, err) < 0) {
		vmc_image_close(img);
		img = NULL;
	}
out:
	vmc_opts_free(own);
	return img;
}

void vmc_image_close(struct vmc_image *img)
{
	if (!img)
		return;
	if (img->drv->close)
		img->drv->close(img);
	image_free(img);
}

static int check_range(struct vmc_image *img, uint64_t off, uint64_t len,
		       const char *what, struct vmc_error *err)
{
	uint64_t end;

	if (vmc_add_overflow(off, len, &end) || end > img->size)
		return vmc_error_set(err, EINVAL,
			"%s: %s of %" PRIu64 " bytes at offset 0x%" PRIx64
			" is past the end of the disk (size 0x%" PRIx64 ")",
			img->filename, what, len, off, img->size);
	return 0;
}

int vmc_image_pread(struct vmc_image *img, void *buf, size_t len,
		    uint64_t off, struct vmc_error *err)
{
	if (check_range(img, off, len, "read", err) < 0)
		return -1;
	return len ? img->drv->pread(img, buf, len, off, err) : 0;
}

int vmc_image_block_status(struct vmc_image *img, uint64_t off,
			   uint64_t max_len, struct vmc_extent *ext,
			   struct vmc_error *err)
{
	uint64_t left;

	if (off >= img->size)
		return vmc_error_set(err, EINVAL,
			"%s: block status at 0x%" PRIx64 " past the end",
			img->filename, off);
	left = img->size - off;
	if (max_len > left)
		max_len = left;
	if (!img->drv->block_status) {
		*ext = (struct vmc_extent){ off, max_len, VMC_EXTENT_DATA };
		return 0;
	}
	if (img->drv->block_status(img, off, max_len, ext, err) < 0)
		return -1;
	if (ext->offset != off || ext->length == 0 || ext->length > max_len)
		return vmc_error_set(err, EPROTO,
			"%s: driver %s returned a bad extent at 0x%" PRIx64,
			img->filename, img->drv->name, off);
	return 0;
}

int vmc_image_pwrite(struct vmc_image *img, const void *buf, size_t len,
		     uint64_t off, struct vmc_error *err)
{
	if (!img->drv->pwrite)
		return vmc_error_set(err, EROFS, "%s: format %s is read-only",
				     img->filename, img->drv->name);
	if (check_range(img, off, len, "write", err) < 0)
		return -1;
	return len ? img->drv->pwrite(img, buf, len, off, err) : 0;
}

int vmc_image_pwrite_zeroes(struct vmc_image *img, uint64_t off,
			    uint64_t len, struct vmc_error *err)
{
	static const char zero[65536];

	if (check_range(img, off, len, "write", err) < 0)
		return -1;
	if (img->drv->pwrite_zeroes)
		return len ? img->drv->pwrite_zeroes(img, off, len, err) : 0;
	while (len > 0) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);

		if (vmc_image_pwrite(img, zero, n, off, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

int vmc_image_flush(struct vmc_image *img, struct vmc_error *err)
{
	return img->drv->flush ? img->drv->flush(img, err) : 0;
}

bool vmc_image_can_compress(const struct vmc_image *img)
{
	return img->drv->compress && img->drv->pwrite_compressed;
}

/* What compress and pwrite_compressed check first. */
static int compressed_ok(struct vmc_image *img, uint64_t off, size_t len,
			 struct vmc_error *err)
{
	if (!vmc_image_can_compress(img))
		return vmc_error_set(err, ENOTSUP,
			"%s: format %s cannot write compressed data",
			img->filename, img->drv->name);
	return check_range(img, off, len, "compressed write", err);
}

int vmc_image_compress(struct vmc_image *img, uint64_t off, const void *in,
		       size_t len, void *out, size_t out_cap, size_t *out_len,
		       struct vmc_error *err)
{
	if (compressed_ok(img, off, len, err) < 0)
		return -1;
	return img->drv->compress(img, off, in, len, out, out_cap, out_len,
				  err);
}

int vmc_image_pwrite_compressed(struct vmc_image *img, uint64_t off,
				const void *cdata, size_t clen, size_t len,
				struct vmc_error *err)
{
	if (compressed_ok(img, off, len, err) < 0)
		return -1;
	return img->drv->pwrite_compressed(img, off, cdata, clen, len, err);
}

int vmc_image_info(struct vmc_image *img, json_t *info,
		   struct vmc_error *err)
{
	json_object_set_new(info, "virtual-size",
			    json_integer((json_int_t)img->size));
	json_object_set_new(info, "filename", json_string(img->filename));
	json_object_set_new(info, "format", json_string(img->drv->name));
	json_object_set_new(info, "actual-size",
			    json_integer(vmc_image_actual_size(img)));
	return img->drv->info ? img->drv->info(img, info, err) : 0;
}

int64_t vmc_image_actual_size(struct vmc_image *img)
{
	struct stat st;

	if (stat(img->filename, &st) < 0)
		return -1;
	return (int64_t)st.st_blocks * 512;
}
