/* VHDX block allocation table: [MS-VHDX] 2.5 BAT (2.5.1 entries and
 * states, 2.5.2 chunk ratio and the sector-bitmap interleave). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/vhdx.h"

/* 2^23 sectors are described by one 1 MiB sector bitmap block. */
uint32_t vhdx_chunk_ratio(uint32_t logical_ss, uint32_t block_size)
{
	return (uint32_t)(((uint64_t)1 << 23) * logical_ss / block_size);
}

/* Every chunk_ratio payload entries are followed by one sector bitmap
 * entry, so payload block b sits after b / chunk_ratio bitmap entries. */
uint64_t vhdx_payload_index(uint64_t block, uint32_t chunk_ratio)
{
	return block + block / chunk_ratio;
}

uint64_t vhdx_bitmap_index(uint64_t chunk, uint32_t chunk_ratio)
{
	return chunk * ((uint64_t)chunk_ratio + 1) + chunk_ratio;
}

uint64_t vhdx_bat_entry_count(uint64_t data_blocks, uint32_t chunk_ratio,
			      bool has_parent)
{
	uint64_t chunks = VMC_DIV_ROUND_UP(data_blocks, chunk_ratio);

	if (has_parent)
		return chunks * ((uint64_t)chunk_ratio + 1);
	if (data_blocks == 0)
		return 0;
	return data_blocks + (data_blocks - 1) / chunk_ratio;
}

int vhdx_compute_geometry(struct vhdx_state *s, struct vmc_error *err)
{
	uint64_t bytes;

	s->chunk_ratio = vhdx_chunk_ratio(s->logical_ss, s->block_size);
	if (s->chunk_ratio == 0)
		return vmc_error_set(err, EINVAL,
			"%s: chunk ratio of logical sector size %" PRIu32
			" and block size %" PRIu32 " is zero", s->path,
			s->logical_ss, s->block_size);
	s->data_blocks = VMC_DIV_ROUND_UP(s->disk_size, s->block_size);
	s->bitmap_blocks = VMC_DIV_ROUND_UP(s->data_blocks, s->chunk_ratio);
	s->bat_entries = vhdx_bat_entry_count(s->data_blocks, s->chunk_ratio,
					      s->has_parent);
	if (vmc_mul_overflow(s->bat_entries, 8, &bytes) ||
	    bytes > VHDX_BAT_MAX_BYTES)
		return vmc_error_set(err, EFBIG,
			"%s: BAT of %" PRIu64 " entries is too large",
			s->path, s->bat_entries);
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Which structure [off, off + len) would overwrite, or NULL. */
static const char *hits_metadata(const struct vhdx_state *s, uint64_t off,
				 uint64_t len)
{
	if (off < VHDX_MiB)
		return "the headers";
	if (overlaps(off, len, s->bat_off, s->bat_len))
		return "the BAT";
	if (overlaps(off, len, s->meta_off, s->meta_len))
		return "the metadata region";
	if (overlaps(off, len, s->hdr.log_offset, s->hdr.log_length))
		return "the log";
	return NULL;
}

static int check_entry(struct vhdx_state *s, uint64_t i, uint64_t e,
		       struct vmc_error *err)
{
	bool is_bitmap = (i + 1) % ((uint64_t)s->chunk_ratio + 1) == 0;
	unsigned st = VHDX_BAT_STATE(e);
	uint64_t off = VHDX_BAT_OFFSET(e), len, end;
	const char *hit;

	if (is_bitmap) {
		if (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT)
			return vmc_error_set(err, EINVAL,
				"%s: BAT entry %" PRIu64 " (offset 0x%" PRIx64
				"): invalid sector bitmap state %u", s->path,
				i, s->bat_off + 8 * i, st);
		if (st != VHDX_SB_PRESENT)
			return 0;
		len = VHDX_BITMAP_BLOCK;
	} else {
		uint64_t block = i - i / ((uint64_t)s->chunk_ratio + 1);

		switch (st) {
		case VHDX_PAYLOAD_NOT_PRESENT:
		case VHDX_PAYLOAD_UNDEFINED:
		case VHDX_PAYLOAD_ZERO:
		case VHDX_PAYLOAD_UNMAPPED:
			return 0;
		case VHDX_PAYLOAD_FULLY_PRESENT:
		case VHDX_PAYLOAD_PARTIALLY_PRESENT:
			break;
		default:
			return vmc_error_set(err, EINVAL,
				"%s: BAT entry %" PRIu64 " (offset 0x%" PRIx64
				"): invalid payload block state %u", s->path,
				i, s->bat_off + 8 * i, st);
		}
		if (block >= s->data_blocks)
			return 0;
		/* Only the guest-visible part of the last block must be
		 * in the file. */
		len = VMC_MIN((uint64_t)s->block_size,
			      s->disk_size - block * s->block_size);
	}
	if (vmc_add_overflow(off, len, &end) || end > s->file_size)
		return vmc_error_set(err, EINVAL,
			"%s: BAT entry %" PRIu64 " points past end of file"
			" (offset 0x%" PRIx64 ", file size 0x%" PRIx64 ")",
			s->path, i, off, s->file_size);
	hit = hits_metadata(s, off, len);
	if (hit)
		return vmc_error_set(err, EINVAL,
			"%s: BAT entry %" PRIu64 " points into %s (offset"
			" 0x%" PRIx64 ")", s->path, i, hit, off);
	return 0;
}

int vhdx_read_bat(struct vhdx_state *s, struct vmc_error *err)
{
	size_t bytes = (size_t)s->bat_entries * 8;

	if (bytes > s->bat_len)
		return vmc_error_set(err, EINVAL,
			"%s: BAT region (offset 0x%" PRIx64 ") of 0x%" PRIx32
			" bytes is too small for %" PRIu64 " entries",
			s->path, s->bat_off, s->bat_len, s->bat_entries);
	s->bat = malloc(bytes ? bytes : 8);
	if (!s->bat)
		return vmc_error_set(err, ENOMEM,
			"%s: out of memory for a BAT of %zu bytes", s->path,
			bytes);
	if (vhdx_file_pread(s, s->bat, bytes, s->bat_off, err) < 0)
		return -1;
	for (uint64_t i = 0; i < s->bat_entries; i++) {
		s->bat[i] = le64toh(s->bat[i]);
		if (check_entry(s, i, s->bat[i], err) < 0)
			return -1;
	}
	return 0;
}
