/* qcow2: open, probe, read, block status and info.
 * Implements qemu docs/interop/qcow2.txt: "Header" and "Header
 * extensions" (feature name table, backing file format, external data
 * file), "Host cluster management" for lookups through L1/L2 and
 * "Snapshots" for -l.  Writing is in qcow2-write.c, refcounts in
 * qcow2-refcount.c, check in qcow2-check.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include <vmconv/image.h>
#include <vmconv/driver.h>

#include "common/bytes.h"
#include "common/confine.h"
#include "formats/qcow2.h"
#include "formats/registry.h"

static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
	uint32_t v;

	(void)filename;
	if (len < 8 || vmc_get_be32(buf) != QCOW2_MAGIC)
		return 0;
	v = vmc_get_be32(buf + 4);
	return (v == 2 || v == 3) ? 100 : 50;
}

static char *xstrndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Name of an unknown incompatible feature bit from the feature-name
 * table, so the refusal can say what the image needs. */
static void feature_name(const uint8_t *ext, uint32_t len, unsigned bit,
			 char *name, size_t cap)
{
	name[0] = '\0';
	for (uint32_t i = 0; i + 48 <= len; i += 48) {
		if (ext[i] == 0 && ext[i + 1] == bit) {
			size_t n = strnlen((const char *)ext + i + 2, 46);

			if (n >= cap)
				n = cap - 1;
			memcpy(name, ext + i + 2, n);
			name[n] = '\0';
			return;
		}
	}
}

static int parse_extensions(struct vmc_image *img, struct qcow2_state *s,
			    const uint8_t *hdr, size_t len, uint64_t end,
			    const uint8_t **features, uint32_t *features_len,
			    struct vmc_error *err)
{
	uint64_t p = s->header_length;

	while (p + 8 <= end) {
		uint32_t type = vmc_get_be32(hdr + p);
		uint32_t elen = vmc_get_be32(hdr + p + 4);
		const uint8_t *d = hdr + p + 8;

		if (type == QCOW2_EXT_END)
			break;
		if (elen > end - p - 8)
			return vmc_error_set(err, EINVAL,
				"%s: header extension 0x%08x at offset 0x%"
				PRIx64 " is longer (%u bytes) than the header"
				" cluster", img->filename, type, p, elen);
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (elen == 0 || elen > 63)
				return vmc_error_set(err, EINVAL,
					"%s: backing format extension at 0x%"
					PRIx64 " has bad length %u",
					img->filename, p, elen);
			free(s->backing_fmt);
			s->backing_fmt = xstrndup(d, elen);
			if (!s->backing_fmt)
				goto nomem;
			break;
		case QCOW2_EXT_FEATURES:
			*features = d;
			*features_len = elen;
			break;
		case QCOW2_EXT_DATA_FILE:
			if (elen == 0 || elen > QCOW2_MAX_DATA_FILE_NAME)
				return vmc_error_set(err, EINVAL,
					"%s: data file name extension at 0x%"
					PRIx64 " has bad length %u",
					img->filename, p, elen);
			free(s->data_file_name);
			s->data_file_name = xstrndup(d, elen);
			if (!s->data_file_name)
				goto nomem;
			break;
		case QCOW2_EXT_BITMAPS:
			if (elen < 24)
				return vmc_error_set(err, EINVAL,
					"%s: bitmaps extension at 0x%" PRIx64
					" too short", img->filename, p);
			s->has_bitmaps = true;
			s->nb_bitmaps = vmc_get_be32(d);
			s->bitmap_dir_size = vmc_get_be64(d + 8);
			s->bitmap_dir_offset = vmc_get_be64(d + 16);
			break;
		case QCOW2_EXT_CRYPTO:
			return vmc_error_set(err, ENOTSUP,
				"%s: encrypted qcow2 images are not supported",
				img->filename);
		default:
			break;	/* unknown extensions are ignored */
		}
		p += 8 + VMC_ALIGN_UP((uint64_t)elen, 8);
	}
	(void)len;
	return 0;
nomem:
	return vmc_error_set(err, ENOMEM, "out of memory");
}

/* The compression type and the L2 entry layout from the header. */
static int set_layout(struct qcow2_state *s, const char *fn,
		      struct vmc_error *err)
{
	if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		if (s->header_length <= 104)
			return vmc_error_set(err, EINVAL, "%s: compression"
					     " type bit set but the header has"
					     " no compression_type field", fn);
		if (s->compression != QCOW2_COMP_ZSTD)
			return vmc_error_set(err, ENOTSUP, "%s: unknown"
					     " compression type %u (header"
					     " offset 104)", fn,
					     s->compression);
	} else if (s->compression != QCOW2_COMP_ZLIB) {
		return vmc_error_set(err, EINVAL, "%s: compression type %u"
				     " without the compression incompatible"
				     " bit", fn, s->compression);
	}
	s->extended_l2 = s->incompat & QCOW2_INCOMPAT_EXTL2;
	if (s->extended_l2 && s->cluster_bits < 14)
		return vmc_error_set(err, EINVAL, "%s: extended L2 entries"
				     " need clusters of at least 16 KiB", fn);
	s->l2_entry_size = s->extended_l2 ? 16 : 8;
	s->l2_bits = s->cluster_bits - (s->extended_l2 ? 4 : 3);
	s->sc_bits = s->extended_l2 ? s->cluster_bits - 5 : s->cluster_bits;
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	return 0;
}

/* Tables: aligned, inside the file, and no bigger than qemu accepts. */
static int check_tables(struct qcow2_state *s, const char *fn,
			struct vmc_error *err)
{
	uint64_t l1_need;

	if (s->header_l1_size > QCOW2_MAX_L1_BYTES / 8)
		return vmc_error_set(err, EFBIG, "%s: L1 table of %u entries"
				     " is too large (header offset 36)", fn,
				     s->header_l1_size);
	l1_need = VMC_DIV_ROUND_UP(s->virtual_size,
				   1ull << (s->cluster_bits + s->l2_bits));
	if (s->virtual_size > (1ull << 62) || l1_need > s->header_l1_size)
		return vmc_error_set(err, EINVAL, "%s: L1 table of %u entries"
				     " is too small for virtual size %" PRIu64,
				     fn, s->header_l1_size, s->virtual_size);
	if ((uint64_t)s->reftable_clusters << s->cluster_bits >
	    QCOW2_MAX_REFTABLE_BYTES)
		return vmc_error_set(err, EFBIG, "%s: refcount table of %u"
				     " clusters is too large (header offset"
				     " 56)", fn, s->reftable_clusters);
	if (s->reftable_offset & (s->cluster_size - 1))
		return vmc_error_set(err, EINVAL, "%s: refcount table offset"
				     " 0x%" PRIx64 " is not cluster aligned",
				     fn, s->reftable_offset);
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return vmc_error_set(err, EFBIG, "%s: %u snapshots is too"
				     " many (header offset 60)", fn,
				     s->nb_snapshots);
	if (s->nb_snapshots && (s->snapshots_offset &
				(s->cluster_size - 1)))
		return vmc_error_set(err, EINVAL, "%s: snapshot table offset"
				     " 0x%" PRIx64 " is not cluster aligned",
				     fn, s->snapshots_offset);
	return 0;
}

int qcow2_parse_header(struct vmc_image *img, struct qcow2_state *s,
		       const uint8_t *hdr, size_t len, struct vmc_error *err)
{
	const char *fn = img->filename;
	const uint8_t *features = NULL;
	uint32_t features_len = 0, backing_size;
	uint64_t backing_off, hdr_end, unknown;

	if (len < QCOW2_V2_HEADER_LEN || vmc_get_be32(hdr) != QCOW2_MAGIC)
		return vmc_error_set(err, EINVAL, "%s: not a qcow2 image (bad"
				     " magic at offset 0)", fn);
	s->version = vmc_get_be32(hdr + 4);
	if (s->version != 2 && s->version != 3)
		return vmc_error_set(err, ENOTSUP, "%s: qcow2 version %u is"
				     " not supported (header offset 4)", fn,
				     s->version);
	backing_off = vmc_get_be64(hdr + 8);
	backing_size = vmc_get_be32(hdr + 16);
	s->cluster_bits = vmc_get_be32(hdr + 20);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return vmc_error_set(err, EINVAL, "%s: cluster_bits %u out of"
				     " range 9..21 (header offset 20)", fn,
				     s->cluster_bits);
	s->cluster_size = 1ull << s->cluster_bits;
	s->virtual_size = vmc_get_be64(hdr + 24);
	if (vmc_get_be32(hdr + 32) != 0)
		return vmc_error_set(err, ENOTSUP, "%s: encrypted qcow2 images"
				     " are not supported", fn);
	s->header_l1_size = vmc_get_be32(hdr + 36);
	s->header_l1_offset = vmc_get_be64(hdr + 40);
	s->reftable_offset = vmc_get_be64(hdr + 48);
	s->reftable_clusters = vmc_get_be32(hdr + 56);
	s->nb_snapshots = vmc_get_be32(hdr + 60);
	s->snapshots_offset = vmc_get_be64(hdr + 64);
	s->refcount_order = 4;
	s->header_length = QCOW2_V2_HEADER_LEN;
	if (s->version == 3) {
		if (len < QCOW2_V3_HEADER_LEN)
			return vmc_error_set(err, EINVAL, "%s: truncated"
					     " header", fn);
		s->incompat = vmc_get_be64(hdr + 72);
		s->compat = vmc_get_be64(hdr + 80);
		s->autoclear = vmc_get_be64(hdr + 88);
		s->refcount_order = vmc_get_be32(hdr + 96);
		s->header_length = vmc_get_be32(hdr + 100);
		if (s->header_length < QCOW2_V3_HEADER_LEN ||
		    s->header_length > s->cluster_size ||
		    s->header_length > len)
			return vmc_error_set(err, EINVAL, "%s: header_length"
					     " %u is invalid (header offset"
					     " 100)", fn, s->header_length);
		if (s->header_length > 104)
			s->compression = hdr[104];
	}
	hdr_end = VMC_MIN(s->cluster_size, len);
	if (parse_extensions(img, s, hdr, len, hdr_end, &features,
			     &features_len, err) < 0)
		return -1;

	unknown = s->incompat & ~QCOW2_INCOMPAT_KNOWN;
	if (unknown) {
		unsigned bit = (unsigned)__builtin_ctzll(unknown);
		char name[48];

		feature_name(features, features_len, bit, name,
			     sizeof(name));
		return vmc_error_set(err, ENOTSUP, "%s: unsupported qcow2"
				     " incompatible feature bit %u%s%s%s", fn,
				     bit, name[0] ? " (" : "", name,
				     name[0] ? ")" : "");
	}
	if (s->refcount_order > 6)
		return vmc_error_set(err, EINVAL, "%s: refcount_order %u out"
				     " of range 0..6 (header offset 96)", fn,
				     s->refcount_order);
	s->refcount_bits = 1u << s->refcount_order;
	s->rc_block_bits = s->cluster_bits + 3 - s->refcount_order;

	if (set_layout(s, fn, err) < 0)
		return -1;

	/* Backing file name: in the first cluster, at most 1023 bytes. */
	if (backing_off) {
		if (backing_size == 0 || backing_size > QCOW2_MAX_BACKING_NAME)
			return vmc_error_set(err, EINVAL, "%s: backing file"
					     " name length %u is out of range"
					     " 1..1023 (header offset 16)", fn,
					     backing_size);
		if (backing_off > hdr_end || backing_size > hdr_end -
		    backing_off)
			return vmc_error_set(err, EINVAL, "%s: backing file"
					     " name at 0x%" PRIx64 " is past"
					     " the header cluster", fn,
					     backing_off);
		s->backing_name = xstrndup(hdr + backing_off, backing_size);
		if (!s->backing_name)
			return vmc_error_set(err, ENOMEM, "out of memory");
	}

	if ((s->incompat & QCOW2_INCOMPAT_DATA_FILE) && !s->data_file_name)
		return vmc_error_set(err, EINVAL, "%s: the image uses an"
				     " external data file but names none", fn);
	if (!(s->incompat & QCOW2_INCOMPAT_DATA_FILE) && s->data_file_name) {
		free(s->data_file_name);
		s->data_file_name = NULL;
	}

	return check_tables(s, fn, err);
}

/* Read n L1 entries at off, checked against the file. */
int qcow2_read_l1(struct vmc_image *img, struct qcow2_state *s,
		  uint64_t off, uint32_t n, uint64_t **out,
		  struct vmc_error *err)
{
	uint64_t *l1, bytes = (uint64_t)n * 8;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > QCOW2_MAX_L1_BYTES / 8)
		return vmc_error_set(err, EFBIG, "%s: L1 table of %u entries"
				     " is too large", img->filename, n);
	if (off & (s->cluster_size - 1))
		return vmc_error_set(err, EINVAL, "%s: L1 table offset 0x%"
				     PRIx64 " is not cluster aligned",
				     img->filename, off);
	if (off > s->file_size || bytes > s->file_size - off)
		return vmc_error_set(err, EINVAL, "%s: L1 table at 0x%" PRIx64
				     " (%u entries) is past the end of the"
				     " file (size 0x%" PRIx64 ")",
				     img->filename, off, n, s->file_size);
	l1 = malloc(bytes);
	if (!l1)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(s->fd, l1, bytes, off, img->filename, err) < 0) {
		free(l1);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		l1[i] = be64toh(l1[i]);
	*out = l1;
	return 0;
}

void qcow2_state_free(struct qcow2_state *s)
{
	if (!s)
		return;
	if (s->own_fd && s->fd >= 0)
		vmc_file_close(s->fd);
	if (s->own_data_fd && s->data_fd >= 0)
		vmc_file_close(s->data_fd);
	free(s->data_path);
	free(s->l1);
	free(s->reftable);
	for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
	}
	free(s->snaps);
	free(s->backing_name);
	free(s->backing_fmt);
	free(s->data_file_name);
	vmc_image_close(s->backing);
	qcow2_cache_free(&s->l2c);
	qcow2_cache_free(&s->rbc);
	free(s->cbuf);
	free(s->dbuf);
	free(s->zero_cluster);
	qcow2_free_inflater(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int file_size(int fd, const char *path, uint64_t *size,
		     struct vmc_error *err)
{
	struct stat st;

	if (vmc_file_fstat(fd, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot stat", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int open_backing(struct vmc_image *img, struct qcow2_state *s,
			struct vmc_error *err)
{
	char *path;

	if (!s->backing_name || (img->flags & VMC_OPEN_NO_BACKING))
		return 0;
	path = vmc_confine_resolve(img->filename, "backing file",
				   s->backing_name, err);
	if (!path)
		return -1;
	s->backing = vmc_image_open(path, s->backing_fmt, 0, NULL, err);
	free(path);
	if (!s->backing) {
		vmc_error_prefix(err, "%s: backing file '%s'", img->filename,
				 s->backing_name);
		return -1;
	}
	return 0;
}

static int open_data_file(struct vmc_image *img, struct qcow2_state *s,
			  struct vmc_error *err)
{
	int flags = s->writable ? O_RDWR : O_RDONLY;

	if (!s->data_file_name) {
		s->data_fd = s->fd;
		s->data_file_size = s->file_size;
		return 0;
	}
	s->data_path = vmc_confine_resolve(img->filename, "data file",
					   s->data_file_name, err);
	if (!s->data_path)
		return -1;
	s->data_fd = vmc_confine_open(s->data_path, flags, false, err);
	if (s->data_fd < 0) {
		vmc_error_prefix(err, "%s: external data file",
				 img->filename);
		return -1;
	}
	s->own_data_fd = true;
	return file_size(s->data_fd, s->data_path, &s->data_file_size, err);
}

/* Caches: L2 tables up to 16 MiB, refcount blocks up to 4 MiB. */
static int init_caches(struct qcow2_state *s, struct vmc_error *err)
{
	size_t nl2 = VMC_MAX(4, VMC_MIN(256, (16u << 20) >> s->cluster_bits));
	size_t nrb = VMC_MAX(2, VMC_MIN(16, (4u << 20) >> s->cluster_bits));

	if (qcow2_cache_init(&s->l2c, nl2, s->cluster_size) < 0 ||
	    qcow2_cache_init(&s->rbc, nrb, s->cluster_size) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	s->cbuf = malloc(2 * s->cluster_size);
	s->dbuf = malloc(s->cluster_size);
	if (!s->cbuf || !s->dbuf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int qcow2_open(struct vmc_image *img, const char *filename,
		      struct vmc_opts *opts, struct vmc_error *err)
{
	struct qcow2_state *s = calloc(1, sizeof(*s));
	const char *snap = vmc_opts_get(opts, "snapshot");
	uint8_t *hdr = NULL;
	size_t hlen;

	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->fd = s->data_fd = -1;
	s->snapshot = -1;
	s->writable = img->flags & VMC_OPEN_RDWR;
	if (snap && s->writable) {
		vmc_error_set(err, EINVAL, "%s: snapshots can only be opened"
			      " read-only", filename);
		goto fail;
	}
	s->fd = vmc_confine_open(filename, s->writable ? O_RDWR : O_RDONLY,
				 true, err);
	if (s->fd < 0)
		goto fail;
	s->own_fd = true;
	if (file_size(s->fd, filename, &s->file_size, err) < 0)
		goto fail;
	/* The header cluster: at most 2 MiB, and never past the file. */
	hlen = (size_t)VMC_MIN(s->file_size, 1u << QCOW2_MAX_CLUSTER_BITS);
	hdr = malloc(hlen ? hlen : 1);
	if (!hdr) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (vmc_pread_full(s->fd, hdr, hlen, 0, filename, err) < 0)
		goto fail;
	if (qcow2_parse_header(img, s, hdr, hlen, err) < 0)
		goto fail;
	free(hdr);
	hdr = NULL;
	if (init_caches(s, err) < 0)
		goto fail;
	if (qcow2_read_l1(img, s, s->header_l1_offset, s->header_l1_size,
			  &s->l1, err) < 0)
		goto fail;
	s->l1_size = s->header_l1_size;
	s->l1_offset = s->header_l1_offset;
	img->size = s->virtual_size;
	if (qcow2_read_snapshots(img, s, err) < 0)
		goto fail;
	if (snap) {
		int i = qcow2_find_snapshot(s, snap);
		struct qcow2_snapshot *sn;

		if (i < 0) {
			vmc_error_set(err, ENOENT, "%s: no snapshot '%s'",
				      filename, snap);
			goto fail;
		}
		sn = &s->snaps[i];
		free(s->l1);
		s->l1 = NULL;
		if (qcow2_read_l1(img, s, sn->l1_offset, sn->l1_size, &s->l1,
				  err) < 0) {
			vmc_error_prefix(err, "snapshot '%s'", sn->name);
			goto fail;
		}
		s->l1_size = sn->l1_size;
		s->l1_offset = sn->l1_offset;
		s->snapshot = i;
		if (sn->has_disk_size)
			img->size = sn->disk_size;
	}
	if (s->writable && qcow2_load_reftable(img, s, err) < 0)
		goto fail;
	if (open_data_file(img, s, err) < 0)
		goto fail;
	if (open_backing(img, s, err) < 0)
		goto fail;
	if (s->writable)
		s->tail = VMC_DIV_ROUND_UP(s->file_size, s->cluster_size);
	img->opaque = s;
	img->granularity = (uint32_t)VMC_MIN(s->cluster_size, 1u << 20);
	return 0;
fail:
	free(hdr);
	qcow2_state_free(s);
	return -1;
}

static void qcow2_close(struct vmc_image *img)
{
	qcow2_state_free(img->opaque);
	img->opaque = NULL;
}

/* A compressed cluster that the read covers from its start to its end
 * (or to the end of the disk): its bytes are read under the lock and
 * inflated outside it, so that threads reading at once (the convert
 * engine's workers) inflate on every core.  1 done, 0 not such a read
 * or no inflater free (the caller takes the cached path), -1 error. */
static int read_compressed_whole(struct vmc_image *img,
				 struct qcow2_state *s, uint64_t entry,
				 uint8_t *buf, uint64_t n, uint64_t off,
				 struct vmc_error *err)
{
	bool direct = n == s->cluster_size;
	struct qcow2_inflater *d;
	uint64_t coff, csize;
	int r;

	if ((off & (s->cluster_size - 1)) || (!direct && off + n != img->size))
		return 0;
	d = qcow2_inflater_get(s);
	if (!d)
		return 0;
	if (!direct && !d->dbuf && !(d->dbuf = malloc(s->cluster_size))) {
		qcow2_inflater_put(s, d);
		return 0;
	}
	r = qcow2_fetch_compressed(img, s, entry, d->cbuf, &coff, &csize,
				   err);
	if (r == 0) {
		pthread_mutex_unlock(&s->lock);
		r = qcow2_inflate_cluster(img, s, d, d->cbuf, coff, csize,
					  direct ? buf : d->dbuf, err);
		pthread_mutex_lock(&s->lock);
	}
	if (r == 0 && !direct)
		memcpy(buf, d->dbuf, (size_t)n);
	qcow2_inflater_put(s, d);
	return r < 0 ? -1 : 1;
}

/* Called with s->lock held; read_compressed_whole drops it a while. */
static int read_locked(struct vmc_image *img, struct qcow2_state *s,
		       uint8_t *buf, uint64_t len, uint64_t off,
		       struct vmc_error *err)
{
	while (len > 0) {
		struct qcow2_map m;
		uint8_t *c;
		uint64_t n;
		int r;

		if (qcow2_map(img, s, off, len, &m, err) < 0)
			return -1;
		n = m.length;
		switch (m.kind) {
		case QCOW2_UNALLOCATED:
			/* left to the backing file, zeros past its end */
			if (vmc_parent_pread(s->backing, buf, n, off, err) < 0)
				return -1;
			break;
		case QCOW2_ZERO:
			memset(buf, 0, (size_t)n);
			break;
		case QCOW2_NORMAL: {
			/* A cluster the file ends inside reads as zeros
			 * after the end, as with qemu; one that starts
			 * past the end is an error. */
			uint64_t cstart = VMC_ALIGN_DOWN(m.host,
							 s->cluster_size);
			uint64_t have;

			if (cstart >= s->data_file_size)
				return vmc_error_set(err, EINVAL, "%s: data"
					" cluster for guest offset 0x%" PRIx64
					" at host offset 0x%" PRIx64 " is past"
					" the end of the %s", img->filename,
					off, m.host, s->data_path ?
					"data file" : "file");
			have = m.host >= s->data_file_size ? 0 :
			       VMC_MIN(n, s->data_file_size - m.host);
			if (have && vmc_pread_full(s->data_fd, buf,
					(size_t)have, m.host, s->data_path ?
					s->data_path : img->filename, err) < 0)
				return -1;
			memset(buf + have, 0, (size_t)(n - have));
			break;
		}
		case QCOW2_COMPRESSED:
			r = read_compressed_whole(img, s, m.host, buf, n, off,
						  err);
			if (r < 0)
				return -1;
			if (r > 0)
				break;
			if (qcow2_read_compressed(img, s, m.host, &c, err) < 0)
				return -1;
			memcpy(buf, c + (off & (s->cluster_size - 1)),
			       (size_t)n);
			break;
		}
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int qcow2_pread(struct vmc_image *img, void *buf, size_t len,
		       uint64_t off, struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	int r;

	pthread_mutex_lock(&s->lock);
	r = read_locked(img, s, buf, len, off, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The extent of map m at off; the backing file's where m leaves the run
 * to it (with s->lock held: a parent's calls stay serial however many
 * threads read this image). */
static int map_to_extent(struct qcow2_state *s, const struct qcow2_map *m,
			 uint64_t off, struct vmc_extent *ext,
			 struct vmc_error *err)
{
	ext->offset = off;
	ext->length = m->length;
	switch (m->kind) {
	case QCOW2_ZERO:
		ext->kind = VMC_EXTENT_ZERO;
		break;
	case QCOW2_NORMAL:
	case QCOW2_COMPRESSED:
		ext->kind = VMC_EXTENT_DATA;
		break;
	case QCOW2_UNALLOCATED:
		ext->kind = VMC_EXTENT_UNALLOCATED;
		if (s->backing && off < s->backing->size) {
			struct vmc_extent b;

			if (vmc_image_block_status(s->backing, off,
				VMC_MIN(m->length, s->backing->size - off), &b,
				err) < 0)
				return -1;
			*ext = b;
			ext->offset = off;
		}
		break;
	}
	return 0;
}

static int qcow2_block_status(struct vmc_image *img, uint64_t off,
			      uint64_t max_len, struct vmc_extent *ext,
			      struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	struct qcow2_map m;
	int r;

	pthread_mutex_lock(&s->lock);
	r = qcow2_map(img, s, off, max_len, &m, err);
	if (r == 0)
		r = map_to_extent(s, &m, off, ext, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Copy offload: an uncompressed data run held whole by the file. */
static int qcow2_host_extent(struct vmc_image *img, uint64_t off,
			     uint64_t len, struct vmc_host_extent *h,
			     struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	struct qcow2_map m;
	int r;

	pthread_mutex_lock(&s->lock);
	r = qcow2_map(img, s, off, len, &m, err);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return -1;
	if (m.kind != QCOW2_NORMAL || m.host > s->data_file_size ||
	    m.length > s->data_file_size - m.host)
		return 0;
	*h = (struct vmc_host_extent){ s->data_fd, m.host, m.length };
	return 1;
}

static json_t *snapshot_json(const struct qcow2_snapshot *sn)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(sn->id));
	json_object_set_new(o, "name", json_string(sn->name));
	json_object_set_new(o, "vm-state-size",
			    json_integer((json_int_t)sn->vm_state_size));
	json_object_set_new(o, "date-sec", json_integer(sn->date_sec));
	json_object_set_new(o, "date-nsec", json_integer(sn->date_nsec));
	json_object_set_new(o, "vm-clock-sec", json_integer(
		(json_int_t)(sn->vm_clock_nsec / 1000000000ull)));
	json_object_set_new(o, "vm-clock-nsec", json_integer(
		(json_int_t)(sn->vm_clock_nsec % 1000000000ull)));
	if (sn->has_icount)
		json_object_set_new(o, "icount",
				    json_integer((json_int_t)sn->icount));
	return o;
}

static int qcow2_info(struct vmc_image *img, json_t *obj,
		      struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	json_t *fs = json_object(), *d = json_object();

	(void)err;
	json_object_set_new(obj, "cluster-size",
			    json_integer((json_int_t)s->cluster_size));
	if (s->backing_name) {
		char *full = vmc_path_relative_to(img->filename,
						  s->backing_name);

		json_object_set_new(obj, "backing-filename",
				    json_string(s->backing_name));
		if (full)
			json_object_set_new(obj, "full-backing-filename",
					    json_string(full));
		free(full);
		if (s->backing_fmt)
			json_object_set_new(obj, "backing-filename-format",
					    json_string(s->backing_fmt));
	}
	json_object_set_new(obj, "dirty-flag", json_boolean(
		s->incompat & QCOW2_INCOMPAT_DIRTY));
	if (s->nb_snapshots) {
		json_t *a = json_array();

		for (uint32_t i = 0; i < s->nb_snapshots; i++)
			json_array_append_new(a, snapshot_json(&s->snaps[i]));
		json_object_set_new(obj, "snapshots", a);
	}
	json_object_set_new(d, "compat", json_string(s->version == 2 ?
						      "0.10" : "1.1"));
	json_object_set_new(d, "compression-type", json_string(
		s->compression == QCOW2_COMP_ZSTD ? "zstd" : "zlib"));
	if (s->version >= 3)
		json_object_set_new(d, "lazy-refcounts", json_boolean(
			s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS));
	if (s->version >= 3) {
		json_t *bm = qcow2_bitmaps_json(img, s);

		if (bm)
			json_object_set_new(d, "bitmaps", bm);
	}
	json_object_set_new(d, "refcount-bits",
			    json_integer(s->refcount_bits));
	if (s->data_file_name) {
		json_object_set_new(d, "data-file",
				    json_string(s->data_file_name));
		json_object_set_new(d, "data-file-raw", json_boolean(
			s->autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW));
	}
	if (s->version >= 3) {
		json_object_set_new(d, "corrupt", json_boolean(
			s->incompat & QCOW2_INCOMPAT_CORRUPT));
		json_object_set_new(d, "extended-l2",
				    json_boolean(s->extended_l2));
	}
	json_object_set_new(fs, "type", json_string("qcow2"));
	json_object_set_new(fs, "data", d);
	json_object_set_new(obj, "format-specific", fs);
	if (s->data_path) {
		struct stat a, b;

		if (vmc_file_fstat(s->fd, &a) == 0 &&
		    vmc_file_fstat(s->data_fd, &b) == 0)
			json_object_set_new(obj, "actual-size", json_integer(
				(json_int_t)(a.st_blocks + b.st_blocks) * 512));
	}
	return 0;
}

static const char *const qcow2_compat[] = { "0.10", "v2", "1.1", "v3",
					    NULL };
static const char *const qcow2_ctype[] = { "zlib", "zstd", NULL };
static const char *const qcow2_prealloc[] = { "off", "metadata", "falloc",
					      "full", NULL };

static const struct vmc_opt_desc qcow2_create_opts[] = {
	{ "backing_file", VMC_OPT_STRING, NULL,
	  "File name of a base image", NULL },
	{ "backing_fmt", VMC_OPT_STRING, NULL,
	  "Image format of the base image", NULL },
	{ "cluster_size", VMC_OPT_SIZE, "65536",
	  "qcow2 cluster size (a power of two, 512 to 2M)", NULL },
	{ "compat", VMC_OPT_STRING, "1.1",
	  "Compatibility level (0.10 or v2, 1.1 or v3)", qcow2_compat },
	{ "compression_type", VMC_OPT_STRING, "zlib",
	  "Compression method used for image cluster compression",
	  qcow2_ctype },
	{ "compression_level", VMC_OPT_UINT, NULL,
	  "Compression level (unset or 0: the method's default)", NULL },
	{ "extended_l2", VMC_OPT_BOOL, "off",
	  "Extended L2 tables (vmconv reads them, cannot write them)", NULL },
	{ "lazy_refcounts", VMC_OPT_BOOL, "off",
	  "Postpone refcount updates", NULL },
	{ "preallocation", VMC_OPT_STRING, "off",
	  "Preallocation mode", qcow2_prealloc },
	{ "refcount_bits", VMC_OPT_UINT, "16",
	  "Width of a reference count entry in bits", NULL },
	{ NULL }
};

const struct vmc_driver vmc_qcow2_driver = {
	.abi_version = VMC_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct vmc_driver),
	.name = "qcow2",
	.description = "QEMU copy-on-write v2/v3 (compat 0.10 and 1.1)",
	.extension = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.pread = qcow2_pread,
	.block_status = qcow2_block_status,
	.host_extent = qcow2_host_extent,
	.create = qcow2_create,
	.measure = qcow2_measure,
	.pwrite = qcow2_pwrite,
	.pwrite_zeroes = qcow2_pwrite_zeroes,
	.compress = qcow2_compress,
	.pwrite_compressed = qcow2_pwrite_compressed,
	.flush = qcow2_flush,
	.check = qcow2_check,
	.info = qcow2_info,
	.create_opts = qcow2_create_opts,
	.thread_model = VMC_THREAD_PARALLEL_READ,
	.qemu_name = "qcow2",
	.target_bus = VMC_TARGET_BUS_VIRTIO,
};
