/* Unit tests: the VMDK driver on damaged and hand-made files (the
 * fuzzer-made afl9.vmdk kind of corruption): every one must fail with an
 * error naming the file and the structure, never crash, hang or allocate
 * what the file asks for.  Also the extent kinds qemu-img cannot write
 * (COWD vmfsSparse, seSparse, ZERO extents), built by hand. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <vmconv/vmconv.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/vmconv-vmdk-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(vmdk, .init = setup, .fini = teardown);

static char *path(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void put_file(const char *name, const void *buf, size_t len)
{
	int fd = open(path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
}

static void patch(const char *name, uint64_t off, const void *b, size_t n)
{
	int fd = open(path(name), O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void patch32(const char *name, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	vmc_put_le32(b, v);
	patch(name, off, b, 4);
}

static void patch64(const char *name, uint64_t off, uint64_t v)
{
	uint8_t b[8];

	vmc_put_le64(b, v);
	patch(name, off, b, 8);
}

/* Create name (4 MiB) with vmconv's writer; grain i of the first 8
 * holds byte 0x10 + i. */
static void make(const char *name, const char *opts)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_output *out = vmc_output_new();
	struct vmc_image *img;
	struct vmc_error e;
	uint8_t buf[65536];

	cr_assert_eq(vmc_opts_parse(o, opts, &e), 0, "%s", e.msg);
	img = vmc_image_create(path(name), "vmdk", 4 << 20, o, out, &e);
	cr_assert_not_null(img, "%s", e.msg);
	for (int i = 0; i < 8; i++) {
		memset(buf, 0x10 + i, sizeof(buf));
		cr_assert_eq(vmc_image_pwrite(img, buf, sizeof(buf),
					      (uint64_t)i * 65536, &e), 0,
			     "%s", e.msg);
	}
	cr_assert_eq(vmc_image_flush(img, &e), 0, "%s", e.msg);
	cr_assert_eq(vmc_output_commit(out, &e), 0, "%s", e.msg);
	vmc_image_close(img);
	vmc_output_free(out);
	vmc_opts_free(o);
}

/* Open must fail naming the file and saying what. */
static void open_fails(const char *name, const char *what)
{
	struct vmc_error e;
	struct vmc_image *img;

	memset(&e, 0, sizeof(e));
	img = vmc_image_open(path(name), "vmdk", 0, NULL, &e);
	cr_assert_null(img, "%s opened", name);
	cr_assert(strstr(e.msg, what), "error '%s' lacks '%s'", e.msg, what);
	cr_assert(strstr(e.msg, name), "error names no file: %s", e.msg);
}

/* Open works, reading everything fails naming the structure. */
static void read_fails(const char *name, const char *what)
{
	struct vmc_error e;
	struct vmc_image *img;
	static uint8_t buf[4 << 20];
	int r;

	img = vmc_image_open(path(name), "vmdk", 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	memset(&e, 0, sizeof(e));
	r = vmc_image_pread(img, buf, img->size, 0, &e);
	vmc_image_close(img);
	cr_assert_eq(r, -1, "%s read fine", name);
	cr_assert(strstr(e.msg, what), "error '%s' lacks '%s'", e.msg, what);
}

/* A read of part of the first grain (the cached path, not the whole
 * grain inflated outside the lock) fails the same way. */
static void read_part_fails(const char *name, const char *what)
{
	struct vmc_error e;
	struct vmc_image *img;
	uint8_t buf[4096];
	int r;

	img = vmc_image_open(path(name), "vmdk", 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	r = vmc_image_pread(img, buf, sizeof(buf), 512, &e);
	vmc_image_close(img);
	cr_assert_eq(r, -1, "%s read fine", name);
	cr_assert(strstr(e.msg, what), "error '%s' lacks '%s'", e.msg, what);
}

static void read_ok(const char *name, uint8_t *buf, size_t len)
{
	struct vmc_error e;
	struct vmc_image *img;

	img = vmc_image_open(path(name), NULL, 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	cr_assert_eq(img->size, len);
	cr_assert_eq(vmc_image_pread(img, buf, len, 0, &e), 0, "%s", e.msg);
	vmc_image_close(img);
}

Test(vmdk, roundtrip_every_subformat)
{
	static const char *const subs[] = { "monolithicSparse",
		"monolithicFlat", "twoGbMaxExtentSparse",
		"twoGbMaxExtentFlat", "streamOptimized" };
	static uint8_t buf[4 << 20];

	for (size_t s = 0; s < 5; s++) {
		char opt[64], name[64];

		snprintf(opt, sizeof(opt), "subformat=%s", subs[s]);
		snprintf(name, sizeof(name), "%s.vmdk", subs[s]);
		make(name, opt);
		read_ok(name, buf, sizeof(buf));
		for (int i = 0; i < 8; i++)
			cr_assert_eq(buf[i * 65536 + 777], 0x10 + i, "%s",
				     subs[s]);
		cr_assert(vmc_is_zero(buf + 8 * 65536,
				      sizeof(buf) - 8 * 65536));
	}
}

/* Header offsets: 44 gtes, 56 gd, 20 grain, 12 capacity, 4 version,
 * 36 descriptor size. */
Test(vmdk, header_corruptions)
{
	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 56, 1ull << 40);
	open_fails("c.vmdk", "grain directory at offset");

	make("c.vmdk", "subformat=monolithicSparse");
	patch32("c.vmdk", 44, 0);
	open_fails("c.vmdk", "entries per grain table");

	make("c.vmdk", "subformat=monolithicSparse");
	patch32("c.vmdk", 44, 0x40000000);
	open_fails("c.vmdk", "entries per grain table");

	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 20, 3);
	open_fails("c.vmdk", "not a power of two");

	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 20, 1ull << 40);
	open_fails("c.vmdk", "grain size");

	/* a capacity that would need a huge grain directory */
	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 12, 1ull << 50);
	open_fails("c.vmdk", "grain directory entries (at most");

	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 12, UINT64_MAX >> 8);
	open_fails("c.vmdk", "capacity");

	make("c.vmdk", "subformat=monolithicSparse");
	patch32("c.vmdk", 4, 4);
	open_fails("c.vmdk", "version 4 not supported");

	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 36, 0xffffffffull);
	open_fails("c.vmdk", "embedded descriptor");

	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 28, 1ull << 40);
	open_fails("c.vmdk", "embedded descriptor");

	/* GD_AT_END without a footer */
	make("c.vmdk", "subformat=monolithicSparse");
	patch64("c.vmdk", 56, VMDK4_GD_AT_END);
	open_fails("c.vmdk", "footer");

	/* truncated to the header */
	make("c.vmdk", "subformat=monolithicSparse");
	cr_assert_eq(truncate(path("c.vmdk"), 100), 0);
	open_fails("c.vmdk", "too short");
}

static uint64_t hdr64(const char *name, uint64_t off)
{
	uint8_t b[8];
	int fd = open(path(name), O_RDONLY);

	cr_assert_eq(pread(fd, b, 8, (off_t)off), 8);
	close(fd);
	return vmc_get_le64(b);
}

static uint32_t file32(const char *name, uint64_t off)
{
	uint8_t b[4];
	int fd = open(path(name), O_RDONLY);

	cr_assert_eq(pread(fd, b, 4, (off_t)off), 4);
	close(fd);
	return vmc_get_le32(b);
}

Test(vmdk, table_corruptions)
{
	uint64_t gd, gt;

	/* a grain directory entry past the end */
	make("t.vmdk", "subformat=monolithicSparse");
	gd = hdr64("t.vmdk", 56) * 512;
	patch32("t.vmdk", gd, 0x7fffffff);
	open_fails("t.vmdk", "grain directory entry 0 points");

	/* a grain table entry past the end: fails when read */
	make("t.vmdk", "subformat=monolithicSparse");
	gd = hdr64("t.vmdk", 56) * 512;
	gt = (uint64_t)file32("t.vmdk", gd) * 512;
	patch32("t.vmdk", gt + 4 * 3, 0x7fff0000);
	read_fails("t.vmdk", "grain table entry for grain 3");
}

/* A stream built by hand: header (version 3), grain marker with the
 * given zlib payload at sector 128, grain table, grain directory. */
static void make_stream(const char *name, const void *payload,
			uint32_t plen, uint64_t lba)
{
	static uint8_t f[256 * 512];
	struct vmdk4_header h = {
		.version = 3,
		.flags = VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_COMPRESS |
			 VMDK4_FLAG_MARKER,
		.capacity = 256, .grain = 128, .gtes = 512,
		.gd_off = 200, .overhead = 128,
		.compress = VMDK4_COMPRESS_DEFLATE,
	};
	uint64_t gt = 190;

	memset(f, 0, sizeof(f));
	vmdk4_header_put(f, &h);
	cr_assert_leq(plen, 60 * 512);
	vmc_put_le64(f + 128 * 512, lba);
	vmc_put_le32(f + 128 * 512 + 8, plen);
	memcpy(f + 128 * 512 + 12, payload, plen);
	vmc_put_le32(f + gt * 512, 128);
	vmc_put_le32(f + 200 * 512, (uint32_t)gt);
	put_file(name, f, sizeof(f));
}

Test(vmdk, stream_corruptions)
{
	static uint8_t big[131072], z[70000], out[65536];
	uLongf zl = sizeof(z);

	/* sane: one grain of 0x5a */
	memset(big, 0x5a, sizeof(big));
	cr_assert_eq(compress(z, &zl, big, 65536), Z_OK);
	make_stream("s.vmdk", z, (uint32_t)zl, 0);
	read_ok("s.vmdk", big, 131072);
	cr_assert_eq(big[1000], 0x5a);
	cr_assert_eq(big[65536 + 1000], 0);

	/* inflates to 128 KiB in a 64 KiB grain */
	memset(big, 0x5a, sizeof(big));
	zl = sizeof(z);
	cr_assert_eq(compress(z, &zl, big, sizeof(big)), Z_OK);
	make_stream("s.vmdk", z, (uint32_t)zl, 0);
	read_fails("s.vmdk", "inflates past the grain size");

	/* garbage instead of zlib */
	memset(z, 0xee, 1000);
	make_stream("s.vmdk", z, 1000, 0);
	read_fails("s.vmdk", "is corrupt (deflate");
	read_part_fails("s.vmdk", "is corrupt (deflate");

	/* a marker giving an absurd compressed size */
	make_stream("s.vmdk", z, 100, 0);
	patch32("s.vmdk", 128 * 512 + 8, 0xfffffff0);
	read_fails("s.vmdk", "compressed size");

	/* a marker for another sector */
	zl = sizeof(z);
	cr_assert_eq(compress(z, &zl, big, 65536), Z_OK);
	make_stream("s.vmdk", z, (uint32_t)zl, 4096);
	read_fails("s.vmdk", "is for sector 4096");
	(void)out;
}

static void put_text(const char *name, const char *text)
{
	put_file(name, text, strlen(text));
}

Test(vmdk, descriptor_extent_problems)
{
	static uint8_t buf[(1 << 20) + 4096];

	put_text("m.vmdk", "version=1\nCID=12345678\nparentCID=ffffffff\n"
		 "createType=\"monolithicFlat\"\nRW 2048 FLAT \"nothere.vmdk\""
		 " 0\n");
	open_fails("m.vmdk", "nothere.vmdk");

	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 2048 FLAT \"../outside.vmdk\" 0\n");
	open_fails("m.vmdk", "outside the image's folder");

	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 2048 FLAT \"/etc/passwd\" 0\n");
	open_fails("m.vmdk", "outside the image's folder");

	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 2048 FLAT \"sub/../../x\" 0\n");
	open_fails("m.vmdk", "outside");

	/* a symbolic link out of the folder, and a FIFO */
	cr_assert_eq(symlink("/etc/passwd", path("link.vmdk")), 0);
	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 1 FLAT \"link.vmdk\" 0\n");
	open_fails("m.vmdk", "/etc/passwd is outside");
	cr_assert_eq(mkfifo(path("fifo.vmdk"), 0600), 0);
	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 1 FLAT \"fifo.vmdk\" 0\n");
	open_fails("m.vmdk", "is a FIFO");

	/* a flat extent shorter than the descriptor says */
	put_file("m-flat.vmdk", buf, 4096);
	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n"
		 "RW 2048 FLAT \"m-flat.vmdk\" 0\n");
	open_fails("m.vmdk", "flat extent needs");

	/* a sparse extent smaller than its line */
	make("small.vmdk", "subformat=monolithicSparse");
	put_text("m.vmdk", "version=1\ncreateType=\"twoGbMaxExtentSparse\"\n"
		 "RW 99999 SPARSE \"small.vmdk\"\n");
	open_fails("m.vmdk", "descriptor gives it");

	put_text("m.vmdk", "version=1\ncreateType=\"monolithicFlat\"\n");
	open_fails("m.vmdk", "no extents");

	/* a file that is neither: large and not sparse */
	memcpy(buf, "version=1\n", 10);
	put_file("m.vmdk", buf, sizeof(buf));
	open_fails("m.vmdk", "too large");
}

/* ZERO and FLAT-with-offset extents in one descriptor, a NOACCESS one,
 * and the flat file shared by two extents at different offsets. */
Test(vmdk, mixed_extents)
{
	static uint8_t f[8192], buf[4 * 512 + 1024 + 512];
	struct vmc_error e;
	struct vmc_image *img;

	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)(i / 512 + 1);
	put_file("data.bin", f, sizeof(f));
	put_text("x.vmdk", "# Disk DescriptorFile\nversion=1\n"
		 "CID=fffffffe\nparentCID=ffffffff\ncreateType=\"custom\"\n"
		 "RW 4 FLAT \"data.bin\" 8\nRDONLY 2 ZERO\n"
		 "RW 1 FLAT \"data.bin\" 0\n");
	read_ok("x.vmdk", buf, 7 * 512);
	cr_assert_eq(buf[0], 9);
	cr_assert_eq(buf[3 * 512], 12);
	cr_assert(vmc_is_zero(buf + 4 * 512, 1024));
	cr_assert_eq(buf[6 * 512], 1);

	put_text("x.vmdk", "version=1\ncreateType=\"custom\"\n"
		 "RW 4 FLAT \"data.bin\" 0\nNOACCESS 4 FLAT \"data.bin\" 4\n");
	img = vmc_image_open(path("x.vmdk"), NULL, 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	cr_assert_eq(vmc_image_pread(img, buf, 512, 0, &e), 0);
	cr_assert_eq(vmc_image_pread(img, buf, 512, 5 * 512, &e), -1);
	cr_assert(strstr(e.msg, "NOACCESS"), "%s", e.msg);
	vmc_image_close(img);
}

/* ESX 2/3 redo log (vmfsSparse, "COWD"): 4096-entry grain tables. */
Test(vmdk, cowd)
{
	static uint8_t f[64 * 512], buf[8192 * 512];
	char cmd[512];

	memset(f, 0, sizeof(f));
	vmc_put_le32(f, VMDK3_MAGIC);
	vmc_put_le32(f + 4, 1);			/* version */
	vmc_put_le32(f + 8, 3);			/* flags */
	vmc_put_le32(f + 12, 8192);		/* disk sectors */
	vmc_put_le32(f + 16, 16);		/* granularity */
	vmc_put_le32(f + 20, 4);		/* l1dir offset */
	vmc_put_le32(f + 24, 1);		/* l1dir entries */
	vmc_put_le32(f + 4 * 512, 8);		/* GT at sector 8 */
	vmc_put_le32(f + 8 * 512 + 4 * 2, 40);	/* grain 2 at sector 40 */
	memset(f + 40 * 512, 0xc3, 16 * 512);
	put_file("cowd.vmdk", f, sizeof(f));
	read_ok("cowd.vmdk", buf, sizeof(buf));
	cr_assert(vmc_is_zero(buf, 32 * 512));
	cr_assert_eq(buf[32 * 512], 0xc3);
	cr_assert_eq(buf[48 * 512 - 1], 0xc3);
	cr_assert(vmc_is_zero(buf + 48 * 512, sizeof(buf) - 48 * 512));
	/* the way ESX stores it: behind a descriptor; qemu reads that too,
	 * so it is the oracle when it is here */
	put_text("redo.vmdk", "# Disk DescriptorFile\nversion=1\n"
		 "CID=fffffffe\nparentCID=ffffffff\n"
		 "createType=\"vmfsSparse\"\n"
		 "RW 8192 VMFSSPARSE \"cowd.vmdk\"\n");
	read_ok("redo.vmdk", buf, sizeof(buf));
	cr_assert_eq(buf[32 * 512], 0xc3);
	snprintf(cmd, sizeof(cmd), "command -v qemu-img >/dev/null || exit 0;"
		 " qemu-img convert -f vmdk -O raw %s/redo.vmdk %s/cowd.raw &&"
		 " cmp %s/cowd.raw %s/c.raw", dir, dir, dir, dir);
	put_file("c.raw", buf, sizeof(buf));
	cr_assert_eq(system(cmd), 0, "qemu-img reads the COWD differently");

	vmc_put_le32(f + 24, 0);		/* no directory entries */
	put_file("cowd.vmdk", f, sizeof(f));
	open_fails("cowd.vmdk", "COWD grain directory has 0 entries");
}

/* seSparse: constant header, volatile header, one grain table. */
static void make_se(uint8_t *f, size_t len)
{
	uint64_t *h;

	memset(f, 0, len);
	h = (uint64_t *)f;
	h[0] = htole64(SESPARSE_MAGIC);
	h[1] = htole64(SESPARSE_VERSION);
	h[2] = htole64(65536);		/* capacity: 32 MiB */
	h[3] = htole64(8);
	h[4] = htole64(64);
	h[10] = htole64(1);		/* volatile header */
	h[11] = htole64(1);
	h[16] = htole64(2);		/* grain directory */
	h[17] = htole64(1);
	h[18] = htole64(3);		/* grain tables */
	h[19] = htole64(64);
	h[24] = htole64(67);		/* grains */
	h[25] = htole64(64);
	vmc_put_le64(f + 512, SESPARSE_VOL_MAGIC);
	vmc_put_le64(f + 2 * 512, 0x1000000000000000ull);	/* GT 0 */
	/* grain 1 allocated as grain index 2, grain 3 zeroed */
	vmc_put_le64(f + 3 * 512 + 8, 0x3000000000000000ull |
		     (2ull << 48));
	vmc_put_le64(f + 3 * 512 + 24, 0x2000000000000000ull);
	memset(f + (67 + 16) * 512, 0x61, 4096);
}

Test(vmdk, sesparse)
{
	static uint8_t f[100 * 512], buf[32 << 20];
	struct vmc_error e;
	struct vmc_image *img;
	struct vmc_extent x;

	make_se(f, sizeof(f));
	put_file("se.vmdk", f, sizeof(f));
	read_ok("se.vmdk", buf, sizeof(buf));
	cr_assert(vmc_is_zero(buf, 4096));
	cr_assert_eq(buf[4096], 0x61);
	cr_assert_eq(buf[8191], 0x61);
	cr_assert(vmc_is_zero(buf + 8192, sizeof(buf) - 8192));
	img = vmc_image_open(path("se.vmdk"), NULL, 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	cr_assert_eq(vmc_image_block_status(img, 12288, 1 << 20, &x, &e), 0);
	cr_assert_eq(x.kind, VMC_EXTENT_ZERO);
	cr_assert_eq(x.length, 4096);
	cr_assert_eq(vmc_image_block_status(img, 0, 1 << 20, &x, &e), 0);
	cr_assert_eq(x.kind, VMC_EXTENT_UNALLOCATED);
	vmc_image_close(img);

	make_se(f, sizeof(f));
	vmc_put_le64(f + 8, 0x300000001ull);
	put_file("se.vmdk", f, sizeof(f));
	open_fails("se.vmdk", "version 0x300000001 not supported");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 2 * 512, 0x2000000000000005ull);
	put_file("se.vmdk", f, sizeof(f));
	open_fails("se.vmdk", "grain directory entry 0 has an unknown");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 2 * 512, 0x1000000000000009ull);
	put_file("se.vmdk", f, sizeof(f));
	open_fails("se.vmdk", "names grain table 9");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 3 * 512 + 8, 0x3000000000000000ull | 0xffffffull);
	put_file("se.vmdk", f, sizeof(f));
	read_fails("se.vmdk", "points past the end of the file");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 3 * 512 + 8, 0x7000000000000000ull);
	put_file("se.vmdk", f, sizeof(f));
	read_fails("se.vmdk", "unknown value 0x7000000000000000");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 512 + 24, 1);		/* journal to replay */
	put_file("se.vmdk", f, sizeof(f));
	open_fails("se.vmdk", "journal needs replaying");

	make_se(f, sizeof(f));
	vmc_put_le64(f + 16 * 8, 1ull << 62);	/* directory offset */
	put_file("se.vmdk", f, sizeof(f));
	open_fails("se.vmdk", "se.vmdk");
}

/* ESXi's snapshot layout: a vmfs base (descriptor and -flat file) and
 * a seSparse child whose descriptor names it with parentCID. */
Test(vmdk, esxi_sesparse_snapshot)
{
	static uint8_t f[100 * 512], flat[32 << 20], buf[32 << 20];

	memset(flat, 0x42, sizeof(flat));
	put_file("base-flat.vmdk", flat, sizeof(flat));
	put_text("base.vmdk", "# Disk DescriptorFile\nversion=1\n"
		 "encoding=\"UTF-8\"\nCID=0badf00d\nparentCID=ffffffff\n"
		 "createType=\"vmfs\"\n"
		 "RW 65536 VMFS \"base-flat.vmdk\"\n"
		 "ddb.adapterType = \"pvscsi\"\n");
	make_se(f, sizeof(f));
	put_file("base-000001-sesparse.vmdk", f, sizeof(f));
	put_text("base-000001.vmdk", "# Disk DescriptorFile\nversion=1\n"
		 "encoding=\"UTF-8\"\nCID=12345678\nparentCID=0badf00d\n"
		 "createType=\"seSparse\"\n"
		 "parentFileNameHint=\"base.vmdk\"\n"
		 "RW 65536 SESPARSE \"base-000001-sesparse.vmdk\"\n");
	read_ok("base-000001.vmdk", buf, sizeof(buf));
	cr_assert_eq(buf[0], 0x42);		/* from the parent */
	cr_assert_eq(buf[4096], 0x61);		/* the child's grain */
	cr_assert(vmc_is_zero(buf + 12288, 4096));	/* zeroed grain */
	cr_assert_eq(buf[16384], 0x42);
	cr_assert_eq(buf[sizeof(buf) - 1], 0x42);

	/* the parent changed: its CID no longer matches */
	put_text("base.vmdk", "version=1\nCID=0badf00e\n"
		 "createType=\"vmfs\"\n"
		 "RW 65536 VMFS \"base-flat.vmdk\"\n");
	open_fails("base-000001.vmdk", "does not match the CID 0badf00e");
}

/* Options that are refused, naming what is accepted. */
Test(vmdk, create_options)
{
	static const char *const bad[][2] = {
		{ "subformat=vmfsThin", "subformat must be one of"
		  " monolithicSparse, monolithicFlat, twoGbMaxExtentSparse,"
		  " twoGbMaxExtentFlat, streamOptimized, vmfs, not 'vmfsThin'" },
		{ "adapter_type=sata", "adapter_type must be one of ide," },
		{ "hwversion=1", "hwversion 1 out of range" },
		{ "hwversion=x", "hwversion" },
	};

	for (size_t i = 0; i < 4; i++) {
		struct vmc_opts *o = vmc_opts_new();
		struct vmc_output *out = vmc_output_new();
		struct vmc_error e;

		cr_assert_eq(vmc_opts_parse(o, bad[i][0], &e), 0);
		cr_assert_null(vmc_image_create(path("o.vmdk"), "vmdk", 1 << 20,
						o, out, &e));
		cr_assert(strstr(e.msg, bad[i][1]), "'%s' lacks '%s'", e.msg,
			  bad[i][1]);
		vmc_output_free(out);
		vmc_opts_free(o);
	}
	cr_assert_neq(access(path("o.vmdk"), F_OK), 0);

	{
		struct vmc_output *out = vmc_output_new();
		struct vmc_error e;

		cr_assert_null(vmc_image_create(path("o.vmdk"), "vmdk", 0,
						NULL, out, &e));
		cr_assert(strstr(e.msg, "0 bytes"), "%s", e.msg);
		vmc_output_free(out);
	}
}

/* Threads reading whole grains of one stream-optimized image at once
 * (each inflates outside the image's lock), the short last grain
 * included, read what qemu-img wrote. */
struct grain_reader {
	struct vmc_image *img;
	const uint8_t *exp;
	uint64_t size;
	unsigned t;
	int bad;
};

static void *read_grains(void *p)
{
	struct grain_reader *a = p;
	static __thread uint8_t got[65536];
	struct vmc_error e;

	for (uint64_t off = a->t * 65536ull; off < a->size; off += 4 * 65536) {
		size_t n = (size_t)VMC_MIN(65536, a->size - off);

		if (vmc_image_pread(a->img, got, n, off, &e) < 0 ||
		    memcmp(got, a->exp + off, n))
			a->bad = 1;
	}
	return NULL;
}

Test(vmdk, stream_threads_inflate_at_once)
{
	static uint8_t exp[(3 << 20) + 1536];
	struct grain_reader a[4];
	pthread_t th[4];
	struct vmc_error e;
	struct vmc_image *img;
	char cmd[512];

	for (size_t i = 0; i < sizeof(exp); i++)
		exp[i] = (i / 65536) % 3 ? (uint8_t)"vmdk grain "[i % 11] :
			 (uint8_t)(i * 2654435761u >> 13);
	put_file("src.raw", exp, sizeof(exp));
	snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O vmdk -o"
		 " subformat=streamOptimized %s %s", path("src.raw"),
		 path("t.vmdk"));
	if (system("qemu-img --version >/dev/null 2>&1"))
		cr_skip_test("qemu-img is not installed");
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	img = vmc_image_open(path("t.vmdk"), NULL, 0, NULL, &e);
	cr_assert_not_null(img, "%s", e.msg);
	cr_assert_eq(img->size, sizeof(exp));
	for (unsigned t = 0; t < 4; t++) {
		a[t] = (struct grain_reader){ img, exp, sizeof(exp), t, 0 };
		cr_assert_eq(pthread_create(&th[t], NULL, read_grains, &a[t]),
			     0);
	}
	for (unsigned t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		cr_expect_eq(a[t].bad, 0, "thread %u read wrong data", t);
	}
	vmc_image_close(img);
}
