/* Unit tests: the raw driver (formats/raw.c): probing, sparse block
 * status, hole punching, creation through an output. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"


static char *path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", scratch_dir, name);
	return p;
}

/* A 64 MiB sparse file with data at 1 MiB (64 KiB) and at 40 MiB. */
static void make_sparse(const char *p)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[65536];

	cr_assert_geq(fd, 0);
	memset(buf, 0xab, sizeof(buf));
	cr_assert_eq(ftruncate(fd, 64 << 20), 0);
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 1 << 20), sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 40 << 20), sizeof(buf));
	close(fd);
}

TestSuite(raw, .init = scratch_setup, .fini = scratch_teardown);

Test(raw, probe_answers_one)
{
	uint8_t hdr[512] = { 0 };

	const struct vmc_driver *d = vmc_driver_find("raw");

	cr_assert_not_null(d);
	cr_assert_eq(d->probe(hdr, sizeof(hdr), "x.img"), 1);
}

Test(raw, block_status_sees_holes)
{
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_extent x;

	make_sparse(path("a.raw"));
	img = vmc_image_open(path("a.raw"), NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_str_eq(img->drv->name, "raw");
	cr_assert_eq(img->size, 64 << 20);
	cr_assert_eq(vmc_image_block_status(img, 0, img->size, &x, &err), 0);
	cr_assert_eq(x.kind, VMC_EXTENT_ZERO);
	cr_assert_eq(x.length, 1 << 20);
	cr_assert_eq(vmc_image_block_status(img, 1 << 20, img->size, &x,
					    &err), 0);
	cr_assert_eq(x.kind, VMC_EXTENT_DATA);
	cr_assert_geq(x.length, 65536);
	cr_assert_lt(x.length, 39 << 20);
	vmc_image_close(img);
}

Test(raw, read_past_end_is_refused)
{
	struct vmc_error err;
	struct vmc_image *img;
	char buf[16];

	make_sparse(path("a.raw"));
	img = vmc_image_open(path("a.raw"), "raw", 0, NULL, &err);
	cr_assert_not_null(img);
	cr_assert_eq(vmc_image_pread(img, buf, sizeof(buf),
				     (64 << 20) - 8, &err), -1);
	cr_assert(strstr(err.msg, "past the end"), "%s", err.msg);
	cr_assert(strstr(err.msg, "a.raw"), "%s", err.msg);
	vmc_image_close(img);
}

Test(raw, create_write_zeroes_commit)
{
	struct vmc_output *out = vmc_output_new();
	struct vmc_error err;
	struct vmc_image *img;
	char buf[8192];
	struct stat st;

	img = vmc_image_create(path("new.raw"), "raw", 16 << 20, NULL, out,
			       &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert(img->zero_init);
	/* Nothing under the target name until commit. */
	cr_assert_eq(stat(path("new.raw"), &st), -1);
	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(vmc_image_pwrite(img, buf, sizeof(buf), 4096, &err), 0);
	cr_assert_eq(vmc_image_pwrite_zeroes(img, 4096, 4096, &err), 0);
	cr_assert_eq(vmc_image_flush(img, &err), 0);
	vmc_image_close(img);
	cr_assert_eq(vmc_output_commit(out, &err), 0, "%s", err.msg);
	vmc_output_free(out);
	cr_assert_eq(stat(path("new.raw"), &st), 0);
	cr_assert_eq(st.st_size, 16 << 20);

	img = vmc_image_open(path("new.raw"), "raw", 0, NULL, &err);
	cr_assert_not_null(img);
	cr_assert_eq(vmc_image_pread(img, buf, sizeof(buf), 4096, &err), 0);
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(buf[i], 0);
	for (size_t i = 4096; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0x5a);
	vmc_image_close(img);
}

Test(raw, unknown_create_option_refused)
{
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;

	cr_assert_eq(vmc_opts_parse(o, "cluster_size=64k", &err), 0);
	cr_assert_null(vmc_image_create(path("x.raw"), "raw", 1 << 20, o,
					out, &err));
	cr_assert(strstr(err.msg, "cluster_size"), "%s", err.msg);
	vmc_output_free(out);
	vmc_opts_free(o);
	cr_assert_eq(access(path("x.raw"), F_OK), -1);
}
