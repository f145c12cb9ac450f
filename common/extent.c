/* Merged block status: see include/vmconv/driver.h. */
#include <vmconv/driver.h>

int vmc_block_status_merged(vmc_piece_status_fn piece, void *ctx,
			    uint64_t off, uint64_t max_len,
			    struct vmc_extent *ext, struct vmc_error *err)
{
	struct vmc_extent next;

	if (piece(ctx, off, max_len, ext, err) < 0)
		return -1;
	for (int i = 0; i < 4096 && ext->length < max_len; i++) {
		if (piece(ctx, off + ext->length, max_len - ext->length,
			  &next, err) < 0)
			return -1;
		if (next.kind != ext->kind)
			break;
		ext->length += next.length;
	}
	return 0;
}
