/* libFuzzer target for the VHDX reader: header, region table, metadata,
 * BAT and log.
 *
 * Most random files die at the first checksum, so the input is a list of
 * patches applied to a valid, dirty (log to replay) template image, with
 * the checksums optionally recomputed afterwards; the reader then opens
 * the result, reads everything, walks block status, builds info and
 * checks (and repairs) it.  Inputs starting with 'L' go straight to the
 * log scanner instead. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmconv/check.h>
#include <vmconv/image.h>
#include <vmconv/output.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "formats/vhdx.h"
#include "tests/fuzz/fuzz-common.h"

#define MiB (1024 * 1024)
#define TEMPLATE_SIZE (7 * MiB)

static uint8_t *tmpl;
static const vhdx_guid lguid = { 0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
				 12, 13, 14, 15 };

static void fix_header(uint8_t *f, uint64_t at)
{
	memset(f + at + 4, 0, 4);
	vmc_put_le32(f + at + 4, vmc_crc32c(0, f + at, 4096));
}

static void fix_region(uint8_t *f, uint64_t at)
{
	memset(f + at + 4, 0, 4);
	vmc_put_le32(f + at + 4, vmc_crc32c(0, f + at, 65536));
}

static void fix_log_entry(uint8_t *f)
{
	uint8_t *e = f + MiB;
	uint32_t len = vmc_get_le32(e + 8);

	if (len == 0 || len > MiB)
		return;
	memset(e + 4, 0, 4);
	vmc_put_le32(e + 4, vmc_crc32c(0, e, len));
}

/* 4 MiB dynamic, 1 MiB blocks: layout log 1 MiB, metadata 2 MiB, BAT
 * 3 MiB, blocks from 4 MiB; block 0 allocated, and a log entry that maps
 * block 1 and writes into it. */
static void make_template(void)
{
	char path[] = "/tmp/fuzz-vhdx-XXXXXX";
	struct vmc_error err;
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_image *img;
	uint8_t *buf = calloc(1, MiB), *e;
	int fd = mkstemp(path);

	close(fd);
	vmc_opts_parse(o, "block_size=1M", &err);
	img = vmc_image_create(path, "vhdx", 4 * MiB, o, out, &err);
	if (!img)
		abort();
	memset(buf, 'A', 65536);
	vmc_image_pwrite(img, buf, 65536, 0, &err);
	vmc_image_flush(img, &err);
	vmc_image_close(img);
	vmc_output_commit(out, &err);
	vmc_output_free(out);
	vmc_opts_free(o);
	free(buf);
	tmpl = calloc(1, TEMPLATE_SIZE);
	fd = open(path, O_RDONLY);
	if (pread(fd, tmpl, TEMPLATE_SIZE, 0) < 5 * MiB)
		abort();
	close(fd);
	unlink(path);
	/* log entry: one data descriptor (block 1's new home, 5 MiB) and one
	 * for the BAT sector, which maps block 1 there */
	vmc_put_le64(tmpl + 3 * MiB + 8, VHDX_BAT_ENTRY(6, 5 * MiB));
	e = tmpl + MiB;
	memcpy(e, "loge", 4);
	vmc_put_le32(e + 8, 3 * 4096);
	vmc_put_le64(e + 16, 1);
	vmc_put_le32(e + 24, 2);
	memcpy(e + 32, lguid, 16);
	vmc_put_le64(e + 48, 5 * MiB);
	vmc_put_le64(e + 56, 6 * MiB);
	for (int i = 0; i < 2; i++) {
		uint8_t *d = e + 64 + 32 * i, *s = e + 4096 * (1 + i);
		uint64_t at = i ? 3 * MiB : 5 * MiB;
		const uint8_t *src = tmpl + at;

		memcpy(d, "desc", 4);
		memcpy(d + 4, i ? src + 4092 : (const uint8_t *)"BBBB", 4);
		memcpy(d + 8, i ? src : (const uint8_t *)"BBBBBBBB", 8);
		vmc_put_le64(d + 16, at);
		vmc_put_le64(d + 24, 1);
		memcpy(s, "data", 4);
		vmc_put_le32(s + 4, 0);
		if (i)
			memcpy(s + 8, src + 8, 4084);
		else
			memset(s + 8, 'B', 4084);
		vmc_put_le32(s + 4092, 1);
	}
	/* undo the direct BAT change: only the log carries it */
	vmc_put_le64(tmpl + 3 * MiB + 8, 0);
	fix_log_entry(tmpl);
	memcpy(tmpl + 64 * 1024 + 48, lguid, 16);
	memcpy(tmpl + 128 * 1024 + 48, lguid, 16);
	fix_header(tmpl, 64 * 1024);
	fix_header(tmpl, 128 * 1024);
}

static const uint64_t bases[] = {
	0, 64 * 1024, 128 * 1024, 192 * 1024, 256 * 1024, MiB,
	2 * MiB, 2 * MiB + 65536, 3 * MiB, 4 * MiB,
};

static void exercise(const char *path, bool repair)
{
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(path, "vhdx",
					       repair ? VMC_OPEN_RDWR : 0,
					       NULL, &err);
	static uint8_t buf[MiB];

	if (!img)
		return;
	fuzz_read_all(img, buf, sizeof(buf));
	fuzz_info(img);
	fuzz_check(img, repair);
	vmc_image_close(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	uint8_t *f;
	uint8_t flags;
	int fd;

	if (size > 0 && data[0] == 'L') {
		size_t len = VMC_ALIGN_UP(size - 1, 4096);
		uint8_t *log = calloc(1, len ? len : 4096);
		struct vhdx_log l;
		struct vmc_error err;

		memcpy(log, data + 1, size - 1);
		if (len && vhdx_log_parse(log, (uint32_t)len, lguid, &l, "f",
					  0, &err) == 0)
			vhdx_log_free(&l);
		free(log);
		return 0;
	}
	if (!tmpl)
		make_template();
	if (size < 1)
		return 0;
	flags = data[0];
	f = malloc(TEMPLATE_SIZE);
	memcpy(f, tmpl, TEMPLATE_SIZE);
	/* records: base index, 16-bit offset, length, bytes */
	for (size_t p = 1; p + 4 <= size;) {
		uint64_t at = bases[data[p] % VMC_ARRAY_SIZE(bases)] +
			      vmc_get_le16(data + p + 1);
		size_t n = data[p + 3];

		p += 4;
		n = VMC_MIN(n, size - p);
		if (at + n <= TEMPLATE_SIZE)
			memcpy(f + at, data + p, n);
		p += n;
	}
	if (flags & 1) {
		fix_header(f, 64 * 1024);
		fix_header(f, 128 * 1024);
	}
	if (flags & 2) {
		fix_region(f, 192 * 1024);
		fix_region(f, 256 * 1024);
	}
	if (flags & 4)
		fix_log_entry(f);
	fd = memfd_create("fuzz-vhdx", 0);
	if (fd < 0)
		abort();
	/* flags bit 3: a truncated file.  Only the windows that hold data
	 * or patches are written; the rest stays a hole (zeros). */
	{
		uint64_t fsize = (flags & 8) ? TEMPLATE_SIZE -
				 (uint64_t)(flags >> 4) * 65536 : TEMPLATE_SIZE;

		if (ftruncate(fd, (off_t)fsize) < 0)
			abort();
		for (size_t i = 0; i < VMC_ARRAY_SIZE(bases); i++) {
			uint64_t a = bases[i];
			uint64_t b = VMC_MIN(a + 65536 + 4 + 256, fsize);

			if (a < b && pwrite(fd, f + a, b - a, (off_t)a) < 0)
				abort();
		}
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	exercise(path, flags & 0x80 ? false : (flags & 0x40) != 0);
	close(fd);
	free(f);
	return 0;
}
