/* vmconv check for VMDK: VMware "Virtual Disk Format 1.1", "Grain
 * Directories and Grain Tables" and "Stream-Optimized Compressed Sparse
 * Extents".  Every grain table entry of every sparse extent must point
 * inside its file and past the metadata, no two entries may share a grain,
 * and a stream's grain markers must name the sector they hold.  Checking
 * only reads; repairs are not supported. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vmconv/check.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

/* One bit per grain-sized slot of the file, to find shared grains; for
 * files whose slot count is absurd, sharing is not checked. */
#define MAX_SLOTS (1ull << 32)

static int check_extent(struct vmdk_state *s, size_t xi,
			struct vmc_check_result *res, struct vmc_error *err)
{
	struct vmdk_extent *e = &s->ext[xi];
	uint64_t grains = VMC_DIV_ROUND_UP(e->len, e->grain);
	uint64_t slots = VMC_DIV_ROUND_UP(e->file_size, e->grain);
	uint8_t *used = NULL;
	int ret = 0;

	if (!e->compressed && slots <= MAX_SLOTS)
		used = calloc(slots / 8 + 1, 1);
	res->total_clusters += grains;
	for (uint64_t g = 0; g < grains; g++) {
		enum vmdk_map_kind k;
		uint64_t foff = 0, end;
		struct vmc_error le;

		if (g % e->gtes == 0 && g / e->gtes < e->n_gd &&
		    !e->gd[g / e->gtes]) {
			g += e->gtes - 1;	/* no table: nothing there */
			continue;
		}

		if (vmdk_sparse_lookup(e, g * e->grain, &k, &foff, &le) < 0) {
			res->corruptions++;
			vmc_check_report(res, "ERROR: %s", le.msg);
			continue;
		}
		if (k == VMDK_MAP_UNALLOC || k == VMDK_MAP_ZERO)
			continue;
		res->allocated_clusters++;
		end = foff + (k == VMDK_MAP_COMPRESSED ? VMDK_SECTOR :
			      e->grain);
		if (end > res->image_end_offset)
			res->image_end_offset = end;
		if (k == VMDK_MAP_COMPRESSED) {
			res->compressed_clusters++;
			if (e->markers) {
				uint8_t m[12];

				if (vmdk_ext_fd(e, err) < 0 ||
				    vmc_pread_full(e->fd, m, sizeof(m), foff,
						   e->path, err) < 0) {
					ret = -1;
					break;
				}
				if (vmc_get_le64(m) !=
				    (e->start + g * e->grain) / VMDK_SECTOR) {
					res->corruptions++;
					vmc_check_report(res,
						"ERROR: %s: grain %" PRIu64
						" points to a marker for sector"
						" %" PRIu64, e->path, g,
						vmc_get_le64(m));
				}
			}
			continue;
		}
		if (used && foff % e->grain == 0) {
			uint64_t slot = foff / e->grain;

			if (used[slot / 8] & (1u << (slot % 8))) {
				res->corruptions++;
				vmc_check_report(res,
					"ERROR: %s: grain %" PRIu64 " shares"
					" offset 0x%" PRIx64 " with another"
					" grain", e->path, g, foff);
			}
			used[slot / 8] |= (uint8_t)(1u << (slot % 8));
		}
	}
	free(used);
	return ret;
}

/* Hosted sparse extents keep every grain table twice; the copies must
 * agree. */
static int check_redundant(struct vmdk_extent *e,
			   struct vmc_check_result *res, struct vmc_error *err)
{
	size_t gt_bytes = (size_t)e->gtes * 4;
	uint8_t *rgd = malloc(e->n_gd * 4 + 1), *a = malloc(gt_bytes);
	uint8_t *b = malloc(gt_bytes);
	int ret = -1;

	if (!rgd || !a || !b) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (vmdk_ext_fd(e, err) < 0 ||
	    vmc_pread_full(e->fd, rgd, e->n_gd * 4, e->rgd_off, e->path,
			   err) < 0)
		goto out;
	for (uint64_t i = 0; i < e->n_gd; i++) {
		uint64_t r = (uint64_t)vmc_get_le32(rgd + i * 4) * VMDK_SECTOR;

		if (!e->gd[i] && !r)
			continue;
		if (!e->gd[i] || !r || r + gt_bytes > e->file_size) {
			res->corruptions++;
			vmc_check_report(res, "ERROR: %s: grain table %" PRIu64
				" and its redundant copy disagree on"
				" existing (0x%" PRIx64 " / 0x%" PRIx64 ")",
				e->path, i, e->gd[i], r);
			continue;
		}
		if (vmdk_ext_fd(e, err) < 0 ||
		    vmc_pread_full(e->fd, a, gt_bytes, e->gd[i], e->path,
				   err) < 0 ||
		    vmc_pread_full(e->fd, b, gt_bytes, r, e->path, err) < 0)
			goto out;
		if (memcmp(a, b, gt_bytes)) {
			res->corruptions++;
			vmc_check_report(res, "ERROR: %s: grain table %" PRIu64
				" at 0x%" PRIx64 " differs from its"
				" redundant copy at 0x%" PRIx64, e->path, i,
				e->gd[i], r);
		}
	}
	ret = 0;
out:
	free(rgd);
	free(a);
	free(b);
	return ret;
}

int vmdk_check(struct vmc_image *img, struct vmc_check_result *res,
	       bool repair, struct vmc_error *err)
{
	struct vmdk_state *s = img->opaque;
	int ret = 0;

	if (repair)
		return vmc_error_set(err, ENOTSUP,
			"%s: vmdk images cannot be repaired in place",
			img->filename);
	if (!s || s->w)
		return vmc_error_set(err, EINVAL, "%s: not open for reading",
				     img->filename);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_ext && ret == 0; i++)
		if (s->ext[i].gd) {
			ret = check_extent(s, i, res, err);
			if (ret == 0 && s->ext[i].rgd_off &&
			    s->ext[i].kind == VMDK_K_SPARSE)
				ret = check_redundant(&s->ext[i], res, err);
		}
	pthread_mutex_unlock(&s->lock);
	return ret;
}
