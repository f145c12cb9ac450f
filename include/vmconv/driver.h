/* vmconv helpers for format drivers, built-in and plugins: what a driver
 * may use besides the image API (image.h), the file helpers (io.h) and
 * the byte-order helpers (bytes.h).
 *
 * - Merged block status (common/extent.c): formats that know the kind of
 *   guest data one block (or bitmap run) at a time merge the pieces into
 *   one extent so that the conversion engine sees long runs.
 * - The block-write loop (common/block-write.c): writing a new image whose
 *   data lives in blocks allocated on first write (VHDX and dynamic VHD):
 *   guest writes are cut at block boundaries, a block is allocated only
 *   for bytes that are not all zero, and zero writes never allocate.  The
 *   format supplies only the mapping.
 * - The differencing-block reader (formats/diff-read.c), the read-side
 *   twin of the block-write loop: formats whose blocks are absent (read
 *   from the parent, or as zeros), present, or present only for the
 *   sectors a bitmap marks (VHDX partially present blocks, VHD
 *   differencing disks) supply the mapping and get pread and block
 *   status.
 * - The parent search (formats/parent.c): finding and reading the parent
 *   of a differencing disk, shared by the formats whose child records its
 *   parent only as file names (VHDX parent locator, VHD parent locators):
 *   the names become candidate paths beside the child, the first that
 *   exists is opened read-only, and when none does the caller's error
 *   lists every path tried.
 */
#ifndef VMCONV_DRIVER_H
#define VMCONV_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <vmconv/image.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- merged block status ---- */

/* The kind of the run at off, within one piece, at most max bytes. */
typedef int (*vmc_piece_status_fn)(void *ctx, uint64_t off, uint64_t max,
				   struct vmc_extent *ext,
				   struct vmc_error *err);

/* The piece at off followed by the next pieces of the same kind, up to
 * max_len bytes and 4096 more pieces (a few MiB of bookkeeping). */
int vmc_block_status_merged(vmc_piece_status_fn piece, void *ctx,
			    uint64_t off, uint64_t max_len,
			    struct vmc_extent *ext, struct vmc_error *err);

/* ---- block-allocating writes ---- */

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

/* ---- differencing-block reads ---- */

enum vmc_diff_state {
	VMC_DIFF_UNALLOCATED = 0,	/* no layer holds it: zeros */
	VMC_DIFF_ZERO,			/* allocated as zeros */
	VMC_DIFF_PARENT,		/* the parent's (zeros without one) */
	VMC_DIFF_PRESENT,		/* in the file at fo */
	VMC_DIFF_PARTIAL,		/* per sector, by the bitmap (map's
					 * answer only; resolved to PRESENT
					 * or PARENT for the callers) */
};

struct vmc_diff_where {
	enum vmc_diff_state state;
	uint64_t fo;			/* PRESENT, PARTIAL: file offset of
					 * the guest byte asked for */
	const uint8_t *bitmap;		/* PARTIAL: the sector bitmap, which
					 * covers every sector of the block */
	uint64_t bit;			/* PARTIAL: the bit of that byte's
					 * sector in it */
};

/* Where guest offset off lives (its block's state).  Returns 0 or -1 with
 * err set (a bitmap that cannot be read). */
typedef int (*vmc_diff_map_fn)(void *ctx, uint64_t off,
			       struct vmc_diff_where *w,
			       struct vmc_error *err);

struct vmc_diff_file {
	int fd;				/* read when read is NULL */
	const char *path;		/* for error messages */
	uint64_t block_size;
	uint32_t sector_size;		/* what one bitmap bit covers */
	bool msb_first;			/* bit 7 of byte 0 is sector 0 (VHD);
					 * else bit 0 (VHDX) */
	struct vmc_image *parent;	/* NULL: the parent's part is zeros */
	vmc_diff_map_fn map;
	/* Optional: reads len file bytes at fo (VHDX reads through its
	 * replayed log). */
	int (*read)(void *ctx, void *buf, size_t len, uint64_t fo,
		    struct vmc_error *err);
	void *ctx;
};

/* The run at off (inside one block, at most max bytes) in one state,
 * never PARTIAL: *w (fo of off when PRESENT) and its length *n. */
int vmc_diff_run(const struct vmc_diff_file *df, uint64_t off, uint64_t max,
		 struct vmc_diff_where *w, uint64_t *n, struct vmc_error *err);

/* Guest bytes [off, off+len): present runs from the file, parent runs
 * from the parent, the rest zeros. */
int vmc_diff_pread(const struct vmc_diff_file *df, void *buf, size_t len,
		   uint64_t off, struct vmc_error *err);

/* The extent at off within one block, at most max bytes (a piece for
 * vmc_block_status_merged): present is DATA (*w tells where, for a
 * format that looks for host holes), zero ZERO, parent runs the
 * parent's own status, UNALLOCATED past it or without one. */
int vmc_diff_status(const struct vmc_diff_file *df, uint64_t off,
		    uint64_t max, struct vmc_extent *ext,
		    struct vmc_diff_where *w, struct vmc_error *err);

/* ---- opening files (common/confine.c, the parent policy) ---- */

/* Opens a file a driver reads: its image's own file when own is true
 * (when that image is the one the caller named it may be a symlink or a
 * block device), else a file named inside an image (opened O_NOFOLLOW:
 * pass a path the policy resolved).  O_NONBLOCK while opening, so a FIFO
 * never hangs; fstat then admits regular files only (and block devices
 * as above).  Returns the fd or -1 with err set. */
int vmc_confine_open(const char *path, int flags, bool own,
		     struct vmc_error *err);

/* ---- differencing-disk parents ---- */
/* VHD has 8 parent locators plus the parent's Unicode name. */
#define VMC_PARENT_MAX_CANDIDATES 10

struct vmc_parent_search {
	char *cand[VMC_PARENT_MAX_CANDIDATES];
	char *name[VMC_PARENT_MAX_CANDIDATES];	/* as the child names it */
	size_t n;
	/* "a, b, c": the candidates that did not exist, for the caller's
	 * "parent disk not found" message; "" when none was tried. */
	char tried[VMC_ERROR_MSG_MAX / 2];
	size_t tried_len;
};

/* Vets an opened parent (format, linkage IDs); path is the candidate it
 * was opened from.  Returns 0 or -1 with err set. */
typedef int (*vmc_parent_check_fn)(void *ctx, struct vmc_image *parent,
				   const char *path, struct vmc_error *err);

/* The part of path after its last '/'. */
const char *vmc_parent_base_name(const char *path);

/* Adds name, resolved against the child image's directory (see
 * vmc_path_relative_to), unless the same path is already a candidate.
 * Returns 0, or -1 with err set (out of memory, too many candidates). */
int vmc_parent_add(struct vmc_parent_search *ps, const char *child,
		   const char *name, struct vmc_error *err);

/* Tries the candidates in order: one that does not exist is added to
 * ps->tried; the first that exists must pass the parent policy (below:
 * inside the child's or the top image's folder, a regular file; else -1,
 * a refusal naming the child, "parent locator" and the name) and is
 * opened with the child's flags but read-only, and check (if not NULL)
 * vets it.  Returns 1 with *parent
 * and *parent_path (the caller owns both) set, 0 when no candidate
 * exists, or -1 with err set ("CHILD: parent" prefixed to an open
 * failure; check's error as it is). */
int vmc_parent_open(struct vmc_parent_search *ps,
		    const struct vmc_image *child, vmc_parent_check_fn check,
		    void *ctx, struct vmc_image **parent, char **parent_path,
		    struct vmc_error *err);

void vmc_parent_search_free(struct vmc_parent_search *ps);

/* The backing-filename, full-backing-filename and backing-filename-format
 * keys of `vmconv info` for a parent opened from path. */
void vmc_parent_info(json_t *obj, const char *path, const char *format);

/* Reads guest bytes [off, off+len) from parent (or a qcow2 backing
 * file), as zeros where there is none or past its end (a parent smaller
 * than the child). */
int vmc_parent_pread(struct vmc_image *parent, uint8_t *buf, uint64_t len,
		     uint64_t off, struct vmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
