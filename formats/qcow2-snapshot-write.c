/* qcow2 internal snapshots written: create, apply (goto) and delete, as
 * qemu's block/qcow2-snapshot.c does them.
 * qemu docs/interop/qcow2.txt, "Snapshots" (the table: 40-byte entries
 * with 24 bytes of extra data, id, name, 8-byte aligned) and "Host
 * cluster management" (a snapshot's L1 copy raises the refcount of every
 * cluster the active L1 reaches). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "formats/qcow2-edit.h"

#define EXTRA 24	/* vm_state_size_large, disk_size, icount */

static size_t entry_bytes(const struct qcow2_snapshot *sn)
{
	return VMC_ALIGN_UP(40 + EXTRA + strlen(sn->id) + strlen(sn->name), 8);
}

static void put_entry(uint8_t *p, const struct qcow2_snapshot *sn,
		      uint64_t size)
{
	size_t il = strlen(sn->id), nl = strlen(sn->name);

	vmc_put_be64(p, sn->l1_offset);
	vmc_put_be32(p + 8, sn->l1_size);
	vmc_put_be16(p + 12, (uint16_t)il);
	vmc_put_be16(p + 14, (uint16_t)nl);
	vmc_put_be32(p + 16, sn->date_sec);
	vmc_put_be32(p + 20, sn->date_nsec);
	vmc_put_be64(p + 24, sn->vm_clock_nsec);
	vmc_put_be32(p + 32, (uint32_t)sn->vm_state_size);
	vmc_put_be32(p + 36, EXTRA);
	vmc_put_be64(p + 40, sn->vm_state_size);
	vmc_put_be64(p + 48, sn->has_disk_size ? sn->disk_size : size);
	vmc_put_be64(p + 56, sn->has_icount ? sn->icount : UINT64_MAX);
	memcpy(p + 64, sn->id, il);
	memcpy(p + 64 + il, sn->name, nl);
}

/* A new snapshot table for s->snaps[0..n): written to new clusters,
 * committed, named by the header, the old table freed. */
static int write_table(struct vmc_image *img, struct qcow2_state *s,
		       uint32_t n, struct vmc_error *err)
{
	uint64_t bytes = 0, host = 0, old = s->snapshots_offset;
	uint64_t old_bytes = s->snapshots_bytes;
	uint8_t *buf, f[12];
	int r = -1;

	for (uint32_t i = 0; i < n; i++)
		bytes += entry_bytes(&s->snaps[i]);
	if (bytes > (64u << 20))
		return vmc_error_set(err, EFBIG, "%s: the snapshot table would"
				     " be larger than 64 MiB", img->filename);
	buf = calloc(1, bytes ? bytes : 1);
	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0, p = 0; i < n; p += entry_bytes(&s->snaps[i++]))
		put_entry(buf + p, &s->snaps[i], s->virtual_size);
	if (qcow2_alloc_zeroed(img, s, bytes, &host, err) < 0 ||
	    (bytes && vmc_pwrite_full(s->fd, buf, bytes, host, img->filename,
				      err) < 0) ||
	    qcow2_rc_commit(img, s, err) < 0)
		goto out;
	vmc_put_be32(f, n);
	vmc_put_be64(f + 4, host);
	if (qcow2_header_put(img, s, 60, f, 12, err) < 0)
		goto out;
	s->nb_snapshots = n;
	s->snapshots_offset = host;
	s->snapshots_bytes = bytes;
	r = old_bytes ? qcow2_rc_add(img, s, old, old_bytes, -1, err) : 0;
out:
	free(buf);
	return r;
}

static int refuse(struct vmc_image *img, struct qcow2_state *s,
		  struct vmc_error *err)
{
	if (s->data_file_name)
		return vmc_error_set(err, ENOTSUP, "%s: internal snapshots"
				     " cannot be used with an external data"
				     " file", img->filename);
	if (s->extended_l2 || s->has_bitmaps)
		return vmc_error_set(err, ENOTSUP, "%s: snapshots of images"
				     " with %s are not supported by this"
				     " vmconv", img->filename, s->extended_l2 ?
				     "extended L2 entries" : "bitmaps");
	return 0;
}

/* The next numeric id, as qemu's find_new_snapshot_id. */
static char *new_id(const struct qcow2_state *s)
{
	unsigned long max = 0;
	char buf[24];

	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		unsigned long v = strtoul(s->snaps[i].id, NULL, 10);

		if (v > max)
			max = v;
	}
	snprintf(buf, sizeof(buf), "%lu", max + 1);
	return strdup(buf);
}

static int add_entry(struct vmc_image *img, struct qcow2_state *s,
		     const char *name, uint64_t l1_host, struct vmc_error *err)
{
	struct qcow2_snapshot *sn, *a;
	struct timespec now;

	a = realloc(s->snaps, (s->nb_snapshots + 1) * sizeof(*a));
	if (!a)
		return vmc_error_set(err, ENOMEM, "out of memory");
	s->snaps = a;
	sn = &a[s->nb_snapshots];
	memset(sn, 0, sizeof(*sn));
	clock_gettime(CLOCK_REALTIME, &now);
	sn->l1_offset = l1_host;
	sn->l1_size = s->l1_size;
	sn->date_sec = (uint32_t)now.tv_sec;
	sn->date_nsec = (uint32_t)(now.tv_nsec / 1000 * 1000);
	sn->disk_size = s->virtual_size;
	sn->has_disk_size = sn->has_icount = true;	/* icount 0 */
	sn->id = new_id(s);
	sn->name = strdup(name);
	if (!sn->id || !sn->name) {
		free(sn->id);
		free(sn->name);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	(void)img;
	return 0;
}

static int create_locked(struct vmc_image *img, struct qcow2_state *s,
			 const char *name, struct vmc_error *err)
{
	uint64_t host;
	uint32_t n = s->nb_snapshots;

	if (refuse(img, s, err) < 0)
		return -1;
	/* Checked before anything is written: one-bit refcounts cannot
	 * count a second reference (qemu fails there too, with EINVAL). */
	if (s->refcount_bits < 2)
		return vmc_error_set(err, EINVAL, "%s: refcount_bits=%u cannot"
				     " count shared clusters", img->filename,
				     s->refcount_bits);
	if (n >= QCOW2_MAX_SNAPSHOTS || strlen(name) > 65535)
		return vmc_error_set(err, EFBIG, "%s: too many snapshots or"
				     " too long a name", img->filename);
	/* The L1 copy, then every cluster it reaches counted once more. */
	if (qcow2_alloc_zeroed(img, s, (uint64_t)s->l1_size * 8, &host,
			       err) < 0 ||
	    qcow2_write_l1_at(img, s, s->l1, s->l1_size, host, err) < 0 ||
	    qcow2_rc_add_l1(img, s, s->l1, s->l1_size, 1, err) < 0 ||
	    qcow2_rc_commit(img, s, err) < 0)
		return -1;
	if (qcow2_fix_copied(img, s, err) < 0)
		return -1;
	if (add_entry(img, s, name, host, err) < 0)
		return -1;
	s->nb_snapshots = n + 1;	/* freed with the state */
	if (write_table(img, s, n + 1, err) < 0)
		return -1;
	return qcow2_rc_commit(img, s, err);
}

static int find(struct vmc_image *img, struct qcow2_state *s,
		const char *name, struct vmc_error *err)
{
	int i = qcow2_find_snapshot(s, name);

	if (i < 0)
		vmc_error_set(err, ENOENT, "%s: snapshot not found",
			      img->filename);
	return i;
}

static int delete_locked(struct vmc_image *img, struct qcow2_state *s,
			 const char *name, struct vmc_error *err)
{
	struct qcow2_snapshot sn;
	uint64_t *l1 = NULL;
	int i = find(img, s, name, err), r = -1;

	if (i < 0 || refuse(img, s, err) < 0)
		return -1;
	sn = s->snaps[i];
	if (qcow2_read_l1(img, s, sn.l1_offset, sn.l1_size, &l1, err) < 0)
		return -1;
	memmove(&s->snaps[i], &s->snaps[i + 1],
		(s->nb_snapshots - (uint32_t)i - 1) * sizeof(sn));
	s->snaps[s->nb_snapshots - 1] = sn;	/* freed with the state */
	/* Out of the table first: from then on its clusters only leak. */
	if (write_table(img, s, s->nb_snapshots - 1, err) < 0)
		goto out;
	s->nb_snapshots++;
	if (qcow2_rc_add_l1(img, s, l1, sn.l1_size, -1, err) < 0 ||
	    qcow2_rc_add(img, s, sn.l1_offset, (uint64_t)sn.l1_size * 8, -1,
			 err) < 0 ||
	    qcow2_rc_commit(img, s, err) < 0)
		goto out;
	r = qcow2_fix_copied(img, s, err);
out:
	free(l1);
	return r;
}

static int apply_locked(struct vmc_image *img, struct qcow2_state *s,
			const char *name, struct vmc_error *err)
{
	const struct qcow2_snapshot *sn;
	uint64_t *l1 = NULL, *old = NULL;
	uint32_t old_n = s->l1_size;
	uint8_t f[8];
	int i = find(img, s, name, err), r = -1;

	if (i < 0 || refuse(img, s, err) < 0)
		return -1;
	sn = &s->snaps[i];
	if (qcow2_read_l1(img, s, sn->l1_offset, sn->l1_size, &l1, err) < 0)
		return -1;
	if (qcow2_rc_add_l1(img, s, l1, sn->l1_size, 1, err) < 0 ||
	    qcow2_rc_commit(img, s, err) < 0)
		goto out;
	if (sn->l1_size > s->l1_size &&
	    qcow2_grow_l1(img, s, sn->l1_size, err) < 0)
		goto out;
	old = s->l1;
	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	if (!s->l1) {
		s->l1 = old;
		old = NULL;
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* Shared with the snapshot from now on: no OFLAG_COPIED. */
	for (uint32_t k = 0; k < sn->l1_size; k++)
		s->l1[k] = l1[k] & ~QCOW2_OFLAG_COPIED;
	if (qcow2_write_l1_at(img, s, s->l1, s->l1_size, s->l1_offset,
			      err) < 0 || qcow2_sync(img, s, err) < 0)
		goto out;
	if (sn->has_disk_size && sn->disk_size != s->virtual_size) {
		vmc_put_be64(f, sn->disk_size);
		if (qcow2_header_put(img, s, 24, f, 8, err) < 0)
			goto out;
		s->virtual_size = sn->disk_size;
	}
	/* The state left behind is no longer reached. */
	if (qcow2_rc_add_l1(img, s, old, VMC_MIN(old_n, s->l1_size), -1,
			    err) < 0 || qcow2_rc_commit(img, s, err) < 0)
		goto out;
	r = qcow2_fix_copied(img, s, err);
out:
	free(l1);
	free(old);
	return r;
}

typedef int (*snap_fn)(struct vmc_image *, struct qcow2_state *,
		       const char *, struct vmc_error *);

static int run(const char *path, const char *name, snap_fn fn,
	       struct vmc_error *err)
{
	struct vmc_image *img;
	int r;

	if (qcow2_edit_open(path, VMC_OPEN_NO_BACKING, &img, err) < 0)
		return -1;
	r = fn(img, img->opaque, name, err);
	vmc_image_close(img);
	return r;
}

int vmc_qcow2_snapshot_create(const char *path, const char *name,
			      struct vmc_error *err)
{
	return run(path, name, create_locked, err);
}

int vmc_qcow2_snapshot_apply(const char *path, const char *name,
			     struct vmc_error *err)
{
	return run(path, name, apply_locked, err);
}

int vmc_qcow2_snapshot_delete(const char *path, const char *name,
			      struct vmc_error *err)
{
	return run(path, name, delete_locked, err);
}
