/* What the libFuzzer targets share: the input put in a file, the opened
 * image walked by extents and read, its info built and its metadata
 * checked, each within bounds so that a huge virtual size does not make
 * a slow input.  Header-only: each target is one translation unit. */
#ifndef VMC_FUZZ_COMMON_H
#define VMC_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <vmconv/check.h>
#include <vmconv/image.h>

/* data as the whole content of path.  Returns 0, or -1 if it cannot be
 * created (the input is then skipped). */
static inline int fuzz_write_file(const char *path, const uint8_t *data,
				  size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fwrite(data, 1, size, f);
	fclose(f);
	return 0;
}

struct fuzz_walk {
	uint64_t budget;	/* bytes to walk at most */
	uint64_t max_steps;	/* block status queries at most */
	/* Ask block status for the rest of the disk, not one buffer. */
	bool ask_rest;
	/* Only data extents spend the budget (else every extent does). */
	bool budget_data_only;
};

static uint8_t fuzz_buf[1 << 16];

/* From offset 0, block status then a read into fuzz_buf of each data
 * extent (a piece of fuzz_buf's size at a time), as `vmconv convert`
 * does; stops at the first error. */
static inline void fuzz_walk_extents(struct vmc_image *img,
				     const struct fuzz_walk *w)
{
	struct vmc_error err;
	uint64_t off = 0, budget = w->budget, steps = 0;

	while (off < img->size && budget > 0 && steps++ < w->max_steps) {
		struct vmc_extent x;
		uint64_t ask = w->ask_rest ? img->size - off :
					     sizeof(fuzz_buf);
		size_t n;

		if (vmc_image_block_status(img, off, ask, &x, &err) < 0)
			break;
		n = (size_t)x.length;
		/* Asked for one buffer, a longer extent is the driver's bug
		 * and the sanitizer's to catch. */
		if (w->ask_rest && x.kind == VMC_EXTENT_DATA &&
		    n > sizeof(fuzz_buf))
			n = sizeof(fuzz_buf);
		if (x.kind == VMC_EXTENT_DATA &&
		    vmc_image_pread(img, fuzz_buf, n, off, &err) < 0)
			break;
		off += n;
		if (x.kind == VMC_EXTENT_DATA || !w->budget_data_only)
			budget = budget > n ? budget - n : 0;
	}
}

/* The first 64 MiB read in buf-sized pieces, then block status over the
 * whole disk in at most 4096 queries: every path of a reader whose
 * extents may come from bitmaps, logs or parents. */
static inline void fuzz_read_all(struct vmc_image *img, uint8_t *buf,
				 size_t bufsize)
{
	struct vmc_error err;

	for (uint64_t off = 0; off < img->size && off < 64 << 20;
	     off += bufsize) {
		size_t n = (size_t)(img->size - off < bufsize ?
				    img->size - off : bufsize);

		if (vmc_image_pread(img, buf, n, off, &err) < 0)
			break;
	}
	for (uint64_t off = 0, i = 0; off < img->size && i < 4096; i++) {
		struct vmc_extent x;

		if (vmc_image_block_status(img, off, img->size - off, &x,
					   &err) < 0)
			break;
		off += x.length;
	}
}

/* The driver's info, as `vmconv info` builds it, then dropped. */
static inline void fuzz_info(struct vmc_image *img)
{
	struct vmc_error err;
	json_t *o;

	if (!img->drv->info)
		return;
	o = json_object();
	img->drv->info(img, o, &err);
	json_decref(o);
}

/* `vmconv check` (with repair, --repair). */
static inline void fuzz_check(struct vmc_image *img, bool repair)
{
	struct vmc_check_result res = { 0 };
	struct vmc_error err;

	vmc_image_check(img, &res, repair, &err);
	vmc_check_result_free(&res);
}

#endif
