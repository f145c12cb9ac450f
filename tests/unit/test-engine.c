/* Unit tests: the conversion engine (convert/engine.c) on real files:
 * extent walking, zero detection, digests, bounded memory, errors. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"


static void path(char *p, const char *name)
{
	snprintf(p, 128, "%s/%s", scratch_dir, name);
}

/* A sparse source: random data runs, explicit zero data (allocated but
 * zero), holes, and an unaligned tail. */
static uint64_t make_source(const char *p, uint64_t size)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	static uint8_t buf[3 << 20];
	uint64_t data = 0;

	cr_assert_geq(fd, 0);
	srand(42);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	/* data straddling chunk boundaries */
	cr_assert_eq(pwrite(fd, buf, 3 << 20, (1 << 20) + 4096), 3 << 20);
	data += 3 << 20;
	/* allocated zeros */
	memset(buf, 0, 1 << 20);
	cr_assert_eq(pwrite(fd, buf, 1 << 20, 16 << 20), 1 << 20);
	/* a small piece, not cluster-aligned */
	memset(buf, 0x77, 1000);
	cr_assert_eq(pwrite(fd, buf, 1000, (20 << 20) + 333), 1000);
	/* the last bytes */
	cr_assert_eq(pwrite(fd, buf, 100, (off_t)size - 100), 100);
	close(fd);
	return data;
}

static void sha256_file(const char *p, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	FILE *f = fopen(p, "rb");
	static char buf[1 << 16];
	unsigned len;
	size_t n;

	cr_assert_not_null(f);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(md, buf, n);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	fclose(f);
}

static int convert(const char *src, const char *dst,
		   struct vmc_convert_params *pp, struct vmc_convert_stats *st,
		   struct vmc_error *err)
{
	struct vmc_output *out = vmc_output_new();
	struct vmc_image *s, *d;
	int r = -1;

	s = vmc_image_open(src, "raw", 0, NULL, err);
	cr_assert_not_null(s, "%s", err->msg);
	d = vmc_image_create(dst, "raw", s->size, NULL, out, err);
	cr_assert_not_null(d, "%s", err->msg);
	pp->src = s;
	pp->dst = d;
	r = vmc_convert_run(pp, st, err);
	vmc_image_close(d);
	if (r == 0)
		r = vmc_output_commit(out, err);
	vmc_output_free(out);
	vmc_image_close(s);
	return r;
}

struct shape { unsigned threads; size_t chunk; unsigned buffers; };

ParameterizedTestParameters(engine, copies_exactly)
{
	static struct shape c[] = {
		{ 1, 0, 0 }, { 2, 0, 0 }, { 4, 64 << 10, 3 },
		{ 3, 1 << 20, 1 }, { 1, 4096, 2 }, { 8, 8 << 20, 0 },
	};
	return cr_make_param_array(struct shape, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct shape *c, engine, copies_exactly,
		  .init = scratch_setup, .fini = scratch_teardown)
{
	char src[128], dst[128], hex[65];
	unsigned char want[32];
	struct vmc_convert_params p = {
		.threads = c->threads, .chunk_size = c->chunk,
		.buffers = c->buffers, .digest = true,
	};
	struct vmc_convert_stats st;
	struct vmc_error err;
	struct stat sb;

	path(src, "src.raw");
	path(dst, "dst.raw");
	make_source(src, (64 << 20) + 512 * 3);
	cr_assert_eq(convert(src, dst, &p, &st, &err), 0, "%s", err.msg);
	sha256_file(src, want);
	cr_assert(st.have_digest);
	cr_assert_eq(memcmp(st.sha256, want, 32), 0);
	sha256_file(dst, want);
	cr_assert_eq(memcmp(st.sha256, want, 32), 0, "target differs");
	vmc_sha256_hex(st.sha256, hex);
	cr_assert_eq(strlen(hex), 64);
	/* The allocated zeros and the holes did not become data: the target
	 * holds about the source's data, not 64 MiB. */
	cr_assert_eq(stat(dst, &sb), 0);
	cr_assert_lt((uint64_t)sb.st_blocks * 512, 8 << 20, "target holds %llu bytes",
		     (unsigned long long)sb.st_blocks * 512);
	cr_assert_geq(st.zero_bytes, 1 << 20);
	cr_assert_eq(st.virtual_size, (64 << 20) + 512 * 3);
}

Test(engine, memory_does_not_grow_with_size, .init = scratch_setup, .fini = scratch_teardown)
{
	char src[128], dst[128];
	struct vmc_convert_params p = { .threads = 2 };
	struct vmc_convert_stats small, big;
	struct vmc_error err;

	path(src, "src.raw");
	path(dst, "dst.raw");
	make_source(src, 64 << 20);
	cr_assert_eq(convert(src, dst, &p, &small, &err), 0, "%s", err.msg);
	make_source(src, 64ULL << 30);	/* 64 GiB, sparse */
	cr_assert_eq(convert(src, dst, &p, &big, &err), 0, "%s", err.msg);
	cr_assert_eq(small.peak_buffer_bytes, big.peak_buffer_bytes);
	cr_assert_leq(big.peak_buffer_bytes, 64 << 20);
	/* Holes are never read: only the written data counts as read. */
	cr_assert_lt(big.data_bytes, 16 << 20);
}

Test(engine, smaller_target_is_refused, .init = scratch_setup, .fini = scratch_teardown)
{
	struct vmc_output *out = vmc_output_new();
	struct vmc_convert_params p = { 0 };
	struct vmc_convert_stats st;
	struct vmc_image *s, *d;
	struct vmc_error err;
	char src[128], dst[128];

	path(src, "src.raw");
	path(dst, "dst.raw");
	make_source(src, 8 << 20);
	s = vmc_image_open(src, "raw", 0, NULL, &err);
	d = vmc_image_create(dst, "raw", 4 << 20, NULL, out, &err);
	cr_assert(s && d);
	p.src = s;
	p.dst = d;
	cr_assert_eq(vmc_convert_run(&p, &st, &err), -1);
	cr_assert(strstr(err.msg, "smaller"), "%s", err.msg);
	vmc_image_close(d);
	vmc_output_free(out);
	vmc_image_close(s);
	cr_assert_eq(access(dst, F_OK), -1, "no file under the target name");
}

static volatile sig_atomic_t cancel_flag;

static void cancel_at_half(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (done * 2 >= total)
		cancel_flag = 1;
}

Test(engine, cancel_stops_with_error, .init = scratch_setup, .fini = scratch_teardown)
{
	char src[128], dst[128];
	struct vmc_convert_params p = {
		.threads = 1, .chunk_size = 64 << 10, .buffers = 1,
		.progress = cancel_at_half, .cancel = &cancel_flag,
	};
	struct vmc_convert_stats st;
	struct vmc_error err;
	int fd;
	static char buf[8 << 20];

	path(src, "src.raw");
	path(dst, "dst.raw");
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(buf, 1, sizeof(buf));
	cr_assert_eq(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	cancel_flag = 0;
	cr_assert_eq(convert(src, dst, &p, &st, &err), -1);
	cr_assert_eq(err.code, ECANCELED, "%s", err.msg);
	cr_assert_eq(access(dst, F_OK), -1);
}

Test(engine, compare_finds_first_difference, .init = scratch_setup, .fini = scratch_teardown)
{
	char a[128], b[128];
	struct vmc_image *ia, *ib;
	struct vmc_error err;
	int64_t differ;
	int fd;

	path(a, "a.raw");
	path(b, "b.raw");
	make_source(a, 32 << 20);
	make_source(b, 32 << 20);
	ia = vmc_image_open(a, NULL, 0, NULL, &err);
	ib = vmc_image_open(b, NULL, 0, NULL, &err);
	cr_assert_eq(vmc_image_compare(ia, ib, &differ, &err), 0);
	cr_assert_eq(differ, -1);
	vmc_image_close(ib);
	fd = open(b, O_WRONLY);
	cr_assert_eq(pwrite(fd, "x", 1, 30 << 20), 1);
	close(fd);
	ib = vmc_image_open(b, NULL, 0, NULL, &err);
	cr_assert_eq(vmc_image_compare(ia, ib, &differ, &err), 0);
	cr_assert_eq(differ, 30 << 20);
	vmc_image_close(ia);
	vmc_image_close(ib);
}
