/* qcow2 refcounts: the refcount table and blocks of 1..64-bit entries,
 * and cluster allocation for the writer (appending at the end of the
 * file, with refcount blocks placed where they cover themselves).
 * qemu docs/interop/qcow2.txt, "Host cluster management". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2.h"

uint64_t qcow2_rc_get_entry(const struct qcow2_state *s, const uint8_t *blk,
			    uint64_t i)
{
	unsigned bits = s->refcount_bits;

	switch (bits) {
	case 8: return blk[i];
	case 16: return vmc_get_be16(blk + 2 * i);
	case 32: return vmc_get_be32(blk + 4 * i);
	case 64: return vmc_get_be64(blk + 8 * i);
	default: {
		/* Sub-byte widths fill each byte from its low bits. */
		uint64_t bit = i * bits;

		return (blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	}
}

void qcow2_rc_set_entry(const struct qcow2_state *s, uint8_t *blk,
			uint64_t i, uint64_t v)
{
	unsigned bits = s->refcount_bits;

	switch (bits) {
	case 8: blk[i] = (uint8_t)v; break;
	case 16: vmc_put_be16(blk + 2 * i, (uint16_t)v); break;
	case 32: vmc_put_be32(blk + 4 * i, (uint32_t)v); break;
	case 64: vmc_put_be64(blk + 8 * i, v); break;
	default: {
		uint64_t bit = i * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));

		blk[bit / 8] = (uint8_t)((blk[bit / 8] & ~mask) |
					 ((v << (bit % 8)) & mask));
	}
	}
}

int qcow2_load_reftable(struct vmc_image *img, struct qcow2_state *s,
			struct vmc_error *err)
{
	uint64_t bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;

	free(s->reftable);
	s->reftable = NULL;
	s->reftable_n = 0;
	if (!bytes)
		return 0;
	if (s->reftable_offset > s->file_size ||
	    bytes > s->file_size - s->reftable_offset)
		return vmc_error_set(err, EINVAL, "%s: refcount table at 0x%"
				     PRIx64 " (%u clusters) is past the end"
				     " of the file (size 0x%" PRIx64 ")",
				     img->filename, s->reftable_offset,
				     s->reftable_clusters, s->file_size);
	s->reftable = malloc(bytes);
	if (!s->reftable)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(s->fd, s->reftable, bytes, s->reftable_offset,
			   img->filename, err) < 0)
		return -1;
	s->reftable_n = bytes / 8;
	for (uint64_t i = 0; i < s->reftable_n; i++)
		s->reftable[i] = be64toh(s->reftable[i]);
	return 0;
}


static int block_host(struct vmc_image *img, struct qcow2_state *s,
		      uint64_t block, uint64_t *host, struct vmc_error *err)
{
	*host = block < s->reftable_n ?
		s->reftable[block] & QCOW2_REFT_OFFSET_MASK : 0;
	if (*host & (s->cluster_size - 1))
		return vmc_error_set(err, EINVAL, "%s: refcount table entry %"
				     PRIu64 " is not cluster aligned (0x%"
				     PRIx64 ")", img->filename, block, *host);
	return 0;
}

int qcow2_get_refcount(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t cluster, uint64_t *rc, struct vmc_error *err)
{
	uint64_t block = cluster >> s->rc_block_bits, host;
	uint8_t *d;

	*rc = 0;
	if (block_host(img, s, block, &host, err) < 0)
		return -1;
	if (!host)
		return 0;
	if (qcow2_rb_get(img, s, block, host, false, &d, err) < 0)
		return -1;
	*rc = qcow2_rc_get_entry(s, d, cluster &
				 ((1ull << s->rc_block_bits) - 1));
	return 0;
}

static int grow_reftable(struct vmc_image *img, struct qcow2_state *s,
			 uint64_t block, struct vmc_error *err)
{
	uint64_t n = s->reftable_n ? s->reftable_n : 64, *t;

	if (block < s->reftable_n)
		return 0;
	while (n <= block)
		n *= 2;
	if (n > QCOW2_MAX_REFTABLE_BYTES / 8)
		n = QCOW2_MAX_REFTABLE_BYTES / 8;
	if (block >= n)
		return vmc_error_set(err, EFBIG, "%s: the image needs a"
				     " refcount table larger than 8 MiB",
				     img->filename);
	t = realloc(s->reftable, n * 8);
	if (!t)
		return vmc_error_set(err, ENOMEM, "out of memory");
	memset(t + s->reftable_n, 0, (n - s->reftable_n) * 8);
	s->reftable = t;
	s->reftable_n = n;
	return 0;
}

/* Give cluster a refcount block, placing a new one at the end of the
 * file (where it covers itself when it can). */
static int ensure_block(struct vmc_image *img, struct qcow2_state *s,
			uint64_t cluster, uint64_t *hostp,
			struct vmc_error *err)
{
	uint64_t block = cluster >> s->rc_block_bits, host, t;
	uint64_t mask = (1ull << s->rc_block_bits) - 1;
	uint8_t *d;

	if (block_host(img, s, block, &host, err) < 0)
		return -1;
	if (host) {
		*hostp = host;
		return 0;
	}
	t = s->tail++;
	if (grow_reftable(img, s, block, err) < 0)
		return -1;
	host = t << s->cluster_bits;
	s->reftable[block] = host;
	if (qcow2_rb_get(img, s, block, host, true, &d, err) < 0)
		return -1;
	if (t >> s->rc_block_bits == block)
		qcow2_rc_set_entry(s, d, t & mask, 1);
	else if (qcow2_set_refcount(img, s, t, 1, err) < 0)
		return -1;
	*hostp = host;
	return 0;
}

int qcow2_set_refcount(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t cluster, uint64_t rc, struct vmc_error *err)
{
	uint64_t block = cluster >> s->rc_block_bits, host;
	uint64_t mask = (1ull << s->rc_block_bits) - 1;
	uint8_t *d;

	if (s->refcount_bits < 64 && rc >> s->refcount_bits)
		return vmc_error_set(err, ERANGE, "%s: refcount %" PRIu64
				     " of cluster %" PRIu64 " does not fit %u"
				     " bits", img->filename, rc, cluster,
				     s->refcount_bits);
	if (ensure_block(img, s, cluster, &host, err) < 0)
		return -1;
	if (qcow2_rb_get(img, s, block, host, false, &d, err) < 0)
		return -1;
	qcow2_rc_set_entry(s, d, cluster & mask, rc);
	qcow2_cache_mark_dirty(s, &s->rbc, d);
	return 0;
}

static bool covered(const struct qcow2_state *s, uint64_t c)
{
	uint64_t block = c >> s->rc_block_bits;

	return block < s->reftable_n && s->reftable[block];
}

/* How many of the n clusters from the tail on have a refcount block (*k),
 * giving the tail cluster one first when it has none. */
static int tail_run(struct vmc_image *img, struct qcow2_state *s,
		    uint64_t n, uint64_t *k, struct vmc_error *err)
{
	uint64_t block_host;

	if (!covered(s, s->tail) &&
	    ensure_block(img, s, s->tail, &block_host, err) < 0)
		return -1;
	*k = 0;
	while (*k < n && covered(s, s->tail + *k))
		(*k)++;
	return 0;
}

/* The k clusters from the tail on, refcount 1. */
static int claim_run(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t k, uint64_t *host, struct vmc_error *err)
{
	uint64_t start = s->tail;

	if ((start + k) >> (62 - s->cluster_bits))
		return vmc_error_set(err, EFBIG, "%s: image file too large",
				     img->filename);
	s->tail = start + k;
	for (uint64_t i = 0; i < k; i++)
		if (qcow2_set_refcount(img, s, start + i, 1, err) < 0)
			return -1;
	*host = start << s->cluster_bits;
	return 0;
}

/* Up to n contiguous clusters at the end of the file, refcount 1; *got
 * says how many (at least 1). */
int qcow2_alloc_run(struct vmc_image *img, struct qcow2_state *s,
		    uint64_t n, uint64_t *host, uint64_t *got,
		    struct vmc_error *err)
{
	if (tail_run(img, s, n, got, err) < 0)
		return -1;
	return claim_run(img, s, *got, host, err);
}

/* Exactly n contiguous clusters.  Refcount blocks the run needs are
 * placed before it (each covers 2^rc_block_bits clusters and moves the
 * run on by one, so this ends). */
int qcow2_alloc_clusters(struct vmc_image *img, struct qcow2_state *s,
			 uint64_t n, uint64_t *host, struct vmc_error *err)
{
	for (;;) {
		uint64_t c = s->tail, block_host;

		while (c < s->tail + n && covered(s, c))
			c++;
		if (c == s->tail + n)
			return claim_run(img, s, n, host, err);
		if (ensure_block(img, s, c, &block_host, err) < 0)
			return -1;
	}
}

static uint64_t reftable_used(const struct qcow2_state *s)
{
	uint64_t n = s->reftable_n;

	while (n > 0 && !s->reftable[n - 1])
		n--;
	return n;
}

/* Write the refcount table, moving it to the end of the file when it has
 * outgrown its clusters. */
int qcow2_write_reftable(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err)
{
	uint64_t cap = (uint64_t)s->reftable_clusters << (s->cluster_bits - 3);
	uint64_t used = reftable_used(s), bytes, k, host;
	uint8_t *buf;
	int r;

	if (!s->reftable_offset || used > cap) {
		uint64_t old = s->reftable_offset;
		uint32_t old_n = s->reftable_clusters;

		k = VMC_DIV_ROUND_UP((used + 1) * 8, s->cluster_size);
		for (;;) {
			if (qcow2_alloc_clusters(img, s, k, &host, err) < 0)
				return -1;
			if (reftable_used(s) * 8 <= k * s->cluster_size)
				break;
			for (uint64_t i = 0; i < k; i++)
				if (qcow2_set_refcount(img, s,
					(host >> s->cluster_bits) + i, 0,
					err) < 0)
					return -1;
			k++;
		}
		if (k * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES)
			return vmc_error_set(err, EFBIG, "%s: refcount table"
					     " larger than 8 MiB",
					     img->filename);
		s->reftable_offset = host;
		s->reftable_clusters = (uint32_t)k;
		s->header_dirty = true;
		if (s->editing && old) {
			s->old_reftable = old;
			s->old_reftable_clusters = old_n;
			old = 0;
		}
		for (uint32_t i = 0; old && i < old_n; i++)
			if (qcow2_set_refcount(img, s, (old >> s->cluster_bits)
					       + i, 0, err) < 0)
				return -1;
	}
	bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;
	buf = calloc(1, bytes);
	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	used = reftable_used(s);
	for (uint64_t i = 0; i < used; i++)
		vmc_put_be64(buf + 8 * i, s->reftable[i]);
	r = vmc_pwrite_full(s->fd, buf, bytes, s->reftable_offset,
			    img->filename, err);
	free(buf);
	return r;
}
