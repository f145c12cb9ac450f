/* The differencing-block reader, the read-side twin of
 * common/block-write.c: VHDX (2.5.1.2, sector bitmaps of partially
 * present blocks) and VHD (differencing disks, the bitmap before each
 * block's data) both keep a guest block either absent (read from the
 * parent or as zeros), present in the file, or present for the sectors
 * whose bitmap bit is set.  The format supplies only the mapping; see
 * struct vmc_diff_file in include/vmconv/driver.h. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <vmconv/driver.h>

#include "common/bytes.h"

static bool bitmap_bit(const struct vmc_diff_file *df, const uint8_t *bm,
		       uint64_t sec)
{
	unsigned shift = df->msb_first ? 7 - sec % 8 : sec % 8;

	return (bm[sec / 8] >> shift) & 1;
}

/* Bytes from off (at most len, inside one block) whose sectors share the
 * bit of off's sector; *present gets that bit. */
static uint64_t bitmap_run(const struct vmc_diff_file *df,
			   const struct vmc_diff_where *w, uint64_t off,
			   uint64_t len, bool *present)
{
	uint64_t ss = df->sector_size, sec = w->bit, first = sec;
	uint64_t last = sec + (off % ss + len - 1) / ss;
	bool bit = bitmap_bit(df, w->bitmap, sec);

	while (sec + 1 <= last && bitmap_bit(df, w->bitmap, sec + 1) == bit)
		sec++;
	*present = bit;
	return VMC_MIN((sec + 1 - first) * ss - off % ss, len);
}

int vmc_diff_run(const struct vmc_diff_file *df, uint64_t off, uint64_t max,
		 struct vmc_diff_where *w, uint64_t *n, struct vmc_error *err)
{
	bool present;

	*n = VMC_MIN(max, df->block_size - off % df->block_size);
	*w = (struct vmc_diff_where){ 0 };
	if (df->map(df->ctx, off, w, err) < 0)
		return -1;
	if (w->state != VMC_DIFF_PARTIAL)
		return 0;
	if (!w->bitmap || df->sector_size == 0)
		return vmc_error_set(err, EPROTO, "%s: no sector bitmap for"
				     " offset 0x%" PRIx64, df->path, off);
	*n = bitmap_run(df, w, off, *n, &present);
	w->state = present ? VMC_DIFF_PRESENT : VMC_DIFF_PARENT;
	return 0;
}

static int file_read(const struct vmc_diff_file *df, void *buf, size_t len,
		     uint64_t fo, struct vmc_error *err)
{
	if (df->read)
		return df->read(df->ctx, buf, len, fo, err);
	return vmc_pread_full(df->fd, buf, len, fo, df->path, err);
}

int vmc_diff_pread(const struct vmc_diff_file *df, void *buf, size_t len,
		   uint64_t off, struct vmc_error *err)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct vmc_diff_where w;
		uint64_t n;
		int r = 0;

		if (vmc_diff_run(df, off, len, &w, &n, err) < 0)
			return -1;
		if (w.state == VMC_DIFF_PRESENT)
			r = file_read(df, p, (size_t)n, w.fo, err);
		else if (w.state == VMC_DIFF_PARENT)
			r = vmc_parent_pread(df->parent, p, n, off, err);
		else
			memset(p, 0, (size_t)n);
		if (r < 0)
			return -1;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int vmc_diff_status(const struct vmc_diff_file *df, uint64_t off,
		    uint64_t max, struct vmc_extent *ext,
		    struct vmc_diff_where *w, struct vmc_error *err)
{
	uint64_t n;

	if (vmc_diff_run(df, off, max, w, &n, err) < 0)
		return -1;
	*ext = (struct vmc_extent){ off, n, VMC_EXTENT_DATA };
	switch (w->state) {
	case VMC_DIFF_PRESENT:
		return 0;
	case VMC_DIFF_ZERO:
		ext->kind = VMC_EXTENT_ZERO;
		return 0;
	case VMC_DIFF_PARENT:
		if (df->parent && off < df->parent->size)
			return vmc_image_block_status(df->parent, off,
				VMC_MIN(n, df->parent->size - off), ext, err);
		/* fall through */
	default:
		ext->kind = VMC_EXTENT_UNALLOCATED;
		return 0;
	}
}
