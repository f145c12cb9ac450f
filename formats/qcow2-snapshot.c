/* qcow2 internal snapshots: the snapshot table, read-only.
 * qemu docs/interop/qcow2.txt, "Snapshots". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2.h"

#define SNAP_HEADER 40
#define MAX_TABLE_BYTES (64u << 20)	/* qemu's QCOW_MAX_SNAPSHOTS_SIZE */

static int read_entry(struct vmc_image *img, struct qcow2_state *s,
		      uint64_t *off, struct qcow2_snapshot *sn, uint32_t idx,
		      struct vmc_error *err)
{
	uint8_t h[SNAP_HEADER], *var = NULL;
	uint32_t extra, id_len, name_len, vlen;

	if (*off > s->file_size || SNAP_HEADER > s->file_size - *off)
		goto past_end;
	if (vmc_pread_full(s->fd, h, SNAP_HEADER, *off, img->filename,
			   err) < 0)
		return -1;
	sn->l1_offset = vmc_get_be64(h);
	sn->l1_size = vmc_get_be32(h + 8);
	id_len = vmc_get_be16(h + 12);
	name_len = vmc_get_be16(h + 14);
	sn->date_sec = vmc_get_be32(h + 16);
	sn->date_nsec = vmc_get_be32(h + 20);
	sn->vm_clock_nsec = vmc_get_be64(h + 24);
	sn->vm_state_size = vmc_get_be32(h + 32);
	extra = vmc_get_be32(h + 36);
	if (extra > QCOW2_MAX_SNAPSHOT_EXTRA)
		return vmc_error_set(err, EINVAL, "%s: snapshot %u at 0x%"
				     PRIx64 " has %u bytes of extra data"
				     " (at most %u)", img->filename, idx,
				     *off, extra, QCOW2_MAX_SNAPSHOT_EXTRA);
	vlen = extra + id_len + name_len;
	if (*off + SNAP_HEADER > s->file_size ||
	    vlen > s->file_size - *off - SNAP_HEADER)
		goto past_end;
	var = malloc(vlen + 1);
	if (!var)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(s->fd, var, vlen, *off + SNAP_HEADER,
			   img->filename, err) < 0)
		goto fail;
	if (extra >= 8)
		sn->vm_state_size = vmc_get_be64(var);
	if (extra >= 16) {
		sn->disk_size = vmc_get_be64(var + 8);
		sn->has_disk_size = true;
		if (sn->disk_size > (1ull << 62)) {
			vmc_error_set(err, EINVAL, "%s: snapshot %u at 0x%"
				      PRIx64 " has a disk size of %" PRIu64
				      " bytes", img->filename, idx, *off,
				      sn->disk_size);
			goto fail;
		}
	}
	if (extra >= 24) {
		sn->icount = vmc_get_be64(var + 16);
		sn->has_icount = sn->icount != UINT64_MAX;
	}
	sn->id = strndup((char *)var + extra, id_len);
	sn->name = strndup((char *)var + extra + id_len, name_len);
	if (!sn->id || !sn->name) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8 ||
	    (sn->l1_offset & (s->cluster_size - 1))) {
		vmc_error_set(err, EINVAL, "%s: snapshot '%s' has a bad L1"
			      " table (offset 0x%" PRIx64 ", %u entries)",
			      img->filename, sn->name, sn->l1_offset,
			      sn->l1_size);
		goto fail;
	}
	free(var);
	*off = VMC_ALIGN_UP(*off + SNAP_HEADER + vlen, 8);
	return 0;
past_end:
	return vmc_error_set(err, EINVAL, "%s: snapshot %u at 0x%" PRIx64
			     " is past the end of the file", img->filename,
			     idx, *off);
fail:
	free(var);
	return -1;
}

int qcow2_read_snapshots(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err)
{
	uint64_t off = s->snapshots_offset;

	if (!s->nb_snapshots)
		return 0;
	s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
	if (!s->snaps)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		if (read_entry(img, s, &off, &s->snaps[i], i, err) < 0)
			return -1;
		if (off - s->snapshots_offset > MAX_TABLE_BYTES)
			return vmc_error_set(err, EFBIG, "%s: snapshot table"
					     " larger than 64 MiB",
					     img->filename);
	}
	s->snapshots_bytes = off - s->snapshots_offset;
	return 0;
}

/* By id or by name, as qemu-img's -l takes either ("snapshot.id=ID" and
 * "snapshot.name=NAME" say which). */
int qcow2_find_snapshot(const struct qcow2_state *s, const char *name)
{
	bool by_id = true, by_name = true;

	if (!strncmp(name, "snapshot.id=", 12)) {
		name += 12;
		by_name = false;
	} else if (!strncmp(name, "snapshot.name=", 14)) {
		name += 14;
		by_id = false;
	}
	for (uint32_t i = 0; by_id && i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].id, name))
			return (int)i;
	for (uint32_t i = 0; by_name && i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].name, name))
			return (int)i;
	return -1;
}
