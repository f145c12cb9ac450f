/* Unit tests: the qcow2 driver (formats/qcow2*.c).  Images are written by
 * vmconv's own writer and read back, and (when qemu-img is installed)
 * written by qemu-img and read by vmconv, parameterized over cluster
 * sizes, versions, refcount widths and compression types; hostile
 * headers are refused with messages that name what is wrong. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"

#include "common/bytes.h"


static char *path(const char *name)
{
	static char p[4][160];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", scratch_dir, name);
	return p[k];
}

static bool have_qemu_img(void)
{
	return system("qemu-img --version >/dev/null 2>&1") == 0;
}

/* Criterion copies parameters into another process: no pointers. */
struct variant {
	uint32_t cluster_size;
	char compat[8];
	unsigned refcount_bits;
	char compression[8];
};

/* Static, because Criterion runs each test in a fresh process: every
 * cluster size with v2 (16-bit refcounts only) and with v3 for each
 * refcount width and compression type. */
static struct variant variants[] = {
	{ 512, "0.10", 16, "zlib" },
	{ 512, "1.1", 1, "zlib" },
	{ 512, "1.1", 1, "zstd" },
	{ 512, "1.1", 16, "zlib" },
	{ 512, "1.1", 16, "zstd" },
	{ 512, "1.1", 64, "zlib" },
	{ 512, "1.1", 64, "zstd" },
	{ 4096, "0.10", 16, "zlib" },
	{ 4096, "1.1", 1, "zlib" },
	{ 4096, "1.1", 1, "zstd" },
	{ 4096, "1.1", 16, "zlib" },
	{ 4096, "1.1", 16, "zstd" },
	{ 4096, "1.1", 64, "zlib" },
	{ 4096, "1.1", 64, "zstd" },
	{ 65536, "0.10", 16, "zlib" },
	{ 65536, "1.1", 1, "zlib" },
	{ 65536, "1.1", 1, "zstd" },
	{ 65536, "1.1", 16, "zlib" },
	{ 65536, "1.1", 16, "zstd" },
	{ 65536, "1.1", 64, "zlib" },
	{ 65536, "1.1", 64, "zstd" },
	{ 2u << 20, "0.10", 16, "zlib" },
	{ 2u << 20, "1.1", 1, "zlib" },
	{ 2u << 20, "1.1", 1, "zstd" },
	{ 2u << 20, "1.1", 16, "zlib" },
	{ 2u << 20, "1.1", 16, "zstd" },
	{ 2u << 20, "1.1", 64, "zlib" },
	{ 2u << 20, "1.1", 64, "zstd" },
};

static uint64_t disk_size(const struct variant *v)
{
	/* Enough clusters for several L2 tables with small clusters, a
	 * partial last cluster, and no more than a few MiB. */
	uint64_t n = v->cluster_size >= (1u << 20) ? 5 : 300;

	return n * v->cluster_size - 3 * 512;
}

/* What cluster i holds: 0 zeros, 1 random data, 2 compressible text. */
static int kind_of(uint64_t i)
{
	return (int)((i * 7 + i / 5) % 3);
}

static void fill_expected(uint8_t *buf, uint64_t size, uint64_t cs)
{
	for (uint64_t off = 0; off < size; off += cs) {
		uint64_t n = VMC_MIN(cs, size - off), i = off / cs;

		switch (kind_of(i)) {
		case 0:
			memset(buf + off, 0, n);
			break;
		case 1:
			for (uint64_t b = 0; b < n; b++)
				buf[off + b] = (uint8_t)((off + b) * 2654435761u
							 >> 13);
			break;
		default:
			for (uint64_t b = 0; b < n; b++)
				buf[off + b] = (uint8_t)"qcow2 test "[b % 11];
		}
	}
}

/* More create options for one test (each test runs in its own process). */
static const char *extra_opts = "";

static struct vmc_opts *create_opts(const struct variant *v)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;
	char s[200];

	snprintf(s, sizeof(s), "cluster_size=%u,compat=%s,refcount_bits=%u,"
		 "compression_type=%s%s", v->cluster_size, v->compat,
		 v->refcount_bits, v->compression, extra_opts);
	cr_assert_eq(vmc_opts_parse(o, s, &err), 0, "%s", err.msg);
	return o;
}

/* Write with the engine's calls: in increasing order, data plain or
 * compressed, zero clusters skipped (the image is zero-initialised). */
static void write_image(const char *file, const struct variant *v,
			const uint8_t *exp, uint64_t size, bool compress)
{
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = create_opts(v);
	struct vmc_error err;
	struct vmc_image *img;
	uint64_t cs = v->cluster_size;
	uint8_t *cbuf = malloc(cs);

	img = vmc_image_create(file, "qcow2", size, o, out, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert(img->zero_init);
	cr_assert_eq(img->granularity, cs);
	cr_assert_eq(img->compress_unit, cs);
	for (uint64_t off = 0; off < size; off += cs) {
		size_t n = (size_t)VMC_MIN(cs, size - off), clen = 0;

		if (kind_of(off / cs) == 0)
			continue;
		if (compress) {
			cr_assert_eq(img->drv->compress(img, off, exp + off, n,
				cbuf, cs, &clen, &err), 0, "%s", err.msg);
		}
		if (clen)
			cr_assert_eq(img->drv->pwrite_compressed(img, off,
				cbuf, clen, n, &err), 0, "%s", err.msg);
		else
			cr_assert_eq(vmc_image_pwrite(img, exp + off, n, off,
						      &err), 0, "%s", err.msg);
	}
	cr_assert_eq(vmc_image_flush(img, &err), 0, "%s", err.msg);
	vmc_image_close(img);
	cr_assert_eq(vmc_output_commit(out, &err), 0, "%s", err.msg);
	vmc_output_free(out);
	vmc_opts_free(o);
	free(cbuf);
}

static void read_back(const char *file, const uint8_t *exp, uint64_t size,
		      uint64_t cs, bool zero_is_hole)
{
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(file, NULL, 0, NULL, &err);
	struct vmc_check_result res = { 0 };
	uint8_t *got = malloc(size);
	uint64_t off = 0;

	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_str_eq(img->drv->name, "qcow2");
	cr_assert_geq(img->size, size);
	cr_assert_eq(vmc_image_pread(img, got, size, 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(memcmp(got, exp, size), 0, "content differs");
	while (off < size) {
		struct vmc_extent x;

		cr_assert_eq(vmc_image_block_status(img, off, size - off, &x,
						    &err), 0, "%s", err.msg);
		if (x.kind != VMC_EXTENT_DATA)
			cr_assert(vmc_is_zero(exp + off, (size_t)x.length),
				  "non-data extent at %llu is not zero",
				  (unsigned long long)off);
		else if (zero_is_hole)
			cr_assert_neq(kind_of(off / cs), 0,
				      "zero cluster at %llu reported as data",
				      (unsigned long long)off);
		off += x.length;
	}
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions, 0);
	cr_assert_eq(res.leaks, 0);
	cr_assert_eq(res.check_errors, 0);
	vmc_check_result_free(&res);
	vmc_image_close(img);
	free(got);
}

static void qemu_agrees(const char *file, const uint8_t *exp, uint64_t size)
{
	char cmd[512];
	int fd;

	if (!have_qemu_img())
		return;
	fd = open(path("expected.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, exp, size), (ssize_t)size);
	close(fd);
	snprintf(cmd, sizeof(cmd), "qemu-img check -q %s && qemu-img compare"
		 " -q -f raw %s %s", file, path("expected.raw"), file);
	cr_assert_eq(system(cmd), 0, "qemu-img disagrees: %s", cmd);
}

ParameterizedTestParameters(qcow2, roundtrip)
{
	return cr_make_param_array(struct variant, variants,
				   VMC_ARRAY_SIZE(variants));
}

ParameterizedTest(struct variant *v, qcow2, roundtrip, .init = scratch_setup,
		  .fini = scratch_teardown)
{
	uint64_t size = disk_size(v);
	uint8_t *exp = malloc(size);

	fill_expected(exp, size, v->cluster_size);
	for (int c = 0; c < 2; c++) {
		const char *f = path(c ? "c.qcow2" : "p.qcow2");

		write_image(f, v, exp, size, c);
		read_back(f, exp, size, v->cluster_size, true);
		qemu_agrees(f, exp, size);
	}
	free(exp);
}

/* compression_level=1: zlib clusters from ISA-L's igzip (4 KiB window),
 * zstd's level 1; read back by vmconv and by qemu-img. */
ParameterizedTestParameters(qcow2, roundtrip_level1)
{
	return cr_make_param_array(struct variant, variants,
				   VMC_ARRAY_SIZE(variants));
}

ParameterizedTest(struct variant *v, qcow2, roundtrip_level1,
		  .init = scratch_setup, .fini = scratch_teardown)
{
	uint64_t size = disk_size(v);
	uint8_t *exp = malloc(size);

	extra_opts = ",compression_level=1";
	fill_expected(exp, size, v->cluster_size);
	write_image(path("c1.qcow2"), v, exp, size, true);
	read_back(path("c1.qcow2"), exp, size, v->cluster_size, true);
	qemu_agrees(path("c1.qcow2"), exp, size);
	free(exp);
}

ParameterizedTestParameters(qcow2, read_qemu_written)
{
	return cr_make_param_array(struct variant, variants,
				   VMC_ARRAY_SIZE(variants));
}

ParameterizedTest(struct variant *v, qcow2, read_qemu_written,
		  .init = scratch_setup, .fini = scratch_teardown)
{
	uint64_t size = disk_size(v);
	uint8_t *exp = malloc(size);
	char cmd[512];
	int fd;

	if (!have_qemu_img()) {
		free(exp);
		cr_skip_test("qemu-img is not installed");
	}
	fill_expected(exp, size, v->cluster_size);
	fd = open(path("src.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(write(fd, exp, size), (ssize_t)size);
	close(fd);
	for (int c = 0; c < 2; c++) {
		snprintf(cmd, sizeof(cmd), "qemu-img convert %s -f raw -O qcow2"
			 " -o cluster_size=%u,compat=%s,refcount_bits=%u%s%s"
			 " %s %s", c ? "-c" : "", v->cluster_size, v->compat,
			 v->refcount_bits, strcmp(v->compat, "0.10") ?
			 ",compression_type=" : "", strcmp(v->compat, "0.10") ?
			 v->compression : "", path("src.raw"),
			 path("q.qcow2"));
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		read_back(path("q.qcow2"), exp, size, v->cluster_size, false);
	}
	free(exp);
}

/* Several threads reading whole compressed clusters of one image at once
 * (the convert engine's workers: each inflates outside the image's
 * lock), the partial last cluster included, read what qemu wrote. */
struct reader_arg {
	struct vmc_image *img;
	const uint8_t *exp;
	uint64_t size, cs;
	unsigned t, n;
	int bad;
	char msg[256];
};

static void *read_clusters(void *p)
{
	struct reader_arg *a = p;
	uint8_t *got = malloc(a->cs);
	struct vmc_error err;

	for (int pass = 0; pass < 4 && !a->bad; pass++) {
		for (uint64_t off = a->t * a->cs; off < a->size;
		     off += a->n * a->cs) {
			size_t len = (size_t)VMC_MIN(a->cs, a->size - off);

			if (vmc_image_pread(a->img, got, len, off, &err) < 0) {
				snprintf(a->msg, sizeof(a->msg), "%.200s", err.msg);
				a->bad = 1;
				break;
			}
			if (memcmp(got, a->exp + off, len)) {
				snprintf(a->msg, sizeof(a->msg), "cluster at"
					 " %llu differs", (unsigned long long)off);
				a->bad = 1;
				break;
			}
		}
	}
	free(got);
	return NULL;
}

ParameterizedTestParameters(qcow2, threads_inflate_at_once)
{
	return cr_make_param_array(struct variant, variants,
				   VMC_ARRAY_SIZE(variants));
}

ParameterizedTest(struct variant *v, qcow2, threads_inflate_at_once,
		  .init = scratch_setup, .fini = scratch_teardown)
{
	uint64_t size = disk_size(v);
	uint8_t *exp = malloc(size);
	struct reader_arg a[4];
	pthread_t th[4];
	struct vmc_error err;
	struct vmc_image *img;
	char cmd[512];
	int fd;

	if (!have_qemu_img()) {
		free(exp);
		cr_skip_test("qemu-img is not installed");
	}
	fill_expected(exp, size, v->cluster_size);
	fd = open(path("src.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(write(fd, exp, size), (ssize_t)size);
	close(fd);
	snprintf(cmd, sizeof(cmd), "qemu-img convert -c -f raw -O qcow2 -o"
		 " cluster_size=%u,compat=%s%s%s %s %s", v->cluster_size,
		 v->compat, strcmp(v->compat, "0.10") ? ",compression_type="
		 : "", strcmp(v->compat, "0.10") ? v->compression : "",
		 path("src.raw"), path("q.qcow2"));
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	img = vmc_image_open(path("q.qcow2"), NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	for (unsigned t = 0; t < 4; t++) {
		a[t] = (struct reader_arg){ img, exp, size, v->cluster_size,
					    t, 4, 0, "" };
		cr_assert_eq(pthread_create(&th[t], NULL, read_clusters,
					    &a[t]), 0);
	}
	for (unsigned t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		cr_expect_eq(a[t].bad, 0, "thread %u: %s", t, a[t].msg);
	}
	vmc_image_close(img);
	free(exp);
}

/* A minimal v3 header for the hostile-input tests: 64 KiB clusters,
 * 1 MiB disk, L1 at 0x30000 (1 entry), refcount table at 0x10000. */
static void make_header(uint8_t *h)
{
	memset(h, 0, 65536 * 4);
	vmc_put_be32(h, 0x514649fb);
	vmc_put_be32(h + 4, 3);
	vmc_put_be32(h + 20, 16);
	vmc_put_be64(h + 24, 1 << 20);
	vmc_put_be32(h + 36, 1);
	vmc_put_be64(h + 40, 0x30000);
	vmc_put_be64(h + 48, 0x10000);
	vmc_put_be32(h + 56, 1);
	vmc_put_be32(h + 96, 4);
	vmc_put_be32(h + 100, 112);
	vmc_put_be64(h + 0x10000, 0x20000);	/* refcount block */
	for (int i = 0; i < 4; i++)
		vmc_put_be16(h + 0x20000 + 2 * i, 1);
}

static void expect_refused(const uint8_t *h, size_t len, const char *want)
{
	struct vmc_error err;
	struct vmc_image *img;
	int fd = open(path("bad.qcow2"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	cr_assert_eq(write(fd, h, len), (ssize_t)len);
	close(fd);
	img = vmc_image_open(path("bad.qcow2"), "qcow2", 0, NULL, &err);
	cr_assert_null(img, "a hostile image was accepted (want '%s')",
		       want);
	cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg,
		  want);
	cr_assert(strstr(err.msg, "bad.qcow2"), "message '%s' lacks the file",
		  err.msg);
}

TestSuite(qcow2_hostile, .init = scratch_setup, .fini = scratch_teardown);

Test(qcow2_hostile, valid_base_opens)
{
	uint8_t *h = malloc(65536 * 4);
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_check_result res = { 0 };
	int fd;

	make_header(h);
	fd = open(path("ok.qcow2"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(write(fd, h, 65536 * 4), 65536 * 4);
	close(fd);
	img = vmc_image_open(path("ok.qcow2"), NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0);
	cr_assert_eq(res.corruptions + res.leaks, 0);
	vmc_check_result_free(&res);
	vmc_image_close(img);
	free(h);
}

Test(qcow2_hostile, cluster_bits_out_of_range)
{
	uint8_t *h = malloc(65536 * 4);

	make_header(h);
	vmc_put_be32(h + 20, 31);
	expect_refused(h, 65536 * 4, "cluster_bits 31");
	vmc_put_be32(h + 20, 8);
	expect_refused(h, 65536 * 4, "cluster_bits 8");
	free(h);
}

Test(qcow2_hostile, l1_table_huge_or_past_eof)
{
	uint8_t *h = malloc(65536 * 4);

	make_header(h);
	vmc_put_be32(h + 36, 0x7fffffff);
	expect_refused(h, 65536 * 4, "too large");
	make_header(h);
	vmc_put_be64(h + 40, 0x7000000000ull);
	expect_refused(h, 65536 * 4, "past the end");
	make_header(h);
	vmc_put_be64(h + 24, 1ull << 40);	/* L1 too small */
	expect_refused(h, 65536 * 4, "too small");
	free(h);
}

Test(qcow2_hostile, unknown_incompatible_bit_is_named)
{
	uint8_t *h = malloc(65536 * 4);

	make_header(h);
	vmc_put_be64(h + 72, 1ull << 5);
	expect_refused(h, 65536 * 4, "bit 5");
	/* With a feature-name table the name is given too. */
	vmc_put_be32(h + 112, 0x6803f857);
	vmc_put_be32(h + 116, 48);
	h[120] = 0;
	h[121] = 5;
	strcpy((char *)h + 122, "teleportation");
	expect_refused(h, 65536 * 4, "teleportation");
	free(h);
}

Test(qcow2_hostile, backing_name_too_long)
{
	uint8_t *h = malloc(65536 * 4);

	make_header(h);
	vmc_put_be64(h + 8, 0x200);
	vmc_put_be32(h + 16, 2000);
	memset(h + 0x200, 'a', 2000);
	expect_refused(h, 65536 * 4, "1..1023");
	free(h);
}

Test(qcow2_hostile, truncated_and_wrong_version)
{
	uint8_t *h = malloc(65536 * 4);

	make_header(h);
	expect_refused(h, 40, "not a qcow2");
	vmc_put_be32(h + 4, 4);
	expect_refused(h, 65536 * 4, "version 4");
	free(h);
}

Test(qcow2_hostile, l2_entry_past_eof)
{
	uint8_t *h = malloc(65536 * 4), buf[4096];
	struct vmc_error err;
	struct vmc_image *img;
	int fd;

	make_header(h);
	vmc_put_be64(h + 0x30000, 0x40000ull | (1ull << 63));	/* L2 */
	fd = open(path("l2.qcow2"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(write(fd, h, 65536 * 4), 65536 * 4);
	cr_assert_eq(ftruncate(fd, 65536 * 5), 0);
	vmc_put_be64(buf, 0x7000000000ull | (1ull << 63));
	cr_assert_eq(pwrite(fd, buf, 8, 0x40000), 8);
	close(fd);
	img = vmc_image_open(path("l2.qcow2"), NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_pread(img, buf, sizeof(buf), 0, &err), -1);
	cr_assert(strstr(err.msg, "past the end"), "%s", err.msg);
	vmc_image_close(img);
	free(h);
}

Test(qcow2_hostile, backing_loop_is_refused)
{
	char cmd[512];

	if (!have_qemu_img())
		cr_skip_test("qemu-img is not installed");
	snprintf(cmd, sizeof(cmd), "cd %s && qemu-img create -q -f qcow2"
		 " a.qcow2 1M && qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2"
		 " b.qcow2 && qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2",
		 scratch_dir);
	cr_assert_eq(system(cmd), 0);
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(path("b.qcow2"), NULL, 0, NULL,
					       &err);
	cr_assert_null(img);
	cr_assert(strstr(err.msg, "loop"), "%s", err.msg);
}

/* Compressed clusters whose stream inflates past the cluster are cut at
 * the cluster, as qemu does; streams that do not inflate to a whole
 * cluster are errors naming the offset. */
Test(qcow2_hostile, compressed_overlong_and_garbage)
{
	uint8_t *h = malloc(65536 * 8), *in = malloc(131072);
	uint8_t *out = malloc(65536), *got = malloc(65536);
	uLongf olen = 65536;
	struct vmc_error err;
	struct vmc_image *img;
	z_stream z;
	int fd;

	make_header(h);
	memset(in, 'x', 65536);
	memset(in + 65536, 'y', 65536);
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, -12, 9,
				  Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = in;
	z.avail_in = 131072;
	z.next_out = out;
	z.avail_out = (uInt)olen;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	olen = z.total_out;
	deflateEnd(&z);
	vmc_put_be64(h + 0x30000, 0x40000ull | (1ull << 63));	/* L2 */
	/* cluster 0: the 128 KiB stream at 0x50000; cluster 1: garbage */
	vmc_put_be64(h + 0x40000, (1ull << 62) | (((olen + 511) / 512 - 1)
		     << 54) | 0x50000);
	vmc_put_be64(h + 0x40008, (1ull << 62) | (3ull << 54) | 0x60000);
	memcpy(h + 0x50000, out, olen);
	memset(h + 0x60000, 0xa5, 2048);
	fd = open(path("c.qcow2"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(write(fd, h, 65536 * 8), 65536 * 8);
	close(fd);
	img = vmc_image_open(path("c.qcow2"), NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_pread(img, got, 65536, 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(memcmp(got, in, 65536), 0);
	cr_assert_eq(vmc_image_pread(img, got, 4096, 65536, &err), -1);
	cr_assert(strstr(err.msg, "0x60000"), "%s", err.msg);
	/* the same whole: inflated outside the lock, the same error */
	cr_assert_eq(vmc_image_pread(img, got, 65536, 65536, &err), -1);
	cr_assert(strstr(err.msg, "c.qcow2: compressed cluster at 0x60000"),
		  "%s", err.msg);
	cr_assert_eq(vmc_image_pread(img, got, 65536, 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(memcmp(got, in, 65536), 0);
	vmc_image_close(img);
	free(h);
	free(in);
	free(out);
	free(got);
}
