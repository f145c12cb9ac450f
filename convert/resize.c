/* resize: an existing image made larger or smaller in place (qemu-img
 * resize).  A raw file is truncated or extended; a qcow2 image's L1
 * table, size and clusters are changed in place (formats/qcow2-resize.c),
 * snapshots and backing file kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/convert.h>

#include "formats/edit.h"

static int resize_raw(const char *path, uint64_t new_size, bool shrink,
		      struct vmc_error *err)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CLOEXEC), r = -1;

	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		vmc_error_errno(err, errno, "%s: locked by another process",
				path);
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		vmc_error_set(err, EINVAL, "%s: only a regular file can be"
			      " resized", path);
		goto out;
	}
	if (new_size < (uint64_t)sb.st_size && !shrink) {
		vmc_error_set(err, EINVAL, "%s: use --shrink to make the image"
			      " smaller (%" PRIu64 " to %" PRIu64 " bytes;"
			      " the data past the end is lost)", path,
			      (uint64_t)sb.st_size, new_size);
		goto out;
	}
	if (new_size > INT64_MAX || ftruncate(fd, (off_t)new_size) < 0 ||
	    fsync(fd) < 0) {
		vmc_error_errno(err, errno, "%s: cannot set the size to %"
				PRIu64, path, new_size);
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

int vmc_image_resize(const char *path, const char *format,
		     uint64_t new_size, bool shrink, struct vmc_error *err)
{
	const struct vmc_driver *d;

	d = format ? vmc_driver_find(format) : vmc_driver_probe(path, err);
	if (!d)
		return format ? vmc_error_set(err, EINVAL, "unknown format"
					      " '%s'", format) : -1;
	if (!strcmp(d->name, "raw"))
		return resize_raw(path, new_size, shrink, err);
	if (!strcmp(d->name, "qcow2"))
		return vmc_qcow2_resize(path, new_size, shrink, err);
	return vmc_error_set(err, ENOTSUP, "%s: resizing %s images is not"
			     " supported (raw and qcow2 are)", path, d->name);
}
