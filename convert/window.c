/* A window onto an open image: len bytes from offset off, seen as an image
 * of its own (qemu-img dd's skip= and count=).  Reads and block status go
 * to the underlying image, moved by off; the window owns nothing of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmconv/convert.h>

struct window {
	struct vmc_image *base;
	uint64_t off;
};

static void window_close(struct vmc_image *img)
{
	free(img->opaque);
}

static int window_pread(struct vmc_image *img, void *buf, size_t len,
			uint64_t off, struct vmc_error *err)
{
	struct window *w = img->opaque;

	return vmc_image_pread(w->base, buf, len, w->off + off, err);
}

static int window_block_status(struct vmc_image *img, uint64_t off,
			       uint64_t max_len, struct vmc_extent *ext,
			       struct vmc_error *err)
{
	struct window *w = img->opaque;

	if (vmc_image_block_status(w->base, w->off + off, max_len, ext,
				   err) < 0)
		return -1;
	ext->offset = off;
	return 0;
}

static const struct vmc_driver window_driver = {
	.abi_version = VMC_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct vmc_driver),
	.name = "window",
	.description = "a part of another image",
	.close = window_close,
	.pread = window_pread,
	.block_status = window_block_status,
};

struct vmc_image *vmc_image_window(struct vmc_image *base, uint64_t off,
				   uint64_t len, struct vmc_error *err)
{
	struct vmc_image *img;
	struct window *w;

	if (off > base->size || len > base->size - off) {
		vmc_error_set(err, EINVAL, "%s: a window of %llu bytes at"
			      " offset %llu is past the end (%llu bytes)",
			      base->filename, (unsigned long long)len,
			      (unsigned long long)off,
			      (unsigned long long)base->size);
		return NULL;
	}
	img = calloc(1, sizeof(*img));
	w = calloc(1, sizeof(*w));
	if (!img || !w || !(img->filename = strdup(base->filename))) {
		free(img);
		free(w);
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	w->base = base;
	w->off = off;
	img->drv = &window_driver;
	img->opaque = w;
	img->size = len;
	return img;
}
