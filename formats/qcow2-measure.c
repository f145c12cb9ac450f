/* qcow2 measure: qemu's formula (block/qcow2.c, qcow2_measure and
 * qcow2_calc_prealloc_size): the metadata of a fully allocated image (one
 * header cluster, L2 tables for the whole disk, the L1 table, refcount
 * blocks and table covering all of it) plus the data clusters the source
 * holds.  It counts every L2 table even when few are written, so it is an
 * upper bound on what qcow2-write.c writes, which appends one data cluster
 * per source cluster and only the tables it needs. */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2.h"

/* Refcount blocks and table clusters for clusters clusters, counting the
 * blocks' own refcounts (qcow2_refcount_metadata_size). */
static uint64_t refcount_meta(uint64_t clusters, uint64_t cs,
			      unsigned order)
{
	uint64_t per_table = cs / 8, per_block = cs * 8 >> order;
	uint64_t table = 0, blocks = 0, n = 0, last;

	do {
		last = n;
		blocks = VMC_DIV_ROUND_UP(clusters + table + blocks,
					  per_block);
		table = VMC_DIV_ROUND_UP(blocks, per_table);
		n = clusters + blocks + table;
	} while (n != last);
	return (blocks + table) * cs;
}

static uint64_t prealloc_size(uint64_t vsize, uint64_t cs, unsigned order)
{
	uint64_t meta = cs, nl2e, nl1e;

	nl2e = VMC_ALIGN_UP(vsize / cs, cs / 8);
	meta += nl2e * 8;
	nl1e = VMC_ALIGN_UP(nl2e * 8 / cs, cs / 8);
	meta += nl1e * 8;
	meta += refcount_meta((meta + vsize) / cs, cs, order);
	return meta + vsize;
}

int qcow2_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		  struct vmc_measure *m, struct vmc_error *err)
{
	struct qcow2_state s;
	const char *prealloc;
	uint64_t vsize, data, units;
	bool lazy;

	memset(&s, 0, sizeof(s));
	if (qcow2_parse_create_opts(&s, "qcow2", opts, &prealloc, &lazy,
				    err) < 0)
		return -1;
	/* Both sizes stay far below 2^64 for any disk qcow2 can address
	 * (its L1 limit is 32 MiB of entries). */
	if (size > (1ull << 62))
		return vmc_error_set(err, EFBIG, "qcow2: size %llu too large",
				     (unsigned long long)size);
	vsize = VMC_ALIGN_UP(size, s.cluster_size);
	if (vmc_measure_units(src, s.cluster_size, &units, err) < 0)
		return -1;
	data = units * s.cluster_size;
	if (!strcmp(prealloc, "full") || !strcmp(prealloc, "falloc"))
		data = vsize;
	m->fully_allocated = prealloc_size(vsize, s.cluster_size,
					   s.refcount_order);
	m->required = m->fully_allocated - vsize + data;
	/* qemu shows bitmaps when source and target can both hold them
	 * (qcow2 v3); vmconv copies none, so they need 0 bytes. */
	if (src && !strcmp(src->drv->name, "qcow2") && s.version >= 3 &&
	    ((struct qcow2_state *)src->opaque)->version >= 3)
		m->has_bitmaps = true;
	return 0;
}
