/* qcow2 writer: create, in-order data/zero/compressed writes, flush.
 * qemu docs/interop/qcow2.txt, "Header", "Host cluster management",
 * "Cluster mapping" and "Compressed Clusters Descriptor".
 *
 * Clusters are allocated by appending to the file; refcount blocks are
 * placed at the end of the file as it grows into ranges they must cover,
 * so every block counts itself.  L2 tables live in a bounded write-back
 * cache; the L1 table (at most 32 MiB, qemu's limit) and the refcount
 * table (8 MiB) are kept in memory and written by flush, which also
 * moves the refcount table to the end when it has outgrown its place.
 * Only images created here are written: writing in place into an
 * existing image (with snapshots sharing clusters) is not supported. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <vmconv/output.h>

#include "common/bytes.h"
#include "formats/qcow2.h"


static int write_host(struct vmc_image *img, struct qcow2_state *s,
		      const void *buf, uint64_t len, uint64_t off,
		      struct vmc_error *err)
{
	if (vmc_pwrite_full(s->fd, buf, (size_t)len, off, img->filename,
			    err) < 0)
		return -1;
	if (off + len > s->file_size)
		s->file_size = off + len;
	return 0;
}

int qcow2_parse_create_opts(struct qcow2_state *s, const char *fn,
			    struct vmc_opts *opts, const char **prealloc,
			    bool *lazy, struct vmc_error *err)
{
	const char *compat = vmc_opts_get(opts, "compat");
	const char *ctype = vmc_opts_get(opts, "compression_type");
	const char *p = vmc_opts_get(opts, "preallocation");
	uint64_t cs, rb, lvl;
	bool ext = false;

	s->version = 3;
	if (compat) {
		if (!strcmp(compat, "0.10") || !strcmp(compat, "v2"))
			s->version = 2;
		else if (strcmp(compat, "1.1") && strcmp(compat, "v3"))
			return vmc_error_set(err, EINVAL, "%s: compat must be"
					     " 0.10 or 1.1, not '%s'", fn,
					     compat);
	}
	if (vmc_opts_get_size(opts, "cluster_size", 65536, &cs, err) < 0 ||
	    vmc_opts_get_uint(opts, "refcount_bits", 16, &rb, err) < 0 ||
	    vmc_opts_get_bool(opts, "lazy_refcounts", false, lazy, err) < 0 ||
	    vmc_opts_get_bool(opts, "extended_l2", false, &ext, err) < 0)
		return -1;
	if (!VMC_IS_POWER_OF_2(cs) || cs < 512 || cs > (2u << 20))
		return vmc_error_set(err, EINVAL, "%s: cluster_size must be a"
				     " power of two between 512 and 2M", fn);
	if (!VMC_IS_POWER_OF_2(rb) || rb > 64)
		return vmc_error_set(err, EINVAL, "%s: refcount_bits must be"
				     " a power of two up to 64", fn);
	if (s->version == 2 && rb != 16)
		return vmc_error_set(err, EINVAL, "%s: compat=0.10 only"
				     " supports refcount_bits=16", fn);
	if (s->version == 2 && *lazy)
		return vmc_error_set(err, EINVAL, "%s: lazy refcounts need"
				     " compat=1.1", fn);
	if (ext)
		return vmc_error_set(err, ENOTSUP, "%s: writing extended L2"
				     " entries is not supported", fn);
	s->compression = QCOW2_COMP_ZLIB;
	if (ctype && !strcmp(ctype, "zstd")) {
		if (s->version == 2)
			return vmc_error_set(err, EINVAL, "%s: zstd"
					     " compression needs compat=1.1",
					     fn);
		s->compression = QCOW2_COMP_ZSTD;
	} else if (ctype && strcmp(ctype, "zlib")) {
		return vmc_error_set(err, EINVAL, "%s: compression_type must"
				     " be zlib or zstd, not '%s'", fn, ctype);
	}
	if (vmc_opts_get_uint(opts, "compression_level", 0, &lvl, err) < 0)
		return -1;
	if (lvl > (uint64_t)qcow2_max_level(s->compression))
		return vmc_error_set(err, EINVAL, "%s: compression_level must"
				     " be 1 to %d for %s", fn,
				     qcow2_max_level(s->compression),
				     s->compression == QCOW2_COMP_ZSTD ?
				     "zstd" : "zlib");
	s->comp_level = (int)lvl;
	if (p && strcmp(p, "off") && strcmp(p, "metadata") &&
	    strcmp(p, "falloc") && strcmp(p, "full"))
		return vmc_error_set(err, EINVAL, "%s: preallocation must be"
				     " off, metadata, falloc or full, not"
				     " '%s'", fn, p);
	*prealloc = p ? p : "off";
	s->cluster_bits = (unsigned)__builtin_ctzll(cs);
	s->cluster_size = cs;
	s->refcount_order = (unsigned)__builtin_ctzll(rb);
	return 0;
}

static void set_geometry(struct qcow2_state *s)
{
	s->refcount_bits = 1u << s->refcount_order;
	s->rc_block_bits = s->cluster_bits + 3 - s->refcount_order;
	s->l2_entry_size = 8;
	s->l2_bits = s->cluster_bits - 3;
	s->sc_bits = s->cluster_bits;
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	s->header_length = s->version == 2 ? QCOW2_V2_HEADER_LEN : 112;
}

/* The feature-name table, as qemu writes it, when the header cluster
 * has room for it besides the backing file name (not with 512-byte
 * clusters, like qemu). */
static int add_feature_table(uint8_t *buf, size_t cap, size_t *p,
			     size_t backing_len)
{
	static const struct { uint8_t type, bit; const char *name; } f[] = {
		{ 0, 0, "dirty bit" },
		{ 0, 1, "corrupt bit" },
		{ 0, 2, "external data file" },
		{ 0, 3, "compression type" },
		{ 0, 4, "extended L2 entries" },
		{ 1, 0, "lazy refcounts" },
		{ 2, 0, "bitmaps" },
		{ 2, 1, "raw external data" },
	};
	uint8_t t[VMC_ARRAY_SIZE(f) * 48];

	if (cap < 4096 || *p + 8 + sizeof(t) + 8 + backing_len > cap)
		return 0;
	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < VMC_ARRAY_SIZE(f); i++) {
		t[i * 48] = f[i].type;
		t[i * 48 + 1] = f[i].bit;
		memcpy(t + i * 48 + 2, f[i].name, strlen(f[i].name));
	}
	return qcow2_put_ext(buf, cap, p, QCOW2_EXT_FEATURES, t, sizeof(t));
}

int qcow2_write_header(struct vmc_image *img, struct qcow2_state *s,
		       struct vmc_error *err)
{
	size_t cap = (size_t)s->cluster_size, p;
	uint8_t *h = calloc(1, cap);
	int r = -1;

	if (!h)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (!s->creating) {
		/* Repair: rewrite only the fields it may change. */
		if (vmc_pread_full(s->fd, h, cap, 0, img->filename, err) < 0)
			goto out;
		vmc_put_be64(h + 48, s->reftable_offset);
		vmc_put_be32(h + 56, s->reftable_clusters);
		if (s->version >= 3)
			vmc_put_be64(h + 72, s->incompat);
		r = write_host(img, s, h, cap, 0, err);
		goto out;
	}
	vmc_put_be32(h, QCOW2_MAGIC);
	vmc_put_be32(h + 4, s->version);
	vmc_put_be32(h + 20, s->cluster_bits);
	vmc_put_be64(h + 24, s->virtual_size);
	vmc_put_be32(h + 36, s->l1_size);
	vmc_put_be64(h + 40, s->l1_offset);
	vmc_put_be64(h + 48, s->reftable_offset);
	vmc_put_be32(h + 56, s->reftable_clusters);
	if (s->version >= 3) {
		vmc_put_be64(h + 72, s->incompat);
		vmc_put_be64(h + 80, s->compat);
		vmc_put_be64(h + 88, s->autoclear);
		vmc_put_be32(h + 96, s->refcount_order);
		vmc_put_be32(h + 100, s->header_length);
		h[104] = (uint8_t)s->compression;
	}
	p = s->header_length;
	if (s->backing_fmt && qcow2_put_ext(h, cap, &p, QCOW2_EXT_BACKING_FMT,
				      s->backing_fmt,
				      (uint32_t)strlen(s->backing_fmt)) < 0)
		goto toolong;
	if (s->version >= 3 && add_feature_table(h, cap, &p, s->backing_name ?
			strlen(s->backing_name) : 0) < 0)
		goto toolong;
	if (p + 8 > cap)
		goto toolong;
	p += 8;		/* end of extensions */
	if (s->backing_name) {
		size_t n = strlen(s->backing_name);

		if (p + n > cap)
			goto toolong;
		memcpy(h + p, s->backing_name, n);
		vmc_put_be64(h + 8, p);
		vmc_put_be32(h + 16, (uint32_t)n);
	}
	r = write_host(img, s, h, cap, 0, err);
	goto out;
toolong:
	vmc_error_set(err, ENOSPC, "%s: the header, its extensions and the"
		      " backing file name do not fit one %" PRIu64 "-byte"
		      " cluster", img->filename, s->cluster_size);
out:
	free(h);
	return r;
}

/* The L2 table covering l1_index, allocated if needed. */
static int l2_for_write(struct vmc_image *img, struct qcow2_state *s,
			uint64_t l1_index, uint8_t **t, struct vmc_error *err)
{
	uint64_t host = s->l1[l1_index] & QCOW2_OFFSET_MASK;

	if (host)
		return qcow2_l2_get(img, s, host, l1_index, t, err);
	if (qcow2_alloc_clusters(img, s, 1, &host, err) < 0)
		return -1;
	s->l1[l1_index] = host | QCOW2_OFLAG_COPIED;
	s->l1_dirty = true;
	return qcow2_l2_new(img, s, host, l1_index, t, err);
}

static void set_l2(struct qcow2_state *s, uint8_t *t, uint64_t i,
		   uint64_t v)
{
	vmc_put_be64(t + i * 8, v);
	qcow2_cache_mark_dirty(s, &s->l2c, t);
}

static int preallocate(struct vmc_image *img, struct qcow2_state *s,
		       const char *mode, struct vmc_error *err)
{
	uint64_t nclusters = VMC_DIV_ROUND_UP(s->virtual_size,
					      s->cluster_size);
	uint64_t per_l2 = 1ull << s->l2_bits, g = 0;

	while (g < nclusters) {
		uint64_t l1_index = g >> s->l2_bits, host, got;
		uint64_t n = VMC_MIN(nclusters - g,
				     per_l2 - (g & (per_l2 - 1)));
		uint8_t *t;

		if (l2_for_write(img, s, l1_index, &t, err) < 0)
			return -1;
		if (qcow2_alloc_run(img, s, n, &host, &got, err) < 0)
			return -1;
		/* The table may have been evicted by nothing but L2
		 * lookups; fetch it again to be safe. */
		if (l2_for_write(img, s, l1_index, &t, err) < 0)
			return -1;
		for (uint64_t i = 0; i < got; i++)
			set_l2(s, t, (g + i) & (per_l2 - 1),
			       (host + (i << s->cluster_bits)) |
			       QCOW2_OFLAG_COPIED);
		if (strcmp(mode, "metadata") &&
		    fallocate(s->fd, 0, (off_t)host,
			      (off_t)(got << s->cluster_bits)) < 0 &&
		    errno != EOPNOTSUPP)
			return vmc_error_errno(err, errno, "%s: cannot"
					       " preallocate", img->filename);
		g += got;
	}
	return 0;
}

int qcow2_create(struct vmc_image *img, const char *filename, uint64_t size,
		 struct vmc_opts *opts, struct vmc_error *err)
{
	struct qcow2_state *s = calloc(1, sizeof(*s));
	const char *bfile = vmc_opts_get(opts, "backing_file");
	const char *prealloc = NULL;
	const char *bfmt = vmc_opts_get(opts, "backing_fmt");
	uint64_t l1_bytes;
	bool lazy;

	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->fd = s->data_fd = -1;
	s->snapshot = -1;
	if (qcow2_parse_create_opts(s, filename, opts, &prealloc, &lazy, err) < 0)
		goto fail;
	set_geometry(s);
	if (size > (1ull << 62) - 1) {
		vmc_error_set(err, EFBIG, "%s: size too large", filename);
		goto fail;
	}
	s->virtual_size = VMC_ALIGN_UP(size, 512);
	/* At least one entry, so that the L1 cluster is referenced even
	 * for an empty disk. */
	s->l1_size = (uint32_t)VMC_MIN(VMC_MAX(1, VMC_DIV_ROUND_UP(
		s->virtual_size, 1ull << (s->cluster_bits + s->l2_bits))),
		UINT32_MAX);
	l1_bytes = (uint64_t)s->l1_size * 8;
	if (l1_bytes > QCOW2_MAX_L1_BYTES) {
		vmc_error_set(err, EFBIG, "%s: size too large for %" PRIu64
			      "-byte clusters", filename, s->cluster_size);
		goto fail;
	}
	if (s->compression == QCOW2_COMP_ZSTD)
		s->incompat |= QCOW2_INCOMPAT_COMPRESSION;
	if (lazy)
		s->compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	if (bfile) {
		char *path;

		if (strlen(bfile) > QCOW2_MAX_BACKING_NAME) {
			vmc_error_set(err, ENAMETOOLONG, "%s: backing file"
				      " name longer than 1023 bytes",
				      filename);
			goto fail;
		}
		path = vmc_path_relative_to(filename, bfile);
		if (!path) {
			vmc_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		s->backing = vmc_image_open(path, bfmt, 0, NULL, err);
		free(path);
		if (!s->backing) {
			vmc_error_prefix(err, "%s: backing file", filename);
			goto fail;
		}
		s->backing_name = strdup(bfile);
		s->backing_fmt = strdup(bfmt ? bfmt : s->backing->drv->name);
		if (!s->backing_name || !s->backing_fmt) {
			vmc_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	} else if (bfmt) {
		vmc_error_set(err, EINVAL, "%s: backing_fmt without"
			      " backing_file", filename);
		goto fail;
	}
	if (qcow2_cache_init(&s->l2c, VMC_MAX(4, VMC_MIN(64, (8u << 20) >>
				s->cluster_bits)), s->cluster_size) < 0 ||
	    qcow2_cache_init(&s->rbc, 4, s->cluster_size) < 0 ||
	    !(s->l1 = calloc(VMC_MAX(s->l1_size, 1), 8)) ||
	    !(s->cbuf = malloc(2 * s->cluster_size)) ||
	    !(s->dbuf = malloc(s->cluster_size))) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	s->fd = vmc_output_open(img->out, filename, err);
	if (s->fd < 0)
		goto fail;
	s->writable = s->creating = true;
	s->data_fd = s->fd;
	img->opaque = s;
	/* Cluster 0: the header (its refcount block comes right after it);
	 * then the L1 table. */
	s->tail = 1;
	if (qcow2_set_refcount(img, s, 0, 1, err) < 0 ||
	    qcow2_alloc_clusters(img, s, VMC_MAX(1, VMC_DIV_ROUND_UP(l1_bytes,
				 s->cluster_size)), &s->l1_offset, err) < 0)
		goto fail_open;
	s->l1_dirty = s->header_dirty = true;
	img->size = s->virtual_size;
	if (strcmp(prealloc, "off") && preallocate(img, s, prealloc, err) < 0)
		goto fail_open;
	img->zero_init = !s->backing;
	img->granularity = (uint32_t)s->cluster_size;
	img->compress_unit = (uint32_t)s->cluster_size;
	s->data_file_size = s->file_size;
	return 0;
fail_open:
	img->opaque = NULL;
fail:
	qcow2_state_free(s);	/* the output owns and closes the fd */
	return -1;
}

/* Only images created here are written (see the top of this file), and
 * rebase's copies into an image without snapshots. */
static bool not_writable(struct vmc_image *img)
{
	struct qcow2_state *s = img->opaque;

	return !s->creating && !s->in_place;
}

static int refuse(struct vmc_image *img, struct vmc_error *err)
{
	return vmc_error_set(err, ENOTSUP, "%s: writing into an existing"
			     " qcow2 image is not supported", img->filename);
}

/* One cluster written partially: the rest keeps what the guest saw
 * (zeros, or the backing file's data). */
static int write_partial(struct vmc_image *img, struct qcow2_state *s,
			 uint8_t *t, uint64_t i, const uint8_t *buf,
			 uint64_t len, uint64_t off, struct vmc_error *err)
{
	uint64_t e = vmc_get_be64(t + i * 8), host, got;
	uint64_t cstart = VMC_ALIGN_DOWN(off, s->cluster_size);
	uint64_t in = off - cstart;
	uint8_t *c;

	if (e & QCOW2_OFLAG_COMPRESSED)
		return vmc_error_set(err, ENOTSUP, "%s: rewriting compressed"
				     " cluster at guest offset 0x%" PRIx64
				     " is not supported", img->filename,
				     cstart);
	host = e & QCOW2_OFFSET_MASK;
	if (host)
		return write_host(img, s, buf, len, host + in, err);
	c = s->dbuf;
	s->dbuf_valid = false;
	memset(c, 0, s->cluster_size);
	if (!(e & QCOW2_OFLAG_ZERO) && s->backing &&
	    cstart < s->backing->size) {
		uint64_t n = VMC_MIN(s->cluster_size,
				     s->backing->size - cstart);

		if (vmc_image_pread(s->backing, c, (size_t)n, cstart,
				    err) < 0)
			return -1;
	}
	memcpy(c + in, buf, len);
	if (qcow2_alloc_run(img, s, 1, &host, &got, err) < 0)
		return -1;
	if (write_host(img, s, c, s->cluster_size, host, err) < 0)
		return -1;
	set_l2(s, t, i, host | QCOW2_OFLAG_COPIED);
	return 0;
}

static int write_locked(struct vmc_image *img, struct qcow2_state *s,
			const uint8_t *buf, uint64_t len, uint64_t off,
			struct vmc_error *err)
{
	uint64_t per_l2 = 1ull << s->l2_bits, cs = s->cluster_size;

	while (len > 0) {
		uint64_t g = off >> s->cluster_bits, i = g & (per_l2 - 1);
		uint64_t in = off & (cs - 1), n = 0, host, got;
		uint8_t *t;

		if (l2_for_write(img, s, g >> s->l2_bits, &t, err) < 0)
			return -1;
		/* Whole clusters that are not allocated yet go to new
		 * clusters at the end, as many in one run as possible. */
		while (in == 0 && i + n < per_l2) {
			uint64_t cend = VMC_MIN((g + n + 1) * cs,
						s->virtual_size);
			uint64_t e = vmc_get_be64(t + (i + n) * 8);

			/* Past the disk's last cluster cend stops growing:
			 * without the first test the run would take the
			 * rest of the L2 table's range. */
			if ((g + n) * cs >= s->virtual_size ||
			    cend > off + len || (e & ~QCOW2_OFLAG_ZERO))
				break;
			n++;
		}
		if (n == 0) {
			uint64_t piece = VMC_MIN(len, cs - in);

			if (write_partial(img, s, t, i, buf, piece, off,
					  err) < 0)
				return -1;
			buf += piece;
			off += piece;
			len -= piece;
			continue;
		}
		if (qcow2_alloc_run(img, s, n, &host, &got, err) < 0)
			return -1;
		n = VMC_MIN(got << s->cluster_bits, len);
		if (write_host(img, s, buf, n, host, err) < 0)
			return -1;
		if (l2_for_write(img, s, g >> s->l2_bits, &t, err) < 0)
			return -1;
		for (uint64_t k = 0; k < got; k++)
			set_l2(s, t, i + k, (host + (k << s->cluster_bits)) |
			       QCOW2_OFLAG_COPIED);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2_pwrite(struct vmc_image *img, const void *buf, size_t len,
		 uint64_t off, struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	int r;

	if (not_writable(img))
		return refuse(img, err);
	pthread_mutex_lock(&s->lock);
	r = write_locked(img, s, buf, len, off, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int zero_locked(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t off, uint64_t len, struct vmc_error *err)
{
	uint64_t per_l2 = 1ull << s->l2_bits, cs = s->cluster_size;

	if (!s->zero_cluster && !(s->zero_cluster = calloc(1, cs)))
		return vmc_error_set(err, ENOMEM, "out of memory");
	while (len > 0) {
		uint64_t g = off >> s->cluster_bits, i = g & (per_l2 - 1);
		uint64_t in = off & (cs - 1), piece = VMC_MIN(len, cs - in);
		uint64_t cend = VMC_MIN((g + 1) * cs, s->virtual_size);
		uint64_t l1_index = g >> s->l2_bits, e = 0;
		bool whole = in == 0 && off + piece >= cend;
		uint8_t *t = NULL;

		if (s->l1[l1_index] & QCOW2_OFFSET_MASK) {
			if (l2_for_write(img, s, l1_index, &t, err) < 0)
				return -1;
			e = vmc_get_be64(t + i * 8);
		}
		if (whole && !s->backing && !e) {
			/* Reads as zeros already. */
		} else if (whole && s->version >= 3 &&
			   !(e & QCOW2_OFFSET_MASK) &&
			   !(e & QCOW2_OFLAG_COMPRESSED)) {
			if (!t && l2_for_write(img, s, l1_index, &t, err) < 0)
				return -1;
			set_l2(s, t, i, QCOW2_OFLAG_ZERO);
		} else if (write_locked(img, s, s->zero_cluster, piece, off,
					err) < 0) {
			return -1;
		}
		off += piece;
		len -= piece;
	}
	return 0;
}

int qcow2_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
			struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	int r;

	if (not_writable(img))
		return refuse(img, err);
	pthread_mutex_lock(&s->lock);
	r = zero_locked(img, s, off, len, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int qcow2_compress(struct vmc_image *img, uint64_t off, const void *in,
		   size_t len, void *out, size_t out_cap, size_t *out_len,
		   struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;

	(void)off;
	return qcow2_compress_cluster(s->compression, s->comp_level, in, len,
				      (size_t)s->cluster_size, out, out_cap,
				      out_len, err);
}

/* Bytes for compressed data, packed after the previous compressed
 * cluster as qemu does (qcow2_alloc_bytes): the clusters a compressed
 * cluster touches each get one reference. */
static int alloc_bytes(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t clen, uint64_t *where, struct vmc_error *err)
{
	uint64_t cs = s->cluster_size, fb = s->free_byte, host, rc = 0;
	uint64_t max = s->refcount_bits == 64 ? UINT64_MAX :
		       (1ull << s->refcount_bits) - 1;

	if (fb) {
		uint64_t c = fb >> s->cluster_bits, room = cs - (fb & (cs - 1));

		if (qcow2_get_refcount(img, s, c, &rc, err) < 0)
			return -1;
		if (rc >= max) {
			fb = 0;
		} else if (clen <= room) {
			if (qcow2_set_refcount(img, s, c, rc + 1, err) < 0)
				return -1;
			*where = fb;
			return 0;
		} else if (s->tail == c + 1) {
			uint64_t more = VMC_DIV_ROUND_UP(clen - room, cs);

			if (qcow2_alloc_clusters(img, s, more, &host,
						 err) < 0)
				return -1;
			if (host == (c + 1) << s->cluster_bits) {
				if (qcow2_set_refcount(img, s, c, rc + 1,
						       err) < 0)
					return -1;
				*where = fb;
				return 0;
			}
			/* A refcount block came in between. */
			if (clen <= more * cs) {
				*where = host;
				return 0;
			}
			fb = 0;
		} else {
			fb = 0;
		}
	}
	if (qcow2_alloc_clusters(img, s, VMC_DIV_ROUND_UP(clen, cs), &host,
				 err) < 0)
		return -1;
	*where = host;
	return 0;
}

int qcow2_pwrite_compressed(struct vmc_image *img, uint64_t off,
			    const void *cdata, size_t clen, size_t len,
			    struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	uint64_t per_l2 = 1ull << s->l2_bits, where = 0, nb, e;
	uint64_t g = off >> s->cluster_bits;
	uint8_t *t;
	int r = -1;

	if (not_writable(img))
		return refuse(img, err);
	if ((off & (s->cluster_size - 1)) || clen == 0 ||
	    clen >= s->cluster_size || len > s->cluster_size)
		return vmc_error_set(err, EINVAL, "%s: bad compressed write"
				     " at 0x%" PRIx64, img->filename, off);
	pthread_mutex_lock(&s->lock);
	if (l2_for_write(img, s, g >> s->l2_bits, &t, err) < 0)
		goto out;
	e = vmc_get_be64(t + (g & (per_l2 - 1)) * 8);
	if (e & QCOW2_OFLAG_COMPRESSED) {
		vmc_error_set(err, ENOTSUP, "%s: compressed write over a"
			      " compressed cluster at 0x%" PRIx64
			      " is not supported", img->filename, off);
		goto out;
	}
	if (e & QCOW2_OFFSET_MASK) {
		/* Preallocated: the cluster is stored plain where it is. */
		s->dbuf_valid = false;
		if (qcow2_decompress(s, cdata, clen, s->dbuf,
				     (size_t)s->cluster_size) < 0) {
			vmc_error_set(err, EIO, "%s: cannot decompress own"
				      " data at 0x%" PRIx64, img->filename,
				      off);
			goto out;
		}
		r = write_locked(img, s, s->dbuf, len, off, err);
		goto out;
	}
	if (alloc_bytes(img, s, clen, &where, err) < 0)
		goto out;
	if (where + clen > s->coffset_mask) {
		vmc_error_set(err, EFBIG, "%s: compressed data beyond the"
			      " descriptor's reach", img->filename);
		goto out;
	}
	if (write_host(img, s, cdata, clen, where, err) < 0)
		goto out;
	nb = ((where + clen - 1) >> 9) - (where >> 9);
	if (l2_for_write(img, s, g >> s->l2_bits, &t, err) < 0)
		goto out;
	set_l2(s, t, g & (per_l2 - 1), QCOW2_OFLAG_COMPRESSED |
	       (nb << s->csize_shift) | where);
	s->free_byte = where + clen;
	if (!(s->free_byte & (s->cluster_size - 1)))
		s->free_byte = 0;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int write_l1(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_error *err)
{
	/* A new image owns whole L1 clusters; in an existing one, touch
	 * only the table itself. */
	uint64_t bytes = s->creating ?
		VMC_ALIGN_UP(VMC_MAX((uint64_t)s->l1_size * 8, 1),
			     s->cluster_size) : (uint64_t)s->l1_size * 8;
	uint8_t *buf = calloc(1, bytes);
	int r;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->l1_size; i++)
		vmc_put_be64(buf + 8 * i, s->l1[i]);
	r = write_host(img, s, buf, bytes, s->l1_offset, err);
	free(buf);
	if (r == 0)
		s->l1_dirty = false;
	return r;
}

/* The file extended to every allocated cluster. */
int qcow2_extend_to_tail(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err)
{
	uint64_t end = s->tail << s->cluster_bits;

	if (end > s->file_size) {
		if (ftruncate(s->fd, (off_t)end) < 0)
			return vmc_error_errno(err, errno, "%s: cannot extend"
					       " the file", img->filename);
		s->file_size = end;
	}
	return 0;
}

/* Everything in memory to the file, in an order where each structure is
 * complete before what points to it. */
int qcow2_writeback(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_error *err)
{
	if (qcow2_cache_flush(img, s, &s->l2c, err) < 0)
		return -1;
	if (s->l1_dirty && write_l1(img, s, err) < 0)
		return -1;
	if (qcow2_write_reftable(img, s, err) < 0)
		return -1;
	if (qcow2_cache_flush(img, s, &s->rbc, err) < 0)
		return -1;
	if (qcow2_extend_to_tail(img, s, err) < 0)
		return -1;
	if ((s->header_dirty || s->creating) &&
	    qcow2_write_header(img, s, err) < 0)
		return -1;
	s->header_dirty = false;
	return vmc_output_datasync(img->out, s->fd, img->filename, err);
}

int qcow2_flush(struct vmc_image *img, struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	int r;

	if (!s->writable)
		return 0;
	pthread_mutex_lock(&s->lock);
	r = qcow2_writeback(img, s, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}
