/* VMDK seSparse extents (ESXi "space-efficient sparse", read only).
 *
 * VMware publishes no specification; the layout follows the public
 * descriptions (qemu's block/vmdk.c comments and structures): a constant
 * header (magic 0xCAFEBABE, version 0x200000001) and a volatile header
 * (magic 0xCAFECAFE), all offsets and sizes in sectors; a grain directory
 * of 64-bit entries whose top nibble is 1 for an allocated grain table
 * (low 32 bits: its index in the grain-table area); grain tables of 4096
 * 64-bit entries whose top nibble is 0 unallocated, 1 unmapped, 2 zeroed,
 * 3 allocated, the grain index being bits 48..59 (low part) and 0..47
 * (high part). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

/* Constant header fields, 64-bit each, by index. */
enum {
	SE_MAGIC, SE_VERSION, SE_CAPACITY, SE_GRAIN, SE_GT_SIZE, SE_FLAGS,
	SE_RES1, SE_RES2, SE_RES3, SE_RES4, SE_VOL_OFF, SE_VOL_SIZE,
	SE_JH_OFF, SE_JH_SIZE, SE_J_OFF, SE_J_SIZE, SE_GD_OFF, SE_GD_SIZE,
	SE_GT_OFF, SE_GT_AREA, SE_FB_OFF, SE_FB_SIZE, SE_BM_OFF, SE_BM_SIZE,
	SE_GRAINS_OFF, SE_GRAINS_SIZE, SE_NFIELDS
};

int vmdk_sesparse_open(struct vmdk_extent *e, struct vmc_error *err)
{
	uint8_t b[VMDK_SECTOR], v[VMDK_SECTOR];
	uint64_t f[SE_NFIELDS], voff, need, gd_off;

	if (e->file_size < 2 * VMDK_SECTOR)
		return vmc_error_set(err, EINVAL,
			"%s: file too short for a seSparse header", e->path);
	if (vmc_pread_full(e->fd, b, sizeof(b), 0, e->path, err) < 0)
		return -1;
	for (int i = 0; i < SE_NFIELDS; i++)
		f[i] = vmc_get_le64(b + 8 * i);
	if (f[SE_MAGIC] != SESPARSE_MAGIC)
		return vmc_error_set(err, EINVAL,
			"%s: no seSparse magic at offset 0", e->path);
	if (f[SE_VERSION] != SESPARSE_VERSION)
		return vmc_error_set(err, ENOTSUP,
			"%s: seSparse version 0x%" PRIx64 " not supported"
			" (only 0x%llx)", e->path, f[SE_VERSION],
			SESPARSE_VERSION);
	if (f[SE_GRAIN] != 8 || f[SE_GT_SIZE] != 64)
		return vmc_error_set(err, ENOTSUP,
			"%s: seSparse grain size %" PRIu64 " / grain table"
			" size %" PRIu64 " sectors not supported (8 / 64)",
			e->path, f[SE_GRAIN], f[SE_GT_SIZE]);
	if (f[SE_FLAGS] != 0)
		return vmc_error_set(err, ENOTSUP,
			"%s: seSparse flags 0x%" PRIx64 " not supported",
			e->path, f[SE_FLAGS]);
	if (vmc_mul_overflow(f[SE_VOL_OFF], VMDK_SECTOR, &voff) ||
	    voff > e->file_size - VMDK_SECTOR)
		return vmc_error_set(err, EINVAL,
			"%s: seSparse volatile header at sector %" PRIu64
			" is past the end of the file", e->path,
			f[SE_VOL_OFF]);
	if (vmc_pread_full(e->fd, v, sizeof(v), voff, e->path, err) < 0)
		return -1;
	if (vmc_get_le64(v) != SESPARSE_VOL_MAGIC)
		return vmc_error_set(err, EINVAL,
			"%s: no seSparse volatile header magic at offset"
			" 0x%" PRIx64, e->path, voff);
	if (vmc_get_le64(v + 24) != 0)
		return vmc_error_set(err, ENOTSUP,
			"%s: seSparse journal needs replaying (not"
			" supported; open the disk on ESXi first)", e->path);
	e->kind = VMDK_K_SESPARSE;
	e->gte_bytes = 8;
	if (vmdk_sparse_geometry(e, f[SE_CAPACITY], f[SE_GRAIN],
				 f[SE_GT_SIZE] * VMDK_SECTOR / 8, err) < 0)
		return -1;
	need = e->n_gd;
	if (f[SE_GD_SIZE] > VMDK_MAX_GD_ENTRIES / 64 ||
	    f[SE_GD_SIZE] * VMDK_SECTOR / 8 < need)
		return vmc_error_set(err, EINVAL,
			"%s: seSparse grain directory of %" PRIu64 " sectors"
			" does not fit the capacity (%" PRIu64 " entries"
			" needed)", e->path, f[SE_GD_SIZE], need);
	if (vmc_mul_overflow(f[SE_GRAINS_OFF], VMDK_SECTOR, &e->grains_off) ||
	    vmc_mul_overflow(f[SE_GD_OFF], VMDK_SECTOR, &gd_off) ||
	    vmc_mul_overflow(f[SE_GT_OFF], VMDK_SECTOR, &e->flat_off) ||
	    f[SE_GT_AREA] > (UINT64_MAX >> 10))
		return vmc_error_set(err, EINVAL,
			"%s: seSparse header offsets overflow", e->path);
	/* flat_off holds the grain-table area's start; the number of
	 * tables it holds bounds the indexes the directory may use. */
	e->se_gt_count = f[SE_GT_AREA] / f[SE_GT_SIZE];
	return vmdk_sparse_load_gd(e, gd_off, err);
}

int vmdk_sesparse_gde(struct vmdk_extent *e, uint64_t v, uint64_t idx,
		      uint64_t *off, struct vmc_error *err)
{
	uint64_t n, gt_bytes = (uint64_t)e->gtes * 8;

	if (v == 0) {
		*off = 0;
		return 0;
	}
	if ((v & 0xffffffff00000000ull) != 0x1000000000000000ull)
		return vmc_error_set(err, EINVAL,
			"%s: seSparse grain directory entry %" PRIu64
			" has an unknown value 0x%016" PRIx64, e->path, idx,
			v);
	n = v & 0xffffffffull;
	if (n >= e->se_gt_count)
		return vmc_error_set(err, EINVAL,
			"%s: seSparse grain directory entry %" PRIu64
			" names grain table %" PRIu64 ", beyond the %" PRIu64
			" of the grain table area", e->path, idx, n,
			e->se_gt_count);
	*off = e->flat_off + n * gt_bytes;
	return 0;
}

int vmdk_sesparse_gte(struct vmdk_extent *e, uint64_t v, uint64_t grain,
		      enum vmdk_map_kind *kind, uint64_t *foff,
		      struct vmc_error *err)
{
	uint64_t idx, end;

	switch (v >> 60) {
	case 0:
		if (v != 0)
			break;
		*kind = VMDK_MAP_UNALLOC;
		return 0;
	case 1:			/* unmapped */
	case 2:			/* zeroed */
		*kind = VMDK_MAP_ZERO;
		return 0;
	case 3:
		idx = ((v >> 48) & 0xfff) | ((v & 0xffffffffffffull) << 12);
		if (vmc_mul_overflow(idx, e->grain, foff) ||
		    vmc_add_overflow(*foff, e->grains_off, foff) ||
		    vmc_add_overflow(*foff, e->grain, &end) ||
		    end > e->file_size)
			return vmc_error_set(err, EINVAL,
				"%s: seSparse grain table entry for grain %"
				PRIu64 " points past the end of the file"
				" (grain index %" PRIu64 ", file size 0x%"
				PRIx64 ")", e->path, grain, idx,
				e->file_size);
		*kind = VMDK_MAP_DATA;
		return 0;
	}
	return vmc_error_set(err, EINVAL,
		"%s: seSparse grain table entry for grain %" PRIu64 " has"
		" an unknown value 0x%016" PRIx64, e->path, grain, v);
}
