/* The generic half of `measure`: the source's data counted in the target
 * format's allocation units, and the call into the driver's formula. */
#include <errno.h>

#include <vmconv/image.h>

#include "common/bytes.h"

int vmc_measure_units(struct vmc_image *src, uint64_t unit, uint64_t *n,
		      struct vmc_error *err)
{
	uint64_t off = 0, count = 0, last = UINT64_MAX;

	*n = 0;
	if (!src)
		return 0;
	if (unit == 0)
		return vmc_error_set(err, EINVAL, "measure: unit of 0 bytes");
	while (off < src->size) {
		struct vmc_extent e;
		uint64_t first, end;

		if (vmc_image_block_status(src, off, src->size - off, &e,
					   err) < 0)
			return -1;
		if (e.length == 0)
			return vmc_error_set(err, EIO, "%s: empty extent at"
					     " offset 0x%llx", src->filename,
					     (unsigned long long)off);
		if (e.kind == VMC_EXTENT_DATA) {
			first = off / unit;
			end = (off + e.length - 1) / unit;
			/* A unit shared with the previous data run counts
			 * once. */
			if (first == last)
				first++;
			if (end >= first)
				count += end - first + 1;
			last = end;
		}
		off += e.length;
	}
	*n = count;
	return 0;
}

int vmc_image_measure(const char *format, struct vmc_image *src,
		      uint64_t size, struct vmc_opts *opts,
		      struct vmc_measure *m, struct vmc_error *err)
{
	const struct vmc_driver *d = vmc_driver_find(format);
	struct vmc_opts *own;
	int ret;

	*m = (struct vmc_measure){ 0 };
	if (!d)
		return vmc_error_set(err, EINVAL, "unknown format '%s'",
				     format);
	if (!d->create || !d->measure)
		return vmc_error_set(err, ENOTSUP, "format '%s' cannot be"
				     " measured (vmconv does not write it)",
				     d->name);
	if (src)
		size = src->size;
	own = vmc_driver_opts(d, opts, d->name, err);
	if (!own)
		return -1;
	ret = d->measure(src, size, own, m, err);
	if (ret == 0)
		ret = vmc_opts_check_used(own, d->name, err);
	vmc_opts_free(own);
	return ret;
}
