/* VHD writer: fixed (data, then the footer) and dynamic (footer copy,
 * dynamic header, BAT, blocks of bitmap + data appended as data arrives,
 * footer) disks, per the VHD specification v1.0.
 *
 * Size: by default the disk is rounded up to a whole CHS geometry, as
 * qemu does, so that readers that size VHDs by CHS (Virtual PC) and by
 * the footer's current size (Hyper-V, Azure) agree.  force_size=on keeps
 * the size given, rounded up to 1 MiB as Azure requires, and records the
 * maximum CHS geometry, which every reader takes as "use current size". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <vmconv/output.h>

#include <vmconv/driver.h>
#include <vmconv/bytes.h>
#include "vhd.h"

#define MiB (1024ull * 1024)

static void make_footer(struct vhd_state *s, uint32_t type, uint64_t size,
			uint16_t cyls, uint8_t heads, uint8_t spt)
{
	uint8_t *f = s->footer;
	time_t now = time(NULL);
	size_t got = 0;

	memset(f, 0, VHD_FOOTER_SIZE);
	memcpy(f, "conectix", 8);
	vmc_put_be32(f + 8, 2);
	vmc_put_be32(f + 12, 0x00010000);
	vmc_put_be64(f + 16, type == VHD_TYPE_FIXED ? UINT64_MAX
						     : VHD_FOOTER_SIZE);
	vmc_put_be32(f + 24, now > VHD_EPOCH ? (uint32_t)(now - VHD_EPOCH)
					     : 0);
	memcpy(f + 28, "vmcv", 4);
	vmc_put_be32(f + 32, 0x00010000);
	memcpy(f + 36, "Wi2k", 4);
	vmc_put_be64(f + 40, size);
	vmc_put_be64(f + 48, size);
	vmc_put_be16(f + 56, cyls);
	f[58] = heads;
	f[59] = spt;
	vmc_put_be32(f + 60, type);
	while (got < 16) {
		ssize_t r = getrandom(f + 68 + got, 16 - got, 0);

		if (r > 0)
			got += (size_t)r;
	}
	vmc_put_be32(f + 64, vhd_checksum(f, VHD_FOOTER_SIZE, 64));
}

static int choose_size(uint64_t size, bool force, uint64_t *out,
		       uint16_t *cyls, uint8_t *heads, uint8_t *spt,
		       const char *filename, struct vmc_error *err)
{
	uint64_t want = VMC_DIV_ROUND_UP(size, 512), sectors;

	if (force) {
		sectors = VMC_ALIGN_UP(want * 512, MiB) / 512;
		vhd_chs(sectors, cyls, heads, spt);
		if ((uint64_t)*cyls * *heads * *spt != sectors) {
			*cyls = 65535;
			*heads = 16;
			*spt = 255;
		}
	} else {
		/* Grow until a geometry covers the size (qemu's rule). */
		sectors = VMC_MIN(want, VHD_MAX_GEOMETRY);
		*cyls = 0;
		*heads = *spt = 0;
		for (uint64_t i = 0;
		     sectors > (uint64_t)*cyls * *heads * *spt; i++)
			vhd_chs(sectors + i, cyls, heads, spt);
		if ((uint64_t)*cyls * *heads * *spt == VHD_MAX_GEOMETRY)
			sectors = want;
		else
			sectors = (uint64_t)*cyls * *heads * *spt;
	}
	if (sectors > VHD_MAX_SECTORS)
		return vmc_error_set(err, EFBIG,
			"%s: VHD disks are at most 2040 GiB, not %" PRIu64
			" bytes", filename, size);
	*out = sectors * 512;
	return 0;
}

int vhd_create(struct vmc_image *img, const char *filename, uint64_t size,
	       struct vmc_opts *opts, struct vmc_error *err)
{
	const char *sub = vmc_opts_get(opts, "subformat");
	struct vhd_state *s;
	bool force, fixed;
	uint16_t cyls;
	uint8_t heads, spt, *bat = NULL;
	uint64_t vsize = 0, end;
	size_t bat_bytes = 0;

	fixed = sub && !strcmp(sub, "fixed");
	if (vmc_opts_get_bool(opts, "force_size", false, &force, err) < 0)
		return -1;
	if (choose_size(size, force, &vsize, &cyls, &heads, &spt, filename,
			err) < 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	img->opaque = s;
	s->creating = true;
	s->path = img->filename;
	s->size = vsize;
	s->type = fixed ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC;
	make_footer(s, s->type, vsize, cyls, heads, spt);
	s->fd = vmc_output_open(img->out, filename, err);
	if (s->fd < 0)
		goto fail;
	if (fixed) {
		end = vsize;
	} else {
		uint8_t *d = s->dyn;

		s->block_size = VHD_DEFAULT_BLOCK;
		s->bitmap_size = 512;
		s->max_entries = (uint32_t)VMC_DIV_ROUND_UP(vsize,
							    s->block_size);
		s->table_off = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE;
		bat_bytes = VMC_ALIGN_UP((size_t)s->max_entries * 4, 512);
		s->bat = malloc(bat_bytes ? bat_bytes : 4);
		bat = malloc(bat_bytes ? bat_bytes : 4);
		if (!s->bat || !bat) {
			vmc_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		memset(s->bat, 0xff, bat_bytes);
		memset(bat, 0xff, bat_bytes);
		memset(d, 0, VHD_DYN_HEADER_SIZE);
		memcpy(d, "cxsparse", 8);
		vmc_put_be64(d + 8, UINT64_MAX);
		vmc_put_be64(d + 16, s->table_off);
		vmc_put_be32(d + 24, 0x00010000);
		vmc_put_be32(d + 28, s->max_entries);
		vmc_put_be32(d + 32, s->block_size);
		vmc_put_be32(d + 36, vhd_checksum(d, VHD_DYN_HEADER_SIZE,
						  36));
		end = s->table_off + bat_bytes;
		s->next_alloc = end;
		if (vmc_pwrite_full(s->fd, s->footer, VHD_FOOTER_SIZE, 0,
				    s->path, err) < 0 ||
		    vmc_pwrite_full(s->fd, d, VHD_DYN_HEADER_SIZE,
				    VHD_FOOTER_SIZE, s->path, err) < 0 ||
		    vmc_pwrite_full(s->fd, bat, bat_bytes, s->table_off,
				    s->path, err) < 0)
			goto fail;
	}
	if (ftruncate(s->fd, (off_t)(end + VHD_FOOTER_SIZE)) < 0) {
		vmc_error_errno(err, errno, "%s: cannot set size", filename);
		goto fail;
	}
	s->file_size = end + VHD_FOOTER_SIZE;
	free(bat);
	img->size = vsize;
	img->zero_init = true;
	img->granularity = fixed ? 0 : (uint32_t)MiB;
	return 0;
fail:
	free(bat);
	free(s->bat);
	free(s);
	img->opaque = NULL;
	return -1;
}

/* Append block b: a bitmap with every sector present, then the data
 * (zeros until written). */
static int alloc_block(struct vhd_state *s, uint32_t b, struct vmc_error *err)
{
	uint8_t bm[512];
	uint64_t at = s->next_alloc;

	if (at / 512 >= VHD_UNUSED)
		return vmc_error_set(err, EFBIG, "%s: file too large for a"
				     " VHD BAT", s->path);
	memset(bm, 0xff, sizeof(bm));
	if (ftruncate(s->fd, (off_t)(at + sizeof(bm) + s->block_size)) < 0)
		return vmc_error_errno(err, errno,
			"%s: cannot grow the file for block %" PRIu32,
			s->path, b);
	if (vmc_pwrite_full(s->fd, bm, sizeof(bm), at, s->path, err) < 0)
		return -1;
	s->bat[b] = (uint32_t)(at / 512);
	s->next_alloc = at + sizeof(bm) + s->block_size;
	return 0;
}

/* File offset of guest offset off in a dynamic disk (past the block's
 * bitmap sector), allocating its block if asked. */
static int block_offset(void *ctx, uint64_t off, bool alloc, uint64_t *fo,
			struct vmc_error *err)
{
	struct vhd_state *s = ctx;
	uint32_t b = (uint32_t)(off / s->block_size);

	if (s->bat[b] == VHD_UNUSED && alloc && alloc_block(s, b, err) < 0)
		return -1;
	*fo = s->bat[b] == VHD_UNUSED ? 0 :
	      (uint64_t)s->bat[b] * 512 + 512 + off % s->block_size;
	return 0;
}

/* Only a VHD being created is written: a fixed one straight through, a
 * dynamic one block by block (see include/vmconv/driver.h). */
static int writable(struct vmc_image *img, struct vmc_block_file *bf,
		    struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;

	if (!s->creating)
		return vmc_error_set(err, ENOTSUP,
			"%s: writing into an existing VHD is not supported",
			img->filename);
	*bf = (struct vmc_block_file){ s->fd, s->path, s->block_size,
				       block_offset, s };
	return 0;
}

int vhd_pwrite(struct vmc_image *img, const void *buf, size_t len,
	       uint64_t off, struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;
	struct vmc_block_file bf;

	if (writable(img, &bf, err) < 0)
		return -1;
	if (s->type == VHD_TYPE_FIXED)
		return vmc_pwrite_full(s->fd, buf, len, off, s->path, err);
	return vmc_block_pwrite(&bf, buf, len, off, err);
}

int vhd_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		      struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;
	struct vmc_block_file bf;

	if (writable(img, &bf, err) < 0)
		return -1;
	if (s->type == VHD_TYPE_FIXED)
		return vmc_zero_file_range(s->fd, off, len, s->path, err);
	return vmc_block_pwrite_zeroes(&bf, off, len, err);
}

int vhd_flush(struct vmc_image *img, struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;
	uint64_t end = s->type == VHD_TYPE_FIXED ? s->size : s->next_alloc;

	if (!s->creating)
		return 0;
	if (s->type != VHD_TYPE_FIXED) {
		size_t bytes = (size_t)s->max_entries * 4;
		uint32_t *be = malloc(bytes ? bytes : 4);
		int r;

		if (!be)
			return vmc_error_set(err, ENOMEM, "out of memory");
		for (uint32_t i = 0; i < s->max_entries; i++)
			be[i] = htobe32(s->bat[i]);
		r = vmc_pwrite_full(s->fd, be, bytes, s->table_off, s->path,
				    err);
		free(be);
		if (r < 0)
			return -1;
	}
	if (vmc_pwrite_full(s->fd, s->footer, VHD_FOOTER_SIZE, end, s->path,
			    err) < 0)
		return -1;
	if (ftruncate(s->fd, (off_t)(end + VHD_FOOTER_SIZE)) < 0)
		return vmc_error_errno(err, errno, "%s: cannot set size",
				       s->path);
	return vmc_output_datasync(img->out, s->fd, s->path, err);
}

/* measure: the layout vhd_create and alloc_block write: the footer copy,
 * the dynamic header, the BAT, a bitmap sector and a 2 MiB block per block
 * that holds data, the footer (fixed: the disk and the footer). */
int vhd_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		struct vmc_measure *m, struct vmc_error *err)
{
	const char *sub = vmc_opts_get(opts, "subformat");
	uint64_t vsize, blocks, units, head;
	uint16_t cyls;
	uint8_t heads, spt;
	bool force;

	if (vmc_opts_get_bool(opts, "force_size", false, &force, err) < 0 ||
	    choose_size(size, force, &vsize, &cyls, &heads, &spt, "vpc",
			err) < 0)
		return -1;
	if (sub && !strcmp(sub, "fixed")) {
		m->required = m->fully_allocated = vsize + VHD_FOOTER_SIZE;
		return 0;
	}
	blocks = VMC_DIV_ROUND_UP(vsize, VHD_DEFAULT_BLOCK);
	head = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE +
	       VMC_ALIGN_UP(blocks * 4, 512) + VHD_FOOTER_SIZE;
	if (vmc_measure_units(src, VHD_DEFAULT_BLOCK, &units, err) < 0)
		return -1;
	m->required = head + units * (512 + VHD_DEFAULT_BLOCK);
	m->fully_allocated = head + blocks * (512 + VHD_DEFAULT_BLOCK);
	return 0;
}
