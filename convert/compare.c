/* Guest-content digests and comparisons that read only data extents. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <vmconv/convert.h>

#include "common/bytes.h"

#define STEP (1u << 20)

void vmc_sha256_hex(const unsigned char sha[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

int vmc_image_digest(struct vmc_image *img, unsigned char sha[32],
		     struct vmc_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(STEP);
	uint64_t off = 0;
	unsigned len;
	int ret = -1;

	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		vmc_error_set(err, ENOMEM, "cannot start SHA-256");
		goto out;
	}
	while (off < img->size) {
		size_t n = (size_t)VMC_MIN(STEP, img->size - off);

		if (vmc_image_read_sparse(img, buf, n, off, NULL, err) < 0)
			goto out;
		EVP_DigestUpdate(md, buf, n);
		off += n;
	}
	if (!EVP_DigestFinal_ex(md, sha, &len)) {
		vmc_error_set(err, EIO, "SHA-256 failed");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

/* Read [off, off+n) of img into buf, reading only data extents. */
static int read_sparse(struct vmc_image *img, uint8_t *buf, uint64_t off,
		       size_t n, bool *all_hole, struct vmc_error *err)
{
	struct vmc_sparse_read sr = { 0 };

	if (vmc_image_read_sparse(img, buf, n, off, &sr, err) < 0)
		return -1;
	*all_hole = sr.data_bytes == 0;
	return 0;
}

/* The length of the run from off (up to end) that reads as zeros without
 * a read (zero or unallocated extents): what compare skips at once, so
 * that its cost follows the data, not the virtual size. */
static int zero_run(struct vmc_image *img, uint64_t off, uint64_t end,
		    uint64_t *run, struct vmc_error *err)
{
	struct vmc_extent x;

	*run = 0;
	while (off + *run < end) {
		if (vmc_image_block_status(img, off + *run, end - off - *run,
					   &x, err) < 0)
			return -1;
		if (x.kind == VMC_EXTENT_DATA)
			break;
		*run += x.length;
	}
	return 0;
}

/* After a step that was zeros on both sides: skip what both still hold
 * as zeros. */
static int skip_common(struct vmc_image *a, struct vmc_image *b,
		       uint64_t *off, uint64_t end, struct vmc_error *err)
{
	uint64_t ra, rb;

	if (zero_run(a, *off, end, &ra, err) < 0)
		return -1;
	if (ra && zero_run(b, *off, *off + ra, &rb, err) < 0)
		return -1;
	*off += ra ? VMC_MIN(ra, rb) : 0;
	return 0;
}

static int64_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int64_t)i;
	return -1;
}

int vmc_image_compare(struct vmc_image *a, struct vmc_image *b,
		      int64_t *differ, struct vmc_error *err)
{
	uint64_t common = VMC_MIN(a->size, b->size), off = 0;
	uint8_t *ba = malloc(STEP), *bb = malloc(STEP);
	int ret = -1;

	*differ = -1;
	if (!ba || !bb) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (off < common) {
		size_t n = (size_t)VMC_MIN(STEP, common - off);
		bool ha, hb;
		int64_t d;

		if (read_sparse(a, ba, off, n, &ha, err) < 0 ||
		    read_sparse(b, bb, off, n, &hb, err) < 0)
			goto out;
		if (!(ha && hb) && memcmp(ba, bb, n) != 0) {
			d = first_diff(ba, bb, n);
			*differ = (int64_t)off + d;
			ret = 0;
			goto out;
		}
		off += n;
		if (ha && hb && off < common &&
		    skip_common(a, b, &off, common, err) < 0)
			goto out;
	}
	/* The longer image's tail must read as zeros. */
	struct vmc_image *big = a->size > b->size ? a : b;
	while (off < big->size) {
		size_t n = (size_t)VMC_MIN(STEP, big->size - off);
		bool h;

		if (read_sparse(big, ba, off, n, &h, err) < 0)
			goto out;
		if (!h && !vmc_is_zero(ba, n)) {
			for (size_t i = 0; i < n; i++)
				if (ba[i]) {
					*differ = (int64_t)(off + i);
					break;
				}
			ret = 0;
			goto out;
		}
		off += n;
		if (h && off < big->size &&
		    skip_common(big, big, &off, big->size, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(ba);
	free(bb);
	return ret;
}
