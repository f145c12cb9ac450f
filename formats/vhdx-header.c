/* VHDX file identifier, headers and region table: [MS-VHDX] 2.2.1 File
 * Type Identifier, 2.2.2 Headers, 2.2.3 Region Table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "formats/vhdx.h"

const vhdx_guid vhdx_guid_bat = VHDX_GUID(0x2DC27766, 0xF623, 0x4200,
	0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08);
const vhdx_guid vhdx_guid_metadata = VHDX_GUID(0x8B7CA206, 0x4790, 0x4B9A,
	0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E);

bool vhdx_guid_is_zero(const vhdx_guid g)
{
	static const vhdx_guid zero;

	return !memcmp(g, zero, sizeof(zero));
}

void vhdx_guid_format(const vhdx_guid g, char out[39])
{
	snprintf(out, 39, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		 vmc_get_le32(g), vmc_get_le16(g + 4), vmc_get_le16(g + 6),
		 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* Version 4 (random) GUIDs, as Hyper-V writes them. */
void vhdx_guid_random(vhdx_guid g)
{
	size_t got = 0;

	while (got < 16) {
		ssize_t r = getrandom(g + got, 16 - got, 0);

		if (r > 0)
			got += (size_t)r;
	}
	g[7] = (uint8_t)((g[7] & 0x0f) | 0x40);
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

char *vhdx_utf16le_to_utf8(const uint8_t *p, size_t bytes)
{
	size_t n = bytes / 2, o = 0;
	char *out = malloc(n * 3 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = vmc_get_le16(p + 2 * i);

		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
			uint32_t d = vmc_get_le16(p + 2 * i + 2);

			if (d >= 0xDC00 && d < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) +
				    (d - 0xDC00);
				i++;
			} else {
				c = 0xFFFD;
			}
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			/* two UTF-16 units in, four bytes out: fits n * 3 */
			out[o++] = (char)(0xF0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	return out;
}

/* 0 if buf holds a header whose signature and checksum verify. */
int vhdx_header_decode(const uint8_t buf[4096], struct vhdx_header *h)
{
	uint8_t tmp[VHDX_HEADER_SIZE];

	if (memcmp(buf, "head", 4))
		return -1;
	memcpy(tmp, buf, sizeof(tmp));
	memset(tmp + 4, 0, 4);
	h->checksum = vmc_get_le32(buf + 4);
	if (vmc_crc32c(0, tmp, sizeof(tmp)) != h->checksum)
		return -2;
	h->seq = vmc_get_le64(buf + 8);
	memcpy(h->file_write_guid, buf + 16, 16);
	memcpy(h->data_write_guid, buf + 32, 16);
	memcpy(h->log_guid, buf + 48, 16);
	h->log_version = vmc_get_le16(buf + 64);
	h->version = vmc_get_le16(buf + 66);
	h->log_length = vmc_get_le32(buf + 68);
	h->log_offset = vmc_get_le64(buf + 72);
	return 0;
}

void vhdx_header_encode(const struct vhdx_header *h, uint8_t buf[4096])
{
	memset(buf, 0, VHDX_HEADER_SIZE);
	memcpy(buf, "head", 4);
	vmc_put_le64(buf + 8, h->seq);
	memcpy(buf + 16, h->file_write_guid, 16);
	memcpy(buf + 32, h->data_write_guid, 16);
	memcpy(buf + 48, h->log_guid, 16);
	vmc_put_le16(buf + 64, h->log_version);
	vmc_put_le16(buf + 66, h->version);
	vmc_put_le32(buf + 68, h->log_length);
	vmc_put_le64(buf + 72, h->log_offset);
	vmc_put_le32(buf + 4, vmc_crc32c(0, buf, VHDX_HEADER_SIZE));
}

static const char *header_problem(int r, const struct vhdx_header *h)
{
	if (r == -1)
		return "bad signature";
	if (r == -2)
		return "checksum mismatch";
	if (h->version != 1)
		return "unsupported version";
	return NULL;
}

int vhdx_read_headers(struct vhdx_state *s, struct vmc_error *err)
{
	static const uint64_t where[2] = { VHDX_HEADER1_OFF,
					   VHDX_HEADER2_OFF };
	uint8_t buf[VHDX_HEADER_SIZE];
	struct vhdx_header h[2];
	const char *why[2];
	int r;
	char *creator;

	if (s->phys_size < VHDX_MiB)
		return vmc_error_set(err, EINVAL,
			"%s: file of %" PRIu64 " bytes is too small for VHDX"
			" (at least 1 MiB of headers)", s->path,
			s->phys_size);
	if (vmc_pread_full(s->fd, buf, 520, VHDX_FILE_ID_OFF, s->path,
			   err) < 0)
		return -1;
	if (memcmp(buf, "vhdxfile", 8))
		return vmc_error_set(err, EINVAL,
			"%s: file type identifier: bad signature (offset 0)",
			s->path);
	creator = vhdx_utf16le_to_utf8(buf + 8, 512);
	if (creator) {
		snprintf(s->creator, sizeof(s->creator), "%s", creator);
		free(creator);
	}
	for (int i = 0; i < 2; i++) {
		if (vmc_pread_full(s->fd, buf, sizeof(buf), where[i], s->path,
				   err) < 0)
			return -1;
		memset(&h[i], 0, sizeof(h[i]));
		r = vhdx_header_decode(buf, &h[i]);
		why[i] = header_problem(r, &h[i]);
		s->hdr_problem[i] = why[i];
	}
	if (why[0] && why[1])
		return vmc_error_set(err, EINVAL,
			"%s: no valid header: header 1 (offset 0x%" PRIx64
			"): %s; header 2 (offset 0x%" PRIx64 "): %s",
			s->path, where[0], why[0], where[1], why[1]);
	/* The higher sequence number wins; on a tie header 1, so that the
	 * choice never depends on anything but the bytes. */
	if (why[1] || (!why[0] && h[0].seq >= h[1].seq))
		s->cur_hdr = 0;
	else
		s->cur_hdr = 1;
	s->hdr = h[s->cur_hdr];
	if (s->hdr.log_version != 0)
		return vmc_error_set(err, EINVAL,
			"%s: header %d (offset 0x%" PRIx64 "): unsupported log"
			" version %u", s->path, s->cur_hdr + 1,
			where[s->cur_hdr], s->hdr.log_version);
	if (s->hdr.log_length || !vhdx_guid_is_zero(s->hdr.log_guid)) {
		uint64_t end;

		if (s->hdr.log_offset % VHDX_MiB ||
		    s->hdr.log_offset < VHDX_MiB ||
		    s->hdr.log_length % VHDX_MiB || s->hdr.log_length == 0 ||
		    vmc_add_overflow(s->hdr.log_offset, s->hdr.log_length,
				     &end) || end > s->phys_size)
			return vmc_error_set(err, EINVAL,
				"%s: header %d (offset 0x%" PRIx64 "): log at"
				" 0x%" PRIx64 " length 0x%" PRIx32 " is not"
				" 1 MiB-aligned or not inside the file (size"
				" 0x%" PRIx64 ")", s->path, s->cur_hdr + 1,
				where[s->cur_hdr], s->hdr.log_offset,
				s->hdr.log_length, s->phys_size);
	}
	return 0;
}

static int region_table_decode(const uint8_t *buf, struct vhdx_state *s,
			       uint64_t where, struct vmc_error *err)
{
	uint32_t n = vmc_get_le32(buf + 8);
	bool have_bat = false, have_meta = false;

	if (n > VHDX_REGION_MAX_ENTRIES)
		return vmc_error_set(err, EINVAL,
			"%s: region table (offset 0x%" PRIx64 "): %" PRIu32
			" entries, at most %d allowed", s->path, where, n,
			VHDX_REGION_MAX_ENTRIES);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = buf + 16 + 32 * (size_t)i;
		uint64_t off = vmc_get_le64(e + 16), end;
		uint32_t len = vmc_get_le32(e + 24);
		bool required = vmc_get_le32(e + 28) & 1;
		bool is_bat = !memcmp(e, vhdx_guid_bat, 16);
		bool is_meta = !memcmp(e, vhdx_guid_metadata, 16);
		char g[39];

		vhdx_guid_format(e, g);
		if (!is_bat && !is_meta) {
			if (required)
				return vmc_error_set(err, ENOTSUP,
					"%s: region table (offset 0x%" PRIx64
					"): entry %" PRIu32 " is an unknown"
					" region %s marked required", s->path,
					where, i, g);
			continue;
		}
		if ((is_bat && have_bat) || (is_meta && have_meta))
			return vmc_error_set(err, EINVAL,
				"%s: region table (offset 0x%" PRIx64 "):"
				" region %s appears twice", s->path, where,
				g);
		if (off % VHDX_MiB || off < VHDX_MiB || len % VHDX_MiB ||
		    len == 0 || vmc_add_overflow(off, len, &end) ||
		    end > s->phys_size)
			return vmc_error_set(err, EINVAL,
				"%s: region table (offset 0x%" PRIx64 "): %s"
				" region at 0x%" PRIx64 " length 0x%" PRIx32
				" is not 1 MiB-aligned or not inside the file"
				" (size 0x%" PRIx64 ")", s->path, where,
				is_bat ? "BAT" : "metadata", off, len,
				s->phys_size);
		if (is_bat) {
			have_bat = true;
			s->bat_off = off;
			s->bat_len = len;
		} else {
			have_meta = true;
			s->meta_off = off;
			s->meta_len = len;
		}
	}
	if (!have_bat || !have_meta)
		return vmc_error_set(err, EINVAL,
			"%s: region table (offset 0x%" PRIx64 "): no %s"
			" region", s->path, where,
			have_bat ? "metadata" : "BAT");
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			   uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vhdx_read_regions(struct vhdx_state *s, struct vmc_error *err)
{
	static const uint64_t where[2] = { VHDX_REGION1_OFF,
					   VHDX_REGION2_OFF };
	uint8_t *buf = malloc(VHDX_REGION_SIZE);
	const char *why[2] = { NULL, NULL };
	int ret = -1;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	/* Region table 2 is a copy of 1, used only when 1 is damaged. */
	for (int i = 0; i < 2; i++) {
		uint32_t crc;

		if (vhdx_file_pread(s, buf, VHDX_REGION_SIZE, where[i],
				    err) < 0)
			goto out;
		crc = vmc_get_le32(buf + 4);
		memset(buf + 4, 0, 4);
		if (memcmp(buf, "regi", 4)) {
			why[i] = "bad signature";
			continue;
		}
		if (vmc_crc32c(0, buf, VHDX_REGION_SIZE) != crc) {
			why[i] = "checksum mismatch";
			continue;
		}
		ret = region_table_decode(buf, s, where[i], err);
		goto check;
	}
	vmc_error_set(err, EINVAL,
		"%s: no valid region table: table 1 (offset 0x%" PRIx64 "):"
		" %s; table 2 (offset 0x%" PRIx64 "): %s", s->path, where[0],
		why[0], where[1], why[1]);
	goto out;
check:
	if (ret < 0)
		goto out;
	if (ranges_overlap(s->bat_off, s->bat_len, s->meta_off, s->meta_len) ||
	    (s->hdr.log_length &&
	     (ranges_overlap(s->bat_off, s->bat_len, s->hdr.log_offset,
			     s->hdr.log_length) ||
	      ranges_overlap(s->meta_off, s->meta_len, s->hdr.log_offset,
			     s->hdr.log_length)))) {
		ret = vmc_error_set(err, EINVAL,
			"%s: region table: BAT (0x%" PRIx64 "+0x%" PRIx32 "),"
			" metadata (0x%" PRIx64 "+0x%" PRIx32 ") and log"
			" (0x%" PRIx64 "+0x%" PRIx32 ") overlap", s->path,
			s->bat_off, s->bat_len, s->meta_off, s->meta_len,
			s->hdr.log_offset, s->hdr.log_length);
	}
out:
	free(buf);
	return ret;
}

/* Signature and checksum (the checksum field is zeroed on the way). */
bool vhdx_region_table_valid(uint8_t buf[65536])
{
	uint32_t crc = vmc_get_le32(buf + 4);

	memset(buf + 4, 0, 4);
	return !memcmp(buf, "regi", 4) &&
	       vmc_crc32c(0, buf, VHDX_REGION_SIZE) == crc;
}

void vhdx_region_table_encode(uint8_t buf[65536], uint64_t bat_off,
			      uint32_t bat_len, uint64_t meta_off,
			      uint32_t meta_len)
{
	memset(buf, 0, VHDX_REGION_SIZE);
	memcpy(buf, "regi", 4);
	vmc_put_le32(buf + 8, 2);
	memcpy(buf + 16, vhdx_guid_bat, 16);
	vmc_put_le64(buf + 32, bat_off);
	vmc_put_le32(buf + 40, bat_len);
	vmc_put_le32(buf + 44, 1);
	memcpy(buf + 48, vhdx_guid_metadata, 16);
	vmc_put_le64(buf + 64, meta_off);
	vmc_put_le32(buf + 72, meta_len);
	vmc_put_le32(buf + 76, 1);
	vmc_put_le32(buf + 4, vmc_crc32c(0, buf, VHDX_REGION_SIZE));
}

/* 2.2.2.1: update the non-current header first, then the other, so that
 * a crash at any point leaves one valid header with the newest state. */
int vhdx_write_headers(struct vhdx_state *s, struct vmc_error *err)
{
	static const uint64_t where[2] = { VHDX_HEADER1_OFF,
					   VHDX_HEADER2_OFF };
	uint8_t buf[VHDX_HEADER_SIZE];

	for (int i = 0; i < 2; i++) {
		int slot = 1 - s->cur_hdr;

		s->hdr.seq++;
		vhdx_header_encode(&s->hdr, buf);
		if (vmc_pwrite_full(s->fd, buf, sizeof(buf), where[slot],
				    s->path, err) < 0)
			return -1;
		if (fdatasync(s->fd) < 0)
			return vmc_error_errno(err, errno,
				"%s: flush after header update failed",
				s->path);
		s->cur_hdr = slot;
	}
	return 0;
}
