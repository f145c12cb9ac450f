/* VHDX metadata region: [MS-VHDX] 2.6 Metadata Region (2.6.1 table, 2.6.2
 * known items, 2.6.2.6 parent locator).  Items are found by GUID, never by
 * their place in the table. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "formats/vhdx.h"

const vhdx_guid vhdx_guid_file_params = VHDX_GUID(0xCAA16737, 0xFA36,
	0x4D43, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B);
const vhdx_guid vhdx_guid_disk_size = VHDX_GUID(0x2FA54224, 0xCD1B, 0x4876,
	0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8);
const vhdx_guid vhdx_guid_page83 = VHDX_GUID(0xBECA12AB, 0xB2E6, 0x4523,
	0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46);
const vhdx_guid vhdx_guid_logical_ss = VHDX_GUID(0x8141BF1D, 0xA96F, 0x4709,
	0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F);
const vhdx_guid vhdx_guid_physical_ss = VHDX_GUID(0xCDA348C7, 0x445D,
	0x4471, 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56);
const vhdx_guid vhdx_guid_parent_loc = VHDX_GUID(0xA8D35F2D, 0xB30B, 0x454D,
	0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C);
const vhdx_guid vhdx_guid_locator_type = VHDX_GUID(0xB04AEFB7, 0xD19E,
	0x4A81, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13);

enum { M_PARAMS, M_SIZE, M_PAGE83, M_LSS, M_PSS, M_PARENT, M_COUNT };

static const struct {
	const uint8_t *guid;
	const char *name;
	uint32_t len;		/* exact length, 0 = variable */
} known[M_COUNT] = {
	[M_PARAMS] = { vhdx_guid_file_params, "file parameters", 8 },
	[M_SIZE] = { vhdx_guid_disk_size, "virtual disk size", 8 },
	[M_PAGE83] = { vhdx_guid_page83, "page 83 data", 16 },
	[M_LSS] = { vhdx_guid_logical_ss, "logical sector size", 4 },
	[M_PSS] = { vhdx_guid_physical_ss, "physical sector size", 4 },
	[M_PARENT] = { vhdx_guid_parent_loc, "parent locator", 0 },
};

void vhdx_locator_free(struct vhdx_parent_locator *l)
{
	free(l->parent_linkage);
	free(l->parent_linkage2);
	free(l->relative_path);
	free(l->volume_path);
	free(l->absolute_win32_path);
	memset(l, 0, sizeof(*l));
}

/* "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}": a linkage GUID as 2.6.2.6.1
 * stores it (and as the parent's DataWriteGuid is compared with it). */
static bool guid_string(const char *v)
{
	static const char form[] = "{........-....-....-....-............}";

	if (strlen(v) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == '.' ? !isxdigit((unsigned char)v[i]) :
				     v[i] != form[i])
			return false;
	return true;
}

static int check_linkage_form(const struct vhdx_state *s, const char *key,
			      const char *v, uint64_t where,
			      struct vmc_error *err)
{
	if (!v || guid_string(v))
		return 0;
	return vmc_error_set(err, EINVAL,
		"%s: parent locator (offset 0x%" PRIx64 ") %s '%.200s' is not"
		" a GUID", s->path, where, key, v);
}

static int parse_locator(struct vhdx_state *s, const uint8_t *p,
			 uint32_t len, uint64_t where, struct vmc_error *err)
{
	uint16_t n;

	if (len < 20)
		return vmc_error_set(err, EINVAL,
			"%s: parent locator (offset 0x%" PRIx64 ") is only"
			" %" PRIu32 " bytes", s->path, where, len);
	if (memcmp(p, vhdx_guid_locator_type, 16))
		return vmc_error_set(err, ENOTSUP,
			"%s: parent locator (offset 0x%" PRIx64 ") has an"
			" unknown locator type", s->path, where);
	n = vmc_get_le16(p + 18);
	if (20 + 12 * (uint64_t)n > len)
		return vmc_error_set(err, EINVAL,
			"%s: parent locator (offset 0x%" PRIx64 "): %u"
			" entries do not fit in %" PRIu32 " bytes", s->path,
			where, n, len);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = p + 20 + 12 * (size_t)i;
		uint64_t ko = vmc_get_le32(e), vo = vmc_get_le32(e + 4);
		uint64_t kl = vmc_get_le16(e + 8), vl = vmc_get_le16(e + 10);
		char *key, *val, **slot = NULL;

		if (ko + kl > len || vo + vl > len || kl == 0)
			return vmc_error_set(err, EINVAL,
				"%s: parent locator (offset 0x%" PRIx64 "):"
				" entry %u points outside the item", s->path,
				where, i);
		key = vhdx_utf16le_to_utf8(p + ko, (size_t)kl);
		val = vhdx_utf16le_to_utf8(p + vo, (size_t)vl);
		if (!key || !val) {
			free(key);
			free(val);
			return vmc_error_set(err, ENOMEM, "out of memory");
		}
		if (!strcmp(key, "parent_linkage"))
			slot = &s->loc.parent_linkage;
		else if (!strcmp(key, "parent_linkage2"))
			slot = &s->loc.parent_linkage2;
		else if (!strcmp(key, "relative_path"))
			slot = &s->loc.relative_path;
		else if (!strcmp(key, "volume_path"))
			slot = &s->loc.volume_path;
		else if (!strcmp(key, "absolute_win32_path"))
			slot = &s->loc.absolute_win32_path;
		free(key);
		if (slot) {
			free(*slot);
			*slot = val;
		} else {
			free(val);
		}
	}
	if (!s->loc.parent_linkage)
		return vmc_error_set(err, EINVAL,
			"%s: parent locator (offset 0x%" PRIx64 ") has no"
			" parent_linkage", s->path, where);
	if (check_linkage_form(s, "parent_linkage", s->loc.parent_linkage,
			       where, err) < 0 ||
	    check_linkage_form(s, "parent_linkage2", s->loc.parent_linkage2,
			       where, err) < 0)
		return -1;
	return 0;
}

/* Table entry i: a known item once, with its length, inside the metadata
 * region; an unknown item only when it is not required. */
static int scan_entry(struct vhdx_state *s, const uint8_t *tab, uint16_t i,
		      uint32_t *off, uint32_t *len, bool *have,
		      struct vmc_error *err)
{
	const uint8_t *e = tab + 32 + 32 * (size_t)i;
	uint32_t o = vmc_get_le32(e + 16), l = vmc_get_le32(e + 20);
	uint32_t flags = vmc_get_le32(e + 24);
	bool is_user = flags & 1, required = flags & 4;
	int k;

	for (k = 0; k < M_COUNT; k++)
		if (!memcmp(e, known[k].guid, 16))
			break;
	if (l && (o < VHDX_META_TABLE_SIZE ||
		  (uint64_t)o + l > s->meta_len ||
		  l > VHDX_META_ITEM_MAX)) {
		vmc_error_set(err, EINVAL,
			"%s: metadata entry %u (offset 0x%" PRIx64 "):"
			" item at 0x%" PRIx32 " length 0x%" PRIx32
			" is outside the metadata region (length 0x%"
			PRIx32 ")", s->path, i,
			s->meta_off + 32 + 32 * (uint64_t)i, o, l,
			s->meta_len);
		return -1;
	}
	if (k == M_COUNT) {
		char g[39];

		if (!required || is_user)
			return 0;
		vhdx_guid_format(e, g);
		vmc_error_set(err, ENOTSUP,
			"%s: metadata entry %u: unknown required item"
			" %s", s->path, i, g);
		return -1;
	}
	if (have[k]) {
		vmc_error_set(err, EINVAL,
			"%s: metadata item %s appears twice",
			s->path, known[k].name);
		return -1;
	}
	if ((known[k].len && l != known[k].len) || l == 0) {
		vmc_error_set(err, EINVAL,
			"%s: metadata item %s has length %" PRIu32,
			s->path, known[k].name, l);
		return -1;
	}
	have[k] = true;
	off[k] = o;
	len[k] = l;
	return 0;
}

/* The sizes the file parameters, disk size and sector size items give:
 * what the spec allows and vmconv supports. */
static int check_params(struct vhdx_state *s, const uint32_t *off,
			struct vmc_error *err)
{
	if (!VMC_IS_POWER_OF_2(s->block_size) ||
	    s->block_size < VHDX_MIN_BLOCK || s->block_size > VHDX_MAX_BLOCK) {
		return vmc_error_set(err, EINVAL,
			"%s: file parameters (offset 0x%" PRIx64 "): block"
			" size %" PRIu32 " is not a power of two between 1"
			" and 256 MiB", s->path, s->meta_off + off[M_PARAMS],
			s->block_size);
	}
	if (s->logical_ss != 512 && s->logical_ss != 4096) {
		return vmc_error_set(err, EINVAL,
			"%s: logical sector size %" PRIu32 " (offset 0x%"
			PRIx64 ") is neither 512 nor 4096", s->path,
			s->logical_ss, s->meta_off + off[M_LSS]);
	}
	if (s->physical_ss != 512 && s->physical_ss != 4096) {
		return vmc_error_set(err, EINVAL,
			"%s: physical sector size %" PRIu32 " (offset 0x%"
			PRIx64 ") is neither 512 nor 4096", s->path,
			s->physical_ss, s->meta_off + off[M_PSS]);
	}
	if (s->disk_size > VHDX_MAX_DISK_SIZE ||
	    s->disk_size % s->logical_ss) {
		return vmc_error_set(err, EINVAL,
			"%s: virtual disk size %" PRIu64 " (offset 0x%" PRIx64
			") is over 64 TiB or not a multiple of the logical"
			" sector size %" PRIu32, s->path, s->disk_size,
			s->meta_off + off[M_SIZE], s->logical_ss);
	}
	return 0;
}

int vhdx_read_metadata(struct vhdx_state *s, struct vmc_error *err)
{
	uint8_t *tab = malloc(VHDX_META_TABLE_SIZE), *item = NULL;
	uint32_t off[M_COUNT] = { 0 }, len[M_COUNT] = { 0 };
	bool have[M_COUNT] = { false };
	uint16_t n;
	int ret = -1;

	if (!tab)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vhdx_file_pread(s, tab, VHDX_META_TABLE_SIZE, s->meta_off,
			    err) < 0)
		goto out;
	if (memcmp(tab, "metadata", 8)) {
		vmc_error_set(err, EINVAL,
			"%s: metadata table (offset 0x%" PRIx64 "): bad"
			" signature", s->path, s->meta_off);
		goto out;
	}
	n = vmc_get_le16(tab + 10);
	if (n > VHDX_META_MAX_ENTRIES) {
		vmc_error_set(err, EINVAL,
			"%s: metadata table (offset 0x%" PRIx64 "): %u"
			" entries, at most %d allowed", s->path, s->meta_off,
			n, VHDX_META_MAX_ENTRIES);
		goto out;
	}
	for (uint16_t i = 0; i < n; i++)
		if (scan_entry(s, tab, i, off, len, have, err) < 0)
			goto out;
	for (int k = 0; k < M_COUNT; k++) {
		if (k != M_PARENT && !have[k]) {
			vmc_error_set(err, EINVAL,
				"%s: metadata table (offset 0x%" PRIx64 "):"
				" required item %s is missing", s->path,
				s->meta_off, known[k].name);
			goto out;
		}
	}
	item = malloc(VHDX_META_ITEM_MAX);
	if (!item) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
#define READ_ITEM(k) vhdx_file_pread(s, item, len[k], s->meta_off + off[k], \
				     err)
	if (READ_ITEM(M_PARAMS) < 0)
		goto out;
	s->block_size = vmc_get_le32(item);
	s->leave_blocks_allocated = vmc_get_le32(item + 4) & 1;
	s->has_parent = vmc_get_le32(item + 4) & 2;
	if (READ_ITEM(M_SIZE) < 0)
		goto out;
	s->disk_size = vmc_get_le64(item);
	if (READ_ITEM(M_LSS) < 0)
		goto out;
	s->logical_ss = vmc_get_le32(item);
	if (READ_ITEM(M_PSS) < 0)
		goto out;
	s->physical_ss = vmc_get_le32(item);
	if (READ_ITEM(M_PAGE83) < 0)
		goto out;
	memcpy(s->page83, item, 16);

	if (check_params(s, off, err) < 0)
		goto out;
	if (s->has_parent) {
		if (!have[M_PARENT]) {
			vmc_error_set(err, EINVAL,
				"%s: differencing disk without a parent"
				" locator in its metadata", s->path);
			goto out;
		}
		if (READ_ITEM(M_PARENT) < 0)
			goto out;
		if (parse_locator(s, item, len[M_PARENT],
				  s->meta_off + off[M_PARENT], err) < 0)
			goto out;
	}
#undef READ_ITEM
	ret = 0;
out:
	free(item);
	free(tab);
	return ret;
}
