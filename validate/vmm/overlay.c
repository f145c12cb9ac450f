/* The validated guest's disk: the image read through vmconv's format
 * drivers, with the guest's writes kept in memory in 4 KiB copies that are
 * thrown away with the run, so the image is never modified (it is opened
 * read-only and never written).  The copies are indexed by a sorted
 * directory of the 2 MiB spans the guest wrote to (binary search), each with a
 * table of its chunks, all allocated only where the guest writes (a 64 TiB
 * disk costs nothing until written), and their totals are capped so that a
 * guest writing without end fails its run instead of exhausting the
 * host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

/* A directory entry covers 2 MiB: its table is one 4 KiB page. */
#define CHUNKS_PER_DIR ((2ULL << 20) / VMC_OVERLAY_CHUNK)
#define TABLE_BYTES (CHUNKS_PER_DIR * sizeof(uint8_t *))

int vmc_overlay_init(struct vmc_overlay *o, struct vmc_image *img,
		     uint64_t max_bytes, struct vmc_error *err)
{
	memset(o, 0, sizeof(*o));
	o->img = img;
	o->size = img->size;
	o->max_bytes = max_bytes;
	(void)err;
	return 0;
}

void vmc_overlay_free(struct vmc_overlay *o)
{
	for (uint64_t i = 0; i < o->ndir; i++) {
		for (uint64_t j = 0; j < CHUNKS_PER_DIR; j++)
			free(o->dir[i].chunk[j]);
		free(o->dir[i].chunk);
	}
	free(o->dir);
	memset(o, 0, sizeof(*o));
}

/* The position of gib in the directory, or where it would go. */
static uint64_t gib_pos(const struct vmc_overlay *o, uint64_t gib)
{
	uint64_t lo = 0, hi = o->ndir;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (o->dir[mid].gib < gib)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint8_t **gib_table(const struct vmc_overlay *o, uint64_t gib)
{
	uint64_t i = gib_pos(o, gib);

	return i < o->ndir && o->dir[i].gib == gib ? o->dir[i].chunk : NULL;
}

static uint8_t *overlay_chunk(const struct vmc_overlay *o, uint64_t idx)
{
	uint8_t **d = gib_table(o, idx / CHUNKS_PER_DIR);

	return d ? d[idx % CHUNKS_PER_DIR] : NULL;
}

/* The chunk table of gib, made (and the directory grown) if needed. */
static uint8_t **gib_table_make(struct vmc_overlay *o, uint64_t gib,
				struct vmc_error *err)
{
	uint64_t i = gib_pos(o, gib);
	uint8_t **t;

	if (i < o->ndir && o->dir[i].gib == gib)
		return o->dir[i].chunk;
	/* tables have a cap of their own (as large as the copies'), so
	 * scattered writes cost at most twice the cap */
	if (o->table_bytes + TABLE_BYTES > o->max_bytes) {
		vmc_error_set(err, ENOSPC, "the guest wrote more than %llu MiB"
			      " to its disk (or across too many GiBs)",
			      (unsigned long long)(o->max_bytes >> 20));
		return NULL;
	}
	if (o->ndir == o->dir_cap) {
		uint64_t cap = o->dir_cap ? 2 * o->dir_cap : 4;
		void *n = realloc(o->dir, cap * sizeof(*o->dir));

		if (!n)
			goto oom;
		o->dir = n;
		o->dir_cap = cap;
	}
	t = calloc(CHUNKS_PER_DIR, sizeof(*t));
	if (!t)
		goto oom;
	memmove(o->dir + i + 1, o->dir + i, (o->ndir - i) * sizeof(*o->dir));
	o->dir[i].gib = gib;
	o->dir[i].chunk = t;
	o->ndir++;
	o->table_bytes += TABLE_BYTES;
	return t;
oom:
	vmc_error_set(err, ENOMEM, "no memory for the write overlay");
	return NULL;
}

static int overlay_check(const struct vmc_overlay *o, size_t len,
			 uint64_t off, struct vmc_error *err)
{
	uint64_t end;

	if (vmc_add_overflow(off, len, &end) || end > o->size)
		return vmc_error_set(err, EINVAL,
				     "%s: guest access past the end of the disk "
				     "(offset %llu, length %zu, disk size %llu)",
				     o->img->filename, (unsigned long long)off,
				     len, (unsigned long long)o->size);
	return 0;
}

int vmc_overlay_read(struct vmc_overlay *o, void *buf, size_t len,
		     uint64_t off, struct vmc_error *err)
{
	uint8_t *p = buf;

	if (overlay_check(o, len, off, err) < 0)
		return -1;
	while (len) {
		uint64_t idx = off / VMC_OVERLAY_CHUNK;
		size_t in = off % VMC_OVERLAY_CHUNK;
		size_t n = VMC_MIN(len, VMC_OVERLAY_CHUNK - in);
		const uint8_t *c = overlay_chunk(o, idx);

		/* Coalesce a run of chunks the guest never wrote. */
		if (!c) {
			uint64_t next = idx + 1;

			while (n < len && !overlay_chunk(o, next)) {
				n = VMC_MIN(len, n + VMC_OVERLAY_CHUNK);
				next++;
			}
			if (vmc_image_pread(o->img, p, n, off, err) < 0)
				return -1;
		} else {
			memcpy(p, c + in, n);
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmc_overlay_write(struct vmc_overlay *o, const void *buf, size_t len,
		      uint64_t off, struct vmc_error *err)
{
	const uint8_t *p = buf;

	if (overlay_check(o, len, off, err) < 0)
		return -1;
	while (len) {
		uint64_t idx = off / VMC_OVERLAY_CHUNK;
		size_t in = off % VMC_OVERLAY_CHUNK;
		size_t n = VMC_MIN(len, VMC_OVERLAY_CHUNK - in);
		uint8_t **dp, **cp;

		if (o->bytes + VMC_OVERLAY_CHUNK > o->max_bytes &&
		    !overlay_chunk(o, idx))
			return vmc_error_set(err, ENOSPC,
					     "the guest wrote more than %llu MiB to its disk",
					     (unsigned long long)(o->max_bytes >> 20));
		dp = gib_table_make(o, idx / CHUNKS_PER_DIR, err);
		if (!dp)
			return -1;
		cp = &dp[idx % CHUNKS_PER_DIR];
		if (!*cp) {
			uint64_t base = idx * VMC_OVERLAY_CHUNK;
			size_t clen = VMC_MIN(VMC_OVERLAY_CHUNK,
					      o->size - base);

			if (o->bytes + VMC_OVERLAY_CHUNK > o->max_bytes)
				return vmc_error_set(err, ENOSPC,
						     "the guest wrote more than %llu MiB to its disk",
						     (unsigned long long)(o->max_bytes >> 20));
			*cp = calloc(1, VMC_OVERLAY_CHUNK);
			if (!*cp)
				return vmc_error_set(err, ENOMEM,
						     "no memory for the write overlay");
			if (vmc_image_pread(o->img, *cp, clen, base, err) < 0) {
				free(*cp);
				*cp = NULL;
				return -1;
			}
			o->bytes += VMC_OVERLAY_CHUNK;
		}
		memcpy(*cp + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}
