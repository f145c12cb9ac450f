/* Writing stream-optimized VMDK: VMware "Virtual Disk Format 1.1",
 * section "Stream-Optimized Compressed Sparse Extents".  The file is
 * written front to back as VMware's streams are: the header (version 3,
 * grain directory at the end), the embedded descriptor, then for each
 * grain table's span its compressed grains (grain markers) followed by
 * the table (a grain table marker), then the grain directory (a grain
 * directory marker), the footer (a footer marker and a copy of the header
 * with the directory's offset) and the end-of-stream marker.  Grains are
 * deflated as zlib streams by the conversion engine's worker threads
 * (vmdk_deflate, called through the driver's compress callback). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/bytes.h"
#include "common/igzip.h"
#include "formats/vmdk.h"

#define GRAIN_SECTORS	128u
#define GTES		512u
#define DESC_SECTORS	20u
#define GT_SECTORS	(GTES * 4 / VMDK_SECTOR)

struct vmdk_stream {
	int fd;
	const char *path;
	uint64_t capacity;		/* sectors */
	uint64_t pos;			/* next free byte (aligned) */
	uint64_t n_gt;
	uint32_t *gd;
	uint32_t gt[GTES];
	int64_t cur_gt;
	bool gt_used;
	uint64_t last_lba;
	bool any;
	uint8_t *buf;			/* marker + data staging */
	size_t buf_cap;
	struct vmdk4_header h;
};

size_t vmdk_deflate_bound(size_t len)
{
	return (size_t)compressBound((uLong)len);
}

/* igzip level 1 deflates about 14 times faster than zlib here, and its
 * zlib-wrapped output (igzip's default 32 KiB window) is what readers
 * expect. */
int vmdk_deflate(const void *in, size_t len, void *out, size_t cap,
		 size_t *olen)
{
	if (vmc_igzip_deflate(VMC_IGZIP_ZLIB, 0, in, len, out, cap,
			      olen) < 0)
		return -1;
	if (*olen > 0)
		return 0;
	/* Incompressible data with room for its worst case: zlib's bound
	 * is guaranteed, igzip's is not documented.  Stored blocks: the
	 * data did not compress anyway. */
	if (cap >= vmdk_deflate_bound(len)) {
		uLongf n = (uLongf)cap;

		if (compress2(out, &n, in, (uLong)len, 0) != Z_OK)
			return -1;
		*olen = n;
	}
	return 0;
}

static int put(struct vmdk_stream *s, const void *p, size_t len,
	       struct vmc_error *err)
{
	if (vmc_pwrite_full(s->fd, p, len, s->pos, s->path, err) < 0)
		return -1;
	s->pos += VMC_ALIGN_UP(len, VMDK_SECTOR);
	return 0;
}

/* A metadata marker: one sector, val = sectors that follow. */
static int marker(struct vmdk_stream *s, uint64_t val, uint32_t type,
		  struct vmc_error *err)
{
	uint8_t m[VMDK_SECTOR] = { 0 };

	vmc_put_le64(m, val);
	vmc_put_le32(m + 12, type);
	return put(s, m, sizeof(m), err);
}

struct vmdk_stream *vmdk_stream_new(int fd, const char *path,
				    uint64_t capacity, const char *desc,
				    struct vmc_error *err)
{
	struct vmdk_stream *s = calloc(1, sizeof(*s));
	uint8_t sec[VMDK_SECTOR];
	uint64_t grains = VMC_DIV_ROUND_UP(capacity, GRAIN_SECTORS);
	size_t dl = strlen(desc);

	if (!s) {
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	s->fd = fd;
	s->path = path;
	s->capacity = capacity;
	s->n_gt = VMC_DIV_ROUND_UP(grains, GTES);
	s->cur_gt = -1;
	s->gd = calloc(s->n_gt ? s->n_gt : 1, 4);
	s->buf_cap = VMC_ALIGN_UP(vmdk_deflate_bound(GRAIN_SECTORS *
					VMDK_SECTOR) + 12, VMDK_SECTOR);
	s->buf = malloc(s->buf_cap);
	if (!s->gd || !s->buf) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (dl > DESC_SECTORS * VMDK_SECTOR) {
		vmc_error_set(err, EFBIG, "%s: descriptor too large", path);
		goto fail;
	}
	s->h = (struct vmdk4_header){
		.version = 3,
		.flags = VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_COMPRESS |
			 VMDK4_FLAG_MARKER,
		.capacity = capacity,
		.grain = GRAIN_SECTORS,
		.desc_off = 1,
		.desc_size = DESC_SECTORS,
		.gtes = GTES,
		.rgd_off = 0,
		.gd_off = VMDK4_GD_AT_END,
		.overhead = GRAIN_SECTORS,
		.compress = VMDK4_COMPRESS_DEFLATE,
	};
	vmdk4_header_put(sec, &s->h);
	if (vmc_pwrite_full(fd, sec, sizeof(sec), 0, path, err) < 0 ||
	    vmc_pwrite_full(fd, desc, dl, VMDK_SECTOR, path, err) < 0)
		goto fail;
	s->pos = GRAIN_SECTORS * VMDK_SECTOR;
	return s;
fail:
	vmdk_stream_free(s);
	return NULL;
}

void vmdk_stream_free(struct vmdk_stream *s)
{
	if (!s)
		return;
	free(s->gd);
	free(s->buf);
	free(s);
}

static int gt_emit(struct vmdk_stream *s, struct vmc_error *err)
{
	if (s->cur_gt < 0 || !s->gt_used)
		return 0;
	if (marker(s, GT_SECTORS, VMDK_MARKER_GT, err) < 0)
		return -1;
	s->gd[s->cur_gt] = htole32((uint32_t)(s->pos / VMDK_SECTOR));
	if (put(s, s->gt, sizeof(s->gt), err) < 0)
		return -1;
	s->gt_used = false;
	return 0;
}

int vmdk_stream_grain(struct vmdk_stream *s, uint64_t off,
		      const void *cdata, size_t clen, struct vmc_error *err)
{
	uint64_t lba = off / VMDK_SECTOR, g = lba / GRAIN_SECTORS;
	int64_t t = (int64_t)(g / GTES);
	size_t n = 12 + clen;

	if (off % (GRAIN_SECTORS * VMDK_SECTOR) || lba >= s->capacity ||
	    (s->any && lba <= s->last_lba))
		return vmc_error_set(err, EINVAL,
			"%s: stream grain at offset 0x%" PRIx64 " is out of"
			" order or unaligned", s->path, off);
	if (n > s->buf_cap)
		return vmc_error_set(err, EINVAL,
			"%s: compressed grain of %zu bytes is too large",
			s->path, clen);
	if (t != s->cur_gt) {
		if (gt_emit(s, err) < 0)
			return -1;
		memset(s->gt, 0, sizeof(s->gt));
		s->cur_gt = t;
	}
	if (s->pos / VMDK_SECTOR > UINT32_MAX)
		return vmc_error_set(err, EFBIG,
			"%s: stream grows past 2 TiB", s->path);
	s->gt[g % GTES] = htole32((uint32_t)(s->pos / VMDK_SECTOR));
	s->gt_used = true;
	vmc_put_le64(s->buf, lba);
	vmc_put_le32(s->buf + 8, (uint32_t)clen);
	memcpy(s->buf + 12, cdata, clen);
	memset(s->buf + n, 0, VMC_ALIGN_UP(n, VMDK_SECTOR) - n);
	s->last_lba = lba;
	s->any = true;
	return put(s, s->buf, VMC_ALIGN_UP(n, VMDK_SECTOR), err);
}

int vmdk_stream_finish(struct vmdk_stream *s, struct vmc_error *err)
{
	uint64_t gd_secs = VMC_DIV_ROUND_UP(s->n_gt * 4, VMDK_SECTOR);
	uint8_t sec[VMDK_SECTOR];
	uint8_t *gd;
	int r;

	if (gt_emit(s, err) < 0)
		return -1;
	if (marker(s, gd_secs, VMDK_MARKER_GD, err) < 0)
		return -1;
	s->h.gd_off = s->pos / VMDK_SECTOR;
	gd = calloc(gd_secs ? gd_secs : 1, VMDK_SECTOR);
	if (!gd)
		return vmc_error_set(err, ENOMEM, "out of memory");
	memcpy(gd, s->gd, s->n_gt * 4);
	r = gd_secs ? put(s, gd, gd_secs * VMDK_SECTOR, err) : 0;
	free(gd);
	if (r < 0 || marker(s, 1, VMDK_MARKER_FOOTER, err) < 0)
		return -1;
	vmdk4_header_put(sec, &s->h);
	if (put(s, sec, sizeof(sec), err) < 0)
		return -1;
	return marker(s, 0, VMDK_MARKER_EOS, err);
}
