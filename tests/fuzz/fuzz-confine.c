/* libFuzzer target: parent/backing resolution (common/confine.c) with an
 * oracle.  A fixed tree is made once under /tmp: the image's folder (a
 * file, a subfolder, symlinks in and out, a FIFO, a device node when
 * root) and a folder outside it.  The input is a name an image stores;
 * whatever it is, a name that resolves must be a regular file under the
 * image's folder (a real path, no symlink left), and opening it as a named
 * file must give a regular file: else the target aborts (a finding).
 * Build with `make fuzz`. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/confine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[PATH_MAX], img[PATH_MAX + 16];

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_at(const char *target, const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (symlink(target, p) < 0)
		return;
}

static void make_tree(void)
{
	char p[PATH_MAX + 64], *real;

	snprintf(p, sizeof(p), "/tmp/vmconv-fuzz-confine-%d", (int)getpid());
	mkdir(p, 0700);
	real = realpath(p, NULL);
	snprintf(top, sizeof(top), "%s", real ? real : p);
	free(real);
	snprintf(p, sizeof(p), "%s/img", top);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/img/sub", top);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/out", top);
	mkdir(p, 0700);
	put("img/a.qcow2", "image");
	put("img/base.raw", "base");
	put("img/sub/b.raw", "b");
	put("out/secret", "secret");
	link_at("../out/secret", "img/up");
	link_at("base.raw", "img/in");
	link_at("/etc/hostname", "img/abs");
	link_at("../out", "img/outdir");
	link_at("loop", "img/loop");
	snprintf(p, sizeof(p), "%s/img/fifo", top);
	mkfifo(p, 0600);
	snprintf(p, sizeof(p), "%s/img/null", top);
	mknod(p, S_IFCHR | 0600, makedev(1, 3));
	snprintf(img, sizeof(img), "%s/img/a.qcow2", top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[512], dir[PATH_MAX + 8];
	struct vmc_error err;
	struct stat st;
	char *r;
	int fd;

	if (!top[0])
		make_tree();
	if (size >= sizeof(name))
		size = sizeof(name) - 1;
	memcpy(name, data, size);
	name[size] = '\0';
	vmc_confine_enter(img, &err);
	r = vmc_confine_resolve(img, "backing file", name, &err);
	vmc_confine_leave();
	if (!r)
		return 0;
	snprintf(dir, sizeof(dir), "%s/img/", top);
	if (strncmp(r, dir, strlen(dir)) || lstat(r, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		abort();	/* escaped the folder, or not a file */
	fd = vmc_confine_open(r, O_RDONLY, false, &err);
	if (fd < 0)
		abort();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		abort();
	close(fd);
	free(r);
	return 0;
}
