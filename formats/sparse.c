/* The allocation-aware read: a range of the guest disk read through
 * block_status, data runs read, the others zero-filled.  The one loop
 * that conversion, compare and digest share (see vmc_image_read_sparse
 * in include/vmconv/image.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <vmconv/image.h>

static int read_run(struct vmc_image *img, uint8_t *buf, uint64_t len,
		    uint64_t off, const struct vmc_sparse_read *sr,
		    struct vmc_error *err)
{
	if (sr && sr->read)
		return sr->read(sr->ctx, buf, len, off, err);
	return vmc_image_pread(img, buf, (size_t)len, off, err);
}

int vmc_image_read_sparse(struct vmc_image *img, void *buf, size_t len,
			  uint64_t off, struct vmc_sparse_read *sr,
			  struct vmc_error *err)
{
	uint8_t *b = buf;
	uint64_t p = 0;
	struct vmc_extent x;

	if (sr)
		sr->data_bytes = sr->hole_bytes = 0;
	if (off > img->size || len > img->size - off)
		return vmc_error_set(err, EINVAL, "%s: read of %zu bytes at"
				     " offset 0x%" PRIx64 " is past the end of"
				     " the disk (size 0x%" PRIx64 ")",
				     img->filename, len, off, img->size);
	while (p < len) {
		if (p == 0 && sr && sr->first && sr->first->offset == off &&
		    sr->first->length > 0)
			x = *sr->first;
		else if (vmc_image_block_status(img, off + p, len - p, &x,
						err) < 0)
			return -1;
		if (x.length > len - p)
			x.length = len - p;
		if (x.kind == VMC_EXTENT_DATA) {
			if (read_run(img, b + p, x.length, off + p, sr,
				     err) < 0)
				return -1;
			if (sr)
				sr->data_bytes += x.length;
		} else {
			memset(b + p, 0, (size_t)x.length);
			if (sr)
				sr->hole_bytes += x.length;
		}
		if (sr && sr->run)
			sr->run(sr->ctx, off + p, x.length, x.kind);
		p += x.length;
	}
	return 0;
}
