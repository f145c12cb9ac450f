/* inject/initramfs-write.c: an archive appended to an initramfs made here
 * with libarchive as initramfs-tools lays one out (an uncompressed early
 * cpio, then the main archive compressed with gzip, zstd, bzip2 or not at
 * all, /lib a link to usr/lib), read back with vmconv's reader
 * (libarchive) and with the host's cpio -t on the appended archive. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "inject/initramfs-write.h"
#include "tests/unit/scratch.h"

TestSuite(initramfs_write, .init = scratch_setup, .fini = scratch_teardown);

struct fx {
	const char *name, *link;	/* link: a symlink's target */
	mode_t type;
	const char *data;
};

static const struct fx early[] = {
	{ "kernel", NULL, AE_IFDIR, NULL },
	{ "kernel/x86/microcode/GenuineIntel.bin", NULL, AE_IFREG, "ucode" },
	{ 0 }
};

static const struct fx main_[] = {
	{ ".", NULL, AE_IFDIR, NULL },
	{ "conf", NULL, AE_IFDIR, NULL },
	{ "conf/modules", NULL, AE_IFREG, "ata_piix\n" },
	{ "init", NULL, AE_IFREG, "#!/bin/sh\n" },
	{ "lib", "usr/lib", AE_IFLNK, NULL },
	{ "usr", NULL, AE_IFDIR, NULL },
	{ "usr/lib", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules/6.1.0", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules/6.1.0/kernel", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules/6.1.0/kernel/drivers", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules/6.1.0/kernel/drivers/ata", NULL, AE_IFDIR, NULL },
	{ "usr/lib/modules/6.1.0/kernel/drivers/ata/ata_piix.ko", NULL,
	  AE_IFREG, "PIIX" },
	{ 0 }
};

static void cpio(FILE *f, const struct fx *fx, int filter)
{
	struct archive *a = archive_write_new();
	static char buf[1 << 20];
	size_t used = 0;

	archive_write_set_format_cpio_newc(a);
	if (filter != ARCHIVE_FILTER_NONE)
		cr_assert_eq(archive_write_add_filter(a, filter), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	cr_assert_eq(archive_write_open_memory(a, buf, sizeof(buf), &used),
		     ARCHIVE_OK);
	for (int i = 0; fx[i].name; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = fx[i].data ? strlen(fx[i].data) : 0;

		archive_entry_set_pathname(e, fx[i].name);
		archive_entry_set_filetype(e, fx[i].type);
		archive_entry_set_perm(e, fx[i].type == AE_IFDIR ? 0755 : 0644);
		if (fx[i].link)
			archive_entry_set_symlink(e, fx[i].link);
		archive_entry_set_size(e, len);
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			archive_write_data(a, fx[i].data, len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fwrite(buf, 1, used, f);
}

static long make(const char *path, int filter)
{
	FILE *f = fopen(path, "w");
	long len;

	cr_assert_not_null(f);
	cpio(f, early, ARCHIVE_FILTER_NONE);
	cpio(f, main_, filter);
	len = ftell(f);
	fclose(f);
	return len;
}

static struct vmc_initramfs_file added[] = {
	{ "lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko",
	  (uint8_t *)"VBLK", 4 },
	{ "lib/modules/6.1.0/modules.dep", (uint8_t *)"kernel/x.ko:\n", 13 },
	{ "conf/modules", (uint8_t *)"ata_piix\nvirtio_blk\n", 20 },
};

struct seen {
	int lib_links, lib_dirs, blk;
};

static int see(void *ctx, const struct vmc_cpio_entry *e)
{
	struct seen *s = ctx;
	const char *n = vmc_cpio_name(e->name);

	if (!strcmp(n, "lib")) {
		s->lib_links += S_ISLNK(e->mode);
		s->lib_dirs += S_ISDIR(e->mode);
	}
	if (!strcmp(n, "usr/lib/modules/6.1.0/kernel/drivers/block/"
		    "virtio_blk.ko") && S_ISREG(e->mode) && e->size == 4 &&
	    !memcmp(e->data, "VBLK", 4))
		s->blk++;
	return 0;
}

/* The host's cpio -t on the appended archive (from byte off). */
static void host_cpio(const char *path, long off, const char *unz)
{
	char cmd[512], line[256];
	bool blk = false, conf = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "tail -c +%ld '%s' | %s | cpio -t"
		 " --quiet 2>&1", off + 1, path, unz);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		blk |= !strcmp(line, "usr/lib/modules/6.1.0/kernel/drivers/"
			       "block/virtio_blk.ko");
		conf |= !strcmp(line, "conf/modules");
	}
	cr_assert_eq(pclose(p), 0, "%s", cmd);
	cr_assert(blk && conf, "%s", cmd);
}

struct case_ {	/* no pointers: Criterion copies it into the test's process */
	int filter;
	char unz[16];
};

ParameterizedTestParameters(initramfs_write, append)
{
	static struct case_ c[] = {
		{ ARCHIVE_FILTER_GZIP, "gzip -dc" },
		{ ARCHIVE_FILTER_ZSTD, "zstd -dcq" },
		{ ARCHIVE_FILTER_BZIP2, "bzip2 -dc" },
		{ ARCHIVE_FILTER_NONE, "cat" },
	};

	return cr_make_param_array(struct case_, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct case_ *c, initramfs_write, append)
{
	char in[128], out[128];
	struct vmc_initramfs ir, o;
	struct vmc_error err = { 0 };
	struct vmc_modset m = { 0 };
	struct seen s = { 0 };
	uint8_t *conf;
	size_t n, len;
	long orig;

	snprintf(in, sizeof(in), "%s/initrd", scratch_dir);
	snprintf(out, sizeof(out), "%s/initrd.new", scratch_dir);
	orig = make(in, c->filter);
	cr_assert_eq(vmc_initramfs_load(in, &ir, &err), 0, "%s", err.msg);
	cr_assert_eq(ir.filter, c->filter);
	cr_assert_eq(vmc_initramfs_append(&ir, added, 3, out, &err), 0, "%s",
		     err.msg);
	/* the original, byte for byte, then the new archive */
	cr_assert_eq(vmc_initramfs_load(out, &o, &err), 0, "%s", err.msg);
	cr_assert_gt(o.len, (uint64_t)orig);
	cr_assert_eq(memcmp(o.buf, ir.buf, (size_t)orig), 0);
	cr_assert_eq(vmc_initramfs_walk(&o, see, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.blk, 1);
	cr_assert_eq(s.lib_links, 1);
	cr_assert_eq(s.lib_dirs, 0, "lib became a directory");
	conf = vmc_initramfs_get(&o, "conf/modules", &len, &err);
	cr_assert_not_null(conf);
	cr_assert_str_eq((char *)conf, "ata_piix\nvirtio_blk\n");
	free(conf);
	cr_assert_eq(vmc_initramfs_modules(out, &m, &n, &err), 0, "%s",
		     err.msg);
	cr_assert(vmc_modset_has(&m, "virtio_blk"));
	cr_assert(vmc_modset_has(&m, "ata_piix"));
	host_cpio(out, c->filter == ARCHIVE_FILTER_NONE ? (long)ir.len : orig,
		  c->unz);
	vmc_modset_free(&m);
	vmc_initramfs_free(&o);
	vmc_initramfs_free(&ir);
}

/* A main archive compressed with lzma: refused, nothing written. */
Test(initramfs_write, lzma_refused)
{
	char in[128], out[128];
	struct vmc_initramfs ir;
	struct vmc_error err = { 0 };
	struct stat st;

	snprintf(in, sizeof(in), "%s/initrd", scratch_dir);
	snprintf(out, sizeof(out), "%s/initrd.new", scratch_dir);
	make(in, ARCHIVE_FILTER_LZMA);
	cr_assert_eq(vmc_initramfs_load(in, &ir, &err), 0, "%s", err.msg);
	cr_assert_eq(vmc_initramfs_append(&ir, added, 3, out, &err), -1);
	cr_assert(strstr(err.msg, "lzma"), "%s", err.msg);
	cr_assert_neq(stat(out, &st), 0);
	vmc_initramfs_free(&ir);
}

/* A link loop in the initramfs: the path cannot be followed. */
Test(initramfs_write, link_loop)
{
	static const struct fx loop[] = {
		{ "lib", "lib2", AE_IFLNK, NULL },
		{ "lib2", "lib", AE_IFLNK, NULL },
		{ 0 }
	};
	char in[128], out[128];
	struct vmc_initramfs ir;
	struct vmc_error err = { 0 };
	FILE *f;

	snprintf(in, sizeof(in), "%s/initrd", scratch_dir);
	snprintf(out, sizeof(out), "%s/initrd.new", scratch_dir);
	f = fopen(in, "w");
	cpio(f, loop, ARCHIVE_FILTER_GZIP);
	fclose(f);
	cr_assert_eq(vmc_initramfs_load(in, &ir, &err), 0, "%s", err.msg);
	cr_assert_eq(vmc_initramfs_append(&ir, added, 1, out, &err), -1);
	cr_assert(strstr(err.msg, "links"), "%s", err.msg);
	vmc_initramfs_free(&ir);
}
