/* Writing a new image whose data lives in blocks allocated on first
 * write (VHDX and dynamic VHD): guest writes are cut at block boundaries,
 * a block is allocated only for bytes that are not all zero, and zero
 * writes never allocate.  The format supplies only the mapping. */
#ifndef VMC_COMMON_BLOCK_WRITE_H
#define VMC_COMMON_BLOCK_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmconv/error.h>

/* File offset of guest offset off in *fo, 0 if its block has none; with
 * alloc, a missing block is allocated first.  Returns 0 or -1 with err
 * set. */
typedef int (*vmc_block_map_fn)(void *ctx, uint64_t off, bool alloc,
				uint64_t *fo, struct vmc_error *err);

struct vmc_block_file {
	int fd;
	const char *path;		/* for error messages */
	uint64_t block_size;
	vmc_block_map_fn map;
	void *ctx;
};

int vmc_block_pwrite(const struct vmc_block_file *bf, const void *buf,
		     size_t len, uint64_t off, struct vmc_error *err);
int vmc_block_pwrite_zeroes(const struct vmc_block_file *bf, uint64_t off,
			    uint64_t len, struct vmc_error *err);

/* Makes file bytes [off, off+len) read as zeros: a punched hole, or
 * written zeros where the file system cannot punch. */
int vmc_zero_file_range(int fd, uint64_t off, uint64_t len,
			const char *path, struct vmc_error *err);

#endif
