/* The validated guest's disk: the image read through vmconv's format
 * drivers, with the guest's writes kept in memory in 4 KiB copies that are
 * thrown away with the run, so the image is never modified (it is opened
 * read-only and never written).  The copies are indexed by a two-level
 * table (one directory entry per GiB) allocated only where the guest
 * writes, and their total is capped so that a guest writing without end
 * fails its run instead of exhausting the host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define CHUNKS_PER_DIR ((1ULL << 30) / VMC_OVERLAY_CHUNK)

int vmc_overlay_init(struct vmc_overlay *o, struct vmc_image *img,
		     uint64_t max_bytes, struct vmc_error *err)
{
	memset(o, 0, sizeof(*o));
	o->img = img;
	o->size = img->size;
	o->max_bytes = max_bytes;
	o->ndir = VMC_DIV_ROUND_UP(o->size, 1ULL << 30);
	if (o->ndir) {
		o->dir = calloc(o->ndir, sizeof(*o->dir));
		if (!o->dir)
			return vmc_error_set(err, ENOMEM,
					     "%s: no memory for the write overlay",
					     img->filename);
	}
	return 0;
}

void vmc_overlay_free(struct vmc_overlay *o)
{
	for (uint64_t i = 0; i < o->ndir; i++) {
		if (!o->dir[i])
			continue;
		for (uint64_t j = 0; j < CHUNKS_PER_DIR; j++)
			free(o->dir[i][j]);
		free(o->dir[i]);
	}
	free(o->dir);
	memset(o, 0, sizeof(*o));
}

static uint8_t *overlay_chunk(const struct vmc_overlay *o, uint64_t idx)
{
	uint8_t **d = o->dir[idx / CHUNKS_PER_DIR];

	return d ? d[idx % CHUNKS_PER_DIR] : NULL;
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
		uint8_t ***dp = &o->dir[idx / CHUNKS_PER_DIR];
		uint8_t **cp;

		if (!*dp) {
			*dp = calloc(CHUNKS_PER_DIR, sizeof(**dp));
			if (!*dp)
				return vmc_error_set(err, ENOMEM,
						     "no memory for the write overlay");
		}
		cp = &(*dp)[idx % CHUNKS_PER_DIR];
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
