/* qcow2 consistency check and repair, counting as qemu-img check does:
 * references are recomputed from the header, the L1/L2 tables of the
 * active state and of every snapshot, the snapshot table, the bitmaps,
 * the refcount table and its blocks, and compared with the stored
 * refcounts.  qemu docs/interop/qcow2.txt, "Host cluster management";
 * the messages are qemu's (block/qcow2-refcount.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2.h"

#define MAX_CHECK_CLUSTERS (64ull << 20)	/* 16 bytes each */

/* L2 tables are walked once each, however many L1 entries point to them
 * (snapshots share tables; hostile images may point every entry at one
 * table): the references a table holds are added once per L1 entry, as
 * qemu's walk adds them, without reading the table again. */
struct ck {
	struct vmc_image *img;
	struct qcow2_state *s;
	struct vmc_check_result *res;
	uint32_t *refs;
	uint32_t *l2_refs;	/* L1 entries pointing at cluster c */
	uint32_t *l2_active;	/* of those, in the active L1 table */
	uint32_t *l2_copied;	/* OFLAG pass: 1 + problems found, 0 */
	uint64_t nb;
	uint64_t l1_budget;	/* L1 bytes left to read */
	uint8_t *l2;		/* one table */
};

static void inc_n(struct ck *k, uint64_t off, uint64_t size, uint32_t n)
{
	uint64_t first, last;

	if (size == 0 || n == 0)
		return;
	first = off >> k->s->cluster_bits;
	last = (off + size - 1) >> k->s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= k->nb) {
			vmc_check_report(k->res, "ERROR: counting reference"
				" for region exceeding the end of the file by"
				" one cluster or more: offset 0x%" PRIx64
				" size 0x%" PRIx64, off, size);
			k->res->corruptions += n;
			return;
		}
		k->refs[c] = k->refs[c] > UINT32_MAX - n ? UINT32_MAX :
			     k->refs[c] + n;
	}
}

static void inc(struct ck *k, uint64_t off, uint64_t size)
{
	inc_n(k, off, size, 1);
}

/* One L2 table referenced n times, act of them from the active L1. */
static void check_l2(struct ck *k, uint64_t l2_off, uint32_t n,
		     uint32_t act)
{
	struct qcow2_state *s = k->s;
	struct vmc_check_result *res = k->res;
	uint64_t entries = 1ull << s->l2_bits, next = 0;
	struct vmc_error err;

	if (vmc_pread_full(s->fd, k->l2, s->cluster_size, l2_off,
			   k->img->filename, &err) < 0) {
		vmc_check_report(res, "ERROR: I/O error in check_refcounts_l2"
				 " (%s)", err.msg);
		res->check_errors += n;
		return;
	}
	for (uint64_t i = 0; i < entries; i++) {
		uint64_t e = qcow2_l2_entry(s, k->l2, i);
		uint64_t off = e & QCOW2_OFFSET_MASK;

		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t coff, csize;

			if (s->data_file_name) {
				vmc_check_report(res, "ERROR compressed"
					" cluster %" PRIu64 " with data file",
					i);
				res->corruptions += n;
				continue;
			}
			if (e & QCOW2_OFLAG_COPIED) {
				vmc_check_report(res, "ERROR: coffset=0x%"
					PRIx64 ": copied flag must never be"
					" set for compressed clusters",
					e & s->coffset_mask);
				res->corruptions += n;
				e &= ~QCOW2_OFLAG_COPIED;
			}
			qcow2_parse_compressed(s, e, &coff, &csize);
			res->allocated_clusters += act;
			res->compressed_clusters += act;
			res->fragmented_clusters += act;
			inc_n(k, coff, csize, n);
			continue;
		}
		if (!off && !(s->data_file_name && (e & QCOW2_OFLAG_COPIED)))
			continue;
		/* qemu counts the reference even when the offset is
		 * misaligned. */
		if (off & (s->cluster_size - 1)) {
			vmc_check_report(res, "ERROR offset=%" PRIx64 ":"
				" Data cluster is not properly aligned; L2"
				" entry corrupted.", off);
			res->corruptions += n;
		}
		/* Fragmentation restarts with each table, as in qemu. */
		res->allocated_clusters += act;
		if (next && off != next)
			res->fragmented_clusters += act;
		next = off + s->cluster_size;
		if (!s->data_file_name)
			inc_n(k, off, s->cluster_size, n);
	}
}

static void check_l1(struct ck *k, uint64_t l1_off, uint32_t l1_size,
		     bool active)
{
	struct qcow2_state *s = k->s;
	uint64_t *l1 = NULL, bytes = (uint64_t)l1_size * 8;
	struct vmc_error err;

	if (!l1_size)
		return;
	inc(k, l1_off, bytes);
	/* Snapshots never share L1 tables: more L1 bytes than the file
	 * holds means tables overlap, and reading them all could take
	 * forever. */
	if (bytes > k->l1_budget) {
		vmc_check_report(k->res, "ERROR: L1 table at 0x%" PRIx64
				 " not checked: the L1 tables overlap",
				 l1_off);
		k->res->check_errors++;
		return;
	}
	k->l1_budget -= bytes;
	if (qcow2_read_l1(k->img, s, l1_off, l1_size, &l1, &err) < 0) {
		vmc_check_report(k->res, "ERROR: cannot read L1 table (%s)",
				 err.msg);
		k->res->check_errors++;
		return;
	}
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK, c;

		if (!l2)
			continue;
		if (l2 & (s->cluster_size - 1)) {
			vmc_check_report(k->res, "ERROR l2_offset=%" PRIx64
				": Table is not cluster aligned; L1 entry"
				" corrupted", l2);
			k->res->corruptions++;
			continue;
		}
		inc(k, l2, s->cluster_size);
		c = l2 >> s->cluster_bits;
		if (c >= k->nb)
			continue;
		if (k->l2_refs[c] != UINT32_MAX)
			k->l2_refs[c]++;
		if (active && k->l2_active[c] != UINT32_MAX)
			k->l2_active[c]++;
	}
	free(l1);
}

static void check_bitmaps(struct ck *k)
{
	struct qcow2_state *s = k->s;
	uint64_t dsz = s->bitmap_dir_size, p = 0;
	uint8_t *dir, *tbl;
	struct vmc_error err;

	if (!s->has_bitmaps || !(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS) ||
	    !dsz)
		return;
	inc(k, s->bitmap_dir_offset, dsz);
	if (dsz > (1u << 24) || s->bitmap_dir_offset > s->file_size ||
	    dsz > s->file_size - s->bitmap_dir_offset ||
	    !(dir = malloc(dsz))) {
		k->res->check_errors++;
		return;
	}
	if (vmc_pread_full(s->fd, dir, dsz, s->bitmap_dir_offset,
			   k->img->filename, &err) < 0) {
		k->res->check_errors++;
		free(dir);
		return;
	}
	while (p + 24 <= dsz) {
		uint64_t toff = vmc_get_be64(dir + p);
		uint32_t tsize = vmc_get_be32(dir + p + 8);
		uint32_t nlen = vmc_get_be16(dir + p + 18);
		uint32_t extra = vmc_get_be32(dir + p + 20);
		uint64_t bytes = (uint64_t)tsize * 8;

		inc(k, toff, bytes);
		if (bytes <= (64u << 20) && toff <= s->file_size &&
		    bytes <= s->file_size - toff && (tbl = malloc(bytes + 1))) {
			if (vmc_pread_full(s->fd, tbl, bytes, toff,
					   k->img->filename, &err) == 0)
				for (uint32_t i = 0; i < tsize; i++) {
					uint64_t o = vmc_get_be64(tbl + 8 * i) &
						     QCOW2_OFFSET_MASK;
					if (o)
						inc(k, o, s->cluster_size);
				}
			free(tbl);
		}
		p += VMC_ALIGN_UP(24 + (uint64_t)extra + nlen, 8);
	}
	free(dir);
}

/* Refcount stored on disk; 0 where the block is missing or unusable. */
static int disk_refcount(struct ck *k, uint64_t c, uint64_t *rc)
{
	struct qcow2_state *s = k->s;
	uint64_t block = c >> s->rc_block_bits, host;
	struct vmc_error err;

	*rc = 0;
	host = block < s->reftable_n ?
	       s->reftable[block] & QCOW2_REFT_OFFSET_MASK : 0;
	/* While repairing, new blocks may lie past the old end of file. */
	if (!host || (host & (s->cluster_size - 1)) ||
	    ((host >> s->cluster_bits) >= k->nb && !s->writable))
		return 0;
	if (qcow2_get_refcount(k->img, s, c, rc, &err) < 0) {
		vmc_check_report(k->res, "Can't get refcount for cluster %"
				 PRIu64 ": %s", c, err.msg);
		k->res->check_errors++;
		return -1;
	}
	return 0;
}

/* The refcount blocks the refcount table points at: each once, aligned,
 * inside the image.  True when the structure overlaps other metadata. */
static bool check_reftable(struct ck *k, bool repair)
{
	struct qcow2_state *s = k->s;
	struct vmc_check_result *res = k->res;
	bool overlap = false;

	for (uint64_t i = 0; i < s->reftable_n; i++) {
		uint64_t off = s->reftable[i] & QCOW2_REFT_OFFSET_MASK;
		uint64_t c = off >> s->cluster_bits;

		if (s->reftable[i] & ~QCOW2_REFT_OFFSET_MASK) {
			vmc_check_report(res, "ERROR refcount table entry %"
				PRIu64 " has reserved bits set", i);
		} else if (!off) {
			continue;
		} else if (off & (s->cluster_size - 1)) {
			vmc_check_report(res, "ERROR refcount block %" PRIu64
				" is not cluster aligned; refcount table"
				" entry corrupted", i);
		} else if (c >= k->nb) {
			vmc_check_report(res, "ERROR refcount block %" PRIu64
					 " is outside image", i);
		} else {
			inc(k, off, s->cluster_size);
			if (k->refs[c] != 1) {
				vmc_check_report(res, "ERROR refcount block %"
					PRIu64 " refcount=%u", i, k->refs[c]);
				res->corruptions++;
				overlap = true;
			}
			continue;
		}
		if (repair) {
			s->reftable[i] = 0;
			res->corruptions_fixed++;
		} else {
			res->corruptions++;
		}
	}

	for (uint64_t i = 0; i < s->reftable_clusters; i++) {
		uint64_t c = (s->reftable_offset >> s->cluster_bits) + i;

		if (s->reftable_offset && c < k->nb && k->refs[c] != 1)
			overlap = true;
	}
	return overlap;
}

/* The refcounts on disk against the references counted; returns the
 * highest cluster in use. */
static uint64_t compare_refcounts(struct ck *k, bool repair)
{
	struct qcow2_state *s = k->s;
	struct vmc_check_result *res = k->res;
	struct vmc_image *img = k->img;
	struct vmc_error e2;
	uint64_t highest = 0;

	for (uint64_t c = 0; c < k->nb; c++) {
		uint64_t r1, r2 = k->refs[c];

		if (disk_refcount(k, c, &r1) < 0)
			continue;
		if (r1 || r2)
			highest = c;
		if (r1 == r2)
			continue;
		vmc_check_report(res, "%s cluster %" PRIu64 " refcount=%"
				 PRIu64 " reference=%" PRIu64,
				 repair ? "Repairing" : r1 < r2 ? "ERROR" :
				 "Leaked", c, r1, r2);
		if (repair && qcow2_set_refcount(img, s, c, r2, &e2) == 0) {
			if (r1 > r2)
				res->leaks_fixed++;
			else
				res->corruptions_fixed++;
			continue;
		}
		if (r1 < r2)
			res->corruptions++;
		else
			res->leaks++;
	}
	return highest;
}

/* OFLAG_COPIED must be set exactly where the refcount is 1. */
static void check_copied(struct ck *k, bool repair)
{
	struct qcow2_state *s = k->s;
	struct vmc_check_result *res = k->res;
	struct vmc_image *img = k->img;

	for (uint32_t i = 0; i < s->header_l1_size && s->l1; i++) {
		uint64_t l1e = s->snapshot < 0 ? s->l1[i] : 0;
		uint64_t l2 = l1e & QCOW2_OFFSET_MASK, rc, c2;
		uint64_t n = 1ull << s->l2_bits;
		struct vmc_error e2;
		uint8_t *t = k->l2;

		if (!l2 || (l2 & (s->cluster_size - 1)) ||
		    (l2 >> s->cluster_bits) >= k->nb)
			continue;
		if (disk_refcount(k, l2 >> s->cluster_bits, &rc) < 0)
			continue;
		if ((rc == 1) != !!(l1e & QCOW2_OFLAG_COPIED)) {
			vmc_check_report(res, "%s OFLAG_COPIED L2 cluster:"
				" l1_index=%u l1_entry=%" PRIx64 " refcount=%"
				PRIu64, repair ? "Repairing" : "ERROR", i,
				l1e, rc);
			if (repair) {
				s->l1[i] = rc == 1 ? l1e | QCOW2_OFLAG_COPIED :
					   l1e & ~QCOW2_OFLAG_COPIED;
				s->l1_dirty = true;
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
			}
		}
		/* A table seen before (only in corrupt images): its
		 * problems counted again without reading it again. */
		c2 = l2 >> s->cluster_bits;
		if (k->l2_copied[c2]) {
			if (!repair)
				res->corruptions += k->l2_copied[c2] - 1;
			continue;
		}
		k->l2_copied[c2] = 1;
		if (repair ? qcow2_l2_get(img, s, l2, i, &t, &e2) < 0 :
		    vmc_pread_full(s->fd, t, s->cluster_size, l2,
				   img->filename, &e2) < 0)
			continue;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t e = qcow2_l2_entry(s, t, j);
			uint64_t off = e & QCOW2_OFFSET_MASK;

			if ((e & QCOW2_OFLAG_COMPRESSED) || !off)
				continue;
			if (s->data_file_name)
				rc = 1;
			else if (disk_refcount(k, off >> s->cluster_bits,
					       &rc) < 0)
				continue;
			if ((rc == 1) == !!(e & QCOW2_OFLAG_COPIED))
				continue;
			vmc_check_report(res, "%s OFLAG_COPIED data cluster:"
				" l2_entry=%" PRIx64 " refcount=%" PRIu64,
				repair ? "Repairing" : "ERROR", e, rc);
			if (!repair) {
				res->corruptions++;
				if (k->l2_copied[c2] != UINT32_MAX)
					k->l2_copied[c2]++;
				continue;
			}
			vmc_put_be64(t + j * s->l2_entry_size, rc == 1 ?
				     e | QCOW2_OFLAG_COPIED :
				     e & ~QCOW2_OFLAG_COPIED);
			qcow2_cache_mark_dirty(s, &s->l2c, t);
			res->corruptions_fixed++;
		}
	}
}

static int run_check(struct vmc_image *img, struct qcow2_state *s,
		     struct vmc_check_result *res, bool repair,
		     struct vmc_error *err)
{
	struct ck k = { .img = img, .s = s, .res = res };
	uint64_t highest = 0;
	bool overlap = false;
	int ret = -1;

	if (!s->reftable && s->reftable_clusters &&
	    qcow2_load_reftable(img, s, err) < 0)
		return -1;
	k.nb = VMC_DIV_ROUND_UP(s->file_size, s->cluster_size);
	if (k.nb > MAX_CHECK_CLUSTERS)
		return vmc_error_set(err, EFBIG, "%s: too many clusters to"
				     " check (%" PRIu64 ")", img->filename,
				     k.nb);
	k.refs = calloc(k.nb ? k.nb : 1, sizeof(*k.refs));
	k.l2_refs = calloc(k.nb ? k.nb : 1, sizeof(*k.l2_refs));
	k.l2_active = calloc(k.nb ? k.nb : 1, sizeof(*k.l2_active));
	k.l2_copied = calloc(k.nb ? k.nb : 1, sizeof(*k.l2_copied));
	k.l2 = malloc(s->cluster_size);
	k.l1_budget = 2 * s->file_size + (16u << 20);
	if (!k.refs || !k.l2_refs || !k.l2_active || !k.l2_copied || !k.l2) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	res->total_clusters = VMC_DIV_ROUND_UP(s->virtual_size,
					       s->cluster_size);
	inc(&k, 0, s->cluster_size);
	check_l1(&k, s->header_l1_offset, s->header_l1_size, true);
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		check_l1(&k, s->snaps[i].l1_offset, s->snaps[i].l1_size,
			 false);
	for (uint64_t c = 0; c < k.nb; c++)
		if (k.l2_refs[c])
			check_l2(&k, c << s->cluster_bits, k.l2_refs[c],
				 k.l2_active[c]);
	inc(&k, s->snapshots_offset, s->snapshots_bytes);
	inc(&k, s->reftable_offset,
	    (uint64_t)s->reftable_clusters << s->cluster_bits);
	check_bitmaps(&k);
	overlap = check_reftable(&k, repair);
	/* Writing refcounts into blocks that are also something else would
	 * destroy it: that needs a rebuild of the whole refcount structure,
	 * which qemu-img check -r all does and vmconv does not. */
	if (repair && overlap) {
		vmc_error_set(err, ENOTSUP, "%s: the refcount structure"
			      " overlaps other metadata; rebuilding it is not"
			      " supported (nothing was written)",
			      img->filename);
		goto out;
	}

	highest = compare_refcounts(&k, repair);
	check_copied(&k, repair);
	res->image_end_offset = (highest + 1) << s->cluster_bits;
	ret = 0;
out:
	free(k.refs);
	free(k.l2_refs);
	free(k.l2_active);
	free(k.l2_copied);
	free(k.l2);
	return ret;
}

int qcow2_check(struct vmc_image *img, struct vmc_check_result *res,
		bool repair, struct vmc_error *err)
{
	struct qcow2_state *s = img->opaque;
	struct vmc_check_result second;
	int r;

	if (repair && !s->writable)
		return vmc_error_set(err, EROFS, "%s: repair needs the image"
				     " opened read-write", img->filename);
	if (s->snapshot >= 0)
		return vmc_error_set(err, EINVAL, "%s: check the image, not a"
				     " snapshot of it", img->filename);
	pthread_mutex_lock(&s->lock);
	r = run_check(img, s, res, repair, err);
	if (r == 0 && repair) {
		if (qcow2_writeback(img, s, err) < 0) {
			r = -1;
			goto out;
		}
		/* Count again what is left, as qemu-img does. */
		memset(&second, 0, sizeof(second));
		r = run_check(img, s, &second, false, err);
		if (r == 0) {
			res->corruptions = second.corruptions;
			res->leaks = second.leaks;
			res->image_end_offset = second.image_end_offset;
			res->allocated_clusters = second.allocated_clusters;
			res->fragmented_clusters = second.fragmented_clusters;
			res->compressed_clusters = second.compressed_clusters;
			res->check_errors += second.check_errors;
			if (!second.corruptions && !second.check_errors &&
			    s->version >= 3 && (s->incompat &
			    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT))) {
				s->incompat &= ~(QCOW2_INCOMPAT_DIRTY |
						 QCOW2_INCOMPAT_CORRUPT);
				r = qcow2_write_header(img, s, err);
			}
		}
		vmc_check_result_free(&second);
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}
