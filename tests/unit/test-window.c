/* Unit tests: file windows (common/window.c), what an OVA member read in
 * place is: reads, sizes and SEEK_DATA/SEEK_HOLE kept inside the window,
 * read-only, a window past its file's end refused, a stale fd slot never
 * shifting another file's reads, and a raw image opened through one. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "common/confine.h"
#include "common/window.h"
#include "tests/unit/scratch.h"

static char file[128], name[160];
static const int owner;

/* 4 MiB: 'A' at [0, 1 MiB), a hole, 'B' at [2 MiB, 2 MiB + 64 KiB), a
 * hole, 'C' at [3 MiB, 4 MiB); the window is [1 MiB - 4 KiB, 3 MiB +
 * 4 KiB). */
#define BASE ((1u << 20) - 4096)
#define LEN ((2u << 20) + 8192)

static void setup(void)
{
	static char buf[1 << 20];
	int fd;

	scratch_setup();
	snprintf(file, sizeof(file), "%s/pkg.ova", scratch_dir);
	snprintf(name, sizeof(name), "%s/disk.img", file);
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4 << 20), 0);
	memset(buf, 'A', sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	memset(buf, 'B', 65536);
	cr_assert_eq(pwrite(fd, buf, 65536, 2 << 20), 65536);
	memset(buf, 'C', sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 3 << 20), sizeof(buf));
	close(fd);
}

static void teardown(void)
{
	vmc_window_drop(&owner);
	scratch_teardown();
}

TestSuite(window, .init = setup, .fini = teardown);

Test(window, reads_stay_inside)
{
	struct vmc_error err = { 0 };
	char buf[8192];
	struct stat st;
	int fd;

	cr_assert_eq(vmc_window_add(&owner, name, file, BASE, LEN, &err), 0,
		     "%s", err.msg);
	cr_assert(vmc_window_exists(name));
	fd = vmc_confine_open(name, O_RDONLY, true, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(vmc_file_fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, LEN);
	cr_assert_eq(vmc_file_pread(fd, buf, 4096, 0), 4096);
	cr_assert_eq(buf[0], 'A');
	cr_assert_eq(buf[4095], 'A');
	cr_assert_eq(vmc_file_pread(fd, buf, 1, 4096), 1);
	cr_assert_eq(buf[0], 0);
	/* the last 4 KiB are 'C'; nothing past the end is read */
	cr_assert_eq(vmc_file_pread(fd, buf, sizeof(buf), LEN - 4096), 4096);
	cr_assert_eq(buf[0], 'C');
	cr_assert_eq(vmc_file_pread(fd, buf, 1, LEN), 0);
	cr_assert_eq(vmc_pread_full(fd, buf, 2, LEN - 1, name, &err), -1);
	cr_assert(strstr(err.msg, "unexpected end of file"), "%s", err.msg);
	cr_assert_eq(vmc_file_lseek(fd, 0, SEEK_END), LEN);
	cr_assert_eq(vmc_file_close(fd), 0);
}

Test(window, holes_in_window_offsets)
{
	struct vmc_error err = { 0 };
	off_t d, h;
	int fd;

	cr_assert_eq(vmc_window_add(&owner, name, file, BASE, LEN, &err), 0);
	fd = vmc_confine_open(name, O_RDONLY, true, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	h = vmc_file_lseek(fd, 0, SEEK_HOLE);
	d = vmc_file_lseek(fd, 8192, SEEK_DATA);
	if (h < 0 && errno == EINVAL)
		cr_skip_test("no SEEK_HOLE on this file system");
	cr_assert_eq(h, 4096);		/* 'A' ends at 1 MiB */
	cr_assert_eq(d, (2 << 20) - BASE);	/* 'B' */
	/* the last data runs to the window's end, not the file's */
	cr_assert_eq(vmc_file_lseek(fd, LEN - 10, SEEK_HOLE), LEN);
	cr_assert_eq(vmc_file_lseek(fd, LEN, SEEK_DATA), -1);
	cr_assert_eq(errno, ENXIO);
	vmc_file_close(fd);
}

Test(window, read_only_and_bounded)
{
	struct vmc_error err = { 0 };

	cr_assert_eq(vmc_window_add(&owner, name, file, 1 << 20, 4 << 20,
				    &err), -1);
	cr_assert(strstr(err.msg, "past its end"), "%s", err.msg);
	cr_assert_eq(vmc_window_add(&owner, name, file, UINT64_MAX - 1, 4,
				    &err), -1);
	cr_assert_eq(vmc_window_add(&owner, name, file, BASE, LEN, &err), 0);
	cr_assert_eq(vmc_confine_open(name, O_RDWR, true, &err), -1);
	cr_assert_eq(err.code, EROFS);
	vmc_window_drop(&owner);
	cr_assert(!vmc_window_exists(name));
	cr_assert_eq(vmc_confine_open(name, O_RDONLY, true, &err), -1);
}

/* A window's fd closed with plain close() and its number reused by
 * another file: that file's reads are its own. */
Test(window, stale_slot_ignored)
{
	struct vmc_error err = { 0 };
	char other[160], c;
	int fd, fd2;

	cr_assert_eq(vmc_window_add(&owner, name, file, BASE, LEN, &err), 0);
	fd = vmc_confine_open(name, O_RDONLY, true, &err);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(other, sizeof(other), "%s/other", scratch_dir);
	fd2 = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(fd2, fd);
	cr_assert_eq(pwrite(fd2, "xyz", 3, 0), 3);
	cr_assert_eq(vmc_file_pread(fd2, &c, 1, 2), 1);
	cr_assert_eq(c, 'z');
	close(fd2);
}

/* The raw driver opens a window as an image: its size is the window's. */
Test(window, raw_image_through_window)
{
	struct vmc_error err = { 0 };
	struct vmc_image *img;
	struct vmc_extent ext;
	char buf[4096];

	cr_assert_eq(vmc_window_add(&owner, name, file, BASE, LEN, &err), 0);
	img = vmc_image_open(name, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(img->size, LEN);
	cr_assert_eq(vmc_image_pread(img, buf, 4096, LEN - 4096, &err), 0);
	cr_assert_eq(buf[0], 'C');
	cr_assert_eq(vmc_image_block_status(img, 8192, LEN - 8192, &ext,
					    &err), 0);
	cr_assert_eq(ext.kind, VMC_EXTENT_ZERO);
	cr_assert_eq(ext.length, (2 << 20) - BASE - 8192);
	vmc_image_close(img);
}
