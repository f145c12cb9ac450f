/* qcow2 guest-to-host mapping: L1/L2 lookups, (extended) L2 entries with
 * subclusters, compressed cluster descriptors, and the table caches.
 * Implements qemu docs/interop/qcow2.txt, "Cluster mapping" and
 * "Extended L2 Entries". */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

int qcow2_cache_init(struct qcow2_cache *c, size_t n, uint64_t bytes)
{
	c->n = n;
	c->key = calloc(n, sizeof(*c->key));
	c->host = calloc(n, sizeof(*c->host));
	c->dirty = calloc(n, sizeof(*c->dirty));
	c->data = malloc(n * bytes);
	return (c->key && c->host && c->dirty && c->data) ? 0 : -1;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	free(c->key);
	free(c->host);
	free(c->dirty);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

static int cache_write_slot(struct vmc_image *img, struct qcow2_state *s,
			    struct qcow2_cache *c, size_t i,
			    struct vmc_error *err)
{
	if (!c->dirty[i])
		return 0;
	/* In an existing image, an L2 table may only point at clusters
	 * whose refcounts are on disk. */
	if (c == &s->l2c && s->in_place && qcow2_rc_commit(img, s, err) < 0)
		return -1;
	if (vmc_pwrite_full(s->fd, c->data + i * s->cluster_size,
			    s->cluster_size, c->host[i], img->filename,
			    err) < 0)
		return -1;
	if (c->host[i] + s->cluster_size > s->file_size)
		s->file_size = c->host[i] + s->cluster_size;
	c->dirty[i] = false;
	return 0;
}

int qcow2_cache_flush(struct vmc_image *img, struct qcow2_state *s,
		      struct qcow2_cache *c, struct vmc_error *err)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->key[i] && cache_write_slot(img, s, c, i, err) < 0)
			return -1;
	return 0;
}

/* The table with index idx at host offset host; fresh tables start as
 * zeros and are written back later.  Returns the slot's data. */
static int cache_get(struct vmc_image *img, struct qcow2_state *s,
		     struct qcow2_cache *c, uint64_t idx, uint64_t host,
		     bool fresh, uint8_t **data, struct vmc_error *err)
{
	size_t i = (size_t)(idx % c->n);
	uint8_t *d = c->data + i * s->cluster_size;

	if (c->key[i] == idx + 1 && c->host[i] == host && !fresh) {
		*data = d;
		return 0;
	}
	if (c->key[i] && cache_write_slot(img, s, c, i, err) < 0)
		return -1;
	c->key[i] = 0;
	if (fresh) {
		memset(d, 0, s->cluster_size);
		c->dirty[i] = true;
	} else {
		if (host > s->file_size || s->cluster_size >
		    s->file_size - host) {
			/* A table the writer has reserved but not written
			 * yet reads as zeros, like the file's hole. */
			if (!s->writable)
				return vmc_error_set(err, EINVAL, "%s: table"
					" at 0x%" PRIx64 " is past the end of"
					" the file (size 0x%" PRIx64 ")",
					img->filename, host, s->file_size);
			memset(d, 0, s->cluster_size);
		} else if (vmc_pread_full(s->fd, d, s->cluster_size, host,
					  img->filename, err) < 0) {
			return -1;
		}
		c->dirty[i] = false;
	}
	c->key[i] = idx + 1;
	c->host[i] = host;
	*data = d;
	return 0;
}

int qcow2_l2_get(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t l2_off, uint64_t l1_index, uint8_t **table,
		 struct vmc_error *err)
{
	if (l2_off & (s->cluster_size - 1))
		return vmc_error_set(err, EINVAL, "%s: L1 entry %" PRIu64
				     " points to an unaligned L2 table (0x%"
				     PRIx64 ")", img->filename, l1_index,
				     l2_off);
	if (cache_get(img, s, &s->l2c, l1_index, l2_off, false, table,
		      err) < 0) {
		vmc_error_prefix(err, "L1 entry %" PRIu64, l1_index);
		return -1;
	}
	return 0;
}

/* For the writer: a zeroed L2 table for l1_index at l2_off. */
int qcow2_l2_new(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t l2_off, uint64_t l1_index, uint8_t **table,
		 struct vmc_error *err)
{
	return cache_get(img, s, &s->l2c, l1_index, l2_off, true, table, err);
}

int qcow2_rb_get(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t block, uint64_t host, bool fresh, uint8_t **data,
		 struct vmc_error *err)
{
	return cache_get(img, s, &s->rbc, block, host, fresh, data, err);
}

/* Mark the cached table holding data dirty. */
void qcow2_cache_mark_dirty(struct qcow2_state *s, struct qcow2_cache *c,
			    const uint8_t *data)
{
	size_t i = (size_t)(data - c->data) / s->cluster_size;

	if (i < c->n)
		c->dirty[i] = true;
}

uint64_t qcow2_l2_entry(const struct qcow2_state *s, const uint8_t *t,
			uint64_t i)
{
	return vmc_get_be64(t + i * s->l2_entry_size);
}

uint64_t qcow2_l2_bitmap(const struct qcow2_state *s, const uint8_t *t,
			 uint64_t i)
{
	return s->extended_l2 ? vmc_get_be64(t + i * 16 + 8) : 0;
}

void qcow2_parse_compressed(const struct qcow2_state *s, uint64_t entry,
			    uint64_t *coffset, uint64_t *csize)
{
	uint64_t nb = ((entry >> s->csize_shift) & s->csize_mask) + 1;

	*coffset = entry & s->coffset_mask;
	*csize = nb * 512 - (*coffset & 511);
}

/* Kind and host offset of subcluster sc (the whole cluster without
 * extended L2) of L2 entry i. */
static int classify(struct vmc_image *img, struct qcow2_state *s,
		    const uint8_t *t, uint64_t i, unsigned sc,
		    enum qcow2_kind *kind, uint64_t *host,
		    struct vmc_error *err)
{
	uint64_t e = qcow2_l2_entry(s, t, i);
	uint64_t hoff = e & QCOW2_OFFSET_MASK;
	bool allocated = hoff != 0;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		if (s->data_file_name)
			return vmc_error_set(err, EINVAL, "%s: compressed"
				" cluster (L2 entry 0x%016" PRIx64 ") in an"
				" image with an external data file",
				img->filename, e);
		*kind = QCOW2_COMPRESSED;
		*host = e;
		return 0;
	}
	/* Offset 0 is a valid place in an external data file; there the
	 * COPIED flag tells allocated from not. */
	if (!allocated && s->data_file_name && (e & QCOW2_OFLAG_COPIED))
		allocated = true;
	if (allocated && (hoff & (s->cluster_size - 1)))
		return vmc_error_set(err, EINVAL, "%s: L2 entry 0x%016" PRIx64
				     " has an unaligned host offset",
				     img->filename, e);
	if (!s->extended_l2) {
		if (e & QCOW2_OFLAG_ZERO)
			*kind = QCOW2_ZERO;
		else
			*kind = allocated ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
		*host = hoff;
		return 0;
	}
	uint64_t bm = qcow2_l2_bitmap(s, t, i);
	uint64_t a = (bm >> sc) & 1, z = (bm >> (32 + sc)) & 1;

	if (a && z)
		return vmc_error_set(err, EINVAL, "%s: subcluster %u of L2"
				     " entry 0x%016" PRIx64 " is both"
				     " allocated and zero (bitmap 0x%016"
				     PRIx64 ")", img->filename, sc, e, bm);
	if (a && !allocated)
		return vmc_error_set(err, EINVAL, "%s: subcluster %u is"
				     " allocated but its cluster is not (L2"
				     " entry 0x%016" PRIx64 ")",
				     img->filename, sc, e);
	*kind = a ? QCOW2_NORMAL : z ? QCOW2_ZERO : QCOW2_UNALLOCATED;
	*host = hoff + ((uint64_t)sc << s->sc_bits);
	return 0;
}

int qcow2_map(struct vmc_image *img, struct qcow2_state *s, uint64_t off,
	      uint64_t max, struct qcow2_map *m, struct vmc_error *err)
{
	unsigned span = s->cluster_bits + s->l2_bits;
	uint64_t l1_index = off >> span;
	uint64_t lim = VMC_MIN(max, ((l1_index + 1) << span) - off);
	uint64_t unit = 1ull << s->sc_bits, l2_off, pos, host = 0;
	enum qcow2_kind kind = QCOW2_UNALLOCATED;
	uint8_t *t;

	m->host = 0;
	m->length = lim;
	m->kind = QCOW2_UNALLOCATED;
	if (l1_index >= s->l1_size)
		return 0;
	l2_off = s->l1[l1_index] & QCOW2_OFFSET_MASK;
	if (!l2_off)
		return 0;
	if (qcow2_l2_get(img, s, l2_off, l1_index, &t, err) < 0)
		return -1;

	pos = off;
	for (;;) {
		uint64_t i = (pos >> s->cluster_bits) &
			     ((1ull << s->l2_bits) - 1);
		unsigned sc = (unsigned)((pos & (s->cluster_size - 1)) >>
					 s->sc_bits);
		uint64_t uend = VMC_ALIGN_DOWN(pos, unit) + unit;

		if (classify(img, s, t, i, sc, &kind, &host, err) < 0)
			return -1;
		if (kind == QCOW2_COMPRESSED)
			uend = VMC_ALIGN_DOWN(pos, s->cluster_size) +
			       s->cluster_size;
		if (pos == off) {
			m->kind = kind;
			m->host = kind == QCOW2_COMPRESSED ? host :
				  host + (pos & (unit - 1));
			if (kind == QCOW2_COMPRESSED) {
				pos = uend;
				break;
			}
		} else if (kind != m->kind || kind == QCOW2_COMPRESSED ||
			   (kind == QCOW2_NORMAL &&
			    host != m->host + (pos - off))) {
			break;
		}
		pos = uend;
		if (pos - off >= lim)
			break;
	}
	m->length = VMC_MIN(pos - off, lim);
	return 0;
}

/* The compressed bytes that L2 entry names, into cbuf (two clusters):
 * their host offset and size (sectors as the entry gives them; what the
 * file lacks past its end reads as zeros).  With s->lock held. */
int qcow2_fetch_compressed(struct vmc_image *img, struct qcow2_state *s,
			   uint64_t entry, uint8_t *cbuf, uint64_t *coff,
			   uint64_t *csize, struct vmc_error *err)
{
	uint64_t n;

	qcow2_parse_compressed(s, entry, coff, csize);
	if (*coff >= s->file_size)
		return vmc_error_set(err, EINVAL, "%s: compressed cluster at"
				     " 0x%" PRIx64 " is past the end of the"
				     " file (size 0x%" PRIx64 ")",
				     img->filename, *coff, s->file_size);
	/* qemu does not pad the last compressed cluster of a file to its
	 * sector count: what is missing reads as zeros. */
	n = VMC_MIN(*csize, s->file_size - *coff);
	if (vmc_pread_full(s->fd, cbuf, (size_t)n, *coff, img->filename,
			   err) < 0)
		return -1;
	memset(cbuf + n, 0, (size_t)(*csize - n));
	return 0;
}

/* Inflate what qcow2_fetch_compressed read into one cluster at out, with
 * d (no lock needed: s's fields read here do not change). */
int qcow2_inflate_cluster(struct vmc_image *img, struct qcow2_state *s,
			  struct qcow2_inflater *d, const uint8_t *cbuf,
			  uint64_t coff, uint64_t csize, uint8_t *out,
			  struct vmc_error *err)
{
	if (qcow2_inflate(d, s->compression, cbuf, (size_t)csize, out,
			  (size_t)s->cluster_size) < 0)
		return vmc_error_set(err, EINVAL, "%s: compressed cluster at"
				     " 0x%" PRIx64 " (%" PRIu64 " bytes) does"
				     " not decompress to one %s cluster",
				     img->filename, coff, csize,
				     s->compression == QCOW2_COMP_ZSTD ?
				     "zstd" : "zlib");
	return 0;
}

int qcow2_read_compressed(struct vmc_image *img, struct qcow2_state *s,
			  uint64_t entry, uint8_t **cluster,
			  struct vmc_error *err)
{
	uint64_t coff, csize;

	if (s->dbuf_valid && s->dbuf_entry == entry) {
		*cluster = s->dbuf;
		return 0;
	}
	s->dbuf_valid = false;
	if (qcow2_fetch_compressed(img, s, entry, s->cbuf, &coff, &csize,
				   err) < 0 ||
	    qcow2_inflate_cluster(img, s, &s->inf, s->cbuf, coff, csize,
				  s->dbuf, err) < 0)
		return -1;
	s->dbuf_entry = entry;
	s->dbuf_valid = true;
	*cluster = s->dbuf;
	return 0;
}
