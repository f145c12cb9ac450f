/* Block-allocating writers: see common/block-write.h. */
#define _GNU_SOURCE
#include <fcntl.h>

#include <vmconv/image.h>

#include "common/block-write.h"
#include "common/bytes.h"

int vmc_zero_file_range(int fd, uint64_t off, uint64_t len,
			const char *path, struct vmc_error *err)
{
	static const uint8_t zero[65536];

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	for (uint64_t d = 0; d < len; d += sizeof(zero)) {
		size_t m = (size_t)VMC_MIN(sizeof(zero), len - d);

		if (vmc_pwrite_full(fd, zero, m, off + d, path, err) < 0)
			return -1;
	}
	return 0;
}

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
