/* VHDX: Hyper-V's disk format, read side.  [MS-VHDX] v20240423: 2.1 layout,
 * 2.5 BAT and payload block states (2.5.1.1), 2.6.2.6 parent locator and
 * differencing reads through sector bitmaps (2.5.1.2), 2.3.3 log replay
 * (in memory on read-only opens, on disk by check --repair).  Headers and
 * region tables are in vhdx-header.c, metadata in vhdx-metadata.c, the
 * BAT in vhdx-bat.c, the log in vhdx-log.c, the writer in vhdx-create.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/check.h>
#include <vmconv/image.h>
#include <vmconv/driver.h>

#include "common/bytes.h"
#include "common/confine.h"
#include "formats/registry.h"
#include "formats/vhdx.h"

static int vhdx_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	return len >= 8 && !memcmp(buf, "vhdxfile", 8) ? 100 : 0;
}

int vhdx_file_pread(struct vhdx_state *s, void *buf, size_t len,
		    uint64_t off, struct vmc_error *err)
{
	uint8_t *p = buf;
	uint64_t end;

	if (vmc_add_overflow(off, len, &end) || end > s->file_size)
		return vmc_error_set(err, EIO,
			"%s: read of %zu bytes at offset 0x%" PRIx64 " is past"
			" the end of the file (0x%" PRIx64 ")", s->path, len,
			off, s->file_size);
	if (off < s->phys_size) {
		size_t n = (size_t)VMC_MIN((uint64_t)len, s->phys_size - off);

		if (vmc_pread_full(s->fd, p, n, off, s->path, err) < 0)
			return -1;
		if (n < len)
			memset(p + n, 0, len - n);
	} else {
		memset(p, 0, len);
	}
	/* Later log writes win over earlier ones: apply them in order. */
	for (size_t i = 0; i < s->log.n; i++) {
		const struct vhdx_log_write *w = &s->log.w[i];
		uint64_t a = VMC_MAX(off, w->off);
		uint64_t b = VMC_MIN(end, w->off + w->len);

		if (a >= b)
			continue;
		if (w->data)
			memcpy(p + (a - off), w->data + (a - w->off), b - a);
		else
			memset(p + (a - off), 0, b - a);
	}
	return 0;
}

/* ---- parent ---- */

static char *win_to_local(const char *win)
{
	char *p, *q;

	while (win[0] == '.' && win[1] == '\\')
		win += 2;
	p = strdup(win);
	if (!p)
		return NULL;
	for (q = p; *q; q++)
		if (*q == '\\')
			*q = '/';
	return p;
}

static int check_linkage(void *ctx, struct vmc_image *parent,
			 const char *path, struct vmc_error *err)
{
	const struct vhdx_state *s = ctx, *ps;
	char g[39];

	(void)path;	/* parent->filename is the same path */

	if (parent->drv != &vmc_vhdx_driver)
		return vmc_error_set(err, EINVAL,
			"%s: parent %s is %s, not VHDX", s->path,
			parent->filename, parent->drv->name);
	ps = parent->opaque;
	vhdx_guid_format(ps->hdr.data_write_guid, g);
	if (!strcasecmp(g, s->loc.parent_linkage) ||
	    (s->loc.parent_linkage2 &&
	     !strcasecmp(g, s->loc.parent_linkage2)))
		return 0;
	return vmc_error_set(err, EINVAL,
		"%s: parent %s has DataWriteGuid %s, but the parent locator's"
		" parent_linkage is %s (the parent changed after this"
		" differencing disk was made)", s->path, parent->filename, g,
		s->loc.parent_linkage);
}

/* A locator path as a candidate beside the child (see win_to_local);
 * base_only keeps just its file name.  Until one candidate has resolved
 * (*found), each is put to the parent policy here, so that a refusal
 * names the locator entry it came from; vmc_parent_open tries them in
 * the same order and opens the first that exists. */
static int add_candidate(struct vmc_parent_search *ps, const char *child,
			 const char *field, const char *win, bool base_only,
			 bool *found, struct vmc_error *err)
{
	char *w = win_to_local(win), *real, label[80];
	const char *name;
	struct vmc_error e;
	int ret = -1;

	if (!w)
		return vmc_error_set(err, ENOMEM, "out of memory");
	name = base_only ? vmc_parent_base_name(w) : w;
	if (!*found) {
		snprintf(label, sizeof(label), "parent locator %s%s", field,
			 base_only ? " (its file name)" : "");
		real = vmc_confine_resolve(child, label, name, &e);
		if (!real && e.code != ENOENT) {
			if (err)
				*err = e;
			goto out;
		}
		*found = real != NULL;
		free(real);
	}
	ret = vmc_parent_add(ps, child, name, err);
out:
	free(w);
	return ret;
}

static void not_found(struct vmc_image *img, const struct vhdx_state *s,
		      const struct vmc_parent_search *ps,
		      struct vmc_error *err)
{
	const struct vhdx_parent_locator *l = &s->loc;
	char vol[300] = "";

	/* A volume GUID path is never opened: shown, not followed. */
	if (l->volume_path)
		snprintf(vol, sizeof(vol), "; volume_path '%.200s' is not"
			 " used", l->volume_path);
	if (ps->n == 0)
		vmc_error_set(err, ENOENT,
			"%s: differencing disk whose parent locator has"
			" neither relative_path nor absolute_win32_path%s",
			img->filename, vol);
	else
		vmc_error_set(err, ENOENT,
			"%s: parent disk not found (parent locator"
			" relative_path '%s', absolute_win32_path '%s'%s);"
			" tried: %s", img->filename,
			l->relative_path ? l->relative_path : "",
			l->absolute_win32_path ? l->absolute_win32_path : "",
			vol, ps->tried);
}

static int open_parent(struct vmc_image *img, struct vhdx_state *s,
		       struct vmc_error *err)
{
	struct vmc_parent_search ps = { .n = 0 };
	bool found = false;
	int ret = -1, got;

	if (s->loc.relative_path &&
	    add_candidate(&ps, img->filename, "relative_path",
			  s->loc.relative_path, false, &found, err) < 0)
		goto out;
	/* A Windows absolute path means nothing here: look for the same
	 * file name beside the child, where copied chains usually are. */
	if (s->loc.absolute_win32_path &&
	    add_candidate(&ps, img->filename, "absolute_win32_path",
			  s->loc.absolute_win32_path, true, &found, err) < 0)
		goto out;
	got = vmc_parent_open(&ps, img, check_linkage, s, &s->parent,
			      &s->parent_path, err);
	if (got != 0)
		ret = got > 0 ? 0 : -1;
	else
		not_found(img, s, &ps, err);
out:
	vmc_parent_search_free(&ps);
	return ret;
}

/* ---- open / close ---- */

static void vhdx_close(struct vmc_image *img)
{
	struct vhdx_state *s = img->opaque;

	if (!s)
		return;
	if (!s->creating && s->fd >= 0)
		vmc_file_close(s->fd);
	free(s->bat);
	free(s->sb_buf);
	vhdx_log_free(&s->log);
	vhdx_locator_free(&s->loc);
	vmc_image_close(s->parent);
	free(s->parent_path);
	free(s);
	img->opaque = NULL;
}

static int vhdx_open(struct vmc_image *img, const char *filename,
		     struct vmc_opts *opts, struct vmc_error *err)
{
	struct vhdx_state *s = calloc(1, sizeof(*s));
	int flags = (img->flags & VMC_OPEN_RDWR) ? O_RDWR : O_RDONLY;
	struct stat st;

	(void)opts;
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	img->opaque = s;
	s->path = img->filename;
	s->fd = vmc_confine_open(filename, flags, true, err);
	if (s->fd < 0)
		goto fail;
	if (vmc_file_fstat(s->fd, &st) < 0) {
		vmc_error_errno(err, errno, "%s: cannot stat", filename);
		goto fail;
	}
	s->phys_size = s->file_size = (uint64_t)st.st_size;
	if (vhdx_read_headers(s, err) < 0)
		goto fail;
	if (!vhdx_guid_is_zero(s->hdr.log_guid)) {
		s->log_dirty = true;
		if (vhdx_log_load(s, err) < 0)
			goto fail;
	}
	if (vhdx_read_regions(s, err) < 0 || vhdx_read_metadata(s, err) < 0 ||
	    vhdx_compute_geometry(s, err) < 0 || vhdx_read_bat(s, err) < 0)
		goto fail;
	img->size = s->disk_size;
	if (s->has_parent && !(img->flags & VMC_OPEN_NO_BACKING) &&
	    open_parent(img, s, err) < 0)
		goto fail;
	return 0;
fail:
	vhdx_close(img);
	return -1;
}

/* ---- reads ---- */

static uint64_t bat_payload(const struct vhdx_state *s, uint64_t block)
{
	return s->bat[vhdx_payload_index(block, s->chunk_ratio)];
}

static int load_bitmap(struct vhdx_state *s, uint64_t block,
		       struct vmc_error *err)
{
	uint64_t chunk = block / s->chunk_ratio;
	uint64_t e = s->bat[vhdx_bitmap_index(chunk, s->chunk_ratio)];

	if (s->sb_valid && s->sb_chunk == chunk)
		return 0;
	if (VHDX_BAT_STATE(e) != VHDX_SB_PRESENT)
		return vmc_error_set(err, EINVAL,
			"%s: block %" PRIu64 " is partially present but its"
			" sector bitmap (BAT entry %" PRIu64 ") is not",
			s->path, block, vhdx_bitmap_index(chunk,
							  s->chunk_ratio));
	if (!s->sb_buf && !(s->sb_buf = malloc(VHDX_BITMAP_BLOCK)))
		return vmc_error_set(err, ENOMEM, "out of memory");
	s->sb_valid = false;
	if (vhdx_file_pread(s, s->sb_buf, VHDX_BITMAP_BLOCK,
			    VHDX_BAT_OFFSET(e), err) < 0)
		return -1;
	s->sb_chunk = chunk;
	s->sb_valid = true;
	return 0;
}

/* Where guest offset off lives, for the differencing-block reader: a
 * partially present block of a disk without a parent reads as fully
 * present (2.5.1.2 defines the bitmap for differencing disks only). */
static int map_block(void *ctx, uint64_t off, struct vmc_diff_where *w,
		     struct vmc_error *err)
{
	struct vhdx_state *s = ctx;
	uint64_t block = off / s->block_size;
	uint64_t e = bat_payload(s, block);

	w->fo = VHDX_BAT_OFFSET(e) + off % s->block_size;
	switch (VHDX_BAT_STATE(e)) {
	case VHDX_PAYLOAD_PARTIALLY_PRESENT:
		if (s->has_parent) {
			if (load_bitmap(s, block, err) < 0)
				return -1;
			w->state = VMC_DIFF_PARTIAL;
			w->bitmap = s->sb_buf;
			/* the bitmap block covers a chunk: 2^23 sectors */
			w->bit = off / s->logical_ss -
				 block / s->chunk_ratio * ((uint64_t)1 << 23);
			return 0;
		}
		/* fall through */
	case VHDX_PAYLOAD_FULLY_PRESENT:
		w->state = VMC_DIFF_PRESENT;
		return 0;
	case VHDX_PAYLOAD_NOT_PRESENT:
		w->state = s->has_parent ? VMC_DIFF_PARENT :
			   VMC_DIFF_UNALLOCATED;
		return 0;
	default:	/* ZERO, UNMAPPED, UNDEFINED */
		w->state = VMC_DIFF_ZERO;
		return 0;
	}
}

static int file_read(void *ctx, void *buf, size_t len, uint64_t fo,
		     struct vmc_error *err)
{
	return vhdx_file_pread(ctx, buf, len, fo, err);
}

static struct vmc_diff_file diff_file(struct vhdx_state *s)
{
	return (struct vmc_diff_file){
		.fd = s->fd, .path = s->path, .block_size = s->block_size,
		.sector_size = s->logical_ss, .msb_first = false,
		.parent = s->parent, .map = map_block, .read = file_read,
		.ctx = s,
	};
}

static int vhdx_pread(struct vmc_image *img, void *buf, size_t len,
		      uint64_t off, struct vmc_error *err)
{
	struct vmc_diff_file df = diff_file(img->opaque);

	return vmc_diff_pread(&df, buf, len, off, err);
}

/* Holes of the host file inside a present block read as zeros: report
 * them as ZERO so that sparse fixed images convert without reading them.
 * Not when a replayed log may have written into the range. */
static void host_holes(struct vhdx_state *s, uint64_t fo,
		       struct vmc_extent *ext)
{
	off_t data, hole;

	if (s->log.n)
		return;
	data = vmc_file_lseek(s->fd, (off_t)fo, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO)
			ext->kind = VMC_EXTENT_ZERO;
		return;
	}
	if ((uint64_t)data > fo) {
		ext->kind = VMC_EXTENT_ZERO;
		ext->length = VMC_MIN(ext->length, (uint64_t)data - fo);
		return;
	}
	hole = vmc_file_lseek(s->fd, (off_t)fo, SEEK_HOLE);
	if (hole > data)
		ext->length = VMC_MIN(ext->length, (uint64_t)hole - fo);
}

/* Kind of the run at off, within one block, at most max bytes. */
static int piece_status(void *ctx, uint64_t off, uint64_t max,
			struct vmc_extent *ext, struct vmc_error *err)
{
	struct vhdx_state *s = ctx;
	struct vmc_diff_file df = diff_file(s);
	struct vmc_diff_where w;

	if (vmc_diff_status(&df, off, max, ext, &w, err) < 0)
		return -1;
	if (w.state == VMC_DIFF_PRESENT)
		host_holes(s, w.fo, ext);
	return 0;
}

static int vhdx_block_status(struct vmc_image *img, uint64_t off,
			     uint64_t max_len, struct vmc_extent *ext,
			     struct vmc_error *err)
{
	/* Merge following runs of the same kind so that the engine sees
	 * long extents. */
	return vmc_block_status_merged(piece_status, img->opaque, off,
				       max_len, ext, err);
}

/* ---- info ---- */

static const char *subformat(const struct vhdx_state *s)
{
	if (s->has_parent)
		return "differencing";
	return s->leave_blocks_allocated ? "fixed" : "dynamic";
}

static int vhdx_info(struct vmc_image *img, json_t *obj,
		     struct vmc_error *err)
{
	struct vhdx_state *s = img->opaque;
	json_t *data = json_object(), *fs = json_object();
	char g[39];

	if (!data || !fs) {
		json_decref(data);
		json_decref(fs);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	json_object_set_new(obj, "cluster-size", json_integer(s->block_size));
	json_object_set_new(obj, "dirty-flag", json_boolean(s->log_dirty));
	json_object_set_new(data, "subformat", json_string(subformat(s)));
	json_object_set_new(data, "block-size", json_integer(s->block_size));
	json_object_set_new(data, "logical-sector-size",
			    json_integer(s->logical_ss));
	json_object_set_new(data, "physical-sector-size",
			    json_integer(s->physical_ss));
	json_object_set_new(data, "leave-blocks-allocated",
			    json_boolean(s->leave_blocks_allocated));
	json_object_set_new(data, "chunk-ratio", json_integer(s->chunk_ratio));
	json_object_set_new(data, "log-size",
			    json_integer(s->hdr.log_length));
	json_object_set_new(data, "log",
		json_string(!s->log_dirty ? "clean" :
			    s->log.n || s->log.entries ?
			    "dirty (replayed in memory)" : "dirty"));
	if (s->log_dirty) {
		json_object_set_new(data, "log-entries",
				    json_integer(s->log.entries));
		json_object_set_new(data, "log-head-sequence",
				    json_integer((json_int_t)s->log.head_seq));
	}
	if (s->creator[0])
		json_object_set_new(data, "creator", json_string(s->creator));
	vhdx_guid_format(s->hdr.data_write_guid, g);
	json_object_set_new(data, "data-write-guid", json_string(g));
	vhdx_guid_format(s->page83, g);
	json_object_set_new(data, "page83-guid", json_string(g));
	if (s->has_parent) {
		json_t *p = json_object();

		if (!p) {
			json_decref(data);
			json_decref(fs);
			return vmc_error_set(err, ENOMEM, "out of memory");
		}
#define LOC(k, v) if (v) json_object_set_new(p, k, json_string(v))
		LOC("parent-linkage", s->loc.parent_linkage);
		LOC("parent-linkage2", s->loc.parent_linkage2);
		LOC("relative-path", s->loc.relative_path);
		LOC("volume-path", s->loc.volume_path);
		LOC("absolute-win32-path", s->loc.absolute_win32_path);
#undef LOC
		json_object_set_new(data, "parent", p);
		if (!s->parent_path) {
			/* not opened (info opens without parents): the
			 * name as stored, as qemu-img info shows it */
			const char *b = s->loc.relative_path ?
					s->loc.relative_path :
					s->loc.absolute_win32_path;

			if (b)
				json_object_set_new(obj, "backing-filename",
						    json_string(b));
		} else {
			vmc_parent_info(obj, s->parent_path,
					s->parent->drv->name);
		}
	}
	json_object_set_new(fs, "type", json_string("vhdx"));
	json_object_set_new(fs, "data", data);
	json_object_set_new(obj, "format-specific", fs);
	return 0;
}

/* ---- check ---- */

/* Both copies of the headers and region tables should be valid; one bad
 * copy is found here (open used the other) and rewritten by --repair. */
static int check_copies(struct vhdx_state *s, struct vmc_check_result *res,
			bool repair, bool headers_rewritten,
			struct vmc_error *err)
{
	static const uint64_t rt_off[2] = { VHDX_REGION1_OFF,
					    VHDX_REGION2_OFF };
	uint8_t *rt[2] = { malloc(VHDX_REGION_SIZE), malloc(VHDX_REGION_SIZE) };
	bool ok[2], bad_hdr = false;
	int ret = -1;

	if (!rt[0] || !rt[1]) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		if (!s->hdr_problem[i] || headers_rewritten)
			continue;
		bad_hdr = true;
		if (!repair) {
			res->corruptions++;
			vmc_check_report(res, "header %d (offset 0x%llx): %s",
				i + 1, i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF,
				s->hdr_problem[i]);
		}
	}
	if (bad_hdr && repair) {
		if (vhdx_write_headers(s, err) < 0)
			goto out;
		res->corruptions_fixed++;
		s->hdr_problem[0] = s->hdr_problem[1] = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (vhdx_file_pread(s, rt[i], VHDX_REGION_SIZE, rt_off[i],
				    err) < 0)
			goto out;
		ok[i] = vhdx_region_table_valid(rt[i]);
	}
	for (int i = 0; i < 2; i++) {
		if (ok[i] || !ok[1 - i])
			continue;
		if (!repair) {
			res->corruptions++;
			vmc_check_report(res,
				"region table %d (offset 0x%" PRIx64 ") is"
				" damaged", i + 1, rt_off[i]);
			continue;
		}
		/* the good copy, read back with its checksum in place */
		if (vhdx_file_pread(s, rt[1 - i], VHDX_REGION_SIZE,
				    rt_off[1 - i], err) < 0 ||
		    vmc_pwrite_full(s->fd, rt[1 - i], VHDX_REGION_SIZE,
				    rt_off[i], s->path, err) < 0)
			goto out;
		if (fdatasync(s->fd) < 0) {
			vmc_error_errno(err, errno, "%s: flush failed",
					s->path);
			goto out;
		}
		res->corruptions_fixed++;
	}
	ret = 0;
out:
	free(rt[0]);
	free(rt[1]);
	return ret;
}

static int vhdx_check(struct vmc_image *img, struct vmc_check_result *res,
		      bool repair, struct vmc_error *err)
{
	struct vhdx_state *s = img->opaque;
	struct vmc_file_range *blocks;
	uint64_t n = 0;
	bool replayed = false;

	if (s->log_dirty) {
		if (repair) {
			if (vhdx_log_replay_on_disk(s, err) < 0)
				return -1;
			res->corruptions_fixed++;
			replayed = true;
		} else {
			res->corruptions++;
			vmc_check_report(res,
				"log is dirty: %" PRIu32 " entries (head"
				" sequence %" PRIu64 ") not yet replayed to"
				" the file; --repair replays them",
				s->log.entries, s->log.head_seq);
		}
	}
	if (check_copies(s, res, repair, replayed, err) < 0)
		return -1;
	blocks = malloc((s->bat_entries ? s->bat_entries : 1) *
			sizeof(*blocks));
	if (!blocks)
		return vmc_error_set(err, ENOMEM, "out of memory");
	res->total_clusters = s->data_blocks;
	for (uint64_t i = 0; i < s->bat_entries; i++) {
		unsigned st = VHDX_BAT_STATE(s->bat[i]);
		bool bm = (i + 1) % ((uint64_t)s->chunk_ratio + 1) == 0;

		if (bm ? st != VHDX_SB_PRESENT :
		    (st != VHDX_PAYLOAD_FULLY_PRESENT &&
		     st != VHDX_PAYLOAD_PARTIALLY_PRESENT))
			continue;
		if (!bm)
			res->allocated_clusters++;
		blocks[n].off = VHDX_BAT_OFFSET(s->bat[i]);
		blocks[n++].len = bm ? VHDX_BITMAP_BLOCK : s->block_size;
	}
	res->image_end_offset = vmc_check_overlaps(res, blocks, n);
	res->image_end_offset = VMC_MAX(res->image_end_offset, s->file_size);
	free(blocks);
	return 0;
}

static const char *const vhdx_subformats[] = { "dynamic", "fixed", NULL };

static const struct vmc_opt_desc vhdx_create_opts[] = {
	{ "block_size", VMC_OPT_SIZE, NULL,
	  "Block size, a power of two from 1M to 256M (unset or 0: 32M)",
	  NULL },
	{ "log_size", VMC_OPT_SIZE, "1M",
	  "Log size, a multiple of 1M up to 256M", NULL },
	{ "logical_sector_size", VMC_OPT_SIZE, "512",
	  "Logical sector size (512 or 4096)", NULL },
	{ "physical_sector_size", VMC_OPT_SIZE, "4096",
	  "Physical sector size (512 or 4096)", NULL },
	{ "subformat", VMC_OPT_STRING, "dynamic",
	  "VHDX format type", vhdx_subformats },
	{ NULL }
};

const struct vmc_driver vmc_vhdx_driver = {
	.abi_version = VMC_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct vmc_driver),
	.name = "vhdx",
	.description = "Hyper-V VHDX (fixed, dynamic, differencing, log)",
	.extension = "vhdx",
	.probe = vhdx_probe,
	.open = vhdx_open,
	.close = vhdx_close,
	.pread = vhdx_pread,
	.block_status = vhdx_block_status,
	.create = vhdx_create,
	.measure = vhdx_measure,
	.pwrite = vhdx_pwrite,
	.pwrite_zeroes = vhdx_pwrite_zeroes,
	.flush = vhdx_flush,
	.check = vhdx_check,
	.info = vhdx_info,
	.create_opts = vhdx_create_opts,
	.thread_model = VMC_THREAD_SERIALIZE_IMAGE,
	.qemu_name = "vhdx",
	.target_bus = VMC_TARGET_BUS_IDE,
};
