/* Writing VMDK images: VMware "Virtual Disk Format 1.1", sections "Hosted
 * Sparse Extent Header" and "Grain Directories and Grain Tables" (layout
 * as VMware lays a hosted sparse extent out: header, embedded descriptor,
 * redundant directory and tables, directory and tables, grains) and "The
 * Descriptor File" for monolithicFlat and the twoGbMaxExtent subformats.
 * The conversion engine writes each guest byte once, in increasing offset
 * order, so grains are appended and each grain table is written once, when
 * the writes have passed it.  Stream-optimized output is in
 * vmdk-stream.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <vmconv/output.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

#define GRAIN_SECTORS	128u		/* 64 KiB, what VMware uses */
#define GTES		512u
#define DESC_SECTORS	20u
/* twoGbMaxExtent*: VMware's 2047 MiB per extent file. */
#define SPLIT_SECTORS	4192256ull
/* Grain table entries are 32-bit sector numbers. */
#define SPARSE_MAX_SECTORS 0xfffe0000ull
#define DEFAULT_HWVERSION 11
#define ZEROED_GTE	1

enum wmode { W_FLAT, W_SPARSE, W_STREAM };

struct wext {
	int fd;
	char *path;
	uint64_t start, len;		/* guest bytes */
	/* sparse */
	uint64_t gt_sec, rgt_sec;	/* first table, primary / redundant */
	uint64_t next_sec;		/* where the next grain goes */
	uint32_t *gt;			/* the table being filled */
	int64_t cur_gt;
	bool gt_dirty;
};

struct vmdk_writer {
	enum wmode mode;
	struct wext *ext;
	size_t n_ext;
	struct vmdk_stream *stream;
	uint64_t grain;
	uint8_t *pend;			/* a grain being assembled */
	uint64_t pend_off;		/* its guest offset */
	bool have_pend, done;
	bool backed;			/* a snapshot: holes show the parent */
	uint8_t *cbig;			/* stream: compression buffer */
	size_t cbig_cap;
};

void vmdk_writer_free(struct vmdk_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_ext; i++) {
		free(w->ext[i].path);
		free(w->ext[i].gt);
	}
	free(w->ext);
	vmdk_stream_free(w->stream);
	free(w->pend);
	free(w->cbig);
	free(w);
}

/* Indexes matter: see the SUB_* names. */
static const char *const subformats[] = { "monolithicSparse",
	"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
	"streamOptimized", "vmfs", NULL };
enum { SUB_MSPARSE, SUB_MFLAT, SUB_2GSPARSE, SUB_2GFLAT, SUB_STREAM,
       SUB_VMFS };
static const char *const adapters[] = { "ide", "lsilogic", "buslogic",
	"pvscsi", "legacyESX", NULL };

/* What create and measure take: the image layer vets every value against
 * this table before they see it (see struct vmc_driver). */
const struct vmc_opt_desc vmdk_create_opts[] = {
	{ "adapter_type", VMC_OPT_STRING, "lsilogic",
	  "Virtual adapter type", adapters },
	{ "backing_file", VMC_OPT_STRING, NULL,
	  "File name of a base image", NULL },
	{ "backing_fmt", VMC_OPT_STRING, NULL,
	  "Image format of the base image (vmdk)", NULL },
	{ "hwversion", VMC_OPT_UINT, "11",
	  "VMDK hardware version (3 to 99)", NULL },
	{ "subformat", VMC_OPT_STRING, "monolithicSparse",
	  "VMDK subformat", subformats },
	{ NULL }
};

/* The index of v in the NULL-terminated list (the option table has
 * vetted v), or -1. */
static int pick(const char *const *list, const char *v)
{
	for (int i = 0; v && list[i]; i++)
		if (!strcmp(list[i], v))
			return i;
	return -1;
}

/* "dir/disk.vmdk" + "-s001" -> "dir/disk-s001.vmdk" */
static char *extent_name(const char *filename, const char *suffix)
{
	const char *base = strrchr(filename, '/');
	size_t n;
	char *r;

	base = base ? base + 1 : filename;
	n = strlen(base);
	if (n > 5 && !strcasecmp(base + n - 5, ".vmdk"))
		n -= 5;
	if (asprintf(&r, "%.*s%s.vmdk", (int)n, base, suffix) < 0)
		return NULL;
	return r;
}

static int random_bytes(void *p, size_t n, struct vmc_error *err)
{
	if (getrandom(p, n, 0) != (ssize_t)n)
		return vmc_error_errno(err, errno, "getrandom failed");
	return 0;
}

static int wpwrite(struct wext *x, const void *buf, size_t len,
		   uint64_t off, struct vmc_error *err)
{
	return vmc_pwrite_full(x->fd, buf, len, off, x->path, err);
}

/* Lay out and start one hosted sparse extent of cap sectors; the
 * descriptor, when given, is embedded. */
static int sparse_init(struct wext *x, uint64_t cap, const char *desc,
		       bool zero_grains, struct vmc_error *err)
{
	uint64_t grains = VMC_DIV_ROUND_UP(cap, GRAIN_SECTORS);
	uint64_t n_gt = VMC_DIV_ROUND_UP(grains, GTES);
	uint64_t gt_secs = GTES * 4 / VMDK_SECTOR;
	uint64_t gd_secs = VMC_DIV_ROUND_UP(n_gt * 4, VMDK_SECTOR);
	uint64_t desc_secs = desc ? DESC_SECTORS : 0;
	uint64_t rgd = 1 + desc_secs, gd = rgd + gd_secs + n_gt * gt_secs;
	struct vmdk4_header h = {
		.version = 1,
		.flags = VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_RGD,
		.capacity = cap,
		.grain = GRAIN_SECTORS,
		.desc_off = desc ? 1 : 0,
		.desc_size = desc_secs,
		.gtes = GTES,
		.rgd_off = rgd,
		.gd_off = gd,
	};
	uint8_t sec[VMDK_SECTOR];
	uint32_t *dir;
	int r;

	/* A child disk stores zeros as zeroed-grain entries (Virtual Disk
	 * Format 5.0: version 2, flag bit 2), not as holes. */
	if (zero_grains) {
		h.version = 2;
		h.flags |= VMDK4_FLAG_ZERO_GRAIN;
	}
	h.overhead = VMC_ALIGN_UP(gd + gd_secs + n_gt * gt_secs,
				  GRAIN_SECTORS);
	x->rgt_sec = rgd + gd_secs;
	x->gt_sec = gd + gd_secs;
	x->next_sec = h.overhead;
	x->cur_gt = -1;
	x->gt = calloc(GTES, 4);
	dir = calloc(gd_secs ? gd_secs * VMDK_SECTOR / 4 : 1, 4);
	if (!x->gt || !dir) {
		free(dir);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	vmdk4_header_put(sec, &h);
	r = wpwrite(x, sec, sizeof(sec), 0, err);
	if (r == 0 && desc) {
		size_t dl = strlen(desc);

		if (dl > DESC_SECTORS * VMDK_SECTOR)
			r = vmc_error_set(err, EFBIG,
				"%s: descriptor of %zu bytes does not fit"
				" the %u-sector area", x->path, dl,
				DESC_SECTORS);
		else
			r = wpwrite(x, desc, dl, VMDK_SECTOR, err);
	}
	/* Every table is preallocated, so both directories are known. */
	for (uint64_t i = 0; r == 0 && i < n_gt; i++)
		vmc_put_le32(&dir[i], (uint32_t)(x->rgt_sec + i * gt_secs));
	if (r == 0 && n_gt)
		r = wpwrite(x, dir, gd_secs * VMDK_SECTOR, rgd * VMDK_SECTOR,
			    err);
	for (uint64_t i = 0; r == 0 && i < n_gt; i++)
		vmc_put_le32(&dir[i], (uint32_t)(x->gt_sec + i * gt_secs));
	if (r == 0 && n_gt)
		r = wpwrite(x, dir, gd_secs * VMDK_SECTOR, gd * VMDK_SECTOR,
			    err);
	free(dir);
	if (r == 0 && ftruncate(x->fd, (off_t)(h.overhead * VMDK_SECTOR)) < 0)
		r = vmc_error_errno(err, errno, "%s: cannot set size",
				    x->path);
	return r;
}

static int gt_flush(struct wext *x, struct vmc_error *err)
{
	uint64_t gt_bytes = GTES * 4, off;

	if (x->cur_gt < 0 || !x->gt_dirty)
		return 0;
	off = (x->gt_sec * VMDK_SECTOR) + (uint64_t)x->cur_gt * gt_bytes;
	if (wpwrite(x, x->gt, gt_bytes, off, err) < 0)
		return -1;
	off = (x->rgt_sec * VMDK_SECTOR) + (uint64_t)x->cur_gt * gt_bytes;
	if (wpwrite(x, x->gt, gt_bytes, off, err) < 0)
		return -1;
	x->gt_dirty = false;
	return 0;
}

/* Record that grain g of x now lives at sector sec. */
static int gt_set(struct wext *x, uint64_t g, uint64_t sec,
		  struct vmc_error *err)
{
	int64_t t = (int64_t)(g / GTES);

	if (t != x->cur_gt) {
		if (gt_flush(x, err) < 0)
			return -1;
		memset(x->gt, 0, GTES * 4);
		x->cur_gt = t;
	}
	vmc_put_le32(&x->gt[g % GTES], (uint32_t)sec);
	x->gt_dirty = true;
	return 0;
}

/* Append n whole grains (grain-aligned extent offset rel) to x. */
static int sparse_append(struct vmdk_writer *w, struct wext *x,
			 const uint8_t *buf, size_t n, uint64_t rel,
			 struct vmc_error *err)
{
	uint64_t gs = w->grain / VMDK_SECTOR;

	if (x->next_sec + n * gs > SPARSE_MAX_SECTORS)
		return vmc_error_set(err, EFBIG,
			"%s: sparse extent would grow past 2 TiB", x->path);
	if (wpwrite(x, buf, n * w->grain, x->next_sec * VMDK_SECTOR,
		    err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (gt_set(x, rel / w->grain + i, x->next_sec, err) < 0)
			return -1;
		x->next_sec += gs;
	}
	return 0;
}

static struct wext *wfind(struct vmdk_writer *w, uint64_t off)
{
	size_t lo = 0, hi = w->n_ext;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (w->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &w->ext[lo];
}

/* Store the assembled grain. */
static int pend_flush(struct vmdk_writer *w, struct vmc_error *err)
{
	struct wext *x;
	size_t clen;

	if (!w->have_pend)
		return 0;
	w->have_pend = false;
	if (vmc_is_zero(w->pend, w->grain)) {
		if (!w->backed)
			return 0;
		x = wfind(w, w->pend_off);
		return gt_set(x, (w->pend_off - x->start) / w->grain,
			      ZEROED_GTE, err);
	}
	if (w->mode == W_STREAM) {
		if (vmdk_deflate(w->pend, w->grain, w->cbig, w->cbig_cap,
				 &clen) < 0 || clen == 0)
			return vmc_error_set(err, EIO,
				"zlib: cannot compress a grain");
		return vmdk_stream_grain(w->stream, w->pend_off, w->cbig,
					 clen, err);
	}
	x = wfind(w, w->pend_off);
	return sparse_append(w, x, w->pend, 1, w->pend_off - x->start, err);
}

/* Sparse and stream writes: whole grains go straight out, pieces are
 * assembled in pend (the engine skips zero runs, so a grain may arrive
 * in parts, or only partly). */
static int grain_write(struct vmdk_writer *w, const uint8_t *p, size_t len,
		       uint64_t off, struct vmc_error *err)
{
	while (len > 0) {
		struct wext *x = wfind(w, off);
		uint64_t rel = off - x->start, in = rel % w->grain;
		uint64_t g0 = off - in;
		size_t n;

		if (w->have_pend && w->pend_off != g0 &&
		    pend_flush(w, err) < 0)
			return -1;
		if (in == 0 && len >= w->grain && !w->have_pend &&
		    w->mode == W_SPARSE) {
			uint64_t left = x->start + x->len - off;
			size_t k = (size_t)(VMC_MIN(len, left) / w->grain);

			if (k > 0) {
				if (sparse_append(w, x, p, k, rel, err) < 0)
					return -1;
				n = k * w->grain;
				goto next;
			}
		}
		if (!w->have_pend) {
			memset(w->pend, 0, w->grain);
			w->pend_off = g0;
			w->have_pend = true;
		}
		n = (size_t)VMC_MIN(len, w->grain - in);
		memcpy(w->pend + in, p, n);
		if (in + n == w->grain && pend_flush(w, err) < 0)
			return -1;
next:
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmdk_write(struct vmc_image *img, const void *buf, size_t len,
	       uint64_t off, struct vmc_error *err)
{
	struct vmdk_writer *w = ((struct vmdk_state *)img->opaque)->w;
	const uint8_t *p = buf;

	if (!w || w->done)
		return vmc_error_set(err, EROFS, "%s: not open for writing",
				     img->filename);
	if (w->mode != W_FLAT)
		return grain_write(w, p, len, off, err);
	while (len > 0) {
		struct wext *x = wfind(w, off);
		size_t n = (size_t)VMC_MIN(len, x->start + x->len - off);

		if (wpwrite(x, p, n, off - x->start, err) < 0)
			return -1;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmdk_write_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		      struct vmc_error *err)
{
	struct vmdk_writer *w = ((struct vmdk_state *)img->opaque)->w;

	if (!w || w->done)
		return vmc_error_set(err, EROFS, "%s: not open for writing",
				     img->filename);
	/* A new image without a parent reads as zeros wherever nothing was
	 * written, and each byte is written once. */
	if (!w->backed)
		return 0;
	/* A child: whole grains become zeroed-grain entries, pieces join
	 * the grain being assembled (already zero there). */
	while (len > 0) {
		struct wext *x = wfind(w, off);
		uint64_t rel = off - x->start, in = rel % w->grain;
		uint64_t g0 = off - in;
		uint64_t n = VMC_MIN(len, w->grain - in);

		if (w->have_pend && w->pend_off != g0 &&
		    pend_flush(w, err) < 0)
			return -1;
		if (in == 0 && n == w->grain && !w->have_pend) {
			if (gt_set(x, rel / w->grain, ZEROED_GTE, err) < 0)
				return -1;
		} else {
			if (!w->have_pend) {
				memset(w->pend, 0, w->grain);
				w->pend_off = g0;
				w->have_pend = true;
			}
			if (in + n == w->grain && pend_flush(w, err) < 0)
				return -1;
		}
		off += n;
		len -= n;
	}
	return 0;
}

int vmdk_write_flush(struct vmc_image *img, struct vmc_error *err)
{
	struct vmdk_writer *w = ((struct vmdk_state *)img->opaque)->w;

	if (!w || w->done)
		return 0;
	if (pend_flush(w, err) < 0)
		return -1;
	if (w->mode == W_STREAM) {
		if (vmdk_stream_finish(w->stream, err) < 0)
			return -1;
	} else if (w->mode == W_SPARSE) {
		for (size_t i = 0; i < w->n_ext; i++)
			if (gt_flush(&w->ext[i], err) < 0)
				return -1;
	}
	w->done = true;
	return 0;
}

int vmdk_stream_compress(struct vmc_image *img, uint64_t off,
			 const void *in, size_t len, void *out,
			 size_t out_cap, size_t *out_len,
			 struct vmc_error *err)
{
	(void)img; (void)off;
	if (vmdk_deflate(in, len, out, out_cap, out_len) < 0)
		return vmc_error_set(err, ENOMEM, "zlib: cannot compress");
	return 0;
}

int vmdk_stream_write_compressed(struct vmc_image *img, uint64_t off,
				 const void *cdata, size_t clen, size_t len,
				 struct vmc_error *err)
{
	struct vmdk_writer *w = ((struct vmdk_state *)img->opaque)->w;

	(void)len;
	if (!w || w->mode != W_STREAM)
		return vmc_error_set(err, EINVAL,
			"%s: compressed writes need subformat="
			"streamOptimized", img->filename);
	if (w->have_pend && pend_flush(w, err) < 0)
		return -1;
	return vmdk_stream_grain(w->stream, off, cdata, clen, err);
}

static int write_text(int fd, const char *path, const char *text,
		      struct vmc_error *err)
{
	return vmc_pwrite_full(fd, text, strlen(text), 0, path, err);
}

/* A snapshot child: its parent must be a VMDK (the CID ties them) and
 * the child sparse.  The parent is found relative to the child, as
 * readers will look for it. */
static int parent_of(const char *filename, const char *bfile,
		     const char *bfmt, int fsub, uint32_t *cid,
		     struct vmc_error *err)
{
	struct vmc_image *p;
	struct vmdk_state *ps;
	char *path;
	int r = 0;

	if (fsub != SUB_MSPARSE && fsub != SUB_2GSPARSE)
		return vmc_error_set(err, EINVAL,
			"%s: a VMDK with a parent must be monolithicSparse or"
			" twoGbMaxExtentSparse", filename);
	if (bfmt && strcasecmp(bfmt, "vmdk"))
		return vmc_error_set(err, EINVAL,
			"%s: the parent of a VMDK must be a VMDK, not %s",
			filename, bfmt);
	if (strpbrk(bfile, "\"\n\r"))
		return vmc_error_set(err, EINVAL,
			"%s: parent name '%s' cannot be written into a"
			" descriptor", filename, bfile);
	path = vmc_path_relative_to(filename, bfile);
	if (!path)
		return vmc_error_set(err, ENOMEM, "out of memory");
	p = vmc_image_open(path, "vmdk", 0, NULL, err);
	free(path);
	if (!p) {
		vmc_error_prefix(err, "%s: parent", filename);
		return -1;
	}
	ps = p->opaque;
	if (!ps->desc.have_cid)
		r = vmc_error_set(err, EINVAL,
			"%s: parent %s has no CID to refer to", filename,
			bfile);
	*cid = ps->desc.cid;
	vmc_image_close(p);
	return r;
}

/* The extents' names (beside filename) and guest ranges: one extent, or
 * one per 2 GB for the split subformats. */
static int name_extents(struct vmdk_writer *w, struct vmdk_desc_extent *dx,
			int fsub, uint64_t split, uint64_t sectors,
			const char *filename, struct vmc_error *err)
{
	bool flat = fsub == SUB_MFLAT || fsub == SUB_2GFLAT ||
		    fsub == SUB_VMFS;
	bool split_it = fsub == SUB_2GSPARSE || fsub == SUB_2GFLAT;

	for (uint64_t i = 0; i < w->n_ext; i++) {
		uint64_t len = VMC_MIN(split, sectors - i * split);
		char suffix[24];

		if (!sectors)
			len = 0;
		dx[i].access = fsub == SUB_STREAM ? VMDK_RDONLY : VMDK_RW;
		dx[i].sectors = len;
		dx[i].type = fsub == SUB_VMFS ? VMDK_EXT_VMFS :
			      flat ? VMDK_EXT_FLAT : VMDK_EXT_SPARSE;
		if (!split_it && !flat)
			dx[i].file = extent_name(filename, "");
		else if (!split_it)
			dx[i].file = extent_name(filename, "-flat");
		else {
			snprintf(suffix, sizeof(suffix), "-%c%03" PRIu64,
				 flat ? 'f' : 's', i + 1);
			dx[i].file = extent_name(filename, suffix);
		}
		if (!dx[i].file)
			return vmc_error_set(err, ENOMEM, "out of memory");
		w->ext[i].start = i * split * VMDK_SECTOR;
		w->ext[i].len = len * VMDK_SECTOR;
		w->ext[i].fd = -1;
	}
	return 0;
}

/* monolithicSparse and streamOptimized: one file, the descriptor inside,
 * already open as fd. */
static int open_single(struct vmc_image *img, struct vmdk_writer *w,
		       bool stream, int fd, uint64_t sectors,
		       const char *desc, struct vmc_error *err)
{
	w->ext[0].fd = fd;
	w->ext[0].path = strdup(img->filename);
	if (!w->ext[0].path)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (!stream)
		return sparse_init(&w->ext[0], sectors, desc, w->backed, err);
	w->cbig_cap = vmdk_deflate_bound(w->grain);
	w->cbig = malloc(w->cbig_cap);
	w->stream = vmdk_stream_new(fd, img->filename, sectors, desc, err);
	if (!w->stream || !w->cbig) {
		if (w->stream)
			vmc_error_set(err, ENOMEM, "out of memory");
		return -1;
	}
	img->compress_always = true;
	img->compress_unit = (uint32_t)w->grain;
	return 0;
}

/* The extent files of a descriptor-file VMDK, through the output. */
static int open_extents(struct vmc_image *img, struct vmdk_writer *w,
			const struct vmdk_desc_extent *dx, bool flat,
			struct vmc_error *err)
{
	for (size_t i = 0; i < w->n_ext; i++) {
		struct wext *x = &w->ext[i];

		x->path = vmc_path_relative_to(img->filename, dx[i].file);
		if (!x->path)
			return vmc_error_set(err, ENOMEM, "out of memory");
		x->fd = vmc_output_open(img->out, x->path, err);
		if (x->fd < 0)
			return -1;
		if (flat) {
			if (ftruncate(x->fd, (off_t)x->len) < 0)
				return vmc_error_errno(err, errno,
					"%s: cannot set size", x->path);
		} else if (sparse_init(x, dx[i].sectors, NULL, w->backed,
				       err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* The subformat, adapter type and hardware version asked for, and a file
 * name a descriptor can hold. */
static int pick_kind(struct vmc_opts *opts, const char *filename, int *fsub,
		     int *fad, uint64_t *hw, struct vmc_error *err)
{
	const char *sub = vmc_opts_get(opts, "subformat");
	const char *adapter = vmc_opts_get(opts, "adapter_type");

	if (vmc_opts_get_uint(opts, "hwversion", DEFAULT_HWVERSION, hw,
			      err) < 0)
		return -1;
	*fsub = pick(subformats, sub);
	*fad = pick(adapters, adapter);
	if (*fsub < 0 || *fad < 0)
		return vmc_error_set(err, EINVAL, "%s: subformat or"
				     " adapter_type missing", filename);
	if (*hw < 3 || *hw > 99)
		return vmc_error_set(err, EINVAL,
			"%s: hwversion %" PRIu64 " out of range (3..99)",
			filename, *hw);
	{
		const char *b = strrchr(filename, '/');

		b = b ? b + 1 : filename;
		if (strpbrk(b, "\"\n\r"))
			return vmc_error_set(err, EINVAL,
				"%s: a VMDK descriptor cannot name a file"
				" with quotes or line breaks", filename);
	}
	return 0;
}

int vmdk_create(struct vmc_image *img, const char *filename, uint64_t size,
		struct vmc_opts *opts, struct vmc_error *err)
{
	uint64_t hw, sectors, split, n_ext;
	struct vmdk_desc_extent *dx = NULL;
	struct vmdk_desc_out o = { 0 };
	struct vmdk_state *s;
	struct vmdk_writer *w;
	uint8_t uuid[16];
	int fsub = 0, fad = 0, fd;
	char *desc = NULL;
	bool flat, split_it;
	int ret = -1;

	const char *bfile = vmc_opts_get(opts, "backing_file");
	const char *bfmt = vmc_opts_get(opts, "backing_fmt");
	uint32_t parent_cid = VMDK_CID_NONE;

	if (pick_kind(opts, filename, &fsub, &fad, &hw, err) < 0)
		return -1;
	if (bfile && parent_of(filename, bfile, bfmt, fsub, &parent_cid,
			       err) < 0)
		return -1;
	sectors = VMC_DIV_ROUND_UP(size, VMDK_SECTOR);
	if (sectors == 0)
		return vmc_error_set(err, EINVAL,
			"%s: a VMDK disk of 0 bytes is not supported (qemu and"
			" VMware cannot open one)", filename);
	flat = fsub == SUB_MFLAT || fsub == SUB_2GFLAT || fsub == SUB_VMFS;
	split_it = fsub == SUB_2GSPARSE || fsub == SUB_2GFLAT;
	if (!split_it && !flat && sectors > SPARSE_MAX_SECTORS - (1u << 20))
		return vmc_error_set(err, EFBIG,
			"%s: %s disks hold less than 2 TiB; use"
			" twoGbMaxExtentSparse or monolithicFlat", filename,
			subformats[fsub]);
	split = split_it ? SPLIT_SECTORS : (sectors ? sectors : 1);
	n_ext = sectors ? VMC_DIV_ROUND_UP(sectors, split) : 1;
	if (n_ext > VMDK_MAX_EXTENTS)
		return vmc_error_set(err, EFBIG, "%s: too many extents",
				     filename);

	s = calloc(1, sizeof(*s));
	w = calloc(1, sizeof(*w));
	dx = calloc(n_ext, sizeof(*dx));
	if (!s || !w || !dx) {
		free(s);
		free(w);
		free(dx);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	s->w = w;
	img->opaque = s;
	w->mode = fsub == SUB_STREAM ? W_STREAM : flat ? W_FLAT : W_SPARSE;
	w->backed = bfile != NULL;
	w->grain = GRAIN_SECTORS * VMDK_SECTOR;
	w->n_ext = (size_t)n_ext;
	w->ext = calloc(n_ext, sizeof(*w->ext));
	w->pend = malloc(w->grain);
	if (!w->ext || !w->pend) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (name_extents(w, dx, fsub, split, sectors, filename, err) < 0)
		goto out;
	if (random_bytes(uuid, sizeof(uuid), err) < 0 ||
	    random_bytes(&o.cid, sizeof(o.cid), err) < 0)
		goto out;
	if (o.cid >= 0xfffffffeu)
		o.cid = 0x12345678;
	o.create_type = subformats[fsub];
	o.adapter = adapters[fad];
	o.hwversion = (unsigned)hw;
	o.sectors = sectors;
	o.ext = dx;
	o.n_ext = (size_t)n_ext;
	o.uuid = uuid;
	o.parent_cid = parent_cid;
	o.parent_hint = bfile;
	desc = vmdk_desc_format(&o);
	if (!desc) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}

	/* The descriptor (or the single file) is opened first: the output
	 * renames it into place last. */
	fd = vmc_output_open(img->out, filename, err);
	if (fd < 0)
		goto out;
	if (fsub == SUB_MSPARSE || fsub == SUB_STREAM) {
		if (open_single(img, w, fsub == SUB_STREAM, fd, sectors, desc,
				err) < 0)
			goto out;
	} else if (write_text(fd, filename, desc, err) < 0 ||
		   open_extents(img, w, dx, flat, err) < 0) {
		goto out;
	}
	img->size = sectors * VMDK_SECTOR;
	img->zero_init = !w->backed;
	img->granularity = (uint32_t)w->grain;
	ret = 0;
out:
	for (uint64_t i = 0; i < n_ext; i++)
		free(dx[i].file);
	free(dx);
	free(desc);
	if (ret < 0) {
		vmdk_writer_free(w);
		s->w = NULL;
		pthread_mutex_destroy(&s->lock);
		free(s);
		img->opaque = NULL;
	}
	return ret;
}

/* ---- measure: the layouts above, file by file ---- */

/* A separate descriptor file: its header lines and one line per extent
 * stay well inside this. */
#define DESC_FILE_BOUND(n_ext) (2048 + 160 * (n_ext))

/* Bytes of a hosted sparse extent of cap sectors before its grains. */
static uint64_t sparse_overhead(uint64_t cap, bool embedded_desc)
{
	uint64_t grains = VMC_DIV_ROUND_UP(cap, GRAIN_SECTORS);
	uint64_t n_gt = VMC_DIV_ROUND_UP(grains, GTES);
	uint64_t gd_secs = VMC_DIV_ROUND_UP(n_gt * 4, VMDK_SECTOR);
	uint64_t secs = 1 + (embedded_desc ? DESC_SECTORS : 0) +
			2 * (gd_secs + n_gt * (GTES * 4 / VMDK_SECTOR));

	return VMC_ALIGN_UP(secs, GRAIN_SECTORS) * VMDK_SECTOR;
}

/* streamOptimized (vmdk-stream.c): the first grain's worth of header and
 * descriptor, each grain deflated behind a 12-byte marker, every grain
 * table behind its marker, the directory, footer and end marker. */
static uint64_t stream_size(uint64_t sectors, uint64_t grains)
{
	uint64_t all = VMC_DIV_ROUND_UP(sectors, GRAIN_SECTORS);
	uint64_t n_gt = VMC_DIV_ROUND_UP(all, GTES);
	uint64_t gd_secs = VMC_DIV_ROUND_UP(n_gt * 4, VMDK_SECTOR);
	uint64_t g = VMC_ALIGN_UP(12 + vmdk_deflate_bound(GRAIN_SECTORS *
							  VMDK_SECTOR),
				  VMDK_SECTOR);

	return GRAIN_SECTORS * VMDK_SECTOR + grains * g +
	       n_gt * (1 + GTES * 4 / VMDK_SECTOR) * VMDK_SECTOR +
	       (1 + gd_secs) * VMDK_SECTOR + 3 * VMDK_SECTOR;
}

int vmdk_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		 struct vmc_measure *m, struct vmc_error *err)
{
	const char *sub = vmc_opts_get(opts, "subformat");
	const char *adapter = vmc_opts_get(opts, "adapter_type");
	uint64_t hw, sectors, n_ext, grain = GRAIN_SECTORS * VMDK_SECTOR;
	uint64_t units, all, over = 0;
	int fsub;

	fsub = pick(subformats, sub);
	if (fsub < 0 || pick(adapters, adapter) < 0)
		return vmc_error_set(err, EINVAL, "vmdk: subformat or"
				     " adapter_type missing");
	if (vmc_opts_get_uint(opts, "hwversion", DEFAULT_HWVERSION, &hw,
			      err) < 0)
		return -1;
	sectors = VMC_DIV_ROUND_UP(size, VMDK_SECTOR);
	if (sectors == 0)
		return vmc_error_set(err, EINVAL, "vmdk: a VMDK disk of 0"
				     " bytes is not supported");
	if (vmc_measure_units(src, grain, &units, err) < 0)
		return -1;
	all = VMC_DIV_ROUND_UP(sectors, GRAIN_SECTORS);
	switch (fsub) {
	case SUB_MFLAT: case SUB_2GFLAT: case SUB_VMFS:
		n_ext = VMC_DIV_ROUND_UP(sectors, fsub == SUB_2GFLAT ?
					 SPLIT_SECTORS : sectors);
		m->required = DESC_FILE_BOUND(n_ext) + sectors * VMDK_SECTOR;
		m->fully_allocated = m->required;
		return 0;
	case SUB_STREAM:
		m->required = stream_size(sectors, units);
		m->fully_allocated = stream_size(sectors, all);
		return 0;
	case SUB_MSPARSE:
		over = sparse_overhead(sectors, true);
		break;
	default:
		n_ext = VMC_DIV_ROUND_UP(sectors, SPLIT_SECTORS);
		for (uint64_t i = 0; i < n_ext; i++)
			over += sparse_overhead(VMC_MIN(SPLIT_SECTORS,
					sectors - i * SPLIT_SECTORS), false);
		over += DESC_FILE_BOUND(n_ext);
	}
	m->required = over + units * grain;
	m->fully_allocated = over + all * grain;
	return 0;
}
