/* VHDX: BAT index arithmetic, log parsing on crafted logs, and a dirty
 * VHDX (written by the driver, then given a hand-made log) read with the
 * log replayed in memory and repaired on disk. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <vmconv/check.h>
#include <vmconv/image.h>
#include <vmconv/output.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "formats/vhdx.h"

/* ---- BAT arithmetic ([MS-VHDX] 2.5.2) ---- */

struct ratio_case {
	uint32_t lss, bs, ratio;
};

ParameterizedTestParameters(vhdx_bat, chunk_ratio)
{
	static struct ratio_case c[] = {
		{ 512, 1 << 20, 4096 }, { 512, 2 << 20, 2048 },
		{ 512, 32 << 20, 128 }, { 512, 256 << 20, 16 },
		{ 4096, 1 << 20, 32768 }, { 4096, 32 << 20, 1024 },
		{ 4096, 256 << 20, 128 },
	};
	return cr_make_param_array(struct ratio_case, c,
				   sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct ratio_case *c, vhdx_bat, chunk_ratio)
{
	uint32_t r = vhdx_chunk_ratio(c->lss, c->bs);

	cr_assert_eq(r, c->ratio, "lss %u bs %u: %u", c->lss, c->bs, r);
	/* One chunk is always 2^23 sectors. */
	cr_assert_eq((uint64_t)r * c->bs / c->lss, 1ull << 23);
	/* Payload entries skip exactly one bitmap entry per chunk. */
	cr_assert_eq(vhdx_payload_index(0, r), 0);
	cr_assert_eq(vhdx_payload_index(r - 1, r), r - 1);
	cr_assert_eq(vhdx_payload_index(r, r), (uint64_t)r + 1);
	cr_assert_eq(vhdx_payload_index(2ull * r + 5, r), 2ull * r + 7);
	cr_assert_eq(vhdx_bitmap_index(0, r), r);
	cr_assert_eq(vhdx_bitmap_index(3, r), 3ull * (r + 1) + r);
	for (uint64_t b = 0; b < 3ull * r; b += r / 2 + 1)
		cr_assert_neq(vhdx_payload_index(b, r),
			      vhdx_bitmap_index(b / r, r));
}

Test(vhdx_bat, entry_counts)
{
	/* 10 MiB, 2 MiB blocks (the Windows fixed.vhdx sample): 5. */
	cr_assert_eq(vhdx_bat_entry_count(5, 2048, false), 5);
	/* 5 GiB of 1 MiB blocks at 512-byte sectors: 5120 payload entries
	 * and one bitmap entry after the first 4096. */
	cr_assert_eq(vhdx_bat_entry_count(5120, 4096, false), 5121);
	cr_assert_eq(vhdx_bat_entry_count(4096, 4096, false), 4096);
	cr_assert_eq(vhdx_bat_entry_count(4097, 4096, false), 4098);
	/* Differencing disks always end with a bitmap entry. */
	cr_assert_eq(vhdx_bat_entry_count(5120, 4096, true), 2 * 4097);
	cr_assert_eq(vhdx_bat_entry_count(4, 128, true), 129);
	cr_assert_eq(vhdx_bat_entry_count(0, 128, false), 0);
	/* 64 TiB at 1 MiB blocks and 4 KiB sectors. */
	cr_assert_eq(vhdx_bat_entry_count(64ull << 20, 32768, false),
		     (64ull << 20) + (64ull << 20) / 32768 - 1);
}

/* ---- crafted logs ---- */

static const vhdx_guid log_guid = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
				    13, 14, 15, 16 };

struct desc {
	bool zero;
	uint64_t off, len;	/* len for zero descriptors */
	uint8_t fill;		/* data sectors: every byte */
};

/* Build one log entry at buf (which must hold it); returns its length. */
static uint32_t make_entry(uint8_t *buf, uint64_t seq, uint32_t tail,
			   const uint8_t *guid, const struct desc *d,
			   uint32_t n, uint64_t flushed, uint64_t last)
{
	uint32_t dsec = (64 + 32 * n + 4095) / 4096, ndata = 0, len;

	for (uint32_t i = 0; i < n; i++)
		ndata += !d[i].zero;
	len = (dsec + ndata) * 4096;
	memset(buf, 0, len);
	memcpy(buf, "loge", 4);
	vmc_put_le32(buf + 8, len);
	vmc_put_le32(buf + 12, tail);
	vmc_put_le64(buf + 16, seq);
	vmc_put_le32(buf + 24, n);
	memcpy(buf + 32, guid, 16);
	vmc_put_le64(buf + 48, flushed);
	vmc_put_le64(buf + 56, last);
	for (uint32_t i = 0, k = 0; i < n; i++) {
		uint8_t *e = buf + 64 + 32 * i;

		memcpy(e, d[i].zero ? "zero" : "desc", 4);
		vmc_put_le64(e + 16, d[i].off);
		vmc_put_le64(e + 24, seq);
		if (d[i].zero) {
			vmc_put_le64(e + 8, d[i].len);
		} else {
			uint8_t *s = buf + (dsec + k++) * 4096;

			memset(e + 4, d[i].fill, 4);	/* trailing */
			memset(e + 8, d[i].fill, 8);	/* leading */
			memcpy(s, "data", 4);
			vmc_put_le32(s + 4, (uint32_t)(seq >> 32));
			memset(s + 8, d[i].fill, 4084);
			vmc_put_le32(s + 4092, (uint32_t)seq);
		}
	}
	vmc_put_le32(buf + 4, vmc_crc32c(0, buf, len));
	return len;
}

static uint8_t logbuf[64 * 4096];

static void check_write(const struct vhdx_log_write *w, uint64_t off,
			uint64_t len, int fill)
{
	cr_assert_eq(w->off, off);
	cr_assert_eq(w->len, len);
	if (fill < 0) {
		cr_assert_null(w->data);
		return;
	}
	cr_assert_not_null(w->data);
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(w->data[i], fill, "byte %llu",
			     (unsigned long long)i);
}

Test(vhdx_log, single_entry)
{
	struct desc d[] = { { false, 0x200000, 0, 0xAB },
			    { true, 0x300000, 0x2000, 0 },
			    { false, 0x201000, 0, 0xCD } };
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	make_entry(logbuf, 10, 0, log_guid, d, 3, 0x100000, 0x400000);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0x100000, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 3);
	cr_assert_eq(log.entries, 1);
	cr_assert_eq(log.head_seq, 10);
	cr_assert_eq(log.last_file_offset, 0x400000);
	check_write(&log.w[0], 0x200000, 4096, 0xAB);
	check_write(&log.w[1], 0x300000, 0x2000, -1);
	check_write(&log.w[2], 0x201000, 4096, 0xCD);
	vhdx_log_free(&log);
}

/* Two complete sequences: the one with the higher sequence number is
 * active, and only from its head's tail on. */
Test(vhdx_log, highest_sequence_wins)
{
	struct desc a = { false, 0x200000, 0, 0x11 };
	struct desc b = { false, 0x200000, 0, 0x22 };
	struct desc c = { false, 0x201000, 0, 0x33 };
	struct vhdx_log log;
	struct vmc_error err;
	uint32_t p = 0, pb;

	memset(logbuf, 0, sizeof(logbuf));
	p += make_entry(logbuf + p, 5, 0, log_guid, &a, 1, 0, 0);
	pb = p;
	p += make_entry(logbuf + p, 6, pb, log_guid, &b, 1, 0, 0);
	make_entry(logbuf + p, 7, pb, log_guid, &c, 1, 0, 0x500000);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), 0, "%s", err.msg);
	cr_assert_eq(log.head_seq, 7);
	cr_assert_eq(log.entries, 2);
	cr_assert_eq(log.n, 2);
	check_write(&log.w[0], 0x200000, 4096, 0x22);
	check_write(&log.w[1], 0x201000, 4096, 0x33);
	vhdx_log_free(&log);
}

/* An entry that runs over the end of the circular log. */
Test(vhdx_log, wraps_around)
{
	struct desc d[] = { { false, 0x200000, 0, 0x5A },
			    { false, 0x201000, 0, 0xA5 } };
	static uint8_t tmp[3 * 4096];
	uint32_t len, at = sizeof(logbuf) - 4096;
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	len = make_entry(tmp, 99, at, log_guid, d, 2, 0, 0);
	cr_assert_eq(len, 3 * 4096);
	memcpy(logbuf + at, tmp, 4096);
	memcpy(logbuf, tmp + 4096, 2 * 4096);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 2);
	check_write(&log.w[0], 0x200000, 4096, 0x5A);
	check_write(&log.w[1], 0x201000, 4096, 0xA5);
	vhdx_log_free(&log);
}

Test(vhdx_log, bad_crc_is_refused)
{
	struct desc d = { false, 0x200000, 0, 1 };
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	make_entry(logbuf, 3, 0, log_guid, &d, 1, 0, 0);
	logbuf[4096 + 100] ^= 1;		/* data sector payload */
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t.vhdx", 0x100000, &err), -1);
	cr_assert(strstr(err.msg, "checksum mismatch"), "%s", err.msg);
	cr_assert(strstr(err.msg, "t.vhdx"), "%s", err.msg);
}

/* A torn newer entry does not hide the older complete sequence. */
Test(vhdx_log, torn_head_falls_back)
{
	struct desc a = { false, 0x200000, 0, 0x44 };
	struct desc b = { false, 0x200000, 0, 0x55 };
	struct vhdx_log log;
	struct vmc_error err;
	uint32_t p;

	memset(logbuf, 0, sizeof(logbuf));
	p = make_entry(logbuf, 20, 0, log_guid, &a, 1, 0, 0);
	make_entry(logbuf + p, 21, 0, log_guid, &b, 1, 0, 0);
	logbuf[p + 4096 + 9] ^= 0xff;
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), 0, "%s", err.msg);
	cr_assert_eq(log.head_seq, 20);
	check_write(&log.w[0], 0x200000, 4096, 0x44);
	vhdx_log_free(&log);
}

/* A gap in sequence numbers breaks the run: the head's tail is then not
 * part of a run, and with nothing else valid the log is refused. */
Test(vhdx_log, sequence_gap_is_refused)
{
	struct desc a = { false, 0x200000, 0, 1 };
	struct vhdx_log log;
	struct vmc_error err;
	uint32_t p;

	memset(logbuf, 0, sizeof(logbuf));
	p = make_entry(logbuf, 30, 0x20000, log_guid, &a, 1, 0, 0);
	make_entry(logbuf + p, 32, 0, log_guid, &a, 1, 0, 0);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), -1);
	cr_assert(strstr(err.msg, "no valid sequence"), "%s", err.msg);
}

/* Entries of an older log (another LogGuid) are not replayed. */
Test(vhdx_log, other_guid_is_ignored)
{
	static const vhdx_guid other = { 9 };
	struct desc a = { false, 0x200000, 0, 1 };
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	make_entry(logbuf, 1, 0, other, &a, 1, 0, 0);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 0);
	cr_assert_eq(log.entries, 0);
	vhdx_log_free(&log);
}

/* A valid entry whose tail points outside its run: incomplete. */
Test(vhdx_log, incomplete_sequence_is_refused)
{
	struct desc a = { false, 0x200000, 0, 1 };
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	make_entry(logbuf, 1, 0x8000, log_guid, &a, 1, 0, 0);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), -1);
	cr_assert(strstr(err.msg, "no complete sequence"), "%s", err.msg);
}

Test(vhdx_log, unaligned_write_is_refused)
{
	struct desc a = { false, 0x200010, 0, 1 };
	struct vhdx_log log;
	struct vmc_error err;

	memset(logbuf, 0, sizeof(logbuf));
	make_entry(logbuf, 1, 0, log_guid, &a, 1, 0, 0);
	cr_assert_eq(vhdx_log_parse(logbuf, sizeof(logbuf), log_guid, &log,
				    "t", 0, &err), -1);
	cr_assert(strstr(err.msg, "bad file offset"), "%s", err.msg);
}

/* ---- a dirty image end to end ---- */

#define MiB (1024 * 1024)
static char dir[] = "/tmp/vmconv-test-vhdx.XXXXXX";
static char path[256];

static void setup_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dirty.vhdx", dir);
}

static void teardown_dir(void)
{
	unlink(path);
	rmdir(dir);
}

/* An 8 MiB dynamic image with 1 MiB blocks; block 0 holds 'A'. */
static void make_clean_image(void)
{
	struct vmc_error err;
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_image *img;
	static uint8_t buf[MiB];

	cr_assert_eq(vmc_opts_parse(o, "block_size=1M", &err), 0);
	img = vmc_image_create(path, "vhdx", 8 * MiB, o, out, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(buf, 'A', sizeof(buf));
	cr_assert_eq(vmc_image_pwrite(img, buf, MiB, 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(vmc_image_flush(img, &err), 0, "%s", err.msg);
	vmc_image_close(img);
	cr_assert_eq(vmc_output_commit(out, &err), 0, "%s", err.msg);
	vmc_output_free(out);
	vmc_opts_free(o);
}

static void set_log_guid(int fd, const uint8_t *guid)
{
	uint8_t h[4096];

	for (int i = 1; i <= 2; i++) {
		cr_assert_eq(pread(fd, h, sizeof(h), i * 65536), 4096);
		memcpy(h + 48, guid, 16);
		memset(h + 4, 0, 4);
		vmc_put_le32(h + 4, vmc_crc32c(0, h, sizeof(h)));
		cr_assert_eq(pwrite(fd, h, sizeof(h), i * 65536), 4096);
	}
}

/* LastFileOffset of the next make_dirty; 0: the new block + 1 MiB. */
static uint64_t dirty_last;

/* Log: map block 1 to a new block at file offset X (beyond the current
 * end: LastFileOffset grows the file), put 'B' in its first 4 KiB, and
 * zero the first 8 KiB of block 0. */
static uint64_t make_dirty(bool extend)
{
	int fd = open(path, O_RDWR);
	uint8_t bat[4096], *entry = calloc(1, 16 * 4096);
	struct stat st;
	uint64_t x, bat_off = 3 * MiB, b0;
	struct desc d[3];
	uint32_t len;

	cr_assert(fd >= 0);
	cr_assert_eq(fstat(fd, &st), 0);
	x = (uint64_t)st.st_size;
	/* Hyper-V grows the file before it logs the BAT change; without
	 * that, only the log's LastFileOffset says how large it is (which
	 * qemu-img does not honour). */
	if (extend) {
		cr_assert_eq(ftruncate(fd, (off_t)(x + MiB)), 0);
		cr_assert_eq(fstat(fd, &st), 0);
	}
	/* vmconv's layout: log at 1 MiB (1 MiB), metadata, BAT at 3 MiB */
	cr_assert_eq(pread(fd, bat, sizeof(bat), (off_t)bat_off), 4096);
	b0 = VHDX_BAT_OFFSET(vmc_get_le64(bat));
	cr_assert_eq(VHDX_BAT_STATE(vmc_get_le64(bat)), 6);
	vmc_put_le64(bat + 8, VHDX_BAT_ENTRY(6, x));
	/* The BAT sector is logged as one data descriptor: its leading 8
	 * and trailing 4 bytes go in the descriptor, the rest in a data
	 * sector.  Build it by hand from the new BAT sector. */
	d[0] = (struct desc){ false, x, 0, 'B' };
	d[1] = (struct desc){ true, b0, 8192, 0 };
	d[2] = (struct desc){ false, bat_off, 0, 0 };
	len = make_entry(entry, 1, 0, log_guid, d, 3, (uint64_t)st.st_size,
			 dirty_last ? dirty_last : x + MiB);
	/* Patch the third descriptor's sector to carry the BAT bytes. */
	{
		uint8_t *desc = entry + 64 + 2 * 32;
		uint8_t *sec = entry + 4096 * 2;

		memcpy(desc + 8, bat, 8);
		memcpy(desc + 4, bat + 4092, 4);
		memcpy(sec + 8, bat + 8, 4084);
		memset(entry + 4, 0, 4);
		vmc_put_le32(entry + 4, vmc_crc32c(0, entry, len));
	}
	cr_assert_eq(pwrite(fd, entry, len, MiB), (ssize_t)len);
	set_log_guid(fd, log_guid);
	close(fd);
	free(entry);
	return x;
}

/* A hostile LastFileOffset: check --repair would grow the file to 1 EiB
 * (the log writes nothing past 2 MiB beyond the file). */
Test(vhdx_corrupt, log_last_file_offset_is_capped, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct stat st;

	make_clean_image();
	dirty_last = 1ULL << 60;
	make_dirty(false);
	dirty_last = 0;
	cr_assert_null(vmc_image_open(path, NULL, VMC_OPEN_RDWR, NULL, &err));
	cr_assert(strstr(err.msg, "LastFileOffset"), "%s", err.msg);
	cr_assert_null(vmc_image_open(path, NULL, 0, NULL, &err));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_lt(st.st_size, 64 * MiB, "the file grew");
}

static void sha_of_file(uint8_t *out, size_t *len)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	*len = 0;
	while ((r = read(fd, out + *len, 64 * MiB - *len)) > 0)
		*len += (size_t)r;
	close(fd);
}

static void expect_content(struct vmc_image *img)
{
	static uint8_t buf[2 * MiB];
	struct vmc_error err;

	cr_assert_eq(vmc_image_pread(img, buf, sizeof(buf), 0, &err), 0,
		     "%s", err.msg);
	for (size_t i = 0; i < MiB; i++)
		cr_assert_eq(buf[i], i < 8192 ? 0 : 'A', "byte %zu", i);
	for (size_t i = MiB; i < 2 * MiB; i++)
		cr_assert_eq(buf[i], i < MiB + 4096 ? 'B' : 0, "byte %zu", i);
}

Test(vhdx_dirty, replay_in_memory_then_repair, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_check_result res = { 0 };
	uint8_t *before = malloc(64 * MiB), *after = malloc(64 * MiB);
	size_t lb, la;
	struct vmc_extent ext;
	struct vhdx_state *s;

	make_clean_image();
	make_dirty(false);
	sha_of_file(before, &lb);

	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_str_eq(img->drv->name, "vhdx");
	expect_content(img);
	cr_assert_eq(vmc_image_block_status(img, MiB, MiB, &ext, &err), 0);
	cr_assert_eq(ext.kind, VMC_EXTENT_DATA);
	cr_assert_eq(vmc_image_block_status(img, 2 * MiB, MiB, &ext, &err),
		     0);
	cr_assert_eq(ext.kind, VMC_EXTENT_UNALLOCATED);
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0);
	cr_assert_eq(res.corruptions, 1);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	/* Read-only use left the file exactly as it was. */
	sha_of_file(after, &la);
	cr_assert_eq(la, lb);
	cr_assert(!memcmp(before, after, la));

	img = vmc_image_open(path, NULL, VMC_OPEN_RDWR, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(vmc_image_check(img, &res, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions_fixed, 1);
	cr_assert_eq(res.corruptions, 0);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	s = img->opaque;
	cr_assert(!s->log_dirty);
	cr_assert(vhdx_guid_is_zero(s->hdr.log_guid));
	cr_assert_eq(s->log.n, 0);
	expect_content(img);
	vmc_image_close(img);
	free(before);
	free(after);
}

/* qemu-img replays a dirty log when it opens the image read-write: the
 * result must read exactly like vmconv's in-memory replay. */
Test(vhdx_dirty, qemu_replay_agrees, .init = setup_dir, .fini = teardown_dir)
{
	char cmd[1024], copy[300];
	struct vmc_error err;
	struct vmc_image *img;

	if (system("command -v qemu-img >/dev/null 2>&1") != 0)
		cr_skip_test("qemu-img is not installed");
	make_clean_image();
	make_dirty(true);
	snprintf(copy, sizeof(copy), "%s/copy.vhdx", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && qemu-img check -q -r all"
		 " -f vhdx '%s' >/dev/null 2>&1", path, copy, copy);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	img = vmc_image_open(copy, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert(!((struct vhdx_state *)img->opaque)->log_dirty);
	expect_content(img);
	vmc_image_close(img);
	unlink(copy);
}

/* The same through the command line: check reports the dirty log
 * (exit 2), --repair replays it (exit 0), and the repaired file matches
 * what qemu-img makes of the same dirty file. */
Test(vhdx_dirty, cli_check_repair, .init = setup_dir, .fini = teardown_dir)
{
	const char *b = getenv("VMCONV_BUILD");
	char vmconv[512], cmd[4096], copy[300];
	struct vmc_error err;
	struct vmc_image *img;
	int r;

	snprintf(vmconv, sizeof(vmconv), "%s/vmconv", b ? b : "build");
	if (access(vmconv, X_OK) < 0)
		cr_skip_test("%s is not built", vmconv);
	make_clean_image();
	make_dirty(true);
	snprintf(copy, sizeof(copy), "%s/copy.vhdx", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, copy);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "'%s' check '%s' >/dev/null", vmconv,
		 path);
	r = system(cmd);
	cr_assert(WIFEXITED(r) && WEXITSTATUS(r) == 2, "check: %d", r);
	/* convert reads the dirty image as the log says, leaving it as is */
	snprintf(cmd, sizeof(cmd), "'%s' convert -O raw '%s' '%s/out.raw' &&"
		 " cmp -s '%s' '%s' && qemu-img check -q -r all '%s' &&"
		 " qemu-img compare -q -F vhdx '%s/out.raw' '%s' &&"
		 " cp '%s' '%s'", vmconv, path, dir, path, copy, copy, dir,
		 copy, path, copy);
	if (system("command -v qemu-img >/dev/null 2>&1") == 0)
		cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "%s/out.raw", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "'%s' check --repair '%s' >/dev/null 2>&1",
		 vmconv, path);
	r = system(cmd);
	cr_assert(WIFEXITED(r) && WEXITSTATUS(r) == 0, "repair: %d", r);
	snprintf(cmd, sizeof(cmd), "'%s' check '%s' >/dev/null", vmconv,
		 path);
	cr_assert_eq(system(cmd), 0);
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert(!((struct vhdx_state *)img->opaque)->log_dirty);
	expect_content(img);
	vmc_image_close(img);
	if (system("command -v qemu-img >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "qemu-img check -q -r all '%s' &&"
			 " qemu-img compare -q '%s' '%s'", copy, copy, path);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
	}
	unlink(copy);
}

/* ---- corrupt headers ---- */

static void corrupt(uint64_t off, uint8_t x)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= x;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void expect_open_error(const char *what)
{
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(path, "vhdx", 0, NULL, &err);

	cr_assert_null(img);
	cr_assert(strstr(err.msg, what), "'%s' not in '%s'", what, err.msg);
	cr_assert(strstr(err.msg, path), "%s", err.msg);
}

Test(vhdx_corrupt, one_header_bad_other_used, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct vmc_image *img;

	make_clean_image();
	corrupt(128 * 1024 + 200, 0x10);	/* header 2, the newer */
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(((struct vhdx_state *)img->opaque)->cur_hdr, 0);
	vmc_image_close(img);
}

/* One damaged copy of the header and of the region table: the image
 * opens from the other copies, check counts both, --repair rewrites them
 * and the image is clean afterwards. */
Test(vhdx_corrupt, check_repairs_damaged_copies, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_check_result res = { 0 };

	make_clean_image();
	corrupt(64 * 1024 + 300, 4);		/* header 1 */
	corrupt(256 * 1024 + 60, 4);		/* region table 2 */
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions, 2);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	img = vmc_image_open(path, NULL, VMC_OPEN_RDWR, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(vmc_image_check(img, &res, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions_fixed, 2);
	cr_assert_eq(res.corruptions, 0);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0);
	cr_assert_eq(res.corruptions, 0);
	cr_assert_null(((struct vhdx_state *)img->opaque)->hdr_problem[0]);
	vmc_check_result_free(&res);
	vmc_image_close(img);
	if (system("command -v qemu-img >/dev/null 2>&1") == 0) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", path);
		cr_assert_eq(system(cmd), 0);
	}
}

Test(vhdx_corrupt, both_headers_bad, .init = setup_dir, .fini = teardown_dir)
{
	make_clean_image();
	corrupt(64 * 1024 + 100, 1);
	corrupt(128 * 1024 + 100, 1);
	expect_open_error("no valid header");
}

Test(vhdx_corrupt, both_region_tables_bad, .init = setup_dir,
     .fini = teardown_dir)
{
	make_clean_image();
	corrupt(192 * 1024 + 40, 1);
	corrupt(256 * 1024 + 40, 1);
	expect_open_error("no valid region table");
}

static void rewrite_region_tables(uint64_t bat_off, uint32_t bat_len,
				  uint64_t meta_off, uint32_t meta_len)
{
	static uint8_t rt[65536];
	int fd = open(path, O_RDWR);

	vhdx_region_table_encode(rt, bat_off, bat_len, meta_off, meta_len);
	cr_assert_eq(pwrite(fd, rt, sizeof(rt), 192 * 1024), 65536);
	cr_assert_eq(pwrite(fd, rt, sizeof(rt), 256 * 1024), 65536);
	close(fd);
}

/* A region vmconv does not know is fine unless it is marked required. */
static void add_unknown_region(bool required)
{
	static uint8_t rt[65536];
	int fd = open(path, O_RDWR);

	vhdx_region_table_encode(rt, 3 * MiB, MiB, 2 * MiB, MiB);
	vmc_put_le32(rt + 8, 3);
	memset(rt + 80, 0x77, 16);
	vmc_put_le64(rt + 96, 5 * MiB);
	vmc_put_le32(rt + 104, MiB);
	vmc_put_le32(rt + 108, required);
	memset(rt + 4, 0, 4);
	vmc_put_le32(rt + 4, vmc_crc32c(0, rt, sizeof(rt)));
	cr_assert_eq(pwrite(fd, rt, sizeof(rt), 192 * 1024), 65536);
	cr_assert_eq(pwrite(fd, rt, sizeof(rt), 256 * 1024), 65536);
	close(fd);
}

Test(vhdx_corrupt, unknown_optional_region, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct vmc_image *img;

	make_clean_image();
	add_unknown_region(false);
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	vmc_image_close(img);
}

Test(vhdx_corrupt, unknown_required_region, .init = setup_dir,
     .fini = teardown_dir)
{
	make_clean_image();
	add_unknown_region(true);
	expect_open_error("unknown region");
}

Test(vhdx_corrupt, metadata_region_past_end, .init = setup_dir,
     .fini = teardown_dir)
{
	make_clean_image();
	rewrite_region_tables(3 * MiB, MiB, 1ull << 40, MiB);
	expect_open_error("not inside the file");
}

Test(vhdx_corrupt, bat_entry_past_end, .init = setup_dir,
     .fini = teardown_dir)
{
	uint8_t e[8];
	int fd;

	make_clean_image();
	fd = open(path, O_RDWR);
	vmc_put_le64(e, VHDX_BAT_ENTRY(6, 1ull << 40));
	cr_assert_eq(pwrite(fd, e, 8, 3 * MiB + 8), 8);
	close(fd);
	expect_open_error("points past end of file");
}

Test(vhdx_corrupt, bat_entry_into_metadata, .init = setup_dir,
     .fini = teardown_dir)
{
	uint8_t e[8];
	int fd;

	make_clean_image();
	fd = open(path, O_RDWR);
	vmc_put_le64(e, VHDX_BAT_ENTRY(6, 2 * MiB));
	cr_assert_eq(pwrite(fd, e, 8, 3 * MiB + 16), 8);
	close(fd);
	expect_open_error("points into the metadata region");
}

Test(vhdx_corrupt, metadata_item_outside_region, .init = setup_dir,
     .fini = teardown_dir)
{
	uint8_t v[4];
	int fd;

	make_clean_image();
	fd = open(path, O_RDWR);
	/* entry 1 (virtual disk size): offset field past the 1 MiB region */
	vmc_put_le32(v, 0xF0000);
	cr_assert_eq(pwrite(fd, v, 4, 2 * MiB + 32 + 32 + 16), 4);
	vmc_put_le32(v, 0x20000);
	cr_assert_eq(pwrite(fd, v, 4, 2 * MiB + 32 + 32 + 20), 4);
	close(fd);
	expect_open_error("outside the metadata region");
}

Test(vhdx_corrupt, bad_block_size, .init = setup_dir, .fini = teardown_dir)
{
	uint8_t v[4];
	int fd;

	make_clean_image();
	fd = open(path, O_RDWR);
	/* File parameters are the first item at 64 KiB into the region */
	vmc_put_le32(v, 3 * MiB);
	cr_assert_eq(pwrite(fd, v, 4, 2 * MiB + 65536), 4);
	close(fd);
	expect_open_error("block size");
}

/* LogGuid set, but no entry of that log written yet (a crash between
 * the header update and the first entry): nothing to replay; check
 * reports it and --repair clears the LogGuid. */
Test(vhdx_corrupt, dirty_log_without_entries, .init = setup_dir,
     .fini = teardown_dir)
{
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_check_result res = { 0 };
	int fd;

	make_clean_image();
	fd = open(path, O_RDWR);
	set_log_guid(fd, log_guid);	/* log area is all zeros */
	close(fd);
	img = vmc_image_open(path, NULL, VMC_OPEN_RDWR, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_check(img, &res, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions_fixed, 1);
	vmc_check_result_free(&res);
	vmc_image_close(img);
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert(!((struct vhdx_state *)img->opaque)->log_dirty);
	vmc_image_close(img);
}

/* A damaged entry of the current log is an error, not silently skipped
 * when nothing else is valid. */
Test(vhdx_corrupt, dirty_log_with_bad_entry, .init = setup_dir,
     .fini = teardown_dir)
{
	struct desc d = { false, 2 * MiB, 0, 1 };
	uint8_t *e = calloc(1, 8 * 4096);
	uint32_t len;
	int fd;

	make_clean_image();
	len = make_entry(e, 1, 0, log_guid, &d, 1, 0, 0);
	e[100] ^= 1;
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, e, len, MiB), (ssize_t)len);
	set_log_guid(fd, log_guid);
	close(fd);
	free(e);
	expect_open_error("checksum mismatch");
}
