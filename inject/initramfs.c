/* Listing an initramfs.  The kernel's format (Documentation/driver-api/
 * early-userspace/buffer-format.rst) is a sequence of cpio "newc"
 * archives, each compressed or not, padded with zeros between them.  The
 * uncompressed ones are walked here (110-byte ASCII headers, name and data
 * padded to 4 bytes); the first compressed one goes to libarchive, which
 * knows gzip, xz, lzma, lz4, bzip2 and zstd.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject/initramfs.h"

#define NEWC_HDR 110

static int hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t r = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		r = r << 4 | (uint32_t)d;
	}
	*v = r;
	return 0;
}

static uint64_t pad4(uint64_t x)
{
	return (x + 3) & ~(uint64_t)3;
}

static int add_module(struct vmc_modset *mods, const char *path)
{
	char name[256];

	if (!vmc_module_name(path, name, sizeof(name)))
		return 0;
	return vmc_modset_add(mods, name);
}

/* One uncompressed newc archive at *off; *off moves past its trailer. */
static int walk_newc(const char *path, const uint8_t *b, uint64_t len,
		     uint64_t *off, struct vmc_modset *mods, size_t *entries,
		     struct vmc_error *err)
{
	for (;;) {
		uint64_t o = *off, name_end, data_end;
		uint32_t fsize, nsize;
		char name[4096];

		if (len - o < NEWC_HDR || memcmp(b + o, "07070", 5) ||
		    hex8(b + o + 54, &fsize) < 0 ||
		    hex8(b + o + 94, &nsize) < 0 || nsize == 0)
			return vmc_error_set(err, EINVAL, "%s: cpio header"
					     " damaged (offset 0x%llx)", path,
					     (unsigned long long)o);
		name_end = pad4(o + NEWC_HDR + nsize);
		data_end = pad4(name_end + fsize);
		if (o + NEWC_HDR + nsize > len || data_end > pad4(len))
			return vmc_error_set(err, EINVAL, "%s: cpio entry runs"
					     " past the end (offset 0x%llx)",
					     path, (unsigned long long)o);
		snprintf(name, sizeof(name), "%.*s", (int)nsize - 1,
			 (const char *)b + o + NEWC_HDR);
		*off = data_end > len ? len : data_end;
		if (!strcmp(name, "TRAILER!!!"))
			return 0;
		(*entries)++;
		if (add_module(mods, name) < 0)
			return vmc_error_set(err, ENOMEM, "out of memory");
	}
}

static int walk_compressed(const char *path, const uint8_t *b, uint64_t len,
			   struct vmc_modset *mods, size_t *entries,
			   struct vmc_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, ret = 0;

	if (!a)
		return vmc_error_set(err, ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open_memory(a, b, len) != ARCHIVE_OK) {
		ret = vmc_error_set(err, EINVAL, "%s: not an initramfs"
				    " archive: %s", path,
				    archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(e);

		(*entries)++;
		if (n && add_module(mods, n) < 0) {
			ret = vmc_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		ret = vmc_error_set(err, EINVAL, "%s: compressed cpio"
				    " damaged after %zu entries: %s", path,
				    *entries, archive_error_string(a));
out:
	archive_read_free(a);
	return ret;
}

static uint8_t *slurp(const char *path, uint64_t *len, struct vmc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;

	if (fd < 0) {
		vmc_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > VMC_INITRAMFS_MAX) {
		vmc_error_set(err, EFBIG, "%s: not a regular file of at most"
			      " %llu MiB", path, VMC_INITRAMFS_MAX >> 20);
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n <= 0) {
			vmc_error_errno(err, n < 0 ? errno : EIO, "%s: read",
					path);
			free(b);
			b = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return b;
}

int vmc_initramfs_modules(const char *path, struct vmc_modset *mods,
			  size_t *entries, struct vmc_error *err)
{
	uint64_t len = 0, off = 0;
	uint8_t *b = slurp(path, &len, err);
	int ret = 0;

	*entries = 0;
	if (!b)
		return -1;
	while (off < len) {
		if (b[off] == 0) {
			off++;
			continue;
		}
		if (len - off >= 6 && !memcmp(b + off, "07070", 5)) {
			ret = walk_newc(path, b, len, &off, mods, entries, err);
		} else {
			ret = walk_compressed(path, b + off, len - off, mods,
					      entries, err);
			break;
		}
		if (ret < 0)
			break;
	}
	free(b);
	return ret;
}
