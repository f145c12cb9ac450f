/* The VHD plugin, loaded from build/plugins/vhd.so as vmconv loads it:
 * the size rule (footer current size vs CHS geometry by creator), footer
 * and header checksums, bad BAT entries, and differencing reads over a
 * parent (a child made by patching a dynamic VHD into a differencing one,
 * with one block's sector bitmap half cleared). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <zlib.h>

#include <vmconv/check.h>
#include <vmconv/image.h>
#include <vmconv/output.h>
#include <vmconv/plugin.h>

#include "common/bytes.h"

#define MiB (1024 * 1024)

static char dir[] = "/tmp/vmconv-test-vhd.XXXXXX";
static char path[300], ppath[300];

static void load_plugin(void)
{
	const char *b = getenv("VMCONV_BUILD");
	char so[512];
	struct vmc_error err;

	vmc_plugins_load_all();
	if (vmc_driver_find("vhd"))
		return;
	snprintf(so, sizeof(so), "%s/plugins/vhd.so", b ? b : "build");
	cr_assert_eq(vmc_plugin_load(so, &err), 0, "%s", err.msg);
}

static void setup(void)
{
	load_plugin();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/disk.vhd", dir);
	snprintf(ppath, sizeof(ppath), "%s/parent.vhd", dir);
}

static void teardown(void)
{
	unlink(path);
	unlink(ppath);
	rmdir(dir);
}

static uint32_t checksum(const uint8_t *b, size_t len, size_t at)
{
	uint32_t s = 0;

	for (size_t i = 0; i < len; i++)
		if (i < at || i >= at + 4)
			s += b[i];
	return ~s;
}

/* Write a VHD of size bytes through the plugin; byte i of sector k of
 * the data is (k + fill) & 0xff, for the first data_mib MiB. */
static void make_vhd(const char *p, const char *opts, uint64_t size,
		     unsigned data_mib, int fill)
{
	struct vmc_error err;
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_image *img;
	uint8_t *buf = malloc(MiB);

	cr_assert_eq(vmc_opts_parse(o, opts, &err), 0);
	img = vmc_image_create(p, "vpc", size, o, out, &err);
	cr_assert_not_null(img, "%s", err.msg);
	for (unsigned m = 0; m < data_mib; m++) {
		for (unsigned k = 0; k < 2048; k++)
			memset(buf + k * 512, (int)((m * 2048 + k + fill) &
						    0xff), 512);
		cr_assert_eq(vmc_image_pwrite(img, buf, MiB,
					      (uint64_t)m * MiB, &err), 0);
	}
	cr_assert_eq(vmc_image_flush(img, &err), 0, "%s", err.msg);
	vmc_image_close(img);
	cr_assert_eq(vmc_output_commit(out, &err), 0, "%s", err.msg);
	vmc_output_free(out);
	vmc_opts_free(o);
	free(buf);
}

static off_t file_size(const char *p)
{
	int fd = open(p, O_RDONLY);
	off_t s = lseek(fd, 0, SEEK_END);

	close(fd);
	return s;
}

static void read_footer(const char *p, uint8_t *f)
{
	int fd = open(p, O_RDONLY);

	cr_assert_eq(pread(fd, f, 512, file_size(p) - 512), 512);
	close(fd);
}

/* Write footer f at the end (and at 0 for dynamic disks). */
static void write_footer(const char *p, uint8_t *f, bool fix_sum)
{
	int fd = open(p, O_RDWR);

	if (fix_sum)
		vmc_put_be32(f + 64, checksum(f, 512, 64));
	cr_assert_eq(pwrite(fd, f, 512, file_size(p) - 512), 512);
	if (vmc_get_be32(f + 60) != 2)
		cr_assert_eq(pwrite(fd, f, 512, 0), 512);
	close(fd);
}

static uint64_t open_size(const char *p)
{
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(p, NULL, 0, NULL, &err);
	uint64_t s;

	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_str_eq(img->drv->name, "vhd");
	s = img->size;
	vmc_image_close(img);
	return s;
}

Test(vhd, plugin_is_loaded_with_alias, .init = setup, .fini = teardown)
{
	const struct vmc_driver *a = vmc_driver_find("vhd");
	const struct vmc_driver *b = vmc_driver_find("vpc");

	cr_assert_not_null(a);
	cr_assert_eq(a, b);
	cr_assert_str_eq(a->name, "vhd");
	cr_assert_not_null(a->create);
}

Test(vhd, footer_checksum_and_layout, .init = setup, .fini = teardown)
{
	uint8_t f[512], h[1024];
	int fd;

	make_vhd(path, "subformat=dynamic", 10 * MiB, 3, 1);
	read_footer(path, f);
	cr_assert(!memcmp(f, "conectix", 8));
	cr_assert_eq(vmc_get_be32(f + 64), checksum(f, 512, 64));
	cr_assert_eq(vmc_get_be32(f + 60), 3);
	cr_assert_eq(vmc_get_be64(f + 16), 512);
	fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, h, sizeof(h), 512), 1024);
	close(fd);
	cr_assert(!memcmp(h, "cxsparse", 8));
	cr_assert_eq(vmc_get_be32(h + 36), checksum(h, 1024, 36));
	cr_assert_eq(vmc_get_be32(h + 32), 2 * MiB);
	cr_assert_eq(vmc_get_be32(h + 28),
		     (open_size(path) + 2 * MiB - 1) / (2 * MiB));
	/* 10 MiB is not a whole CHS geometry: rounded up, as qemu does */
	cr_assert_geq(open_size(path), 10 * MiB);
	cr_assert_eq(open_size(path), vmc_get_be64(f + 48));
	cr_assert_eq(open_size(path), (uint64_t)vmc_get_be16(f + 56) *
		     f[58] * f[59] * 512);
}

Test(vhd, force_size_is_mib_aligned, .init = setup, .fini = teardown)
{
	uint8_t f[512];

	make_vhd(path, "subformat=fixed,force_size=on", 10 * MiB + 512, 1, 0);
	cr_assert_eq(open_size(path), 11 * MiB);
	cr_assert_eq(file_size(path), 11 * MiB + 512);
	read_footer(path, f);
	cr_assert_eq(vmc_get_be32(f + 60), 2);
	cr_assert_eq(vmc_get_be64(f + 48), 11 * MiB);
}

/* Virtual PC and old qemu size disks by CHS; Windows by current size. */
Test(vhd, chs_rule_by_creator, .init = setup, .fini = teardown)
{
	uint8_t f[512];

	make_vhd(path, "subformat=fixed,force_size=on", 16 * MiB, 1, 0);
	read_footer(path, f);
	vmc_put_be16(f + 56, 100);		/* 100 x 4 x 17 sectors */
	f[58] = 4;
	f[59] = 17;
	memcpy(f + 28, "vpc ", 4);
	write_footer(path, f, true);
	cr_assert_eq(open_size(path), 100ull * 4 * 17 * 512);
	memcpy(f + 28, "qemu", 4);
	write_footer(path, f, true);
	cr_assert_eq(open_size(path), 100ull * 4 * 17 * 512);
	memcpy(f + 28, "win ", 4);
	write_footer(path, f, true);
	cr_assert_eq(open_size(path), 16 * MiB);
	memcpy(f + 28, "d2v ", 4);
	write_footer(path, f, true);
	cr_assert_eq(open_size(path), 16 * MiB);
	/* The maximum geometry means "too big for CHS": current size. */
	memcpy(f + 28, "vpc ", 4);
	vmc_put_be16(f + 56, 65535);
	f[58] = 16;
	f[59] = 255;
	write_footer(path, f, true);
	cr_assert_eq(open_size(path), 16 * MiB);
}

static void expect_open_error(const char *p, const char *what)
{
	struct vmc_error err;

	cr_assert_null(vmc_image_open(p, "vpc", 0, NULL, &err));
	cr_assert(strstr(err.msg, what), "'%s' not in '%s'", what, err.msg);
	cr_assert(strstr(err.msg, p), "%s", err.msg);
}

Test(vhd, bad_footer_checksum, .init = setup, .fini = teardown)
{
	uint8_t f[512];

	make_vhd(path, "subformat=fixed", 4 * MiB, 1, 0);
	read_footer(path, f);
	f[40] ^= 1;
	write_footer(path, f, false);
	expect_open_error(path, "checksum mismatch");
}

/* A dynamic disk's damaged footer is replaced by its copy at 0. */
Test(vhd, footer_copy_used, .init = setup, .fini = teardown)
{
	uint8_t z[512] = { 0 };
	int fd;

	make_vhd(path, "subformat=dynamic", 4 * MiB, 1, 0);
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, z, 512, file_size(path) - 512), 512);
	close(fd);
	cr_assert_geq(open_size(path), 4 * MiB);
}

/* check: the copy at 0 damaged is found and repaired from the end;
 * overlapping blocks are found. */
Test(vhd, check_and_repair, .init = setup, .fini = teardown)
{
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_check_result res = { 0 };
	uint8_t z = 0x55, e[8];
	int fd;

	make_vhd(path, "subformat=dynamic", 8 * MiB, 4, 0);
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions, 0);
	cr_assert_eq(res.allocated_clusters, 2);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, &z, 1, 100), 1);
	close(fd);
	img = vmc_image_open(path, NULL, VMC_OPEN_RDWR, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(vmc_image_check(img, &res, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.corruptions_fixed, 1);
	vmc_check_result_free(&res);
	vmc_image_close(img);

	/* block 1 made to start inside block 0 */
	fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, e, 8, 1536), 8);
	vmc_put_be32(e + 4, vmc_get_be32(e) + 8);
	cr_assert_eq(pwrite(fd, e, 8, 1536), 8);
	close(fd);
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(vmc_image_check(img, &res, false, &err), 0);
	cr_assert_eq(res.corruptions, 1);
	vmc_check_result_free(&res);
	vmc_image_close(img);
}

Test(vhd, bad_dynamic_header, .init = setup, .fini = teardown)
{
	uint8_t b = 0x55;
	int fd;

	make_vhd(path, "subformat=dynamic", 4 * MiB, 1, 0);
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, &b, 1, 512 + 200), 1);
	close(fd);
	expect_open_error(path, "dynamic disk header");
}

Test(vhd, bat_entry_past_end, .init = setup, .fini = teardown)
{
	uint8_t e[4];
	int fd;

	make_vhd(path, "subformat=dynamic", 4 * MiB, 1, 0);
	vmc_put_be32(e, 0x10000000);
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, e, 4, 1536 + 4), 4);
	close(fd);
	expect_open_error(path, "points past end of file");
}

/* Child: dynamic 8 MiB with blocks 0 and 1 allocated (fill 100), made a
 * differencing disk of parent.vhd (fill 7, 8 MiB of data).  Block 0's
 * bitmap is cleared for its second half: those sectors come from the
 * parent; blocks 2 and 3 come from the parent entirely. */
Test(vhd, differencing_read, .init = setup, .fini = teardown)
{
	uint8_t f[512], pf[512], h[1024], bm[512], *buf = malloc(8 * MiB);
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_extent ext;
	static const char name[] = "parent.vhd";
	uint32_t b0;
	int fd;

	make_vhd(ppath, "subformat=dynamic", 8 * MiB, 8, 7);
	make_vhd(path, "subformat=dynamic", 8 * MiB, 4, 100);
	read_footer(ppath, pf);
	read_footer(path, f);
	fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, h, sizeof(h), 512), 1024);
	memcpy(h + 40, pf + 68, 16);		/* parent unique id */
	memset(h + 64, 0, 512);
	for (size_t i = 0; i < sizeof(name) - 1; i++)
		vmc_put_be16(h + 64 + 2 * i, (uint16_t)name[i]);
	vmc_put_be32(h + 36, checksum(h, 1024, 36));
	cr_assert_eq(pwrite(fd, h, sizeof(h), 512), 1024);
	/* drop blocks 2 and 3, clear the second half of block 0's bitmap */
	memset(bm, 0xff, 8);
	cr_assert_eq(pwrite(fd, bm, 8, 1536 + 8), 8);
	cr_assert_eq(pread(fd, bm, 4, 1536), 4);
	b0 = vmc_get_be32(bm);
	cr_assert_eq(pread(fd, bm, 512, (off_t)b0 * 512), 512);
	memset(bm + 256, 0, 256);
	cr_assert_eq(pwrite(fd, bm, 512, (off_t)b0 * 512), 512);
	close(fd);
	vmc_put_be32(f + 60, 4);
	write_footer(path, f, true);

	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_image_pread(img, buf, 8 * MiB, 0, &err), 0, "%s",
		     err.msg);
	for (uint64_t k = 0; k < 8 * 2048; k++) {
		bool child = k < 2048 || (k >= 4096 && k < 8192);
		uint8_t want = (uint8_t)((k + (child ? 100 : 7)) & 0xff);

		cr_assert_eq(buf[k * 512], want, "sector %llu",
			     (unsigned long long)k);
		cr_assert_eq(buf[k * 512 + 511], want);
	}
	cr_assert_eq(vmc_image_block_status(img, 0, 8 * MiB, &ext, &err), 0);
	cr_assert_eq(ext.kind, VMC_EXTENT_DATA);
	vmc_image_close(img);

	/* Without its parent the child names what it tried. */
	unlink(ppath);
	cr_assert_null(vmc_image_open(path, NULL, 0, NULL, &err));
	cr_assert(strstr(err.msg, "parent disk not found"), "%s", err.msg);
	cr_assert(strstr(err.msg, ppath), "%s", err.msg);
	free(buf);
}

/* A parent locator pointing outside the file, after a good one. */
Test(vhd, parent_locator_outside_file, .init = setup, .fini = teardown)
{
	uint8_t f[512], h[1024], *e;
	int fd;

	make_vhd(path, "subformat=dynamic", 4 * MiB, 1, 0);
	read_footer(path, f);
	fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, h, sizeof(h), 512), 1024);
	e = h + 576;
	memcpy(e, "W2ru", 4);
	vmc_put_be32(e + 8, 8);
	vmc_put_be64(e + 16, 512 + 64);		/* inside the header */
	memcpy(e + 24, "W2ku", 4);
	vmc_put_be32(e + 24 + 8, 512);
	vmc_put_be64(e + 24 + 16, 1ull << 40);
	vmc_put_be32(h + 36, checksum(h, 1024, 36));
	cr_assert_eq(pwrite(fd, h, sizeof(h), 512), 1024);
	close(fd);
	vmc_put_be32(f + 60, 4);
	write_footer(path, f, true);
	expect_open_error(path, "parent locator 1");
}

/* Windows diskpart's differencing disk from dfvfs (its parent is not
 * included): a parent is made for it, with the unique ID the child
 * records, and every sector is checked against the child's sector bitmaps
 * decoded here (most significant bit first).  Skipped without samples. */
Test(vhd, windows_differencing_over_parent, .init = setup, .fini = teardown)
{
	const char *top = getenv("VMCONV_TOP");
	char src[512];
	static char gzbuf[65536];
	uint8_t h[1024], pf[512], *raw, *got;
	uint32_t entries, bs;
	uint64_t size, table, from_parent = 0, from_child = 0;
	struct vmc_error err;
	struct vmc_image *img;
	gzFile in;
	int fd, n;

	snprintf(src, sizeof(src), "%s/../shared/samples/dfvfs/"
		 "fat-differential.vhd.gz", top ? top : ".");
	if (access(src, R_OK) < 0)
		cr_skip_test("sample %s is absent", src);
	snprintf(path, sizeof(path), "%s/fat-differential.vhd", dir);
	snprintf(ppath, sizeof(ppath), "%s/fat-parent.vhd", dir);
	in = gzopen(src, "rb");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while ((n = gzread(in, gzbuf, sizeof(gzbuf))) > 0)
		cr_assert_eq(write(fd, gzbuf, (size_t)n), n);
	gzclose(in);
	close(fd);

	fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, h, sizeof(h), 512), 1024);
	table = vmc_get_be64(h + 16);
	entries = vmc_get_be32(h + 28);
	bs = vmc_get_be32(h + 32);
	cr_assert_eq(bs, 2 * MiB);
	read_footer(path, pf);
	size = vmc_get_be64(pf + 48);
	cr_assert_eq(size, 4 * MiB);

	/* parent: sector k holds byte (k + 7) & 0xff, the child's ID */
	make_vhd(ppath, "subformat=fixed,force_size=on", size, 4, 7);
	read_footer(ppath, pf);
	memcpy(pf + 68, h + 40, 16);
	write_footer(ppath, pf, true);

	img = vmc_image_open(path, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(img->size, size);
	raw = malloc(bs + 512);
	got = malloc(bs);
	for (uint32_t b = 0; b < entries && (uint64_t)b * bs < size; b++) {
		uint8_t e[4];
		uint32_t sec;

		cr_assert_eq(pread(fd, e, 4, (off_t)(table + 4 * b)), 4);
		sec = vmc_get_be32(e);
		cr_assert_eq(vmc_image_pread(img, got, bs, (uint64_t)b * bs,
					     &err), 0, "%s", err.msg);
		if (sec != 0xFFFFFFFF)
			cr_assert_eq(pread(fd, raw, bs + 512,
					   (off_t)sec * 512), bs + 512);
		for (uint32_t k = 0; k < bs / 512; k++) {
			bool child = sec != 0xFFFFFFFF &&
				     (raw[k / 8] >> (7 - k % 8)) & 1;
			uint64_t abs = (uint64_t)b * (bs / 512) + k;

			if (child) {
				from_child++;
				cr_assert(!memcmp(got + k * 512,
						  raw + 512 + k * 512, 512),
					  "sector %llu", (unsigned long long)abs);
			} else {
				from_parent++;
				cr_assert_eq(got[k * 512], (abs + 7) & 0xff,
					     "sector %llu",
					     (unsigned long long)abs);
				cr_assert_eq(got[k * 512 + 511],
					     (abs + 7) & 0xff);
			}
		}
	}
	cr_assert(from_child > 0 && from_parent > 0, "%llu %llu",
		  (unsigned long long)from_child,
		  (unsigned long long)from_parent);
	close(fd);
	free(raw);
	free(got);
	vmc_image_close(img);

	/* A parent whose unique ID differs is refused. */
	pf[70] ^= 1;
	write_footer(ppath, pf, true);
	cr_assert_null(vmc_image_open(path, NULL, 0, NULL, &err));
	cr_assert(strstr(err.msg, "unique ID"), "%s", err.msg);
}
