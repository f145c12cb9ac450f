/* qcow2 resize in place, as qemu's qcow2_co_truncate with preallocation
 * off: growing writes a larger L1 table when the new size needs one, then
 * the size; shrinking writes the size first, then drops the clusters past
 * the new end from the active L1 and L2 tables (copying a table that a
 * snapshot shares), then their refcounts, then trims the file.
 * qemu docs/interop/qcow2.txt, "Header" (size, l1_size), "Cluster
 * mapping" and "Host cluster management". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

static int put_size(struct vmc_image *img, struct qcow2_state *s,
		    uint64_t size, struct vmc_error *err)
{
	uint8_t f[8];

	vmc_put_be64(f, size);
	if (qcow2_header_put(img, s, 24, f, 8, err) < 0)
		return -1;
	s->virtual_size = size;
	return 0;
}

/* Entries [from, end) of the active L2 table of L1 entry i removed; a
 * shared table is copied first (the copy is the active one's).  The
 * dropped clusters' refcounts are lowered after the table is written. */
static int cut_l2(struct vmc_image *img, struct qcow2_state *s, uint32_t i,
		  uint64_t from, uint8_t *t, uint8_t *cut,
		  struct vmc_error *err)
{
	uint64_t l2 = s->l1[i] & QCOW2_OFFSET_MASK, rc, host = l2;
	size_t keep = (size_t)from * s->l2_entry_size;

	if (qcow2_read_table(img, s, l2, t, err) < 0 ||
	    qcow2_get_refcount(img, s, l2 >> s->cluster_bits, &rc, err) < 0)
		return -1;
	memcpy(cut, t, s->cluster_size);
	memset(cut, 0, keep);		/* what is dropped, for refcounts */
	memset(t + keep, 0, s->cluster_size - keep);
	if (rc > 1) {
		/* The kept clusters are reached by as many L1 tables as
		 * before; only the table itself is new. */
		if (qcow2_alloc_zeroed(img, s, s->cluster_size, &host,
				       err) < 0)
			return -1;
	}
	if (vmc_pwrite_full(s->fd, t, s->cluster_size, host, img->filename,
			    err) < 0 || qcow2_rc_commit(img, s, err) < 0)
		return -1;
	if (host != l2) {
		s->l1[i] = host | QCOW2_OFLAG_COPIED;
		if (qcow2_write_l1_at(img, s, s->l1, s->l1_size, s->l1_offset,
				      err) < 0 || qcow2_sync(img, s, err) < 0 ||
		    qcow2_rc_add(img, s, l2, s->cluster_size, -1, err) < 0)
			return -1;
	}
	return qcow2_rc_add_l2(img, s, cut, 0, -1, err);
}

/* Whole L2 tables past the end leave the L1 table; then their clusters'
 * refcounts drop. */
static int drop_l2s(struct vmc_image *img, struct qcow2_state *s,
		    uint32_t first, uint8_t *t, struct vmc_error *err)
{
	uint64_t *old = malloc((size_t)s->l1_size * 8 + 8);

	if (!old)
		return vmc_error_set(err, ENOMEM, "out of memory");
	memcpy(old, s->l1, (size_t)s->l1_size * 8);
	for (uint32_t i = first; i < s->l1_size; i++)
		s->l1[i] = 0;
	if (qcow2_write_l1_at(img, s, s->l1, s->l1_size, s->l1_offset,
			      err) < 0 || qcow2_sync(img, s, err) < 0 ||
	    qcow2_rc_add_l1(img, s, old + first, s->l1_size - first, -1,
			    err) < 0) {
		free(old);
		return -1;
	}
	free(old);
	(void)t;
	return 0;
}

/* The file ends after its last cluster in use. */
static int trim(struct vmc_image *img, struct qcow2_state *s,
		struct vmc_error *err)
{
	uint64_t c = s->tail, rc = 0;

	while (c > 1) {
		if (qcow2_get_refcount(img, s, c - 1, &rc, err) < 0)
			return -1;
		if (rc)
			break;
		c--;
	}
	if ((c << s->cluster_bits) < s->file_size &&
	    ftruncate(s->fd, (off_t)(c << s->cluster_bits)) < 0)
		return vmc_error_errno(err, errno, "%s: cannot truncate",
				       img->filename);
	return 0;
}

static int shrink(struct vmc_image *img, struct qcow2_state *s, uint64_t size,
		  struct vmc_error *err)
{
	uint64_t g = VMC_DIV_ROUND_UP(size, s->cluster_size);
	uint64_t per = 1ull << s->l2_bits;
	uint32_t i = (uint32_t)(g >> s->l2_bits);
	uint8_t *t = malloc(2 * s->cluster_size);
	int r = -1;

	if (!t)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (put_size(img, s, size, err) < 0)
		goto out;
	if ((g & (per - 1)) && i < s->l1_size &&
	    (s->l1[i] & QCOW2_OFFSET_MASK)) {
		if (cut_l2(img, s, i, g & (per - 1), t, t + s->cluster_size,
			   err) < 0)
			goto out;
		i++;
	} else if (g & (per - 1)) {
		i++;
	}
	if (i < s->l1_size && drop_l2s(img, s, i, t, err) < 0)
		goto out;
	if (qcow2_rc_commit(img, s, err) < 0 ||
	    qcow2_fix_copied(img, s, err) < 0)
		goto out;
	r = trim(img, s, err);
out:
	free(t);
	return r;
}

static int resize_locked(struct vmc_image *img, struct qcow2_state *s,
			 uint64_t size, bool shrinking, struct vmc_error *err)
{
	uint64_t per = s->cluster_size << s->l2_bits;
	uint64_t l1n = VMC_DIV_ROUND_UP(size, per);

	if (s->nb_snapshots && s->version < 3)
		return vmc_error_set(err, ENOTSUP, "%s: Can't resize a v2"
				     " image which has snapshots",
				     img->filename);
	if (s->has_bitmaps || s->data_file_name || s->extended_l2)
		return vmc_error_set(err, ENOTSUP, "%s: resizing an image"
				     " with %s is not supported by this vmconv",
				     img->filename, s->has_bitmaps ?
				     "bitmaps" : s->extended_l2 ?
				     "extended L2 entries" :
				     "an external data file");
	if (size < s->virtual_size && !shrinking)
		return vmc_error_set(err, EINVAL, "%s: use --shrink to make the"
				     " image smaller (%" PRIu64 " to %" PRIu64
				     " bytes; the data past the end is lost)",
				     img->filename, s->virtual_size, size);
	if (size < s->virtual_size)
		return shrink(img, s, size, err);
	if (l1n > QCOW2_MAX_L1_BYTES / 8)
		return vmc_error_set(err, EFBIG, "%s: %" PRIu64 " bytes is too"
				     " large for this cluster size",
				     img->filename, size);
	if (l1n > s->l1_size && qcow2_grow_l1(img, s, (uint32_t)l1n, err) < 0)
		return -1;
	return size == s->virtual_size ? 0 : put_size(img, s, size, err);
}

int vmc_qcow2_resize(const char *path, uint64_t size, bool shrinking,
		     struct vmc_error *err)
{
	struct vmc_image *img;
	int r;

	if (size % 512)
		return vmc_error_set(err, EINVAL, "%s: the size must be a"
				     " multiple of 512", path);
	if (qcow2_edit_open(path, VMC_OPEN_NO_BACKING, &img, err) < 0)
		return -1;
	r = resize_locked(img, img->opaque, size, shrinking, err);
	vmc_image_close(img);
	return r;
}
