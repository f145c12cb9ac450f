/* resize: an existing image made larger or smaller in place (qemu-img
 * resize).  A raw file is truncated or extended; a qcow2 image is
 * rebuilt at the new size (convert/into.c) from its own clusters, since
 * vmconv's qcow2 writer cannot grow an L1 table in place. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/convert.h>

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

static int resize_qcow2(const char *path, uint64_t new_size, bool shrink,
			struct vmc_error *err)
{
	struct vmc_image *src;
	struct vmc_into *t = NULL;
	struct vmc_convert_stats st;
	json_t *info = json_object();
	int r = -1;

	src = vmc_image_open(path, "qcow2", VMC_OPEN_NO_BACKING, NULL, err);
	if (!src)
		goto out;
	if (vmc_image_info(src, info, err) < 0)
		goto out;
	if (json_object_get(info, "backing-filename")) {
		vmc_error_set(err, ENOTSUP, "%s: resizing a qcow2 image with a"
			      " backing file is not supported", path);
		goto out;
	}
	if (new_size < src->size && !shrink) {
		vmc_error_set(err, EINVAL, "%s: use --shrink to make the image"
			      " smaller (%" PRIu64 " to %" PRIu64 " bytes;"
			      " the data past the end is lost)", path,
			      src->size, new_size);
		goto out;
	}
	t = vmc_into_open_sized(path, "qcow2", src->size, new_size, err);
	if (!t)
		goto out;
	/* Only the part that stays is copied. */
	if (new_size < src->size)
		src->size = new_size;
	struct vmc_convert_params p = { .src = src,
					.dst = vmc_into_image(t) };

	if (vmc_convert_run(&p, &st, err) < 0)
		goto out;
	vmc_image_close(src);
	src = NULL;
	r = vmc_into_finish(t, err);
out:
	vmc_into_close(t);
	vmc_image_close(src);
	json_decref(info);
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
		return resize_qcow2(path, new_size, shrink, err);
	return vmc_error_set(err, ENOTSUP, "%s: resizing %s images is not"
			     " supported (raw and qcow2 are)", path, d->name);
}
