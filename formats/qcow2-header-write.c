/* qcow2 header rewritten in place: the backing file name and format
 * (rebase), the version and compatible features (amend).  The whole
 * header cluster is rebuilt and written in one write, as qemu's
 * qcow2_update_header does; extensions vmconv does not change (data
 * file, bitmaps, crypto, unknown ones) are kept as they are.
 * qemu docs/interop/qcow2.txt, "Header" and "Header extensions". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

static const struct { uint8_t type, bit; const char *name; } features[] = {
	{ 0, 0, "dirty bit" }, { 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" }, { 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" }, { 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" }, { 2, 1, "raw external data" },
};

int qcow2_put_ext(uint8_t *h, size_t cap, size_t *p, uint32_t type,
		  const void *data, uint32_t len)
{
	size_t need = 8 + VMC_ALIGN_UP((size_t)len, 8);

	if (*p + need > cap)
		return -1;
	vmc_put_be32(h + *p, type);
	vmc_put_be32(h + *p + 4, len);
	memset(h + *p + 8, 0, need - 8);
	memcpy(h + *p + 8, data, len);
	*p += need;
	return 0;
}

static int put_features(uint8_t *h, size_t cap, size_t *p)
{
	uint8_t t[VMC_ARRAY_SIZE(features) * 48];

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < VMC_ARRAY_SIZE(features); i++) {
		t[i * 48] = features[i].type;
		t[i * 48 + 1] = features[i].bit;
		memcpy(t + i * 48 + 2, features[i].name,
		       strlen(features[i].name));
	}
	return qcow2_put_ext(h, cap, p, QCOW2_EXT_FEATURES, t, sizeof(t));
}

/* The extensions of old (header_length old_len) other than backing
 * format and feature names, appended to h at *p. */
static int keep_exts(const uint8_t *old, size_t cap, size_t old_len,
		     uint8_t *h, size_t *p)
{
	size_t q = old_len;

	while (q + 8 <= cap) {
		uint32_t type = vmc_get_be32(old + q);
		uint32_t len = vmc_get_be32(old + q + 4);

		if (type == QCOW2_EXT_END || len > cap - q - 8)
			break;
		if (type != QCOW2_EXT_BACKING_FMT &&
		    type != QCOW2_EXT_FEATURES &&
		    qcow2_put_ext(h, cap, p, type, old + q + 8, len) < 0)
			return -1;
		q += 8 + VMC_ALIGN_UP((size_t)len, 8);
	}
	return 0;
}

/* The header cluster from old with the state's version, features and
 * backing file. */
static int build(struct qcow2_state *s, const uint8_t *old, uint8_t *h,
		 size_t cap)
{
	size_t old_len = s->header_length;	/* as read */
	size_t len = s->version >= 3 ? VMC_MAX(old_len, 112) :
		     QCOW2_V2_HEADER_LEN, p = len;

	memset(h, 0, cap);
	memcpy(h, old, VMC_MIN(old_len, len));
	vmc_put_be32(h + 4, s->version);
	vmc_put_be64(h + 8, 0);
	vmc_put_be32(h + 16, 0);
	if (s->version >= 3) {
		vmc_put_be64(h + 72, s->incompat);
		vmc_put_be64(h + 80, s->compat);
		vmc_put_be64(h + 88, s->autoclear);
		vmc_put_be32(h + 96, s->refcount_order);
		vmc_put_be32(h + 100, (uint32_t)len);
	}
	if (s->backing_fmt && qcow2_put_ext(h, cap, &p, QCOW2_EXT_BACKING_FMT,
			(const uint8_t *)s->backing_fmt,
			(uint32_t)strlen(s->backing_fmt)) < 0)
		return -1;
	if (keep_exts(old, cap, old_len, h, &p) < 0)
		return -1;
	if (s->version >= 3 && cap >= 4096 && put_features(h, cap, &p) < 0)
		return -1;
	if (p + 8 > cap)
		return -1;
	p += 8;
	if (s->backing_name) {
		size_t n = strlen(s->backing_name);

		if (n > QCOW2_MAX_BACKING_NAME || p + n > cap)
			return -1;
		memcpy(h + p, s->backing_name, n);
		vmc_put_be64(h + 8, p);
		vmc_put_be32(h + 16, (uint32_t)n);
	}
	return 0;
}

int qcow2_rewrite_header(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err)
{
	size_t cap = (size_t)s->cluster_size;
	uint8_t *old = malloc(cap), *h = malloc(cap);
	int r = -1;

	if (!old || !h) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (vmc_pread_full(s->fd, old, cap, 0, img->filename, err) < 0)
		goto out;
	if (build(s, old, h, cap) < 0) {
		vmc_error_set(err, ENOSPC, "%s: the header, its extensions and"
			      " the backing file name do not fit one %zu-byte"
			      " cluster", img->filename, cap);
		goto out;
	}
	r = qcow2_header_put(img, s, 0, h, cap, err);
out:
	free(old);
	free(h);
	return r;
}

int vmc_qcow2_set_backing(const char *path, const char *backing,
			  const char *backing_fmt, struct vmc_error *err)
{
	struct vmc_image *img;
	struct qcow2_state *s;
	int r = -1;

	if (qcow2_edit_open(path, VMC_OPEN_NO_BACKING, &img, err) < 0)
		return -1;
	s = img->opaque;
	free(s->backing_name);
	free(s->backing_fmt);
	s->backing_name = backing && *backing ? strdup(backing) : NULL;
	s->backing_fmt = s->backing_name && backing_fmt ?
			 strdup(backing_fmt) : NULL;
	if ((backing && *backing && !s->backing_name) ||
	    (s->backing_name && backing_fmt && !s->backing_fmt)) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (s->data_file_name && s->backing_name) {
		vmc_error_set(err, ENOTSUP, "%s: an image with an external"
			      " data file cannot have a backing file", path);
		goto out;
	}
	r = qcow2_rewrite_header(img, s, err);
out:
	vmc_image_close(img);
	return r;
}
