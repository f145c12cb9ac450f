/* qcow2 persistent dirty bitmaps, for info only: the bitmap directory
 * named by the bitmaps header extension.  qemu docs/interop/qcow2.txt,
 * "Bitmaps extension" and "Bitmap directory".  The bitmaps' clusters are
 * counted by qcow2-check.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "formats/qcow2.h"

#define MAX_DIR_BYTES (64u << 20)	/* qemu: 64 KiB entries * 1 KiB */

json_t *qcow2_bitmaps_json(struct vmc_image *img, struct qcow2_state *s)
{
	uint64_t dsz = s->bitmap_dir_size, p = 0;
	struct vmc_error err;
	json_t *a;
	uint8_t *dir;

	if (!s->has_bitmaps || !(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS) ||
	    !dsz || dsz > MAX_DIR_BYTES ||
	    s->bitmap_dir_offset > s->file_size ||
	    dsz > s->file_size - s->bitmap_dir_offset)
		return NULL;
	dir = malloc(dsz);
	if (!dir)
		return NULL;
	if (vmc_pread_full(s->fd, dir, dsz, s->bitmap_dir_offset,
			   img->filename, &err) < 0) {
		free(dir);
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; i < s->nb_bitmaps && p + 24 <= dsz; i++) {
		uint32_t flags = vmc_get_be32(dir + p + 12);
		unsigned gbits = dir[p + 17];
		uint32_t nlen = vmc_get_be16(dir + p + 18);
		uint32_t extra = vmc_get_be32(dir + p + 20);
		json_t *o = json_object(), *f = json_array();

		if (p + 24 + (uint64_t)extra + nlen > dsz || gbits > 63) {
			json_decref(o);
			json_decref(f);
			break;
		}
		if (flags & 1)
			json_array_append_new(f, json_string("in-use"));
		if (flags & 2)
			json_array_append_new(f, json_string("auto"));
		json_object_set_new(o, "flags", f);
		json_object_set_new(o, "name", json_stringn(
			(const char *)dir + p + 24 + extra, nlen));
		json_object_set_new(o, "granularity",
				    json_integer((json_int_t)1 << gbits));
		json_array_append_new(a, o);
		p += VMC_ALIGN_UP(24 + (uint64_t)extra + nlen, 8);
	}
	free(dir);
	return a;
}
