/* inject/initramfs.c: the modules in an initramfs made of an uncompressed
 * early cpio followed by a compressed one (as microcode and dracut lay
 * them out), written here with libarchive; damaged archives give an
 * error naming the offset. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "inject/initramfs.h"
#include "tests/unit/scratch.h"

TestSuite(initramfs, .init = scratch_setup, .fini = scratch_teardown);

static void cpio(FILE *f, const char *const *names, bool gzip)
{
	struct archive *a = archive_write_new();
	static char buf[1 << 20];
	size_t used = 0;

	archive_write_set_format_cpio_newc(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	cr_assert_eq(archive_write_open_memory(a, buf, sizeof(buf), &used),
		     ARCHIVE_OK);
	for (int i = 0; names[i]; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 5);
		archive_write_header(a, e);
		archive_write_data(a, "data\n", 5);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fwrite(buf, 1, used, f);
}

Test(initramfs, early_and_main)
{
	static const char *const early[] = {
		"kernel/x86/microcode/GenuineIntel.bin", NULL };
	static const char *const main_[] = {
		"init", "usr/lib/modules/6.1.0/kernel/drivers/ata/ata_piix.ko",
		"usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko.xz",
		"usr/lib/modules/6.1.0/kernel/drivers/hv/hv-vmbus.ko.zst",
		"conf/modules", NULL };
	char path[128];
	struct vmc_modset m = { 0 };
	struct vmc_error err = { 0 };
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/initrd", scratch_dir);
	f = fopen(path, "w");
	cpio(f, early, false);
	fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
	cpio(f, main_, true);
	fclose(f);
	cr_assert_eq(vmc_initramfs_modules(path, &m, &n, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(n, 6);
	cr_assert_eq(m.n, 3);
	cr_assert(vmc_modset_has(&m, "ata_piix"));
	cr_assert(vmc_modset_has(&m, "virtio_blk"));
	cr_assert(vmc_modset_has(&m, "hv_vmbus"));
	cr_assert_not(vmc_modset_has(&m, "init"));
	vmc_modset_free(&m);
}

Test(initramfs, damaged)
{
	char path[128];
	struct vmc_modset m = { 0 };
	struct vmc_error err = { 0 };
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/initrd", scratch_dir);
	f = fopen(path, "w");
	/* a newc header whose name size runs past the end */
	fputs("070701" "00000000" "000081a4" "00000000" "00000000"
	      "00000001" "00000000" "00000005" "00000000" "00000000"
	      "00000000" "00000000" "0000ffff" "00000000" "abc", f);
	fclose(f);
	cr_assert_eq(vmc_initramfs_modules(path, &m, &n, &err), -1);
	cr_assert(strstr(err.msg, "offset 0x0"), "%s", err.msg);
	vmc_modset_free(&m);

	f = fopen(path, "w");
	fputs("this is not an archive at all", f);
	fclose(f);
	cr_assert_eq(vmc_initramfs_modules(path, &m, &n, &err), -1);
	cr_assert(strstr(err.msg, path), "%s", err.msg);
	vmc_modset_free(&m);
}
