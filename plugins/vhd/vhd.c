/* VHD (Virtual PC / Hyper-V / Azure) as a loadable plugin.  Implements the
 * "Virtual Hard Disk Image Format Specification" v1.0: the hard disk
 * footer, fixed disks, the dynamic disk header, BAT and data blocks, and
 * differencing disks with their parent locators and sector bitmaps.  The
 * disk size follows qemu's reading of the spec: the footer's current size,
 * except for creators known to size disks by CHS geometry (Virtual PC, old
 * qemu), whose size is cylinders x heads x sectors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/check.h>
#include <vmconv/plugin.h>

#include <vmconv/bytes.h>
#include <vmconv/driver.h>
#include "vhd.h"

static int vhd_open(struct vmc_image *img, const char *filename,
		    struct vmc_opts *opts, struct vmc_error *err);

/* Ones' complement of the byte sum, the checksum field counted as 0. */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < csum_off || i >= csum_off + 4)
			sum += buf[i];
	return ~sum;
}

/* The spec's appendix algorithm (CHS from a sector count). */
void vhd_chs(uint64_t sectors, uint16_t *cyls, uint8_t *heads, uint8_t *spt)
{
	uint64_t cth;

	if (sectors > VHD_MAX_GEOMETRY)
		sectors = VHD_MAX_GEOMETRY;
	if (sectors >= 65535ull * 16 * 63) {
		*spt = 255;
		*heads = 16;
		cth = sectors / *spt;
	} else {
		*spt = 17;
		cth = sectors / *spt;
		*heads = (uint8_t)VMC_MAX((cth + 1023) / 1024, 4);
		if (cth >= (uint64_t)*heads * 1024 || *heads > 16) {
			*spt = 31;
			*heads = 16;
			cth = sectors / *spt;
		}
		if (cth >= (uint64_t)*heads * 1024) {
			*spt = 63;
			*heads = 16;
			cth = sectors / *spt;
		}
	}
	*cyls = (uint16_t)(cth / *heads);
}

static bool footer_ok(const uint8_t *f)
{
	return !memcmp(f, "conectix", 8) &&
	       vmc_get_be32(f + 64) == vhd_checksum(f, VHD_FOOTER_SIZE, 64);
}

static int vhd_probe(const uint8_t *buf, size_t len, const char *filename)
{
	uint8_t f[VHD_FOOTER_SIZE];
	struct stat st;
	int fd, score = 0;

	/* Dynamic disks start with a copy of the footer. */
	if (len >= 8 && !memcmp(buf, "conectix", 8))
		return 100;
	/* A fixed disk has it only at the end, which the first bytes cannot
	 * show: look there (qemu cannot, and calls fixed VHDs raw). */
	fd = vmc_confine_open(filename, O_RDONLY, true, NULL);
	if (fd < 0)
		return 0;
	if (vmc_file_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= VHD_FOOTER_SIZE &&
	    vmc_file_pread(fd, f, sizeof(f), st.st_size - VHD_FOOTER_SIZE) ==
		    (ssize_t)sizeof(f) &&
	    footer_ok(f) && vmc_get_be32(f + 60) == VHD_TYPE_FIXED)
		score = 100;
	vmc_file_close(fd);
	return score;
}

/* Size as qemu decides it, so that both read the same disk. */
static uint64_t disk_size(struct vhd_state *s)
{
	static const char *const by_size[] = { "win ", "qem2", "d2v ",
					       "CTXS", "vmcv" };
	const uint8_t *f = s->footer;
	uint64_t chs = (uint64_t)vmc_get_be16(f + 56) * f[58] * f[59];
	bool use_chs = memcmp(f + 28, "tap\0", 4) != 0;

	for (size_t i = 0; i < VMC_ARRAY_SIZE(by_size); i++)
		if (!memcmp(f + 28, by_size[i], 4))
			use_chs = false;
	s->size_from_chs = use_chs && chs != VHD_MAX_GEOMETRY;
	if (s->size_from_chs)
		return chs * 512;
	return vmc_get_be64(f + 48);
}

static int read_footer(struct vhd_state *s, struct vmc_error *err)
{
	uint8_t head[VHD_FOOTER_SIZE];
	uint64_t at;

	if (s->file_size < VHD_FOOTER_SIZE)
		return vmc_error_set(err, EINVAL,
			"%s: file of %" PRIu64 " bytes is too small for VHD",
			s->path, s->file_size);
	at = s->file_size - VHD_FOOTER_SIZE;
	if (vmc_pread_full(s->fd, s->footer, VHD_FOOTER_SIZE, at, s->path,
			   err) < 0)
		return -1;
	/* Some old tools wrote a 511-byte footer. */
	if (memcmp(s->footer, "conectix", 8) && at > 0) {
		uint8_t alt[VHD_FOOTER_SIZE] = { 0 };

		if (vmc_pread_full(s->fd, alt, VHD_FOOTER_SIZE - 1, at + 1,
				   s->path, err) < 0)
			return -1;
		if (!memcmp(alt, "conectix", 8))
			memcpy(s->footer, alt, sizeof(alt));
	}
	if (footer_ok(s->footer))
		return 0;
	/* A damaged footer of a dynamic disk has a copy at offset 0. */
	if (vmc_pread_full(s->fd, head, VHD_FOOTER_SIZE, 0, s->path,
			   err) < 0)
		return -1;
	if (at > 0 && footer_ok(head)) {
		memcpy(s->footer, head, sizeof(head));
		s->footer_from_copy = true;
		return 0;
	}
	if (memcmp(s->footer, "conectix", 8))
		return vmc_error_set(err, EINVAL,
			"%s: no VHD footer (cookie \"conectix\") at offset"
			" 0x%" PRIx64 " or 0", s->path, at);
	return vmc_error_set(err, EINVAL,
		"%s: VHD footer checksum mismatch at offset 0x%" PRIx64
		" (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")", s->path,
		at, vmc_get_be32(s->footer + 64),
		vhd_checksum(s->footer, VHD_FOOTER_SIZE, 64));
}

static int read_dynamic(struct vhd_state *s, struct vmc_error *err)
{
	uint64_t off = vmc_get_be64(s->footer + 16), end, need;
	uint8_t *d = s->dyn;
	size_t bytes;

	if (off % 512 || vmc_add_overflow(off, VHD_DYN_HEADER_SIZE, &end) ||
	    end > s->file_size)
		return vmc_error_set(err, EINVAL,
			"%s: footer: dynamic header offset 0x%" PRIx64 " is"
			" outside the file", s->path, off);
	if (vmc_pread_full(s->fd, d, VHD_DYN_HEADER_SIZE, off, s->path,
			   err) < 0)
		return -1;
	if (memcmp(d, "cxsparse", 8))
		return vmc_error_set(err, EINVAL,
			"%s: dynamic disk header (offset 0x%" PRIx64 "): bad"
			" cookie", s->path, off);
	if (vmc_get_be32(d + 36) != vhd_checksum(d, VHD_DYN_HEADER_SIZE, 36))
		return vmc_error_set(err, EINVAL,
			"%s: dynamic disk header (offset 0x%" PRIx64 "):"
			" checksum mismatch (stored 0x%08" PRIx32 ", computed"
			" 0x%08" PRIx32 ")", s->path, off,
			vmc_get_be32(d + 36),
			vhd_checksum(d, VHD_DYN_HEADER_SIZE, 36));
	s->table_off = vmc_get_be64(d + 16);
	s->max_entries = vmc_get_be32(d + 28);
	s->block_size = vmc_get_be32(d + 32);
	if (s->block_size < 512 || s->block_size % 512 ||
	    s->block_size > 256u * 1024 * 1024)
		return vmc_error_set(err, EINVAL,
			"%s: dynamic disk header (offset 0x%" PRIx64 "): block"
			" size %" PRIu32 " is not a multiple of 512 up to 256"
			" MiB", s->path, off, s->block_size);
	s->bitmap_size = (uint32_t)VMC_ALIGN_UP(
		VMC_DIV_ROUND_UP(s->block_size / 512, 8), 512);
	need = VMC_DIV_ROUND_UP(s->size, s->block_size);
	if (s->max_entries < need)
		return vmc_error_set(err, EINVAL,
			"%s: dynamic disk header (offset 0x%" PRIx64 "): %"
			PRIu32 " BAT entries cannot cover %" PRIu64 " bytes of"
			" %" PRIu32 "-byte blocks", s->path, off,
			s->max_entries, s->size, s->block_size);
	bytes = (size_t)need * 4;
	if (s->table_off % 512 ||
	    vmc_add_overflow(s->table_off, bytes, &end) || end > s->file_size)
		return vmc_error_set(err, EINVAL,
			"%s: BAT at 0x%" PRIx64 " (%zu bytes) is outside the"
			" file (size 0x%" PRIx64 ")", s->path, s->table_off,
			bytes, s->file_size);
	s->bat = malloc(bytes ? bytes : 4);
	if (!s->bat)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(s->fd, s->bat, bytes, s->table_off, s->path,
			   err) < 0)
		return -1;
	s->max_entries = (uint32_t)need;
	for (uint32_t i = 0; i < need; i++) {
		uint64_t boff, bend, len;

		s->bat[i] = be32toh(s->bat[i]);
		if (s->bat[i] == VHD_UNUSED)
			continue;
		boff = (uint64_t)s->bat[i] * 512;
		len = VMC_MIN((uint64_t)s->block_size,
			      s->size - (uint64_t)i * s->block_size);
		bend = boff + s->bitmap_size + len;
		if (bend > s->file_size)
			return vmc_error_set(err, EINVAL,
				"%s: BAT entry %" PRIu32 " points past end of"
				" file (offset 0x%" PRIx64 ", file size 0x%"
				PRIx64 ")", s->path, i, boff, s->file_size);
		if (boff < s->table_off + bytes && s->table_off < bend)
			return vmc_error_set(err, EINVAL,
				"%s: BAT entry %" PRIu32 " points into the BAT"
				" (offset 0x%" PRIx64 ")", s->path, i, boff);
		if (boff < off + VHD_DYN_HEADER_SIZE && off < bend)
			return vmc_error_set(err, EINVAL,
				"%s: BAT entry %" PRIu32 " points into the"
				" dynamic disk header (offset 0x%" PRIx64 ")",
				s->path, i, boff);
	}
	return 0;
}

/* ---- parent of a differencing disk ---- */

static char *utf16_to_utf8(const uint8_t *p, size_t bytes, bool be)
{
	char *out = malloc(bytes / 2 * 3 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i + 1 < bytes; i += 2) {
		uint32_t c = be ? vmc_get_be16(p + i) : vmc_get_le16(p + i);

		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xE000)
			c = '?';	/* not in any real file name here */
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	for (char *q = out; *q; q++)
		if (*q == '\\')
			*q = '/';
	return out;
}

/* A locator name as a candidate beside the child; "./" prefixes go and
 * an empty name adds nothing. */
static int add_candidate(struct vmc_parent_search *ps, const char *image,
			 const char *name, struct vmc_error *err)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (!*name)
		return 0;
	return vmc_parent_add(ps, image, name, err);
}

/* The parent must be a VHD whose footer unique ID the child's dynamic
 * header recorded. */
static int check_parent(void *ctx, struct vmc_image *parent,
			const char *path, struct vmc_error *err)
{
	const struct vhd_state *s = ctx, *ps;

	if (parent->drv->open != vhd_open)
		return vmc_error_set(err, EINVAL,
			"%s: parent %s is %s, not VHD", s->path, path,
			parent->drv->name);
	ps = parent->opaque;
	if (memcmp(ps->footer + 68, s->dyn + 40, 16))
		return vmc_error_set(err, EINVAL,
			"%s: parent %s has a different unique ID than the one"
			" recorded in the dynamic header (the parent changed)",
			s->path, path);
	return 0;
}

static int open_parent(struct vmc_image *img, struct vhd_state *s,
		       struct vmc_error *err)
{
	struct vmc_parent_search ps = { .n = 0 };
	char rec[400] = "", *name;
	size_t rl = 0;
	int ret = -1, added, found;

	for (int i = 0; i < 8; i++) {
		const uint8_t *e = s->dyn + 576 + 24 * i;
		uint32_t len = vmc_get_be32(e + 8);
		uint64_t off = vmc_get_be64(e + 16), end;
		bool rel = !memcmp(e, "W2ru", 4), abs = !memcmp(e, "W2ku", 4);
		uint8_t *buf;

		if ((!rel && !abs) || len == 0)
			continue;
		if (len > 65536 || vmc_add_overflow(off, len, &end) ||
		    end > s->file_size) {
			vmc_error_set(err, EINVAL,
				"%s: parent locator %d (offset 0x%" PRIx64 ","
				" %" PRIu32 " bytes) is outside the file",
				s->path, i, off, len);
			goto out;
		}
		buf = malloc(len);
		if (!buf) {
			vmc_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (vmc_pread_full(s->fd, buf, len, off, s->path, err) < 0) {
			free(buf);
			goto out;
		}
		name = utf16_to_utf8(buf, len, false);
		free(buf);
		if (name) {
			int w = snprintf(rec + rl, sizeof(rec) - rl,
					 "%s%.4s '%s'", rl ? ", " : "",
					 (const char *)e, name);

			if (w > 0)
				rl = VMC_MIN(rl + (size_t)w, sizeof(rec) - 1);
		}
		if (!name) {
			vmc_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
		added = add_candidate(&ps, img->filename,
				      rel ? name : vmc_parent_base_name(name),
				      err);
		free(name);
		if (added < 0)
			goto out;
	}
	name = utf16_to_utf8(s->dyn + 64, 512, true);
	if (!name) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	added = add_candidate(&ps, img->filename, vmc_parent_base_name(name),
			      err);
	free(name);
	if (added < 0)
		goto out;
	found = vmc_parent_open(&ps, img, check_parent, s, &s->parent,
				&s->parent_path, err);
	if (found != 0) {
		ret = found > 0 ? 0 : -1;
		goto out;
	}
	vmc_error_set(err, ENOENT,
		"%s: parent disk not found (parent locators: %s); tried: %s",
		s->path, rl ? rec : "none",
		ps.tried_len ? ps.tried : "(no parent name recorded)");
out:
	vmc_parent_search_free(&ps);
	return ret;
}

/* ---- open / close ---- */

static void vhd_close(struct vmc_image *img)
{
	struct vhd_state *s = img->opaque;

	if (!s)
		return;
	if (!s->creating && s->fd >= 0)
		vmc_file_close(s->fd);
	free(s->bat);
	free(s->bm_buf);
	vmc_image_close(s->parent);
	free(s->parent_path);
	free(s);
	img->opaque = NULL;
}

static int vhd_open(struct vmc_image *img, const char *filename,
		    struct vmc_opts *opts, struct vmc_error *err)
{
	struct vhd_state *s = calloc(1, sizeof(*s));
	struct stat st;

	(void)opts;
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	img->opaque = s;
	s->path = img->filename;
	s->fd = vmc_confine_open(filename, (img->flags & VMC_OPEN_RDWR) ?
				 O_RDWR : O_RDONLY, true, err);
	if (s->fd < 0)
		goto fail;
	if (vmc_file_fstat(s->fd, &st) < 0) {
		vmc_error_errno(err, errno, "%s: cannot stat", filename);
		goto fail;
	}
	s->file_size = (uint64_t)st.st_size;
	if (read_footer(s, err) < 0)
		goto fail;
	s->type = vmc_get_be32(s->footer + 60);
	s->size = disk_size(s);
	if (s->size % 512 || s->size > VHD_MAX_SECTORS * 512 * 2) {
		vmc_error_set(err, EINVAL,
			"%s: footer: disk size %" PRIu64 " is not a multiple"
			" of 512 or too large", s->path, s->size);
		goto fail;
	}
	switch (s->type) {
	case VHD_TYPE_FIXED:
		if (s->size > s->file_size - VHD_FOOTER_SIZE) {
			vmc_error_set(err, EINVAL,
				"%s: fixed disk of %" PRIu64 " bytes, but only"
				" %" PRIu64 " bytes of data before the footer",
				s->path, s->size,
				s->file_size - VHD_FOOTER_SIZE);
			goto fail;
		}
		break;
	case VHD_TYPE_DYNAMIC:
	case VHD_TYPE_DIFF:
		if (read_dynamic(s, err) < 0)
			goto fail;
		if (s->type == VHD_TYPE_DIFF &&
		    !(img->flags & VMC_OPEN_NO_BACKING) &&
		    open_parent(img, s, err) < 0)
			goto fail;
		break;
	default:
		vmc_error_set(err, ENOTSUP,
			"%s: footer: unknown disk type %" PRIu32, s->path,
			s->type);
		goto fail;
	}
	img->size = s->size;
	return 0;
fail:
	vhd_close(img);
	return -1;
}

/* ---- reads ---- */

static int load_bitmap(struct vhd_state *s, uint32_t block,
		       struct vmc_error *err)
{
	if (s->bm_valid && s->bm_block == block)
		return 0;
	if (!s->bm_buf && !(s->bm_buf = malloc(s->bitmap_size)))
		return vmc_error_set(err, ENOMEM, "out of memory");
	s->bm_valid = false;
	if (vmc_pread_full(s->fd, s->bm_buf, s->bitmap_size,
			   (uint64_t)s->bat[block] * 512, s->path, err) < 0)
		return -1;
	s->bm_block = block;
	s->bm_valid = true;
	return 0;
}

/* Where guest offset off lives, for the differencing-block reader. */
static int map_block(void *ctx, uint64_t off, struct vmc_diff_where *w,
		     struct vmc_error *err)
{
	struct vhd_state *s = ctx;
	uint32_t block = (uint32_t)(off / s->block_size);

	if (s->bat[block] == VHD_UNUSED) {
		w->state = s->type == VHD_TYPE_DIFF ? VMC_DIFF_PARENT :
			   VMC_DIFF_UNALLOCATED;
		return 0;
	}
	w->fo = (uint64_t)s->bat[block] * 512 + s->bitmap_size +
		off % s->block_size;
	w->state = VMC_DIFF_PRESENT;
	if (s->type != VHD_TYPE_DIFF)
		return 0;
	if (load_bitmap(s, block, err) < 0)
		return -1;
	w->state = VMC_DIFF_PARTIAL;
	w->bitmap = s->bm_buf;
	w->bit = (off % s->block_size) / 512;
	return 0;
}

static struct vmc_diff_file diff_file(struct vhd_state *s)
{
	return (struct vmc_diff_file){
		.fd = s->fd, .path = s->path, .block_size = s->block_size,
		.sector_size = 512, .msb_first = true, .parent = s->parent,
		.map = map_block, .ctx = s,
	};
}

static int vhd_pread(struct vmc_image *img, void *buf, size_t len,
		     uint64_t off, struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;
	struct vmc_diff_file df = diff_file(s);

	if (s->type == VHD_TYPE_FIXED)
		return vmc_pread_full(s->fd, buf, len, off, s->path, err);
	return vmc_diff_pread(&df, buf, len, off, err);
}

static int piece_status(void *ctx, uint64_t off, uint64_t max,
			struct vmc_extent *ext, struct vmc_error *err)
{
	struct vmc_diff_file df = diff_file(ctx);
	struct vmc_diff_where w;

	return vmc_diff_status(&df, off, max, ext, &w, err);
}

static int vhd_block_status(struct vmc_image *img, uint64_t off,
			    uint64_t max_len, struct vmc_extent *ext,
			    struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;

	if (s->type == VHD_TYPE_FIXED) {
		off_t data, hole;

		/* holes of a sparse fixed disk read as zeros */
		*ext = (struct vmc_extent){ off, max_len, VMC_EXTENT_DATA };
		data = vmc_file_lseek(s->fd, (off_t)off, SEEK_DATA);
		if (data < 0 || (uint64_t)data > off) {
			if (data >= 0 || errno == ENXIO) {
				ext->kind = VMC_EXTENT_ZERO;
				if (data >= 0)
					ext->length = VMC_MIN(max_len,
						(uint64_t)data - off);
			}
			return 0;
		}
		hole = vmc_file_lseek(s->fd, (off_t)off, SEEK_HOLE);
		if (hole > data)
			ext->length = VMC_MIN(max_len, (uint64_t)hole - off);
		return 0;
	}
	return vmc_block_status_merged(piece_status, s, off, max_len, ext,
				       err);
}

static int vhd_info(struct vmc_image *img, json_t *obj,
		    struct vmc_error *err)
{
	static const char *const types[] = { [VHD_TYPE_FIXED] = "fixed",
		[VHD_TYPE_DYNAMIC] = "dynamic",
		[VHD_TYPE_DIFF] = "differencing" };
	struct vhd_state *s = img->opaque;
	const uint8_t *f = s->footer;
	json_t *data = json_object(), *fs = json_object();
	char creator[5], uid[37];

	if (!data || !fs) {
		json_decref(data);
		json_decref(fs);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	memcpy(creator, f + 28, 4);
	creator[4] = '\0';
	for (int i = 0; i < 4; i++)
		if (creator[i] && (creator[i] < 32 || creator[i] > 126))
			creator[i] = '?';
	snprintf(uid, sizeof(uid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x-%02x%02x%02x%02x%02x%02x", f[68], f[69], f[70],
		 f[71], f[72], f[73], f[74], f[75], f[76], f[77], f[78], f[79],
		 f[80], f[81], f[82], f[83]);
	if (s->type != VHD_TYPE_FIXED)
		json_object_set_new(obj, "cluster-size",
				    json_integer(s->block_size));
	json_object_set_new(data, "subformat", json_string(types[s->type]));
	json_object_set_new(data, "creator-app", json_string(creator));
	json_object_set_new(data, "creator-version",
			    json_integer(vmc_get_be32(f + 32)));
	json_object_set_new(data, "current-size",
			    json_integer((json_int_t)vmc_get_be64(f + 48)));
	json_object_set_new(data, "cylinders",
			    json_integer(vmc_get_be16(f + 56)));
	json_object_set_new(data, "heads", json_integer(f[58]));
	json_object_set_new(data, "sectors-per-track", json_integer(f[59]));
	json_object_set_new(data, "size-from",
		json_string(s->size_from_chs ? "chs-geometry" :
			    "current-size"));
	json_object_set_new(data, "unique-id", json_string(uid));
	if (s->type != VHD_TYPE_FIXED)
		json_object_set_new(data, "block-size",
				    json_integer(s->block_size));
	if (s->type == VHD_TYPE_DIFF && !s->parent_path) {
		/* not opened (info opens without parents): the name the
		 * dynamic header records */
		char *name = utf16_to_utf8(s->dyn + 64, 512, true);

		if (name && *name)
			json_object_set_new(obj, "backing-filename",
					    json_string(name));
		free(name);
	}
	if (s->parent_path)
		vmc_parent_info(obj, s->parent_path, "vhd");
	json_object_set_new(fs, "type", json_string("vhd"));
	json_object_set_new(fs, "data", data);
	json_object_set_new(obj, "format-specific", fs);
	return 0;
}

/* The two footers of a dynamic disk, and blocks that overlap.  --repair
 * rewrites a damaged copy at offset 0 from the footer at the end (the
 * other way round could overwrite data of a truncated file). */
static int vhd_check(struct vmc_image *img, struct vmc_check_result *res,
		     bool repair, struct vmc_error *err)
{
	struct vhd_state *s = img->opaque;
	uint8_t head[VHD_FOOTER_SIZE];
	struct vmc_file_range *blocks;
	uint64_t n = 0, end = s->size + VHD_FOOTER_SIZE;

	if (s->type == VHD_TYPE_FIXED) {
		res->image_end_offset = end;
		return 0;
	}
	if (s->footer_from_copy) {
		res->corruptions++;
		vmc_check_report(res, "footer at the end of the file is"
				 " damaged (the copy at offset 0 was used);"
				 " not repaired");
	} else {
		if (vmc_pread_full(s->fd, head, sizeof(head), 0, s->path,
				   err) < 0)
			return -1;
		if (memcmp(head, s->footer, sizeof(head))) {
			if (repair) {
				if (vmc_pwrite_full(s->fd, s->footer,
						    VHD_FOOTER_SIZE, 0,
						    s->path, err) < 0)
					return -1;
				if (fdatasync(s->fd) < 0)
					return vmc_error_errno(err, errno,
						"%s: flush failed", s->path);
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
				vmc_check_report(res, "footer copy at offset 0"
						 " differs from the footer");
			}
		}
	}
	blocks = malloc(((size_t)s->max_entries + 1) * sizeof(*blocks));
	if (!blocks)
		return vmc_error_set(err, ENOMEM, "out of memory");
	res->total_clusters = s->max_entries;
	for (uint32_t i = 0; i < s->max_entries; i++) {
		if (s->bat[i] == VHD_UNUSED)
			continue;
		blocks[n].off = (uint64_t)s->bat[i] * 512;
		blocks[n++].len = s->bitmap_size + s->block_size;
	}
	res->allocated_clusters = n;
	end = vmc_check_overlaps(res, blocks, n);
	end = VMC_MAX(end, s->table_off + (uint64_t)s->max_entries * 4);
	free(blocks);
	res->image_end_offset = end + VHD_FOOTER_SIZE;
	return 0;
}

static const char *const vhd_aliases[] = { "vpc", NULL };

static const char *const vhd_subformats[] = { "dynamic", "fixed", NULL };

static const struct vmc_opt_desc vhd_create_opts[] = {
	{ "force_size", VMC_OPT_BOOL, "off",
	  "Keep the size exactly (no CHS rounding)", NULL },
	{ "subformat", VMC_OPT_STRING, "dynamic",
	  "VHD format type", vhd_subformats },
	{ NULL }
};

static const struct vmc_driver vhd_driver = {
	VMC_DRIVER_INIT,
	.name = "vhd",
	.aliases = vhd_aliases,
	.description = "Virtual PC / Hyper-V / Azure VHD (plugin)",
	.extension = "vhd",
	.probe = vhd_probe,
	.open = vhd_open,
	.close = vhd_close,
	.pread = vhd_pread,
	.block_status = vhd_block_status,
	.create = vhd_create,
	.measure = vhd_measure,
	.pwrite = vhd_pwrite,
	.pwrite_zeroes = vhd_pwrite_zeroes,
	.flush = vhd_flush,
	.check = vhd_check,
	.info = vhd_info,
	.create_opts = vhd_create_opts,
	.thread_model = VMC_THREAD_SERIALIZE_IMAGE,
	.qemu_name = "vpc",
	.target_bus = VMC_TARGET_BUS_IDE,
};

VMC_REGISTER_PLUGIN(vhd_driver)
