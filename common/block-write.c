/* Block-allocating writers: see include/vmconv/driver.h. */
#include <vmconv/driver.h>

#include "common/bytes.h"

int vmc_block_pwrite(const struct vmc_block_file *bf, const void *buf,
		     size_t len, uint64_t off, struct vmc_error *err)
{
	const uint8_t *p = buf;

	while (len > 0) {
		size_t n = (size_t)VMC_MIN((uint64_t)len,
					   bf->block_size -
					   off % bf->block_size);
		uint64_t fo;

		if (bf->map(bf->ctx, off, !vmc_is_zero(p, n), &fo, err) < 0)
			return -1;
		if (fo && vmc_pwrite_full(bf->fd, p, n, fo, bf->path, err) < 0)
			return -1;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmc_block_pwrite_zeroes(const struct vmc_block_file *bf, uint64_t off,
			    uint64_t len, struct vmc_error *err)
{
	while (len > 0) {
		uint64_t n = VMC_MIN(len,
				     bf->block_size - off % bf->block_size);
		uint64_t fo;

		if (bf->map(bf->ctx, off, false, &fo, err) < 0)
			return -1;
		if (fo && vmc_zero_file_range(bf->fd, fo, n, bf->path, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}
