/* VHDX differencing reads with Hyper-V's own checkpoint (the
 * differencing.avhdx sample, whose parent is not included): a parent is
 * made for it with vmconv's writer, given the DataWriteGuid the child's
 * parent_linkage names, and every sector of every partially present block
 * is checked against the sector bitmap decoded here from the raw file.
 * Also: a parent with another DataWriteGuid, and a parent loop.  Skipped
 * when the samples folder is absent. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include <vmconv/image.h>
#include <vmconv/output.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "formats/vhdx.h"

#define MiB (1024 * 1024)
#define PARENT_NAME "Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx"
/* same length, so that a copy of the child can be pointed at it */
#define BASE_NAME "Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.vhdx2"

static char dir[] = "/tmp/vmconv-test-vhdxdiff.XXXXXX";
static char child[300], parent[300], base[300];

static void setup(void)
{
	const char *top = getenv("VMCONV_TOP");
	char src[512];
	gzFile in;
	int fd, n;
	static char buf[1 << 16];

	snprintf(src, sizeof(src), "%s/../shared/samples/dissect/"
		 "differencing.avhdx.gz", top ? top : ".");
	if (access(src, R_OK) < 0)
		cr_skip_test("sample %s is absent", src);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(child, sizeof(child), "%s/differencing.avhdx", dir);
	snprintf(parent, sizeof(parent), "%s/" PARENT_NAME, dir);
	snprintf(base, sizeof(base), "%s/" BASE_NAME, dir);
	in = gzopen(src, "rb");
	cr_assert_not_null(in);
	fd = open(child, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0);
	while ((n = gzread(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(fd, buf, (size_t)n), n);
	gzclose(in);
	close(fd);
}

static void teardown(void)
{
	unlink(child);
	unlink(parent);
	unlink(base);
	rmdir(dir);
}

static void parent_sector(uint64_t sec, uint8_t *out)
{
	memset(out, 0x5A, 512);
	vmc_put_le64(out, sec);
}

static void parse_guid(const char *s, uint8_t *g)
{
	unsigned v[11];

	cr_assert_eq(sscanf(s, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}",
			    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			    &v[7], &v[8], &v[9], &v[10]), 11, "%s", s);
	vmc_put_le32(g, v[0]);
	vmc_put_le16(g + 4, (uint16_t)v[1]);
	vmc_put_le16(g + 6, (uint16_t)v[2]);
	for (int i = 0; i < 8; i++)
		g[8 + i] = (uint8_t)v[3 + i];
}

static void set_data_write_guid(const char *path, const uint8_t *g)
{
	int fd = open(path, O_RDWR);
	uint8_t h[4096];

	cr_assert(fd >= 0);
	for (int i = 1; i <= 2; i++) {
		cr_assert_eq(pread(fd, h, sizeof(h), i * 65536), 4096);
		memcpy(h + 32, g, 16);
		memset(h + 4, 0, 4);
		vmc_put_le32(h + 4, vmc_crc32c(0, h, sizeof(h)));
		cr_assert_eq(pwrite(fd, h, sizeof(h), i * 65536), 4096);
	}
	close(fd);
}

/* The parent: the pattern over the blocks listed (2 MiB each). */
static void make_parent_at(const char *at, uint64_t size,
			   const uint64_t *blocks, size_t n,
			   const uint8_t *guid)
{
	struct vmc_error err;
	struct vmc_output *out = vmc_output_new();
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_image *img;
	uint8_t *buf = malloc(2 * MiB);

	cr_assert_eq(vmc_opts_parse(o, "block_size=2M", &err), 0);
	img = vmc_image_create(at, "vhdx", size, o, out, &err);
	cr_assert_not_null(img, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		uint64_t off = blocks[i] * 2 * MiB;

		for (uint64_t s = 0; s < 4096; s++)
			parent_sector(off / 512 + s, buf + s * 512);
		cr_assert_eq(vmc_image_pwrite(img, buf, 2 * MiB, off, &err),
			     0, "%s", err.msg);
	}
	cr_assert_eq(vmc_image_flush(img, &err), 0, "%s", err.msg);
	vmc_image_close(img);
	cr_assert_eq(vmc_output_commit(out, &err), 0, "%s", err.msg);
	vmc_output_free(out);
	vmc_opts_free(o);
	free(buf);
	set_data_write_guid(at, guid);
}

static void make_parent(uint64_t size, const uint64_t *blocks, size_t n,
			const uint8_t *guid)
{
	make_parent_at(parent, size, blocks, n, guid);
}

/* Partially present blocks of the child, in increasing order, and its
 * parent_linkage, read without opening the parent. */
static size_t child_layout(uint64_t *blocks, uint8_t *guid, uint64_t *size)
{
	struct vmc_error err;
	struct vmc_image *img = vmc_image_open(child, "vhdx",
					       VMC_OPEN_NO_BACKING, NULL, &err);
	struct vhdx_state *s;
	size_t n = 0;

	cr_assert_not_null(img, "%s", err.msg);
	s = img->opaque;
	cr_assert(s->has_parent);
	cr_assert_eq(s->block_size, 2 * MiB);
	parse_guid(s->loc.parent_linkage, guid);
	*size = img->size;
	for (uint64_t b = 0; b < s->data_blocks; b++)
		if (VHDX_BAT_STATE(s->bat[vhdx_payload_index(b, 2048)]) == 7)
			blocks[n++] = b;
	vmc_image_close(img);
	return n;
}

/* Every sector of the partially present blocks comes from the child
 * where its bitmap bit (decoded here from the raw file) is set, else from
 * the pattern the base parent holds; block 1 comes from the parent. */
static void verify_chain(const uint64_t *blocks, size_t n)
{
	uint8_t *want = malloc(2 * MiB), *got = malloc(2 * MiB);
	uint8_t *sb = malloc(MiB), e[8];
	uint64_t bat_off, sb_off, from_child = 0, from_parent = 0;
	struct vmc_error err;
	struct vmc_image *img;
	struct vmc_extent ext;
	int fd;

	img = vmc_image_open(child, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(img->size, 8ull << 30);

	/* Decode the bitmap from the raw file here: the BAT region offset
	 * from the region table, then the entries by hand. */
	fd = open(child, O_RDONLY);
	cr_assert_eq(pread(fd, e, 8, 192 * 1024 + 16 + 16), 8);
	bat_off = vmc_get_le64(e);
	{
		uint8_t g[16];

		cr_assert_eq(pread(fd, g, 16, 192 * 1024 + 16), 16);
		if (memcmp(g, vhdx_guid_bat, 16)) {	/* 2nd entry */
			cr_assert_eq(pread(fd, e, 8, 192 * 1024 + 48 + 16),
				     8);
			bat_off = vmc_get_le64(e);
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t b = blocks[i], chunk = b / 2048, boff;

		cr_assert_eq(pread(fd, e, 8, (off_t)(bat_off + 8 *
			(chunk * 2049 + 2048))), 8);
		sb_off = (vmc_get_le64(e) >> 20) << 20;
		cr_assert_eq(vmc_get_le64(e) & 7, 6);
		cr_assert_eq(pread(fd, sb, MiB, (off_t)sb_off), MiB);
		cr_assert_eq(pread(fd, e, 8, (off_t)(bat_off + 8 *
			(b + b / 2048))), 8);
		boff = (vmc_get_le64(e) >> 20) << 20;
		cr_assert_eq(pread(fd, want, 2 * MiB, (off_t)boff), 2 * MiB);
		for (uint64_t s = 0; s < 4096; s++) {
			uint64_t sec = b * 4096 + s;
			uint64_t bit = sec - chunk * (1ull << 23);

			if (sb[bit / 8] & (1 << (bit % 8))) {
				from_child++;
			} else {
				parent_sector(sec, want + s * 512);
				from_parent++;
			}
		}
		cr_assert_eq(vmc_image_pread(img, got, 2 * MiB, b * 2 * MiB,
					     &err), 0, "%s", err.msg);
		cr_assert(!memcmp(got, want, 2 * MiB), "block %llu",
			  (unsigned long long)b);
	}
	close(fd);
	cr_assert(from_child > 0 && from_parent > 0, "%llu %llu",
		  (unsigned long long)from_child,
		  (unsigned long long)from_parent);

	/* A block the child does not have comes from the parent. */
	cr_assert_eq(vmc_image_pread(img, got, 2 * MiB, 2 * MiB, &err), 0);
	for (uint64_t s = 0; s < 4096; s++) {
		parent_sector(4096 + s, want);
		cr_assert(!memcmp(got + s * 512, want, 512));
	}
	cr_assert_eq(vmc_image_block_status(img, 2 * MiB, 2 * MiB, &ext,
					    &err), 0);
	cr_assert_eq(ext.kind, VMC_EXTENT_DATA);
	/* ... and one neither has is unallocated through the chain. */
	cr_assert_eq(vmc_image_block_status(img, 4 * MiB, 2 * MiB, &ext,
					    &err), 0);
	cr_assert_eq(ext.kind, VMC_EXTENT_UNALLOCATED);
	vmc_image_close(img);
	free(want);
	free(got);
	free(sb);
}

Test(vhdx_diff, hyperv_checkpoint_over_parent, .init = setup,
     .fini = teardown)
{
	uint64_t blocks[64], size;
	uint8_t guid[16];
	size_t n;

	n = child_layout(blocks, guid, &size);
	cr_assert_eq(n, 32, "README: 32 partially present blocks");
	blocks[n] = 1;			/* a NOT_PRESENT block */
	make_parent(size, blocks, n + 1, guid);

	verify_chain(blocks, n);
}

Test(vhdx_diff, linkage_mismatch_is_refused, .init = setup,
     .fini = teardown)
{
	uint64_t blocks[64], size;
	uint8_t guid[16];
	struct vmc_error err;

	child_layout(blocks, guid, &size);
	guid[0] ^= 1;
	make_parent(size, blocks, 0, guid);
	cr_assert_null(vmc_image_open(child, NULL, 0, NULL, &err));
	cr_assert(strstr(err.msg, "parent_linkage"), "%s", err.msg);
	cr_assert(strstr(err.msg, PARENT_NAME), "%s", err.msg);
}

/* The parent is a copy of the child, so it names itself as its own
 * parent: a loop, refused without recursing forever. */
Test(vhdx_diff, parent_loop_is_refused, .init = setup, .fini = teardown)
{
	uint64_t blocks[64], size;
	uint8_t guid[16];
	struct vmc_error err;
	char cmd[1024];

	child_layout(blocks, guid, &size);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", child, parent);
	cr_assert_eq(system(cmd), 0);
	set_data_write_guid(parent, guid);
	cr_assert_null(vmc_image_open(child, NULL, 0, NULL, &err));
	cr_assert(strstr(err.msg, "loop"), "%s", err.msg);
}

/* Three levels: the child, a copy of it whose parent locator names a
 * third file (the locator has no checksum: its UTF-16 names are patched
 * in place), and the base.  The copy adds nothing the child lacks, so
 * the content is the same as with one parent. */
Test(vhdx_diff, three_level_chain, .init = setup, .fini = teardown)
{
	uint64_t blocks[64], size;
	uint8_t guid[16], *f;
	char cmd[1024];
	size_t n, patched = 0;
	int fd;
	static const char from[] = "C32385.avhdx", to[] = "C32385.vhdx2";
	struct vmc_error err;
	struct vmc_image *img;
	struct vhdx_state *s;

	n = child_layout(blocks, guid, &size);
	blocks[n] = 1;
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", child, parent);
	cr_assert_eq(system(cmd), 0);
	set_data_write_guid(parent, guid);
	fd = open(parent, O_RDWR);
	f = malloc(8 * MiB);
	cr_assert_eq(pread(fd, f, 8 * MiB, 0), 8 * MiB);
	for (size_t i = 0; i + 2 * sizeof(from) < 8 * MiB; i++) {
		size_t k;

		for (k = 0; k < sizeof(from) - 1; k++)
			if (f[i + 2 * k] != (uint8_t)from[k] ||
			    f[i + 2 * k + 1] != 0)
				break;
		if (k < sizeof(from) - 1)
			continue;
		for (k = 0; k < sizeof(to) - 1; k++)
			f[i + 2 * k] = (uint8_t)to[k];
		cr_assert_eq(pwrite(fd, f + i, 2 * (sizeof(to) - 1),
				    (off_t)i), 2 * (sizeof(to) - 1));
		patched++;
	}
	close(fd);
	free(f);
	cr_assert_geq(patched, 2, "relative and absolute paths");
	make_parent_at(base, size, blocks, n + 1, guid);

	img = vmc_image_open(child, NULL, 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	s = img->opaque;
	cr_assert_not_null(s->parent);
	s = s->parent->opaque;
	cr_assert_not_null(s->parent, "the chain has three levels");
	cr_assert(strstr(s->parent->filename, BASE_NAME));
	vmc_image_close(img);
	verify_chain(blocks, n);
}
