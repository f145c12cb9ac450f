/* VMDK: VMware "Virtual Disk Format 1.1" (descriptor files with their
 * extents, hosted sparse and stream-optimized extents; section "Layout of
 * a VMware Virtual Disk"), the 5.0 note's zeroed grains, ESX vmfs /
 * vmfsSparse extents and ESXi seSparse extents (read).  The core: probe,
 * open (extents and the parent chain), read, block status, info.
 * Parsing the descriptor is in vmdk-descriptor.c, the sparse kinds in
 * vmdk-sparse.c / vmdk-sesparse.c, writing in vmdk-create.c and
 * vmdk-stream.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>

#include "common/bytes.h"
#include "common/confine.h"
#include "formats/registry.h"
#include "formats/vmdk.h"

static int vmdk_probe(const uint8_t *buf, size_t len, const char *filename)
{
	const char *p = (const char *)buf, *end = p + len;

	(void)filename;
	if (len >= 4 && (vmc_get_le32(buf) == VMDK4_MAGIC ||
			 vmc_get_le32(buf) == VMDK3_MAGIC))
		return 100;
	if (len >= 8 && vmc_get_le64(buf) == SESPARSE_MAGIC)
		return 100;
	/* A descriptor: comments and blank lines, then "version=N". */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p == e || *p == '#') {
			if (!nl)
				return 0;
			p = nl + 1;
			continue;
		}
		if (e - p < 9 || strncmp(p, "version", 7))
			return 0;
		p += 7;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e || *p++ != '=')
			return 0;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p == '"')
			p++;
		return p < e && *p >= '1' && *p <= '3' ? 100 : 0;
	}
	return 0;
}

static void state_free(struct vmdk_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];

		vmdk_sparse_free(e);
		if (e->fd >= 0)
			vmc_file_close(e->fd);
		free(e->name);
		free(e->path);
	}
	free(s->ext);
	free(s->cbuf);
	free(s->inflate);
	while (s->n_idle > 0)
		free(s->idle[--s->n_idle]);
	vmdk_desc_free(&s->desc);
	vmc_image_close(s->parent);
	free(s->parent_path);
	free(s->parent_refusal);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void vmdk_close(struct vmc_image *img)
{
	struct vmdk_state *s = img->opaque;

	if (s && s->w)
		vmdk_writer_free(s->w);
	state_free(s);
}

static void close_lru(struct vmdk_state *s)
{
	if (!s->max_open) {
		struct rlimit rl;
		rlim_t m = VMDK_MAX_OPEN_FDS;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < m)
			m = rl.rlim_cur / 4;
		s->max_open = m < 4 ? 4 : (unsigned)m;
	}
	while (s->n_open > s->max_open) {
		struct vmdk_extent *old = NULL;

		for (size_t i = 0; i < s->n_ext; i++)
			if (s->ext[i].fd >= 0 && (!old ||
			    s->ext[i].last_use < old->last_use))
				old = &s->ext[i];
		if (!old)
			return;
		vmc_file_close(old->fd);
		old->fd = -1;
		s->n_open--;
	}
}

int vmdk_ext_fd(struct vmdk_extent *e, struct vmc_error *err)
{
	struct vmdk_state *s = e->st;

	e->last_use = ++s->tick;
	if (e->fd >= 0)
		return e->fd;
	e->fd = vmc_confine_open(e->path, O_RDONLY, e->own, err);
	if (e->fd < 0) {
		vmc_error_prefix(err, "cannot reopen extent");
		return -1;
	}
	s->n_open++;
	close_lru(s);
	return e->fd;
}

static int open_file(struct vmdk_extent *e, struct vmc_error *err)
{
	struct stat st;

	/* No FIFO, device or symbolic link among the named extents: see
	 * common/confine.h.  The image's own file may be a block device. */
	e->fd = vmc_confine_open(e->path, O_RDONLY, e->own, err);
	if (e->fd < 0)
		return -1;
	e->st->n_open++;
	e->last_use = ++e->st->tick;
	if (vmc_file_fstat(e->fd, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot stat",
				       e->path);
	e->file_size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = vmc_file_lseek(e->fd, 0, SEEK_END);

		e->file_size = end > 0 ? (uint64_t)end : 0;
	}
	return 0;
}

static struct vmdk_extent *add_extent(struct vmdk_state *s,
				      struct vmc_error *err)
{
	struct vmdk_extent *n = s->ext;

	/* Powers of two: tens of thousands of extents in linear time. */
	if (!s->n_ext || !(s->n_ext & (s->n_ext - 1)))
		n = realloc(s->ext, (s->n_ext ? 2 * s->n_ext : 1) *
				    sizeof(*n));
	if (!n) {
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	s->ext = n;
	n = &s->ext[s->n_ext++];
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->st = s;
	return n;
}

static int open_desc_extent(struct vmdk_state *s, const char *filename,
			    const struct vmdk_desc_extent *d, uint64_t start,
			    struct vmc_error *err)
{
	struct vmdk_extent *e = add_extent(s, err);
	uint64_t end;

	if (!e)
		return -1;
	e->dtype = d->type;
	e->access = d->access;
	e->start = start;
	e->len = d->sectors * VMDK_SECTOR;
	if (d->type == VMDK_EXT_ZERO) {
		e->kind = VMDK_K_ZERO;
		return 0;
	}
	if (d->access == VMDK_NOACCESS) {
		e->kind = VMDK_K_NOACCESS;
		e->name = strdup(d->file);
		return e->name ? 0 : vmc_error_set(err, ENOMEM,
						   "out of memory");
	}
	e->name = strdup(d->file);
	if (!e->name)
		return vmc_error_set(err, ENOMEM, "out of memory");
	e->path = vmc_confine_resolve(filename, "extent", d->file, err);
	if (!e->path || open_file(e, err) < 0)
		return -1;
	switch (d->type) {
	case VMDK_EXT_FLAT:
	case VMDK_EXT_VMFS:
	case VMDK_EXT_VMFSRAW:
	case VMDK_EXT_VMFSRDM:
		e->kind = VMDK_K_FLAT;
		if (vmc_mul_overflow(d->offset, VMDK_SECTOR, &e->flat_off) ||
		    vmc_add_overflow(e->flat_off, e->len, &end) ||
		    end > e->file_size)
			return vmc_error_set(err, EINVAL,
				"%s: flat extent needs %" PRIu64 " bytes from"
				" offset %" PRIu64 " but the file has %" PRIu64,
				e->path, e->len, d->offset * VMDK_SECTOR,
				e->file_size);
		return 0;
	case VMDK_EXT_SPARSE:
		if (vmdk_sparse_open(e, NULL, err) < 0)
			return -1;
		break;
	case VMDK_EXT_VMFSSPARSE:
		if (vmdk_cowd_open(e, err) < 0)
			return -1;
		break;
	case VMDK_EXT_SESPARSE:
		if (vmdk_sesparse_open(e, err) < 0)
			return -1;
		break;
	default:
		break;
	}
	if (e->capacity < e->len)
		return vmc_error_set(err, EINVAL,
			"%s: extent holds %" PRIu64 " sectors but the"
			" descriptor gives it %" PRIu64, e->path,
			e->capacity / VMDK_SECTOR, d->sectors);
	return 0;
}

static int open_parent(struct vmc_image *img, struct vmdk_state *s,
		       struct vmc_error *err)
{
	const char *hint = s->desc.parent_hint;
	const char *base;
	struct vmdk_state *ps;
	struct vmc_error e;

	if (!hint)
		return 0;
	if (hint[0] && hint[1] == ':') {
		/* A Windows path: try its last component beside us. */
		base = strrchr(hint, '\\');
		hint = base ? base + 1 : hint;
	}
	s->parent_path = vmc_confine_resolve(img->filename,
					     "parentFileNameHint", hint, &e);
	if (!s->parent_path && strchr(hint, '/')) {
		/* ESXi writes absolute /vmfs/volumes/... hints; a copied
		 * chain keeps its files side by side. */
		struct vmc_error e2;

		base = strrchr(hint, '/') + 1;
		s->parent_path = vmc_confine_resolve(img->filename,
			"parentFileNameHint", base, &e2);
		if (!s->parent_path && e.code == ENOENT)
			e = e2;
	}
	if (img->flags & VMC_OPEN_NO_BACKING) {
		/* info: the name is all; a refusal is shown, not fatal. */
		if (!s->parent_path) {
			s->parent_refusal = strdup(e.msg);
			s->parent_path = vmc_path_relative_to(img->filename,
							      hint);
		}
		return s->parent_path ? 0 : vmc_error_set(err, ENOMEM,
							  "out of memory");
	}
	if (!s->parent_path) {
		if (err)
			*err = e;
		return -1;
	}
	s->parent = vmc_image_open(s->parent_path, NULL,
				   img->flags & ~VMC_OPEN_RDWR, NULL, err);
	if (!s->parent) {
		vmc_error_prefix(err, "%s: parent '%s'", img->filename,
				 s->desc.parent_hint);
		return -1;
	}
	if (s->parent->drv == &vmc_vmdk_driver) {
		ps = s->parent->opaque;
		if (ps->desc.have_cid && s->desc.parent_cid != ps->desc.cid)
			return vmc_error_set(err, EINVAL,
				"%s: parentCID %08" PRIx32 " does not match"
				" the CID %08" PRIx32 " of parent %s (the"
				" parent was changed after this snapshot)",
				img->filename, s->desc.parent_cid,
				ps->desc.cid, s->parent_path);
	}
	return 0;
}

/* A file that is itself one extent: sparse with or without an embedded
 * descriptor, COWD or seSparse. */
static int open_single(struct vmc_image *img, struct vmdk_state *s,
		       const char *filename, uint32_t magic32,
		       struct vmc_error *err)
{
	struct vmdk_extent *e = add_extent(s, err);
	char *desc = NULL;
	int r;

	if (!e)
		return -1;
	e->path = strdup(filename);
	e->name = strdup(filename);
	e->own = true;
	if (!e->path || !e->name)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (open_file(e, err) < 0)
		return -1;
	e->access = VMDK_RW;
	if (magic32 == VMDK4_MAGIC) {
		e->dtype = VMDK_EXT_SPARSE;
		r = vmdk_sparse_open(e, &desc, err);
	} else if (magic32 == VMDK3_MAGIC) {
		e->dtype = VMDK_EXT_VMFSSPARSE;
		r = vmdk_cowd_open(e, err);
	} else {
		e->dtype = VMDK_EXT_SESPARSE;
		r = vmdk_sesparse_open(e, err);
	}
	if (r < 0) {
		free(desc);
		return -1;
	}
	e->len = e->capacity;
	img->size = e->len;
	if (desc) {
		r = vmdk_desc_parse(&s->desc, desc, strlen(desc), filename,
				    err);
		free(desc);
		if (r < 0)
			return -1;
		s->embedded = true;
	}
	return 0;
}

static int vmdk_open(struct vmc_image *img, const char *filename,
		     struct vmc_opts *opts, struct vmc_error *err)
{
	struct vmdk_state *s = calloc(1, sizeof(*s));
	uint8_t head[8] = { 0 };
	uint64_t off = 0;
	struct stat st;
	char *text = NULL;
	ssize_t n;
	int fd;

	(void)opts;
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	img->opaque = s;
	if (img->flags & VMC_OPEN_RDWR) {
		vmc_error_set(err, ENOTSUP,
			"%s: vmdk images are opened read-only (in-place"
			" repair is not supported)", filename);
		goto fail;
	}
	fd = vmc_confine_open(filename, O_RDONLY, true, err);
	if (fd < 0)
		goto fail;
	if (vmc_file_fstat(fd, &st) < 0 ||
	    (n = vmc_file_pread(fd, head, 8, 0)) < 0) {
		vmc_error_errno(err, errno, "%s: cannot read", filename);
		vmc_file_close(fd);
		goto fail;
	}
	if ((n >= 4 && (vmc_get_le32(head) == VMDK4_MAGIC ||
			vmc_get_le32(head) == VMDK3_MAGIC)) ||
	    (n >= 8 && vmc_get_le64(head) == SESPARSE_MAGIC)) {
		vmc_file_close(fd);
		if (open_single(img, s, filename, vmc_get_le32(head),
				err) < 0)
			goto fail;
		goto parent;
	}
	if ((uint64_t)st.st_size > VMDK_DESC_MAX) {
		vmc_error_set(err, EFBIG,
			"%s: not a sparse extent, and too large (%" PRIu64
			" bytes) for a descriptor file (at most %u)",
			filename, (uint64_t)st.st_size, VMDK_DESC_MAX);
		vmc_file_close(fd);
		goto fail;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		vmc_error_set(err, ENOMEM, "out of memory");
		vmc_file_close(fd);
		goto fail;
	}
	if (vmc_pread_full(fd, text, (size_t)st.st_size, 0, filename,
			   err) < 0) {
		vmc_file_close(fd);
		goto fail;
	}
	vmc_file_close(fd);
	if (vmdk_desc_parse(&s->desc, text, (size_t)st.st_size, filename,
			    err) < 0)
		goto fail;
	free(text);
	text = NULL;
	if (s->desc.n_ext == 0) {
		vmc_error_set(err, EINVAL, "%s: descriptor lists no extents",
			      filename);
		goto fail;
	}
	for (size_t i = 0; i < s->desc.n_ext; i++) {
		uint64_t len = s->desc.ext[i].sectors * VMDK_SECTOR;

		if (open_desc_extent(s, filename, &s->desc.ext[i], off,
				     err) < 0) {
			vmc_error_prefix(err, "%s: extent %zu", filename,
					 i + 1);
			goto fail;
		}
		close_lru(s);
		if (vmc_add_overflow(off, len, &off) || off > INT64_MAX) {
			vmc_error_set(err, EFBIG,
				"%s: extents add up to more than 2^63 bytes",
				filename);
			goto fail;
		}
	}
	img->size = off;
parent:
	for (size_t i = 0; i < s->n_ext; i++)
		if (s->ext[i].grain > s->max_grain)
			s->max_grain = s->ext[i].grain;
	if (open_parent(img, s, err) < 0)
		goto fail;
	return 0;
fail:
	free(text);
	state_free(s);
	img->opaque = NULL;
	return -1;
}

/* The extent holding guest offset off (off < img->size). */
static struct vmdk_extent *find_extent(struct vmdk_state *s, uint64_t off)
{
	size_t lo = 0, hi = s->n_ext;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (s->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	while (lo < s->n_ext && s->ext[lo].len == 0)
		lo++;
	return &s->ext[lo];
}

static int noaccess(struct vmc_image *img, struct vmdk_extent *e,
		    struct vmc_error *err)
{
	return vmc_error_set(err, EACCES,
		"%s: extent '%s' at offset 0x%" PRIx64 " is NOACCESS",
		img->filename, e->name ? e->name : "", e->start);
}

/* The next grain after rel whose mapping may differ: a grain table that
 * does not exist is skipped whole, so that a huge empty disk is walked
 * in few steps. */
static uint64_t next_grain(struct vmdk_extent *e, uint64_t rel)
{
	uint64_t span = e->grain * e->gtes, gdi = rel / span;

	if (gdi < e->n_gd && !e->gd[gdi])
		return (gdi + 1) * span;
	return VMC_ALIGN_DOWN(rel, e->grain) + e->grain;
}

/* Block status inside one sparse extent from rel, at most max bytes. */
static int sparse_status(struct vmc_image *img, struct vmdk_state *s,
			 struct vmdk_extent *e, uint64_t rel, uint64_t max,
			 struct vmc_extent *ext, struct vmc_error *err)
{
	enum vmdk_map_kind k0, k;
	uint64_t foff, p = rel, len;
	unsigned steps = 0;

	if (vmdk_sparse_lookup(e, p, &k0, &foff, err) < 0)
		return -1;
	if (k0 == VMDK_MAP_COMPRESSED)
		k0 = VMDK_MAP_DATA;
	p = next_grain(e, p);
	while (p < rel + max && steps++ < 65536) {
		uint64_t end;

		if (k0 == VMDK_MAP_UNALLOC) {
			if (vmdk_unalloc_end(e, p, &end, err) < 0)
				return -1;
			if (end > p) {
				p = end;
				continue;
			}
		}
		if (vmdk_sparse_lookup(e, p, &k, &foff, err) < 0)
			return -1;
		if (k == VMDK_MAP_COMPRESSED)
			k = VMDK_MAP_DATA;
		if (k != k0)
			break;
		p = next_grain(e, p);
	}
	len = VMC_MIN(p - rel, max);
	ext->offset = e->start + rel;
	ext->length = len;
	if (k0 == VMDK_MAP_DATA) {
		ext->kind = VMC_EXTENT_DATA;
	} else if (k0 == VMDK_MAP_ZERO) {
		ext->kind = VMC_EXTENT_ZERO;
	} else if (!s->parent || e->start + rel >= s->parent->size) {
		/* A parent smaller than the child reads as zeros past its
		 * end, as qemu does. */
		ext->kind = VMC_EXTENT_UNALLOCATED;
	} else {
		uint64_t off = e->start + rel;

		len = VMC_MIN(len, s->parent->size - off);
		if (vmc_image_block_status(s->parent, off, len, ext, err) < 0)
			return -1;
	}
	return 0;
}

static int vmdk_block_status(struct vmc_image *img, uint64_t off,
			     uint64_t max_len, struct vmc_extent *ext,
			     struct vmc_error *err)
{
	struct vmdk_state *s = img->opaque;
	struct vmdk_extent *e = find_extent(s, off);
	uint64_t rel = off - e->start;
	uint64_t max = VMC_MIN(max_len, e->len - rel);
	int r = 0;

	*ext = (struct vmc_extent){ off, max, VMC_EXTENT_DATA };
	switch (e->kind) {
	case VMDK_K_ZERO:
		ext->kind = VMC_EXTENT_ZERO;
		return 0;
	case VMDK_K_NOACCESS:
		return noaccess(img, e, err);
	case VMDK_K_FLAT: {
		off_t a = (off_t)(e->flat_off + rel), d, h;
		int fd;

		/* The lock keeps fd from being closed for another extent
		 * while it is in use. */
		pthread_mutex_lock(&s->lock);
		fd = vmdk_ext_fd(e, err);
		if (fd < 0) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		d = vmc_file_lseek(fd, a, SEEK_DATA);
		if (d < 0 && errno == ENXIO) {
			ext->kind = VMC_EXTENT_ZERO;
		} else if (d > a) {
			ext->kind = VMC_EXTENT_ZERO;
			ext->length = VMC_MIN(max, (uint64_t)(d - a));
		} else if (d == a) {
			h = vmc_file_lseek(fd, a, SEEK_HOLE);
			if (h > a)
				ext->length = VMC_MIN(max, (uint64_t)(h - a));
		}
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	default:
		pthread_mutex_lock(&s->lock);
		r = sparse_status(img, s, e, rel, max, ext, err);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
}

/* A compressed grain that the read covers from its start to its end (or
 * to the extent's): its bytes are read under the lock and inflated
 * outside it, so that threads reading at once inflate on every core.
 * 1 done, 0 not such a read, -1 error. */
static int read_grain_whole(struct vmdk_state *s, struct vmdk_extent *e,
			    uint64_t foff, uint64_t g0, uint8_t *buf,
			    size_t n, struct vmc_error *err)
{
	bool direct = n == e->grain;
	struct inflate_state *st;
	uint8_t *cdata = NULL, *tmp = NULL;
	uint64_t clen, at;
	int r = -1;

	if (!direct && g0 + n != e->len)
		return 0;
	st = s->n_idle > 0 ? s->idle[--s->n_idle] : malloc(sizeof(*st));
	if (!direct)
		tmp = malloc(e->grain);
	if (!st || (!direct && !tmp)) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	r = vmdk_fetch_grain(e, foff, e->start + g0, &cdata, &clen, &at, err);
	if (r == 0) {
		pthread_mutex_unlock(&s->lock);
		r = vmdk_inflate_grain(e, at, cdata, clen, direct ? buf : tmp,
				       st, err);
		pthread_mutex_lock(&s->lock);
	}
	if (r == 0 && !direct)
		memcpy(buf, tmp, n);
out:
	free(cdata);
	free(tmp);
	if (st && s->n_idle < VMDK_INFLATERS)
		s->idle[s->n_idle++] = st;
	else
		free(st);
	return r < 0 ? -1 : 1;
}

/* Read from extent-relative rel of a sparse extent: the run of grains
 * that map the same way (contiguous in the file for data), at most max
 * bytes; *done says how much. */
static int sparse_read(struct vmc_image *img, struct vmdk_state *s,
		       struct vmdk_extent *e, uint8_t *buf, size_t max,
		       uint64_t rel, size_t *done, struct vmc_error *err)
{
	enum vmdk_map_kind k, k2;
	uint64_t foff, f2, in = rel % e->grain, g0 = rel - in;
	size_t n = (size_t)VMC_MIN(max, e->grain - in);

	(void)img;
	if (vmdk_sparse_lookup(e, rel, &k, &foff, err) < 0)
		return -1;
	if (k == VMDK_MAP_COMPRESSED && in == 0) {
		int r = read_grain_whole(s, e, foff, g0, buf, n, err);

		if (r != 0) {
			*done = n;
			return r < 0 ? -1 : 0;
		}
	}
	if (k == VMDK_MAP_COMPRESSED) {
		if (!s->cbuf || s->cbuf_ext != e || s->cbuf_grain != g0) {
			if (!s->cbuf && !(s->cbuf = malloc(s->max_grain)))
				return vmc_error_set(err, ENOMEM,
						     "out of memory");
			if (!s->inflate &&
			    !(s->inflate = malloc(sizeof(*s->inflate))))
				return vmc_error_set(err, ENOMEM,
						     "out of memory");
			s->cbuf_ext = NULL;
			if (vmdk_read_compressed(e, foff, e->start + g0,
						 s->cbuf, s->inflate, err) < 0)
				return -1;
			s->cbuf_ext = e;
			s->cbuf_grain = g0;
		}
		memcpy(buf, s->cbuf + in, n);
		*done = n;
		return 0;
	}
	/* Whole grains that follow and map the same way join the run. */
	while (n < max) {
		if (vmdk_sparse_lookup(e, rel + n, &k2, &f2, err) < 0)
			return -1;
		if (k2 != k || (k == VMDK_MAP_DATA && f2 != foff + in + n))
			break;
		n += (size_t)VMC_MIN(e->grain, max - n);
	}
	*done = n;
	switch (k) {
	case VMDK_MAP_DATA: {
		int fd = vmdk_ext_fd(e, err);

		return fd < 0 ? -1 : vmc_pread_full(fd, buf, n, foff + in,
						    e->path, err);
	}
	case VMDK_MAP_UNALLOC: {
		uint64_t off = e->start + rel;
		size_t p = 0;

		if (s->parent && off < s->parent->size)
			p = (size_t)VMC_MIN(n, s->parent->size - off);
		if (p && vmc_image_pread(s->parent, buf, p, off, err) < 0)
			return -1;
		memset(buf + p, 0, n - p);
		return 0;
	}
	default:
		memset(buf, 0, n);
		return 0;
	}
}

static int vmdk_pread(struct vmc_image *img, void *buf, size_t len,
		      uint64_t off, struct vmc_error *err)
{
	struct vmdk_state *s = img->opaque;
	uint8_t *p = buf;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	while (len > 0 && r == 0) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t rel = off - e->start;
		size_t n = (size_t)VMC_MIN(len, e->len - rel);

		switch (e->kind) {
		case VMDK_K_ZERO:
			memset(p, 0, n);
			break;
		case VMDK_K_NOACCESS:
			r = noaccess(img, e, err);
			break;
		case VMDK_K_FLAT:
			r = vmdk_ext_fd(e, err);
			if (r >= 0)
				r = vmc_pread_full(r, p, n, e->flat_off + rel,
						   e->path, err);
			break;
		default:
			r = sparse_read(img, s, e, p, n, rel, &n, err);
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static const char *kind_format(const struct vmdk_extent *e)
{
	return vmdk_ext_type_name(e->dtype);
}

/* An extent opened on its own has no descriptor: name its kind. */
static const char *create_type(const struct vmdk_state *s)
{
	const struct vmdk_extent *e = s->n_ext ? &s->ext[0] : NULL;

	if (s->desc.create_type)
		return s->desc.create_type;
	if (e && e->kind == VMDK_K_SESPARSE)
		return "seSparse";
	if (e && e->kind == VMDK_K_COWD)
		return "vmfsSparse";
	if (e && e->compressed && e->markers)
		return "streamOptimized";
	return "monolithicSparse";
}

/* The CID chain from p up: each parent with the CIDs that tie it to its
 * child.  NULL when out of memory. */
static json_t *parent_chain(struct vmc_image *p)
{
	json_t *chain = json_array();

	if (!chain)
		return NULL;
	for (; p; p = p->drv == &vmc_vmdk_driver ?
		   ((struct vmdk_state *)p->opaque)->parent : NULL) {
		json_t *c = json_object();

		if (!c) {
			json_decref(chain);
			return NULL;
		}
		json_object_set_new(c, "filename", json_string(p->filename));
		json_object_set_new(c, "format", json_string(p->drv->name));
		if (p->drv == &vmc_vmdk_driver) {
			struct vmdk_state *ps = p->opaque;

			json_object_set_new(c, "cid", json_integer(
				ps->desc.have_cid ? ps->desc.cid : 0));
			json_object_set_new(c, "parent-cid",
				json_integer(ps->desc.parent_cid));
			json_object_set_new(c, "create-type",
				json_string(create_type(ps)));
		}
		json_array_append_new(chain, c);
	}
	return chain;
}

/* One extent as info shows it (qemu-img's keys). */
static json_t *extent_json(const struct vmdk_extent *e)
{
	json_t *x = json_object();

	if (!x)
		return NULL;
	json_object_set_new(x, "filename", json_string(
		e->path ? e->path : ""));
	json_object_set_new(x, "format", json_string(kind_format(e)));
	json_object_set_new(x, "access", json_string(
		vmdk_access_name(e->access)));
	json_object_set_new(x, "virtual-size",
			    json_integer((json_int_t)e->len));
	if (e->grain)
		json_object_set_new(x, "cluster-size",
			json_integer((json_int_t)e->grain));
	if (e->kind == VMDK_K_SPARSE) {
		json_object_set_new(x, "compressed",
				    json_boolean(e->compressed));
		json_object_set_new(x, "version", json_integer(e->version));
	}
	if (e->kind == VMDK_K_FLAT && e->flat_off)
		json_object_set_new(x, "offset",
			json_integer((json_int_t)e->flat_off));
	return x;
}

static int vmdk_info(struct vmc_image *img, json_t *obj,
		     struct vmc_error *err)
{
	struct vmdk_state *s = img->opaque;
	json_t *data = json_object(), *exts = json_array(), *fs;
	struct vmc_image *tmp_parent = NULL;
	const char *v;
	int64_t actual = 0;

	if (!data || !exts)
		goto oom;
	json_object_set_new(data, "cid", json_integer(s->desc.have_cid ?
						      s->desc.cid : 0));
	json_object_set_new(data, "parent-cid",
			    json_integer(s->desc.parent_cid));
	json_object_set_new(data, "create-type",
			    json_string(create_type(s)));
	if ((v = vmdk_desc_get(&s->desc, "ddb.adapterType")))
		json_object_set_new(data, "adapter-type", json_string(v));
	if ((v = vmdk_desc_get(&s->desc, "ddb.virtualHWVersion")))
		json_object_set_new(data, "hardware-version",
				    json_string(v));
	if ((v = vmdk_desc_get(&s->desc, "ddb.uuid")))
		json_object_set_new(data, "uuid", json_string(v));
	if (s->desc.encoding)
		json_object_set_new(data, "encoding",
				    json_string(s->desc.encoding));
	/* As qemu-img counts it: the descriptor file, then each extent. */
	if (!s->embedded && img->filename) {
		struct stat st;

		if (stat(img->filename, &st) == 0)
			actual = (int64_t)st.st_blocks * 512;
	}
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		json_t *x = extent_json(e);
		struct stat st;
		bool seen = false;

		if (!x)
			goto oom;
		json_array_append_new(exts, x);
		for (size_t j = 0; j < i; j++)
			seen |= s->ext[j].path && e->path &&
				!strcmp(s->ext[j].path, e->path);
		if (!seen && e->path && stat(e->path, &st) == 0)
			actual += (int64_t)st.st_blocks * 512;
	}
	json_object_set_new(data, "extents", exts);
	exts = NULL;
	if (!s->parent && s->parent_refusal) {
		json_object_set_new(data, "parent-error",
				    json_string(s->parent_refusal));
	} else if (!s->parent && s->parent_path) {
		/* Opened without its parents (as info does): look at the
		 * chain now if it is there; a missing parent is no error
		 * for info. */
		struct vmc_error perr;

		tmp_parent = vmc_image_open(s->parent_path, NULL, 0, NULL,
					    &perr);
		if (!tmp_parent)
			json_object_set_new(data, "parent-error",
					    json_string(perr.msg));
	}
	if (s->parent || tmp_parent) {
		/* The CID chain: each parent with the CIDs that tie it to
		 * its child. */
		json_t *chain = parent_chain(s->parent ? s->parent :
						    tmp_parent);

		if (!chain)
			goto oom;
		json_object_set_new(data, "parents", chain);
	}
	vmc_image_close(tmp_parent);
	tmp_parent = NULL;
	fs = json_object();
	if (!fs)
		goto oom;
	json_object_set_new(fs, "type", json_string("vmdk"));
	json_object_set_new(fs, "data", data);
	data = NULL;
	json_object_set_new(obj, "format-specific", fs);
	if (s->n_ext && s->ext[0].grain)
		json_object_set_new(obj, "cluster-size",
			json_integer((json_int_t)s->ext[0].grain));
	if (!s->embedded || s->n_ext > 1)
		json_object_set_new(obj, "actual-size", json_integer(actual));
	if (s->desc.parent_hint) {
		json_object_set_new(obj, "backing-filename",
				    json_string(s->desc.parent_hint));
		if (s->parent_path)
			json_object_set_new(obj, "full-backing-filename",
					    json_string(s->parent_path));
		json_object_set_new(obj, "backing-filename-format",
				    json_string("vmdk"));
	}
	return 0;
oom:
	vmc_image_close(tmp_parent);
	json_decref(data);
	json_decref(exts);
	return vmc_error_set(err, ENOMEM, "out of memory");
}

const struct vmc_driver vmc_vmdk_driver = {
	.abi_version = VMC_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct vmc_driver),
	.name = "vmdk",
	.description = "VMware VMDK (sparse, flat, split, streamOptimized,"
		       " vmfs, seSparse read)",
	.extension = "vmdk",
	.probe = vmdk_probe,
	.open = vmdk_open,
	.close = vmdk_close,
	.pread = vmdk_pread,
	.block_status = vmdk_block_status,
	.create = vmdk_create,
	.measure = vmdk_measure,
	.pwrite = vmdk_write,
	.pwrite_zeroes = vmdk_write_zeroes,
	.compress = vmdk_stream_compress,
	.pwrite_compressed = vmdk_stream_write_compressed,
	.flush = vmdk_write_flush,
	.check = vmdk_check,
	.info = vmdk_info,
	.create_opts = vmdk_create_opts,
	.thread_model = VMC_THREAD_PARALLEL_READ,
	.qemu_name = "vmdk",
	.target_bus = VMC_TARGET_BUS_IDE,
};
