/* VHDX log: [MS-VHDX] 2.3 Log (2.3.1 entries, 2.3.1.2-2.3.1.4 zero and
 * data descriptors and data sectors, 2.3.2 log sequence, 2.3.3 replay).
 *
 * The active sequence is found in a copy of the log area and turned into
 * an ordered list of writes.  A read-only open applies that list to every
 * read of the file (vhdx_file_pread), so the guest sees what the log
 * promised while the file stays untouched; check --repair writes it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "formats/vhdx.h"

#define SECTOR VHDX_LOG_SECTOR
#define ENTRY_HDR 64
#define DESC_SIZE 32

struct entry_info {
	int8_t state;		/* 0 unknown, 1 valid, -1 invalid */
	uint32_t len;
	uint32_t tail;
	uint64_t seq;
	const char *why;	/* for the invalid ones */
};

struct log_ctx {
	const uint8_t *buf;
	uint32_t len;
	const uint8_t *guid;
	struct entry_info *info;
};

/* Copy len bytes at circular offset off out of the log. */
static void log_copy(const struct log_ctx *c, uint32_t off, void *dst,
		     uint32_t len)
{
	uint32_t first = VMC_MIN(len, c->len - off);

	memcpy(dst, c->buf + off, first);
	if (first < len)
		memcpy((uint8_t *)dst + first, c->buf, len - first);
}

static const uint8_t *log_at(const struct log_ctx *c, uint32_t off)
{
	return c->buf + (off % c->len);
}

/* Validate the entry at off.  Signatures and sequence numbers of every
 * sector are checked before the checksum, so that sectors claimed by one
 * candidate entry can never start another: the CRC work over the whole
 * scan stays linear in the log size. */
static struct entry_info *entry_check(struct log_ctx *c, uint32_t off)
{
	struct entry_info *ei = &c->info[off / SECTOR];
	const uint8_t *h = log_at(c, off);
	uint32_t n, dsec, ndata = 0, crc;
	uint8_t *tmp;

	if (ei->state)
		return ei;
	ei->state = -1;
	if (memcmp(h, "loge", 4)) {
		ei->why = "bad signature";
		return ei;
	}
	ei->len = vmc_get_le32(h + 8);
	ei->tail = vmc_get_le32(h + 12);
	ei->seq = vmc_get_le64(h + 16);
	n = vmc_get_le32(h + 24);
	if (memcmp(h + 32, c->guid, 16)) {
		ei->why = "LogGuid differs from the header's";
		return ei;
	}
	if (ei->len == 0 || ei->len % SECTOR || ei->len > c->len ||
	    ei->tail % SECTOR || ei->tail >= c->len) {
		ei->why = "bad entry length or tail";
		return ei;
	}
	if ((uint64_t)n * DESC_SIZE + ENTRY_HDR > ei->len) {
		ei->why = "descriptor count does not fit the entry";
		return ei;
	}
	dsec = (uint32_t)VMC_DIV_ROUND_UP(ENTRY_HDR + (uint64_t)n * DESC_SIZE,
					  SECTOR);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t doff = off + ENTRY_HDR + i * DESC_SIZE;
		uint8_t d[DESC_SIZE];

		log_copy(c, doff % c->len, d, DESC_SIZE);
		if (vmc_get_le64(d + 24) != ei->seq) {
			ei->why = "descriptor sequence number mismatch";
			return ei;
		}
		if (!memcmp(d, "desc", 4)) {
			ndata++;
		} else if (memcmp(d, "zero", 4)) {
			ei->why = "bad descriptor signature";
			return ei;
		}
	}
	if ((uint64_t)(dsec + ndata) * SECTOR != ei->len) {
		ei->why = "entry length does not match its descriptors";
		return ei;
	}
	for (uint32_t i = 0; i < ndata; i++) {
		const uint8_t *d = log_at(c, off + (dsec + i) * SECTOR);

		if (memcmp(d, "data", 4) ||
		    vmc_get_le32(d + 4) != (uint32_t)(ei->seq >> 32) ||
		    vmc_get_le32(d + 4092) != (uint32_t)ei->seq) {
			ei->why = "bad data sector";
			return ei;
		}
	}
	tmp = malloc(ei->len);
	if (!tmp) {
		ei->why = "out of memory";
		return ei;
	}
	log_copy(c, off, tmp, ei->len);
	crc = vmc_get_le32(tmp + 4);
	memset(tmp + 4, 0, 4);
	if (vmc_crc32c(0, tmp, ei->len) != crc)
		ei->why = "checksum mismatch";
	else
		ei->state = 1;
	free(tmp);
	return ei;
}

static int add_write(struct vhdx_log *log, uint64_t off, uint64_t len,
		     uint8_t *data)
{
	struct vhdx_log_write *w;

	if (log->n % 64 == 0) {
		w = realloc(log->w, (log->n + 64) * sizeof(*w));
		if (!w)
			return -1;
		log->w = w;
	}
	log->w[log->n++] = (struct vhdx_log_write){ off, len, data };
	return 0;
}

static int collect(struct log_ctx *c, uint32_t off, struct vhdx_log *log,
		   const char *path, uint64_t log_off, struct vmc_error *err)
{
	const struct entry_info *ei = &c->info[off / SECTOR];
	const uint8_t *h = log_at(c, off);
	uint32_t n = vmc_get_le32(h + 24), dsec, di = 0;

	dsec = (uint32_t)VMC_DIV_ROUND_UP(ENTRY_HDR + (uint64_t)n * DESC_SIZE,
					  SECTOR);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t d[DESC_SIZE], *data = NULL;
		uint64_t foff, len, end;
		bool is_data;

		log_copy(c, (off + ENTRY_HDR + i * DESC_SIZE) % c->len, d,
			 DESC_SIZE);
		is_data = !memcmp(d, "desc", 4);
		foff = vmc_get_le64(d + 16);
		len = is_data ? SECTOR : vmc_get_le64(d + 8);
		if (foff % SECTOR || len % SECTOR ||
		    vmc_add_overflow(foff, len, &end) || foff < VHDX_MiB)
			return vmc_error_set(err, EINVAL,
				"%s: log entry %" PRIu64 " (offset 0x%" PRIx64
				"): descriptor %" PRIu32 " writes 0x%" PRIx64
				" bytes at bad file offset 0x%" PRIx64, path,
				ei->seq, log_off + off, i, len, foff);
		if (log->n >= VHDX_LOG_MAX_WRITES)
			return vmc_error_set(err, EFBIG,
				"%s: log entry %" PRIu64 " (offset 0x%" PRIx64
				"): the active sequence has more than %u"
				" descriptors", path, ei->seq, log_off + off,
				VHDX_LOG_MAX_WRITES);
		if (is_data) {
			const uint8_t *sec = log_at(c, off +
						    (dsec + di++) * SECTOR);

			data = malloc(SECTOR);
			if (!data)
				return vmc_error_set(err, ENOMEM,
						     "out of memory");
			memcpy(data, d + 8, 8);	/* LeadingBytes */
			memcpy(data + 8, sec + 8, 4084);
			/* TrailingBytes */
			memcpy(data + 4092, d + 4, 4);
		}
		if (add_write(log, foff, len, data) < 0) {
			free(data);
			return vmc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

void vhdx_log_free(struct vhdx_log *log)
{
	for (size_t i = 0; i < log->n; i++)
		free(log->w[i].data);
	free(log->w);
	memset(log, 0, sizeof(*log));
}

/* The entries of the sequence chosen, from its tail to its head. */
static int take_sequence(struct log_ctx *c, uint32_t tail, uint32_t head,
			 struct vhdx_log *log, const char *path,
			 uint64_t log_off, struct vmc_error *err)
{
	uint32_t pos = tail;
	const struct entry_info *ei;

	for (;;) {
		ei = &c->info[pos / SECTOR];
		if (collect(c, pos, log, path, log_off, err) < 0) {
			vhdx_log_free(log);
			return -1;
		}
		log->entries++;
		if (pos == head)
			break;
		pos = (uint32_t)((pos + ei->len) % c->len);
	}
	ei = &c->info[head / SECTOR];
	log->head_seq = ei->seq;
	log->flushed_file_offset = vmc_get_le64(log_at(c, head) + 48);
	log->last_file_offset = vmc_get_le64(log_at(c, head) + 56);
	return 0;
}

int vhdx_log_parse(const uint8_t *logbuf, uint32_t log_len,
		   const vhdx_guid log_guid, struct vhdx_log *log,
		   const char *path, uint64_t log_off, struct vmc_error *err)
{
	struct log_ctx c = { logbuf, log_len, log_guid, NULL };
	uint32_t nsec = log_len / SECTOR, best_tail = 0, best_head = 0;
	uint64_t best_seq = 0;
	bool found = false;
	const char *first_why = NULL;
	bool any_valid = false;
	uint32_t first_bad = 0;
	int ret = -1;

	memset(log, 0, sizeof(*log));
	if (log_len == 0 || log_len % SECTOR)
		return vmc_error_set(err, EINVAL,
			"%s: log (offset 0x%" PRIx64 ") length 0x%" PRIx32
			" is not a multiple of 4 KiB", path, log_off,
			log_len);
	c.info = calloc(nsec, sizeof(*c.info));
	if (!c.info)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t start = 0; start < nsec;) {
		uint32_t pos = start * SECTOR, *offs = NULL, cnt = 0;
		uint64_t used = 0, prev = 0;
		struct entry_info *ei;

		while (used < log_len) {
			ei = entry_check(&c, pos);
			if (ei->state < 0) {
				/* Entries of another LogGuid are old: only
				 * damaged ones of this log are errors. */
				if (!first_why && !memcmp(log_at(&c, pos),
							  "loge", 4) &&
				    !memcmp(log_at(&c, pos) + 32, log_guid,
					    16)) {
					first_why = ei->why;
					first_bad = pos;
				}
				break;
			}
			if (cnt && ei->seq != prev + 1) {
				if (!first_why) {
					first_why = "sequence number gap";
					first_bad = pos;
				}
				break;
			}
			if (used + ei->len > log_len)
				break;
			any_valid = true;
			if (cnt % 64 == 0) {
				uint32_t *o = realloc(offs, (cnt + 64) *
						      sizeof(*o));

				if (!o) {
					free(offs);
					vmc_error_set(err, ENOMEM,
						      "out of memory");
					goto out;
				}
				offs = o;
			}
			offs[cnt++] = pos;
			prev = ei->seq;
			used += ei->len;
			pos = (uint32_t)((pos + ei->len) % log_len);
		}
		if (cnt) {
			/* Valid only if the head's tail is one of the entries
			 * of this run: the sequence is complete. */
			const struct entry_info *head =
				&c.info[offs[cnt - 1] / SECTOR];

			for (uint32_t i = 0; i < cnt; i++) {
				if (offs[i] != head->tail)
					continue;
				if (!found || head->seq > best_seq) {
					found = true;
					best_seq = head->seq;
					best_tail = head->tail;
					best_head = offs[cnt - 1];
				}
				break;
			}
		}
		free(offs);
		/* Entries of this run start shorter runs with the same head:
		 * skip them. */
		start += cnt && used >= SECTOR && start * SECTOR + used <=
			 log_len ? (uint32_t)(used / SECTOR) : 1;
	}
	if (!found) {
		/* No entry of this log at all: the header was updated but no
		 * entry was written before the crash.  Nothing to replay. */
		ret = 0;
		if (first_why)
			ret = vmc_error_set(err, EINVAL,
				"%s: log (offset 0x%" PRIx64 ") has no valid"
				" sequence: entry at 0x%" PRIx64 ": %s", path,
				log_off, log_off + first_bad, first_why);
		else if (any_valid)
			ret = vmc_error_set(err, EINVAL,
				"%s: log (offset 0x%" PRIx64 ") has no complete"
				" sequence (no head entry's tail is part of its"
				" sequence)", path, log_off);
		goto out;
	}
	ret = take_sequence(&c, best_tail, best_head, log, path, log_off,
			    err);
out:
	free(c.info);
	return ret;
}

/* The head entry's LastFileOffset sizes the file in check --repair: it
 * may not exceed what the log's own writes reach (or the file), rounded
 * up to 1 MiB, so a hostile log cannot make vmconv grow a file to
 * exabytes. */
static bool last_offset_bad(const struct vhdx_state *s,
			    struct vmc_error *err)
{
	uint64_t reach = s->phys_size;

	for (size_t i = 0; i < s->log.n; i++)
		reach = VMC_MAX(reach, s->log.w[i].off + s->log.w[i].len);
	reach = VMC_ALIGN_UP(reach, VHDX_MiB);
	if (s->log.last_file_offset <= reach)
		return false;
	vmc_error_set(err, EINVAL, "%s: log head entry's LastFileOffset 0x%"
		      PRIx64 " is past anything the log writes (0x%" PRIx64
		      "): refused", s->path, s->log.last_file_offset, reach);
	return true;
}

int vhdx_log_load(struct vhdx_state *s, struct vmc_error *err)
{
	uint8_t *buf;
	uint64_t lo = s->hdr.log_offset;
	uint32_t ll = s->hdr.log_length;
	int r;

	if (ll > VHDX_LOG_MAX_BYTES)
		return vmc_error_set(err, EFBIG,
			"%s: log (offset 0x%" PRIx64 ") of 0x%" PRIx32 " bytes"
			" is larger than vmconv replays (%llu MiB)", s->path,
			lo, ll, VHDX_LOG_MAX_BYTES / VHDX_MiB);
	buf = malloc(ll);
	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_pread_full(s->fd, buf, ll, lo, s->path, err) < 0) {
		free(buf);
		return -1;
	}
	r = vhdx_log_parse(buf, ll, s->hdr.log_guid, &s->log, s->path, lo,
			   err);
	free(buf);
	if (r < 0)
		return -1;
	if (s->log.flushed_file_offset > s->phys_size)
		return vmc_error_set(err, EINVAL,
			"%s: log head entry says the file held 0x%" PRIx64
			" bytes, but it has only 0x%" PRIx64 " (truncated)",
			s->path, s->log.flushed_file_offset, s->phys_size);
	if (last_offset_bad(s, err))
		return -1;
	s->file_size = VMC_MAX(s->phys_size, s->log.last_file_offset);
	if (s->file_size % VHDX_MiB && s->file_size != s->phys_size)
		s->file_size = VMC_ALIGN_UP(s->file_size, VHDX_MiB);
	for (size_t i = 0; i < s->log.n; i++) {
		const struct vhdx_log_write *w = &s->log.w[i];
		uint64_t e = w->off + w->len;	/* checked in collect */

		if (e > s->file_size)
			return vmc_error_set(err, EINVAL,
				"%s: log writes 0x%" PRIx64 " bytes at 0x%"
				PRIx64 ", past the end of the file (0x%"
				PRIx64 ")", s->path, w->len, w->off,
				s->file_size);
		if (w->off < lo + ll && lo < e)
			return vmc_error_set(err, EINVAL,
				"%s: log writes into the log itself (offset"
				" 0x%" PRIx64 ")", s->path, w->off);
	}
	return 0;
}

int vhdx_log_replay_on_disk(struct vhdx_state *s, struct vmc_error *err)
{
	static const uint8_t zero[65536];

	if (s->phys_size < s->file_size &&
	    ftruncate(s->fd, (off_t)s->file_size) < 0)
		return vmc_error_errno(err, errno,
			"%s: cannot extend to 0x%" PRIx64 " bytes for the log",
			s->path, s->file_size);
	for (size_t i = 0; i < s->log.n; i++) {
		const struct vhdx_log_write *w = &s->log.w[i];

		if (w->data) {
			if (vmc_pwrite_full(s->fd, w->data, w->len, w->off,
					    s->path, err) < 0)
				return -1;
			continue;
		}
		for (uint64_t d = 0; d < w->len; d += sizeof(zero)) {
			size_t n = (size_t)VMC_MIN(sizeof(zero), w->len - d);

			if (vmc_pwrite_full(s->fd, zero, n, w->off + d,
					    s->path, err) < 0)
				return -1;
		}
	}
	if (fdatasync(s->fd) < 0)
		return vmc_error_errno(err, errno,
			"%s: flush after log replay failed", s->path);
	s->phys_size = s->file_size;
	vhdx_log_free(&s->log);
	/* 2.3.3: with the writes in place, the log is emptied by a header
	 * update with LogGuid zero and a new FileWriteGuid. */
	memset(s->hdr.log_guid, 0, 16);
	vhdx_guid_random(s->hdr.file_write_guid);
	if (vhdx_write_headers(s, err) < 0)
		return -1;
	s->log_dirty = false;
	return 0;
}
