/* qcow2 amend: qemu-img amend -o for compat (0.10 <-> 1.1),
 * lazy_refcounts and size, in place.  qemu docs/interop/qcow2.txt,
 * "Header" (version 2 has no feature bits, 16-bit refcounts only and no
 * zero clusters).  Like qemu 7.2, the backing file is not amended (that is
 * rebase) and creation-only options are refused. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

static const char *const create_only[] = {
	"cluster_size", "preallocation", "encryption", "extended_l2",
	"compression_type", "extent_size_hint", "encrypt.format",
};

/* Version 2 has no zero flag: the zero entries of L2 table t (at host
 * l2) become plain ones, as qemu's qcow2_expand_zero_clusters does.  An
 * unallocated zero cluster reads as zeros without a backing file once
 * unallocated; an allocated one gets zeros written first.  Either way
 * the guest sees the same disk at every step. */
static int expand_l2(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t l2, uint8_t *t, uint8_t *z, struct vmc_error *err)
{
	bool changed = false;

	if (qcow2_read_table(img, s, l2, t, err) < 0)
		return -1;
	for (uint64_t j = 0; j < (1ull << s->l2_bits); j++) {
		uint64_t e = qcow2_l2_entry(s, t, j), host, rc;

		if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_ZERO))
			continue;
		host = e & QCOW2_OFFSET_MASK;
		if (!host && s->backing_name)
			return vmc_error_set(err, ENOTSUP, "%s: expanding zero"
				" clusters over a backing file is not supported"
				" by this vmconv", img->filename);
		if (host && qcow2_get_refcount(img, s, host >> s->cluster_bits,
					       &rc, err) < 0)
			return -1;
		if (host && rc != 1)
			return vmc_error_set(err, ENOTSUP, "%s: expanding a"
				" shared zero cluster (0x%" PRIx64 ") is not"
				" supported by this vmconv", img->filename,
				host);
		if (host && vmc_pwrite_full(s->fd, z, s->cluster_size, host,
					    img->filename, err) < 0)
			return -1;
		vmc_put_be64(t + j * 8, host ? e & ~QCOW2_OFLAG_ZERO : 0);
		changed = true;
	}
	if (!changed)
		return 0;
	if (qcow2_sync(img, s, err) < 0 ||
	    vmc_pwrite_full(s->fd, t, s->cluster_size, l2, img->filename,
			    err) < 0)
		return -1;
	return qcow2_sync(img, s, err);
}

static int expand_l1(struct vmc_image *img, struct qcow2_state *s,
		     const uint64_t *l1, uint32_t n, struct vmc_error *err)
{
	uint8_t *t = malloc(s->cluster_size), *z = calloc(1, s->cluster_size);
	int r = 0;

	if (!t || !z)
		r = vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; r == 0 && i < n; i++) {
		uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;

		if (l2)
			r = expand_l2(img, s, l2, t, z, err);
	}
	free(t);
	free(z);
	return r;
}

static int downgrade(struct vmc_image *img, struct qcow2_state *s,
		     struct vmc_error *err)
{
	if (s->refcount_order != 4)
		return vmc_error_set(err, EINVAL, "%s: compat=0.10 requires"
				     " refcount_bits=16", img->filename);
	if (s->incompat & ~QCOW2_INCOMPAT_DIRTY)
		return vmc_error_set(err, ENOTSUP, "%s: cannot downgrade an"
				     " image with incompatible features (0x%"
				     PRIx64 ")", img->filename, s->incompat);
	if (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS)
		return vmc_error_set(err, EINVAL, "%s: lazy refcounts need"
				     " compat=1.1", img->filename);
	if (expand_l1(img, s, s->l1, s->l1_size, err) < 0)
		return -1;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint64_t *l1;
		int r;

		if (qcow2_read_l1(img, s, s->snaps[i].l1_offset,
				  s->snaps[i].l1_size, &l1, err) < 0)
			return -1;
		r = expand_l1(img, s, l1, s->snaps[i].l1_size, err);
		free(l1);
		if (r < 0)
			return -1;
	}
	s->version = 2;
	s->compat = s->autoclear = 0;
	return 0;
}

static int parse(struct vmc_image *img, struct qcow2_state *s,
		 struct vmc_opts *opts, bool *changed, bool *down,
		 struct vmc_error *err)
{
	const char *compat = vmc_opts_get(opts, "compat");
	bool lazy;

	for (size_t i = 0; i < VMC_ARRAY_SIZE(create_only); i++)
		if (vmc_opts_get(opts, create_only[i]))
			return vmc_error_set(err, EINVAL, "Invalid parameter "
				"'%s'\nThis option is only supported for"
				" image creation", create_only[i]);
	if (vmc_opts_get(opts, "backing_file") ||
	    vmc_opts_get(opts, "backing_fmt"))
		return vmc_error_set(err, ENOTSUP, "Cannot amend the backing"
				     " file\nYou can use 'vmconv rebase'"
				     " instead.");
	if (compat && (!strcmp(compat, "1.1") || !strcmp(compat, "v3"))) {
		*changed |= s->version != 3;
		s->version = 3;
	} else if (compat && (!strcmp(compat, "0.10") ||
			      !strcmp(compat, "v2"))) {
		*down = s->version != 2;
		*changed = true;
	} else if (compat) {
		return vmc_error_set(err, EINVAL, "%s: compat must be 0.10 or"
				     " 1.1, not '%s'", img->filename, compat);
	}
	if (vmc_opts_get(opts, "lazy_refcounts")) {
		if (vmc_opts_get_bool(opts, "lazy_refcounts", false, &lazy,
				      err) < 0)
			return -1;
		if (lazy && (s->version < 3 || *down))
			return vmc_error_set(err, EINVAL, "%s: lazy refcounts"
					     " only supported with compatibility"
					     " level 1.1 and above",
					     img->filename);
		s->compat = lazy ? s->compat | QCOW2_COMPAT_LAZY_REFCOUNTS :
			    s->compat & ~QCOW2_COMPAT_LAZY_REFCOUNTS;
		*changed = true;
	}
	return 0;
}

int vmc_qcow2_amend(const char *path, struct vmc_opts *opts,
		    struct vmc_error *err)
{
	struct vmc_image *img;
	struct qcow2_state *s;
	bool changed = false, down = false;
	uint64_t size = 0;
	int r = -1;

	if (qcow2_edit_open(path, VMC_OPEN_NO_BACKING, &img, err) < 0)
		return -1;
	s = img->opaque;
	if (vmc_opts_get_size(opts, "size", 0, &size, err) < 0 ||
	    parse(img, s, opts, &changed, &down, err) < 0 ||
	    vmc_opts_check_used(opts, "amend", err) < 0)
		goto out;
	/* Lazy refcounts asked for with the downgrade are refused there. */
	if (down && downgrade(img, s, err) < 0)
		goto out;
	if (changed && qcow2_rewrite_header(img, s, err) < 0)
		goto out;
	vmc_image_close(img);
	img = NULL;
	r = size ? vmc_qcow2_resize(path, size, true, err) : 0;
out:
	vmc_image_close(img);
	return r;
}
