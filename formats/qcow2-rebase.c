/* qcow2 rebase (safe), as qemu-img rebase without -u: every cluster the
 * image does not allocate itself, and where the old backing file and the
 * new one read differently, is written into the image from the old one;
 * then the header names the new backing file.  The guest sees the same
 * disk before, after, and at any point a killed run stops at (the
 * backing file changes last).  qemu docs/interop/qcow2.txt, "Cluster
 * mapping" (unallocated clusters read from the backing file). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/confine.h"
#include "formats/qcow2-edit.h"

static int read_layer(struct vmc_image *b, uint8_t *buf, uint64_t n,
		      uint64_t off, struct vmc_error *err)
{
	uint64_t k = !b || off >= b->size ? 0 : VMC_MIN(n, b->size - off);

	memset(buf + k, 0, (size_t)(n - k));
	return k ? vmc_image_pread(b, buf, (size_t)k, off, err) : 0;
}

/* One cluster-aligned unallocated run [off, off + len). */
static int copy_run(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_image *nb, uint64_t off, uint64_t len,
		    uint8_t *a, uint8_t *b, struct vmc_error *err)
{
	while (len > 0) {
		uint64_t n = VMC_MIN(len, s->cluster_size -
				     (off & (s->cluster_size - 1)));

		if (read_layer(s->backing, a, n, off, err) < 0 ||
		    read_layer(nb, b, n, off, err) < 0)
			return -1;
		if (memcmp(a, b, (size_t)n) &&
		    qcow2_pwrite(img, a, (size_t)n, off, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int copy_differing(struct vmc_image *img, struct qcow2_state *s,
			  struct vmc_image *nb, struct vmc_error *err)
{
	uint8_t *a = malloc(2 * s->cluster_size);
	uint64_t off = 0;
	int r = -1;

	if (!a)
		return vmc_error_set(err, ENOMEM, "out of memory");
	while (off < img->size) {
		struct qcow2_map m;

		if (qcow2_map(img, s, off, img->size - off, &m, err) < 0)
			goto out;
		if (m.kind == QCOW2_UNALLOCATED &&
		    copy_run(img, s, nb, off, m.length, a,
			     a + s->cluster_size, err) < 0)
			goto out;
		off += m.length;
	}
	/* Refcounts before the tables that point at the new clusters. */
	if (qcow2_rc_commit(img, s, err) < 0 || qcow2_flush(img, err) < 0)
		goto out;
	r = 0;
out:
	free(a);
	return r;
}

static struct vmc_image *open_new(struct vmc_image *img, const char *backing,
				  const char *fmt, struct vmc_error *err)
{
	struct vmc_image *nb;
	char *path;

	if (!backing || !*backing)
		return NULL;
	path = vmc_confine_resolve(img->filename, "backing file", backing,
				   err);
	if (!path)
		return NULL;
	nb = vmc_image_open(path, fmt, 0, NULL, err);
	if (!nb)
		vmc_error_prefix(err, "Could not open new backing file '%s'",
				 path);
	free(path);
	return nb;
}

int vmc_qcow2_rebase(const char *path, const char *backing,
		     const char *backing_fmt, struct vmc_error *err)
{
	struct vmc_image *img, *nb = NULL;
	struct qcow2_state *s;
	char *fmt = NULL;
	int r = -1;

	if (qcow2_edit_open(path, 0, &img, err) < 0)
		return -1;
	s = img->opaque;
	if (s->nb_snapshots) {
		vmc_error_set(err, ENOTSUP, "%s: rebasing an image with"
			      " internal snapshots is only supported with -u"
			      " by this vmconv", path);
		goto out;
	}
	nb = open_new(img, backing, backing_fmt, err);
	if (backing && *backing && !nb)
		goto out;
	if (nb && !backing_fmt && !(fmt = strdup(nb->drv->name))) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	s->in_place = true;
	if (copy_differing(img, s, nb, err) < 0)
		goto out;
	vmc_image_close(img);
	img = NULL;
	r = vmc_qcow2_set_backing(path, backing,
				  backing_fmt ? backing_fmt : fmt, err);
out:
	vmc_image_close(nb);
	vmc_image_close(img);
	free(fmt);
	return r;
}
