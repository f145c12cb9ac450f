/* qcow2 in-place editing: opening an existing image for a metadata change
 * under a lock, adjusting refcounts of what an L1 table reaches, the
 * OFLAG_COPIED flags, and writing header fields.
 * qemu docs/interop/qcow2.txt, "Host cluster management" and "Snapshots"
 * (refcounts count the L1 tables, active or snapshot, that reach a
 * cluster).
 *
 * Order, as qemu keeps it, so that a run killed at any point leaves an
 * image that reads as before or after and that check finds at worst
 * leaking: refcounts are raised and synced before anything points to the
 * clusters; pointers are removed and synced before refcounts drop; the
 * header is written last when adding, first when removing. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

int qcow2_edit_open(const char *path, unsigned flags, struct vmc_image **out,
		    struct vmc_error *err)
{
	struct vmc_image *img;
	struct qcow2_state *s;

	img = vmc_image_open(path, "qcow2", VMC_OPEN_RDWR | flags, NULL, err);
	if (!img)
		return -1;
	s = img->opaque;
	if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
		vmc_error_errno(err, errno, "%s: the image is locked (in use"
				" by another program)", path);
		goto fail;
	}
	if (s->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) {
		vmc_error_set(err, EINVAL, "%s: the image is marked %s; run"
			      " vmconv check -r all first", path,
			      s->incompat & QCOW2_INCOMPAT_CORRUPT ?
			      "corrupt" : "dirty");
		goto fail;
	}
	if (!s->reftable && qcow2_load_reftable(img, s, err) < 0)
		goto fail;
	s->editing = true;
	*out = img;
	return 0;
fail:
	vmc_image_close(img);
	return -1;
}

/* Refcounts of the clusters holding [host, host + bytes) plus delta. */
int qcow2_rc_add(struct vmc_image *img, struct qcow2_state *s, uint64_t host,
		 uint64_t bytes, int delta, struct vmc_error *err)
{
	uint64_t max = s->refcount_bits == 64 ? UINT64_MAX :
		       (1ull << s->refcount_bits) - 1;
	uint64_t first, last, rc;

	if (!bytes)
		return 0;
	if (host >= s->file_size || bytes > s->file_size - host)
		return vmc_error_set(err, EINVAL, "%s: cluster at 0x%" PRIx64
				     " is past the end of the file",
				     img->filename, host);
	first = host >> s->cluster_bits;
	last = (host + bytes - 1) >> s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (qcow2_get_refcount(img, s, c, &rc, err) < 0)
			return -1;
		if ((delta < 0 && rc == 0) || (delta > 0 && rc == 0) ||
		    (delta > 0 && rc == max))
			return vmc_error_set(err, EINVAL, "%s: refcount of"
				" cluster 0x%" PRIx64 " is %" PRIu64 " (in"
				" use); the image needs vmconv check -r all",
				img->filename, c << s->cluster_bits, rc);
		if (qcow2_set_refcount(img, s, c, delta < 0 ? rc - 1 : rc + 1,
				       err) < 0)
			return -1;
	}
	return 0;
}

/* The refcounts of the data clusters L2 table t references, plus delta. */
int qcow2_rc_add_l2(struct vmc_image *img, struct qcow2_state *s,
		    const uint8_t *t, uint64_t from, int delta,
		    struct vmc_error *err)
{
	for (uint64_t j = from; j < (1ull << s->l2_bits); j++) {
		uint64_t e = qcow2_l2_entry(s, t, j), host, n;

		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_parse_compressed(s, e, &host, &n);
		} else {
			host = e & QCOW2_OFFSET_MASK;
			n = s->cluster_size;
		}
		if (host && qcow2_rc_add(img, s, host, n, delta, err) < 0)
			return -1;
	}
	return 0;
}

int qcow2_read_table(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t host, uint8_t *t, struct vmc_error *err)
{
	if ((host & (s->cluster_size - 1)) || host >= s->file_size ||
	    s->cluster_size > s->file_size - host)
		return vmc_error_set(err, EINVAL, "%s: L2 table at 0x%" PRIx64
				     " is misaligned or past the end of the"
				     " file", img->filename, host);
	return vmc_pread_full(s->fd, t, (size_t)s->cluster_size, host,
			      img->filename, err);
}

/* Every cluster an L1 table reaches (L2 tables and data), plus delta. */
int qcow2_rc_add_l1(struct vmc_image *img, struct qcow2_state *s,
		    const uint64_t *l1, uint32_t n, int delta,
		    struct vmc_error *err)
{
	uint8_t *t = malloc(s->cluster_size);
	int r = -1;

	if (!t)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;

		if (!l2)
			continue;
		if (qcow2_read_table(img, s, l2, t, err) < 0 ||
		    qcow2_rc_add_l2(img, s, t, 0, delta, err) < 0 ||
		    qcow2_rc_add(img, s, l2, s->cluster_size, delta, err) < 0)
			goto out;
	}
	r = 0;
out:
	free(t);
	return r;
}

static uint64_t with_copied(uint64_t e, uint64_t rc)
{
	return rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
}

/* OFLAG_COPIED set in L2 table t exactly where the refcount is 1. */
static int fix_l2(struct vmc_image *img, struct qcow2_state *s, uint8_t *t,
		  bool *changed, struct vmc_error *err)
{
	for (uint64_t j = 0; j < (1ull << s->l2_bits); j++) {
		uint8_t *p = t + j * s->l2_entry_size;
		uint64_t e = vmc_get_be64(p), host = e & QCOW2_OFFSET_MASK;
		uint64_t rc;

		if ((e & QCOW2_OFLAG_COMPRESSED) || !host)
			continue;
		if (qcow2_get_refcount(img, s, host >> s->cluster_bits, &rc,
				       err) < 0)
			return -1;
		if (with_copied(e, rc) != e) {
			vmc_put_be64(p, with_copied(e, rc));
			*changed = true;
		}
	}
	return 0;
}

/* The active L1 and its L2 tables get OFLAG_COPIED where the refcount is
 * 1 and lose it elsewhere (after a snapshot is taken, dropped or
 * applied), as qemu's update with addend 0 does. */
int qcow2_fix_copied(struct vmc_image *img, struct qcow2_state *s,
		     struct vmc_error *err)
{
	uint8_t *t = malloc(s->cluster_size);
	bool l1_changed = false;
	int r = -1;

	if (!t)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2 = s->l1[i] & QCOW2_OFFSET_MASK, rc;
		bool changed = false;

		if (!l2)
			continue;
		if (qcow2_get_refcount(img, s, l2 >> s->cluster_bits, &rc,
				       err) < 0)
			goto out;
		if (with_copied(s->l1[i], rc) != s->l1[i]) {
			s->l1[i] = with_copied(s->l1[i], rc);
			l1_changed = true;
		}
		/* A shared table is written too: its entries' flags mean
		 * nothing to the snapshots that share it. */
		if (qcow2_read_table(img, s, l2, t, err) < 0 ||
		    fix_l2(img, s, t, &changed, err) < 0)
			goto out;
		if (changed && vmc_pwrite_full(s->fd, t, s->cluster_size, l2,
					       img->filename, err) < 0)
			goto out;
	}
	if (l1_changed && qcow2_write_l1_at(img, s, s->l1, s->l1_size,
					    s->l1_offset, err) < 0)
		goto out;
	r = qcow2_sync(img, s, err);
out:
	free(t);
	return r;
}

int qcow2_write_l1_at(struct vmc_image *img, struct qcow2_state *s,
		      const uint64_t *l1, uint32_t n, uint64_t host,
		      struct vmc_error *err)
{
	uint8_t *buf = malloc(n ? (size_t)n * 8 : 1);
	int r;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		vmc_put_be64(buf + 8 * i, l1[i]);
	r = vmc_pwrite_full(s->fd, buf, (size_t)n * 8, host, img->filename,
			    err);
	free(buf);
	return r;
}

int qcow2_sync(struct vmc_image *img, struct qcow2_state *s,
	       struct vmc_error *err)
{
	if (fdatasync(s->fd) < 0)
		return vmc_error_errno(err, errno, "%s: cannot sync",
				       img->filename);
	return 0;
}

/* Header bytes [off, off + len) from buf, synced. */
int qcow2_header_put(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t off, const void *buf, size_t len,
		     struct vmc_error *err)
{
	if (vmc_pwrite_full(s->fd, buf, len, off, img->filename, err) < 0)
		return -1;
	return qcow2_sync(img, s, err);
}

/* Refcount blocks, then the table that names them, to the file, synced;
 * when the table had to move, the header names the new one before the old
 * one's clusters are freed.  The file is extended to every allocated
 * cluster. */
int qcow2_rc_commit(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_error *err)
{
	uint64_t old = s->old_reftable;
	uint8_t f[12];

	if (qcow2_cache_flush(img, s, &s->rbc, err) < 0 ||
	    qcow2_write_reftable(img, s, err) < 0 ||
	    qcow2_cache_flush(img, s, &s->rbc, err) < 0)
		return -1;
	if (qcow2_extend_to_tail(img, s, err) < 0)
		return -1;
	if (qcow2_sync(img, s, err) < 0)
		return -1;
	if (!s->header_dirty)
		return 0;
	vmc_put_be64(f, s->reftable_offset);
	vmc_put_be32(f + 8, s->reftable_clusters);
	if (qcow2_header_put(img, s, 48, f, 12, err) < 0)
		return -1;
	s->header_dirty = false;
	if (!old)
		return 0;
	s->old_reftable = 0;
	for (uint32_t i = 0; i < s->old_reftable_clusters; i++)
		if (qcow2_set_refcount(img, s, (old >> s->cluster_bits) + i, 0,
				       err) < 0)
			return -1;
	return qcow2_rc_commit(img, s, err);
}

/* n new clusters at the end of the file, zeroed, refcount 1 (in the
 * cache: commit before pointing anything at them). */
int qcow2_alloc_zeroed(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t bytes, uint64_t *host, struct vmc_error *err)
{
	uint64_t n = VMC_DIV_ROUND_UP(bytes, s->cluster_size);
	uint8_t *z;
	int r;

	if (!n) {
		*host = 0;
		return 0;
	}
	if (qcow2_alloc_clusters(img, s, n, host, err) < 0)
		return -1;
	z = calloc(1, s->cluster_size);
	if (!z)
		return vmc_error_set(err, ENOMEM, "out of memory");
	r = 0;
	for (uint64_t i = 0; r == 0 && i < n; i++)
		r = vmc_pwrite_full(s->fd, z, s->cluster_size,
				    *host + (i << s->cluster_bits),
				    img->filename, err);
	free(z);
	if (r == 0 && *host + (n << s->cluster_bits) > s->file_size)
		s->file_size = *host + (n << s->cluster_bits);
	return r;
}

/* A new active L1 table of n entries (n > l1_size): written, refcounted,
 * then named by the header, then the old one freed. */
int qcow2_grow_l1(struct vmc_image *img, struct qcow2_state *s, uint32_t n,
		  struct vmc_error *err)
{
	uint64_t host, old = s->l1_offset, *l1;
	uint32_t old_n = s->l1_size;
	uint8_t f[12];

	if ((uint64_t)n * 8 > QCOW2_MAX_L1_BYTES)
		return vmc_error_set(err, EFBIG, "%s: the L1 table would be"
				     " larger than 32 MiB", img->filename);
	l1 = realloc(s->l1, (size_t)n * 8);
	if (!l1)
		return vmc_error_set(err, ENOMEM, "out of memory");
	memset(l1 + old_n, 0, (size_t)(n - old_n) * 8);
	s->l1 = l1;
	if (qcow2_alloc_zeroed(img, s, (uint64_t)n * 8, &host, err) < 0 ||
	    qcow2_write_l1_at(img, s, l1, n, host, err) < 0 ||
	    qcow2_rc_commit(img, s, err) < 0)
		return -1;
	vmc_put_be32(f, n);
	vmc_put_be64(f + 4, host);
	if (qcow2_header_put(img, s, 36, f, 12, err) < 0)
		return -1;
	s->l1_size = s->header_l1_size = n;
	s->l1_offset = s->header_l1_offset = host;
	if (old && old_n &&
	    qcow2_rc_add(img, s, old, (uint64_t)old_n * 8, -1, err) < 0)
		return -1;
	return qcow2_rc_commit(img, s, err);
}
