/* VMDK hosted sparse extents: VMware "Virtual Disk Format 1.1", sections
 * "Hosted Sparse Extent Header", "Grain Directories and Grain Tables" and
 * "Stream-Optimized Compressed Sparse Extents" (grain markers, the footer
 * of version 3 streams whose header says GD_AT_END); the "Virtual Disk
 * Format 5.0" zeroed-grain GTE; and the ESX "COWD" vmfsSparse header. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

static int past_end(struct vmdk_extent *e, const char *what, uint64_t off,
		    uint64_t len, struct vmc_error *err)
{
	return vmc_error_set(err, EINVAL,
		"%s: %s at offset 0x%" PRIx64 " (%" PRIu64 " bytes) extends"
		" past the end of the file (size 0x%" PRIx64 ")", e->path,
		what, off, len, e->file_size);
}

static bool in_file(struct vmdk_extent *e, uint64_t off, uint64_t len)
{
	uint64_t end;

	return !vmc_add_overflow(off, len, &end) && end <= e->file_size;
}

/* Load the grain directory: n_gd entries of gte_bytes at byte offset
 * gd_off, every grain table checked to lie inside the file. */
int vmdk_sparse_load_gd(struct vmdk_extent *e, uint64_t gd_off,
		   struct vmc_error *err)
{
	size_t esz = e->kind == VMDK_K_SESPARSE ? 8 : 4;
	uint64_t bytes = e->n_gd * esz, gt_bytes = (uint64_t)e->gtes *
							e->gte_bytes;
	uint8_t *raw;

	if (!in_file(e, gd_off, bytes))
		return past_end(e, "grain directory", gd_off, bytes, err);
	raw = malloc(bytes ? bytes : 1);
	e->gd = calloc(e->n_gd ? e->n_gd : 1, sizeof(*e->gd));
	if (!raw || !e->gd) {
		free(raw);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	if (vmc_pread_full(e->fd, raw, bytes, gd_off, e->path, err) < 0)
		goto fail;
	for (uint64_t i = 0; i < e->n_gd; i++) {
		uint64_t v, off;

		if (esz == 4) {
			v = vmc_get_le32(raw + i * 4);
			off = v * VMDK_SECTOR;
		} else if (vmdk_sesparse_gde(e, vmc_get_le64(raw + i * 8), i,
					     &off, err) < 0) {
			goto fail;
		}
		if (off && !in_file(e, off, gt_bytes)) {
			vmc_error_set(err, EINVAL,
				"%s: grain directory entry %" PRIu64 " points"
				" to a grain table at offset 0x%" PRIx64
				" past the end of the file (size 0x%" PRIx64
				")", e->path, i, off, e->file_size);
			goto fail;
		}
		e->gd[i] = off;
	}
	free(raw);
	return 0;
fail:
	free(raw);
	free(e->gd);
	e->gd = NULL;
	return -1;
}

/* Shared checks of grain size, table size and capacity; sets n_gd to
 * the entries the capacity needs. */
int vmdk_sparse_geometry(struct vmdk_extent *e, uint64_t cap_sectors,
			 uint64_t grain_sectors, uint64_t gtes,
			 struct vmc_error *err)
{
	uint64_t span;

	if (!VMC_IS_POWER_OF_2(grain_sectors) ||
	    grain_sectors > VMDK_MAX_GRAIN_SECTORS)
		return vmc_error_set(err, EINVAL,
			"%s: grain size %" PRIu64 " sectors is not a power of"
			" two up to %u", e->path, grain_sectors,
			VMDK_MAX_GRAIN_SECTORS);
	if (gtes == 0 || gtes > VMDK_MAX_GTES)
		return vmc_error_set(err, EINVAL,
			"%s: %" PRIu64 " entries per grain table (must be"
			" 1..%u)", e->path, gtes, VMDK_MAX_GTES);
	if (cap_sectors > (UINT64_MAX >> 10))
		return vmc_error_set(err, EINVAL,
			"%s: capacity of %" PRIu64 " sectors is not valid",
			e->path, cap_sectors);
	e->grain = grain_sectors * VMDK_SECTOR;
	e->gtes = (uint32_t)gtes;
	e->capacity = cap_sectors * VMDK_SECTOR;
	span = grain_sectors * gtes;
	e->n_gd = VMC_DIV_ROUND_UP(cap_sectors, span);
	if (e->n_gd > VMDK_MAX_GD_ENTRIES)
		return vmc_error_set(err, EFBIG,
			"%s: capacity %" PRIu64 " sectors needs %" PRIu64
			" grain directory entries (at most %u)", e->path,
			cap_sectors, e->n_gd, VMDK_MAX_GD_ENTRIES);
	return 0;
}

static void header_get(const uint8_t *b, struct vmdk4_header *h)
{
	h->version = vmc_get_le32(b + 4);
	h->flags = vmc_get_le32(b + 8);
	h->capacity = vmc_get_le64(b + 12);
	h->grain = vmc_get_le64(b + 20);
	h->desc_off = vmc_get_le64(b + 28);
	h->desc_size = vmc_get_le64(b + 36);
	h->gtes = vmc_get_le32(b + 44);
	h->rgd_off = vmc_get_le64(b + 48);
	h->gd_off = vmc_get_le64(b + 56);
	h->overhead = vmc_get_le64(b + 64);
	h->compress = vmc_get_le16(b + 77);
}

void vmdk4_header_put(uint8_t *b, const struct vmdk4_header *h)
{
	memset(b, 0, VMDK_SECTOR);
	vmc_put_le32(b, VMDK4_MAGIC);
	vmc_put_le32(b + 4, h->version);
	vmc_put_le32(b + 8, h->flags);
	vmc_put_le64(b + 12, h->capacity);
	vmc_put_le64(b + 20, h->grain);
	vmc_put_le64(b + 28, h->desc_off);
	vmc_put_le64(b + 36, h->desc_size);
	vmc_put_le32(b + 44, h->gtes);
	vmc_put_le64(b + 48, h->rgd_off);
	vmc_put_le64(b + 56, h->gd_off);
	vmc_put_le64(b + 64, h->overhead);
	b[72] = 0;			/* uncleanShutdown */
	b[73] = '\n';
	b[74] = ' ';
	b[75] = '\r';
	b[76] = '\n';
	vmc_put_le16(b + 77, h->compress);
}

/* Version 3 streams may say GD_AT_END: the real header is the footer,
 * the second-to-last sector, behind a footer marker and before EOS. */
static int read_footer(struct vmdk_extent *e, struct vmdk4_header *h,
		       struct vmc_error *err)
{
	uint8_t b[3 * VMDK_SECTOR];
	uint64_t off;

	if (e->file_size < 4 * VMDK_SECTOR)
		return vmc_error_set(err, EINVAL,
			"%s: stream header says the grain directory is at the"
			" end, but the file is too short for a footer",
			e->path);
	off = VMC_ALIGN_DOWN(e->file_size, VMDK_SECTOR) - 3 * VMDK_SECTOR;
	if (vmc_pread_full(e->fd, b, sizeof(b), off, e->path, err) < 0)
		return -1;
	if (vmc_get_le32(b + 8) != 0 ||
	    vmc_get_le32(b + 12) != VMDK_MARKER_FOOTER)
		return vmc_error_set(err, EINVAL,
			"%s: no footer marker at offset 0x%" PRIx64
			" (stream with the grain directory at the end)",
			e->path, off);
	if (vmc_get_le32(b + VMDK_SECTOR) != VMDK4_MAGIC)
		return vmc_error_set(err, EINVAL,
			"%s: footer at offset 0x%" PRIx64 " has no KDMV"
			" magic", e->path, off + VMDK_SECTOR);
	if (vmc_get_le32(b + 2 * VMDK_SECTOR + 8) != 0 ||
	    vmc_get_le32(b + 2 * VMDK_SECTOR + 12) != VMDK_MARKER_EOS)
		return vmc_error_set(err, EINVAL,
			"%s: no end-of-stream marker at offset 0x%" PRIx64,
			e->path, off + 2 * VMDK_SECTOR);
	header_get(b + VMDK_SECTOR, h);
	if (h->gd_off == VMDK4_GD_AT_END)
		return vmc_error_set(err, EINVAL,
			"%s: footer at offset 0x%" PRIx64 " still says the"
			" grain directory is at the end", e->path,
			off + VMDK_SECTOR);
	return 0;
}

int vmdk_sparse_open(struct vmdk_extent *e, char **desc_out,
		     struct vmc_error *err)
{
	uint8_t b[VMDK_SECTOR];
	struct vmdk4_header h;
	uint64_t gd;

	if (e->file_size < VMDK_SECTOR)
		return vmc_error_set(err, EINVAL,
			"%s: file too short for a sparse extent header",
			e->path);
	if (vmc_pread_full(e->fd, b, sizeof(b), 0, e->path, err) < 0)
		return -1;
	if (vmc_get_le32(b) != VMDK4_MAGIC)
		return vmc_error_set(err, EINVAL,
			"%s: no sparse extent magic (KDMV) at offset 0",
			e->path);
	header_get(b, &h);
	if (h.version == 0 || h.version > 3)
		return vmc_error_set(err, ENOTSUP,
			"%s: sparse extent version %u not supported",
			e->path, h.version);
	e->kind = VMDK_K_SPARSE;
	e->version = h.version;
	e->gte_bytes = 4;
	if (desc_out && h.desc_off && h.desc_size) {
		uint64_t off, len;

		if (h.desc_size > VMDK_DESC_MAX / VMDK_SECTOR ||
		    vmc_mul_overflow(h.desc_off, VMDK_SECTOR, &off))
			return vmc_error_set(err, EINVAL,
				"%s: embedded descriptor of %" PRIu64
				" sectors is too large (at most %u bytes)",
				e->path, h.desc_size, VMDK_DESC_MAX);
		len = h.desc_size * VMDK_SECTOR;
		if (!in_file(e, off, len))
			return past_end(e, "embedded descriptor", off, len,
					err);
		*desc_out = calloc(1, len + 1);
		if (!*desc_out)
			return vmc_error_set(err, ENOMEM, "out of memory");
		if (vmc_pread_full(e->fd, *desc_out, len, off, e->path,
				   err) < 0)
			return -1;
	}
	if (h.gd_off == VMDK4_GD_AT_END && read_footer(e, &h, err) < 0)
		return -1;
	e->flags = h.flags;
	e->compressed = h.flags & VMDK4_FLAG_COMPRESS;
	e->markers = h.flags & VMDK4_FLAG_MARKER;
	e->zero_grain = (h.flags & VMDK4_FLAG_ZERO_GRAIN) && h.version >= 2;
	if (e->compressed && h.compress != VMDK4_COMPRESS_DEFLATE)
		return vmc_error_set(err, ENOTSUP,
			"%s: compression algorithm %u not supported",
			e->path, h.compress);
	if (vmdk_sparse_geometry(e, h.capacity, h.grain, h.gtes, err) < 0)
		return -1;
	if ((h.flags & VMDK4_FLAG_RGD) && h.rgd_off &&
	    !vmc_mul_overflow(h.rgd_off, VMDK_SECTOR, &e->rgd_off) &&
	    !in_file(e, e->rgd_off, e->n_gd * 4))
		e->rgd_off = 0;
	gd = h.gd_off;
	if (gd == 0)
		return vmc_error_set(err, EINVAL,
			"%s: header has no grain directory offset", e->path);
	if (vmc_mul_overflow(gd, VMDK_SECTOR, &gd))
		return past_end(e, "grain directory", h.gd_off, 0, err);
	return vmdk_sparse_load_gd(e, gd, err);
}

/* ESX 2/3 redo logs ("vmfsSparse"): "COWD", then 32-bit fields; grain
 * tables hold 4096 entries. */
int vmdk_cowd_open(struct vmdk_extent *e, struct vmc_error *err)
{
	uint8_t b[44];
	uint64_t need;

	if (e->file_size < sizeof(b))
		return vmc_error_set(err, EINVAL,
			"%s: file too short for a COWD header", e->path);
	if (vmc_pread_full(e->fd, b, sizeof(b), 0, e->path, err) < 0)
		return -1;
	if (vmc_get_le32(b) != VMDK3_MAGIC)
		return vmc_error_set(err, EINVAL,
			"%s: no COWD magic at offset 0", e->path);
	e->kind = VMDK_K_COWD;
	e->gte_bytes = 4;
	e->version = vmc_get_le32(b + 4);
	if (vmdk_sparse_geometry(e, vmc_get_le32(b + 12),
				 vmc_get_le32(b + 16), 4096, err) < 0)
		return -1;
	need = e->n_gd;
	e->n_gd = vmc_get_le32(b + 24);
	if (e->n_gd < need || e->n_gd > VMDK_MAX_GD_ENTRIES)
		return vmc_error_set(err, EINVAL,
			"%s: COWD grain directory has %" PRIu64 " entries,"
			" the capacity needs %" PRIu64, e->path, e->n_gd,
			need);
	return vmdk_sparse_load_gd(e, (uint64_t)vmc_get_le32(b + 20) *
				   VMDK_SECTOR, err);
}

void vmdk_sparse_free(struct vmdk_extent *e)
{
	free(e->gd);
	e->gd = NULL;
	for (int i = 0; i < VMDK_GT_CACHE; i++) {
		free(e->gt[i]);
		e->gt[i] = NULL;
	}
}

static int load_gt(struct vmdk_extent *e, uint64_t off, const uint8_t **gt,
		   struct vmc_error *err)
{
	size_t bytes = (size_t)e->gtes * e->gte_bytes;
	unsigned slot;

	for (int i = 0; i < VMDK_GT_CACHE; i++) {
		if (e->gt[i] && e->gt_off[i] == off) {
			*gt = e->gt[i];
			return 0;
		}
	}
	slot = e->gt_next++ % VMDK_GT_CACHE;
	if (!e->gt[slot] && !(e->gt[slot] = malloc(bytes)))
		return vmc_error_set(err, ENOMEM, "out of memory");
	e->gt_off[slot] = 0;
	if (vmdk_ext_fd(e, err) < 0 ||
	    vmc_pread_full(e->fd, e->gt[slot], bytes, off, e->path, err) < 0)
		return -1;
	e->gt_off[slot] = off;
	*gt = e->gt[slot];
	return 0;
}

int vmdk_sparse_lookup(struct vmdk_extent *e, uint64_t rel,
		       enum vmdk_map_kind *kind, uint64_t *foff,
		       struct vmc_error *err)
{
	uint64_t g = rel / e->grain, gdi = g / e->gtes, gti = g % e->gtes;
	const uint8_t *gt = NULL;
	uint64_t v, need;

	if (gdi >= e->n_gd)
		return vmc_error_set(err, EINVAL,
			"%s: offset 0x%" PRIx64 " is beyond the grain"
			" directory (%" PRIu64 " entries)", e->path, rel,
			e->n_gd);
	if (!e->gd[gdi]) {
		*kind = VMDK_MAP_UNALLOC;
		return 0;
	}
	if (load_gt(e, e->gd[gdi], &gt, err) < 0)
		return -1;
	if (e->kind == VMDK_K_SESPARSE)
		return vmdk_sesparse_gte(e, vmc_get_le64(gt + gti * 8), g,
					 kind, foff, err);
	v = vmc_get_le32(gt + gti * 4);
	if (v == 0) {
		*kind = VMDK_MAP_UNALLOC;
		return 0;
	}
	if (v == 1 && e->zero_grain) {
		*kind = VMDK_MAP_ZERO;
		return 0;
	}
	*foff = v * VMDK_SECTOR;
	if (e->compressed) {
		*kind = VMDK_MAP_COMPRESSED;
		need = e->markers ? 12 : 1;
	} else {
		*kind = VMDK_MAP_DATA;
		/* The last grain may be cut short by the capacity. */
		need = VMC_MIN(e->grain, e->capacity - g * e->grain);
	}
	if (!in_file(e, *foff, need))
		return vmc_error_set(err, EINVAL,
			"%s: grain table entry for grain %" PRIu64 " points"
			" to offset 0x%" PRIx64 ", past the end of the file"
			" (size 0x%" PRIx64 ")", e->path, g, *foff,
			e->file_size);
	return 0;
}

int vmdk_unalloc_end(struct vmdk_extent *e, uint64_t rel, uint64_t *end,
		     struct vmc_error *err)
{
	uint64_t g = rel / e->grain, gdi = g / e->gtes, gti = g % e->gtes;
	const uint8_t *gt;

	*end = rel;
	if (e->kind == VMDK_K_SESPARSE || gdi >= e->n_gd)
		return 0;
	if (!e->gd[gdi]) {
		*end = (gdi + 1) * e->gtes * e->grain;
		return 0;
	}
	if (load_gt(e, e->gd[gdi], &gt, err) < 0)
		return -1;
	while (gti < e->gtes && vmc_get_le32(gt + gti * 4) == 0)
		gti++;
	*end = (gdi * e->gtes + gti) * e->grain;
	return 0;
}

/* The compressed bytes of the grain whose marker (or data, without
 * markers) is at foff, into *cdata (malloc'd, *clen bytes, at file
 * offset *at).  With the state's lock held (the extent's descriptor). */
int vmdk_fetch_grain(struct vmdk_extent *e, uint64_t foff,
		     uint64_t rel_grain, uint8_t **cdata, uint64_t *clen,
		     uint64_t *at, struct vmc_error *err)
{
	uint64_t max = 2 * e->grain + VMDK_SECTOR, lba;
	uint8_t hdr[12];

	*cdata = NULL;
	if (vmdk_ext_fd(e, err) < 0)
		return -1;
	if (e->markers) {
		if (vmc_pread_full(e->fd, hdr, sizeof(hdr), foff, e->path,
				   err) < 0)
			return -1;
		lba = vmc_get_le64(hdr);
		*clen = vmc_get_le32(hdr + 8);
		if (*clen == 0 || *clen > max)
			return vmc_error_set(err, EINVAL,
				"%s: grain marker at offset 0x%" PRIx64
				" gives a compressed size of %" PRIu64
				" bytes (grain size %" PRIu64 ")", e->path,
				foff, *clen, e->grain);
		if (lba != rel_grain / VMDK_SECTOR)
			return vmc_error_set(err, EINVAL,
				"%s: grain marker at offset 0x%" PRIx64
				" is for sector %" PRIu64 ", expected %" PRIu64,
				e->path, foff, lba, rel_grain / VMDK_SECTOR);
		foff += 12;
		if (!in_file(e, foff, *clen))
			return past_end(e, "compressed grain", foff, *clen,
					err);
	} else {
		*clen = VMC_MIN(max, e->file_size - foff);
	}
	*at = foff;
	*cdata = malloc(*clen);
	if (!*cdata)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(e->fd, *cdata, *clen, foff, e->path, err) < 0) {
		free(*cdata);
		*cdata = NULL;
		return -1;
	}
	return 0;
}

/* Inflate what vmdk_fetch_grain read into grain-sized out, with st
 * (ISA-L's inflate state) as scratch; needs no lock. */
int vmdk_inflate_grain(struct vmdk_extent *e, uint64_t at,
		       const uint8_t *cdata, uint64_t clen, uint8_t *out,
		       struct inflate_state *st, struct vmc_error *err)
{
	int r;

	/* ISA-L inflates zlib streams (checking the Adler-32) about twice
	 * as fast as zlib. */
	isal_inflate_init(st);
	st->crc_flag = ISAL_ZLIB;
	st->next_in = (uint8_t *)cdata;
	st->avail_in = (uint32_t)clen;
	st->next_out = out;
	st->avail_out = (uint32_t)e->grain;
	r = isal_inflate_stateless(st);
	if (r == ISAL_OUT_OVERFLOW)
		return vmc_error_set(err, EINVAL,
			"%s: compressed grain at offset 0x%" PRIx64
			" inflates past the grain size (%" PRIu64 " bytes)",
			e->path, at, e->grain);
	if (r != ISAL_DECOMP_OK)
		return vmc_error_set(err, EINVAL,
			"%s: compressed grain at offset 0x%" PRIx64 " is"
			" corrupt (deflate: %s)", e->path, at,
			r == ISAL_END_INPUT ? "truncated stream" :
			r == ISAL_INCORRECT_CHECKSUM ? "bad Adler-32" :
			r == ISAL_INVALID_WRAPPER ||
			r == ISAL_UNSUPPORTED_METHOD ? "not a zlib stream" :
			"invalid data");
	/* A short last grain: the rest reads as zeros. */
	memset(out + (e->grain - st->avail_out), 0, st->avail_out);
	return 0;
}

int vmdk_read_compressed(struct vmdk_extent *e, uint64_t foff,
			 uint64_t rel_grain, uint8_t *out,
			 struct inflate_state *st, struct vmc_error *err)
{
	uint8_t *cdata;
	uint64_t clen, at;
	int r;

	if (vmdk_fetch_grain(e, foff, rel_grain, &cdata, &clen, &at,
			     err) < 0)
		return -1;
	r = vmdk_inflate_grain(e, at, cdata, clen, out, st, err);
	free(cdata);
	return r;
}
