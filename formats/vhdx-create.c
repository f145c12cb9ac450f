/* VHDX writer: [MS-VHDX] 2.1 layout, 2.2 headers and region table, 2.6
 * metadata, 2.5 BAT.  Layout: identifier, headers and region tables in the
 * first MiB, then the log (empty, LogGuid zero), a 1 MiB metadata region,
 * the BAT, and the payload blocks; every structure 1 MiB-aligned.
 *
 * The engine writes guest data in increasing offset order, each byte once,
 * so a dynamic image appends each block at the end of the file the first
 * time data reaches it and the BAT, kept in memory, is written by flush.
 * Blocks never written stay NOT_PRESENT (they read as zeros); a fixed image
 * has every block FULLY_PRESENT at its place in a sparse file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/output.h>
#include <vmconv/driver.h>

#include "common/bytes.h"
#include "formats/vhdx.h"

#define DEFAULT_BLOCK_SIZE	(32 * VHDX_MiB)
#define DEFAULT_LOG_SIZE	VHDX_MiB

static int write_identifier(struct vhdx_state *s, struct vmc_error *err)
{
	static const char creator[] = "vmconv";
	uint8_t buf[4096] = "vhdxfile";

	for (size_t i = 0; i < sizeof(creator) - 1; i++)
		vmc_put_le16(buf + 8 + 2 * i, (uint16_t)creator[i]);
	return vmc_pwrite_full(s->fd, buf, sizeof(buf), VHDX_FILE_ID_OFF,
			       s->path, err);
}

static int write_metadata(struct vhdx_state *s, struct vmc_error *err)
{
	uint8_t *buf = calloc(1, VHDX_META_TABLE_SIZE + 4096);
	struct {
		const uint8_t *guid;
		uint32_t len, flags;
	} items[] = {
		{ vhdx_guid_file_params, 8, 4 },
		{ vhdx_guid_disk_size, 8, 6 },
		{ vhdx_guid_page83, 16, 6 },
		{ vhdx_guid_logical_ss, 4, 6 },
		{ vhdx_guid_physical_ss, 4, 6 },
	};
	uint32_t off = VHDX_META_TABLE_SIZE;
	uint8_t *d;
	int r;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	memcpy(buf, "metadata", 8);
	vmc_put_le16(buf + 10, VMC_ARRAY_SIZE(items));
	for (size_t i = 0; i < VMC_ARRAY_SIZE(items); i++) {
		uint8_t *e = buf + 32 + 32 * i;

		memcpy(e, items[i].guid, 16);
		vmc_put_le32(e + 16, off);
		vmc_put_le32(e + 20, items[i].len);
		vmc_put_le32(e + 24, items[i].flags);
		off += items[i].len;
	}
	d = buf + VHDX_META_TABLE_SIZE;
	vmc_put_le32(d, s->block_size);
	vmc_put_le32(d + 4, s->leave_blocks_allocated ? 1 : 0);
	vmc_put_le64(d + 8, s->disk_size);
	memcpy(d + 16, s->page83, 16);
	vmc_put_le32(d + 32, s->logical_ss);
	vmc_put_le32(d + 36, s->physical_ss);
	r = vmc_pwrite_full(s->fd, buf, VHDX_META_TABLE_SIZE + 4096,
			    s->meta_off, s->path, err);
	free(buf);
	return r;
}

static int write_header_area(struct vhdx_state *s, struct vmc_error *err)
{
	uint8_t *buf = malloc(VHDX_REGION_SIZE);
	int r = -1;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (write_identifier(s, err) < 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		s->hdr.seq = (uint64_t)i + 1;
		vhdx_header_encode(&s->hdr, buf);
		if (vmc_pwrite_full(s->fd, buf, VHDX_HEADER_SIZE,
				    i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF,
				    s->path, err) < 0)
			goto out;
	}
	s->cur_hdr = 1;
	vhdx_region_table_encode(buf, s->bat_off, s->bat_len, s->meta_off,
				 s->meta_len);
	if (vmc_pwrite_full(s->fd, buf, VHDX_REGION_SIZE, VHDX_REGION1_OFF,
			    s->path, err) < 0 ||
	    vmc_pwrite_full(s->fd, buf, VHDX_REGION_SIZE, VHDX_REGION2_OFF,
			    s->path, err) < 0)
		goto out;
	r = write_metadata(s, err);
out:
	free(buf);
	return r;
}

static int get_options(struct vhdx_state *s, const char *filename,
		       struct vmc_opts *opts, struct vmc_error *err)
{
	const char *sub = vmc_opts_get(opts, "subformat");
	uint64_t bs, ls, lss, pss;

	s->fixed = sub && !strcmp(sub, "fixed");
	if (vmc_opts_get_size(opts, "block_size", DEFAULT_BLOCK_SIZE, &bs,
			      err) < 0 ||
	    vmc_opts_get_size(opts, "log_size", DEFAULT_LOG_SIZE, &ls,
			      err) < 0 ||
	    vmc_opts_get_size(opts, "logical_sector_size", 512, &lss,
			      err) < 0 ||
	    vmc_opts_get_size(opts, "physical_sector_size", 4096, &pss,
			      err) < 0)
		return -1;
	if (bs == 0)		/* qemu's "choose for me" */
		bs = DEFAULT_BLOCK_SIZE;
	if (!VMC_IS_POWER_OF_2(bs) || bs < VHDX_MIN_BLOCK ||
	    bs > VHDX_MAX_BLOCK)
		return vmc_error_set(err, EINVAL,
			"%s: block_size %" PRIu64 " is not a power of two"
			" between 1 MiB and 256 MiB", filename, bs);
	if (ls == 0 || ls % VHDX_MiB || ls > VHDX_LOG_MAX_BYTES)
		return vmc_error_set(err, EINVAL,
			"%s: log_size %" PRIu64 " is not a multiple of 1 MiB"
			" between 1 MiB and 256 MiB", filename, ls);
	if ((lss != 512 && lss != 4096) || (pss != 512 && pss != 4096))
		return vmc_error_set(err, EINVAL,
			"%s: sector sizes must be 512 or 4096", filename);
	s->block_size = (uint32_t)bs;
	s->log_size = (uint32_t)ls;
	s->logical_ss = (uint32_t)lss;
	s->physical_ss = (uint32_t)pss;
	return 0;
}

int vhdx_create(struct vmc_image *img, const char *filename, uint64_t size,
		struct vmc_opts *opts, struct vmc_error *err)
{
	struct vhdx_state *s = calloc(1, sizeof(*s));
	uint64_t end;

	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	img->opaque = s;
	s->creating = true;
	s->fd = -1;
	s->path = img->filename;
	if (get_options(s, filename, opts, err) < 0)
		goto fail;
	/* The disk is whole sectors: a source of another size grows to the
	 * next one, which reads as zeros (qemu-img rounds up likewise). */
	if (size > VHDX_MAX_DISK_SIZE) {
		vmc_error_set(err, EFBIG,
			"%s: size %" PRIu64 " is over the 64 TiB VHDX limit",
			filename, size);
		goto fail;
	}
	size = VMC_ALIGN_UP(size, s->logical_ss);
	s->disk_size = size;
	s->leave_blocks_allocated = s->fixed;
	if (vhdx_compute_geometry(s, err) < 0)
		goto fail;
	s->hdr.log_offset = VHDX_MiB;
	s->hdr.log_length = s->log_size;
	s->hdr.version = 1;
	vhdx_guid_random(s->hdr.file_write_guid);
	vhdx_guid_random(s->hdr.data_write_guid);
	vhdx_guid_random(s->page83);
	s->meta_off = VHDX_MiB + s->log_size;
	s->meta_len = VHDX_MiB;
	s->bat_off = s->meta_off + s->meta_len;
	s->bat_len = (uint32_t)VMC_ALIGN_UP(VMC_MAX(s->bat_entries * 8, 1),
					    VHDX_MiB);
	s->data_start = s->bat_off + s->bat_len;
	s->next_alloc = s->data_start;
	s->bat = calloc(s->bat_entries ? s->bat_entries : 1, 8);
	if (!s->bat) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	end = s->data_start;
	if (s->fixed) {
		for (uint64_t b = 0; b < s->data_blocks; b++)
			s->bat[vhdx_payload_index(b, s->chunk_ratio)] =
				VHDX_BAT_ENTRY(VHDX_PAYLOAD_FULLY_PRESENT,
					       s->data_start +
					       b * s->block_size);
		end += s->data_blocks * s->block_size;
	}
	s->fd = vmc_output_open(img->out, filename, err);
	if (s->fd < 0)
		goto fail;
	s->phys_size = s->file_size = end;
	if (ftruncate(s->fd, (off_t)end) < 0) {
		vmc_error_errno(err, errno, "%s: cannot set size to %" PRIu64,
				filename, end);
		goto fail;
	}
	if (write_header_area(s, err) < 0)
		goto fail;
	img->size = size;
	img->zero_init = true;
	img->granularity = (uint32_t)VMC_MIN(s->block_size, VHDX_MiB);
	return 0;
fail:
	free(s->bat);
	free(s);
	img->opaque = NULL;
	return -1;
}

/* File offset of guest offset off, allocating its block if asked. */
static int block_offset(void *ctx, uint64_t off, bool alloc, uint64_t *fo,
			struct vmc_error *err)
{
	struct vhdx_state *s = ctx;
	uint64_t block = off / s->block_size;
	uint64_t *e = &s->bat[vhdx_payload_index(block, s->chunk_ratio)];

	if (VHDX_BAT_STATE(*e) == VHDX_PAYLOAD_FULLY_PRESENT) {
		*fo = VHDX_BAT_OFFSET(*e) + off % s->block_size;
		return 0;
	}
	if (!alloc) {
		*fo = 0;
		return 0;
	}
	if (ftruncate(s->fd, (off_t)(s->next_alloc + s->block_size)) < 0)
		return vmc_error_errno(err, errno,
			"%s: cannot grow the file for block %" PRIu64,
			s->path, block);
	*e = VHDX_BAT_ENTRY(VHDX_PAYLOAD_FULLY_PRESENT, s->next_alloc);
	*fo = s->next_alloc + off % s->block_size;
	s->next_alloc += s->block_size;
	s->phys_size = s->file_size = s->next_alloc;
	return 0;
}

/* Only a VHDX being created is written (block by block, see
 * include/vmconv/driver.h). */
static int writable(struct vmc_image *img, struct vmc_block_file *bf,
		    struct vmc_error *err)
{
	struct vhdx_state *s = img->opaque;

	if (!s->creating)
		return vmc_error_set(err, ENOTSUP,
			"%s: writing into an existing VHDX is not supported",
			img->filename);
	*bf = (struct vmc_block_file){ s->fd, s->path, s->block_size,
				       block_offset, s };
	return 0;
}

int vhdx_pwrite(struct vmc_image *img, const void *buf, size_t len,
		uint64_t off, struct vmc_error *err)
{
	struct vmc_block_file bf;

	if (writable(img, &bf, err) < 0)
		return -1;
	return vmc_block_pwrite(&bf, buf, len, off, err);
}

int vhdx_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		       struct vmc_error *err)
{
	struct vmc_block_file bf;

	if (writable(img, &bf, err) < 0)
		return -1;
	return vmc_block_pwrite_zeroes(&bf, off, len, err);
}

int vhdx_flush(struct vmc_image *img, struct vmc_error *err)
{
	struct vhdx_state *s = img->opaque;
	size_t bytes = (size_t)s->bat_entries * 8;
	uint64_t *le;
	int r;

	if (!s->creating)
		return 0;
	le = malloc(bytes ? bytes : 8);
	if (!le)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint64_t i = 0; i < s->bat_entries; i++)
		le[i] = htole64(s->bat[i]);
	r = vmc_pwrite_full(s->fd, le, bytes, s->bat_off, s->path, err);
	free(le);
	if (r < 0)
		return -1;
	return vmc_output_datasync(img->out, s->fd, s->path, err);
}

/* measure: the layout above, exactly: the first MiB, the log, the
 * metadata region and the BAT, then one payload block per block that
 * holds data (every block for fixed). */
int vhdx_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		 struct vmc_measure *m, struct vmc_error *err)
{
	struct vhdx_state s;
	uint64_t head, units;

	memset(&s, 0, sizeof(s));
	s.path = "vhdx";
	if (get_options(&s, "vhdx", opts, err) < 0)
		return -1;
	if (size > VHDX_MAX_DISK_SIZE)
		return vmc_error_set(err, EFBIG, "vhdx: size %" PRIu64
				     " is over the 64 TiB VHDX limit", size);
	s.disk_size = VMC_ALIGN_UP(size, s.logical_ss);
	if (vhdx_compute_geometry(&s, err) < 0)
		return -1;
	head = 2 * VHDX_MiB + s.log_size +
	       VMC_ALIGN_UP(VMC_MAX(s.bat_entries * 8, 1), VHDX_MiB);
	if (vmc_measure_units(src, s.block_size, &units, err) < 0)
		return -1;
	if (s.fixed)
		units = s.data_blocks;
	m->fully_allocated = head + s.data_blocks * s.block_size;
	m->required = head + units * s.block_size;
	return 0;
}
