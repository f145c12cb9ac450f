/* Block status for formats that know the kind of guest data one block
 * (or bitmap run) at a time: the pieces are merged into one extent so
 * that the conversion engine sees long runs. */
#ifndef VMC_COMMON_EXTENT_H
#define VMC_COMMON_EXTENT_H

#include <stdint.h>

#include <vmconv/image.h>

/* The kind of the run at off, within one piece, at most max bytes. */
typedef int (*vmc_piece_status_fn)(void *ctx, uint64_t off, uint64_t max,
				   struct vmc_extent *ext,
				   struct vmc_error *err);

/* The piece at off followed by the next pieces of the same kind, up to
 * max_len bytes and 4096 more pieces (a few MiB of bookkeeping). */
int vmc_block_status_merged(vmc_piece_status_fn piece, void *ctx,
			    uint64_t off, uint64_t max_len,
			    struct vmc_extent *ext, struct vmc_error *err);

#endif
