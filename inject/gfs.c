/* The libguestfs handle and the disk it is given.  See inject/gfs.h.
 *
 * QEMU never probes an untrusted image: a raw image or a qcow2 that is a
 * single file (it names no backing or data file, refused or not) goes to
 * libguestfs with its format pinned; everything else (VHDX with a dirty
 * log, differencing images, VMDK extents, chains) is exported to a sparse
 * raw file through vmconv's own drivers first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/convert.h>
#include <vmconv/image.h>

#include "inject/gfs.h"

/* True when img is one file that names no other: vmconv holds a single
 * descriptor for it, and it stores no backing file or data file (a name
 * the parent policy refused opens nothing, yet QEMU would follow it). */
static bool single_file(struct vmc_image *img)
{
	json_t *info = json_object(), *fs, *data;
	struct vmc_error err;
	bool one = false;

	if (!info || vmc_image_fds(img, NULL, 0) != 1 ||
	    vmc_image_info(img, info, &err) < 0)
		goto out;
	fs = json_object_get(info, "format-specific");
	data = fs ? json_object_get(fs, "data") : NULL;
	one = !json_object_get(info, "backing-filename") &&
	      !(data && json_object_get(data, "data-file"));
out:
	json_decref(info);
	return one;
}

static int export_raw(struct vmc_image *img, const char *path,
		      struct vmc_error *err)
{
	struct vmc_convert_params cp = { .src = img };
	struct vmc_convert_stats st;

	return vmc_convert_to_file(&cp, path, "raw", NULL, &st, err);
}

int vmc_gdisk_prepare(const char *image, const char *fmt,
		      struct vmc_gdisk *d, struct vmc_error *err)
{
	const char *tmp = getenv("TMPDIR");
	struct vmc_image *img;
	const char *drv;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	img = vmc_image_open(image, fmt, 0, NULL, err);
	if (!img)
		return -1;
	drv = img->drv->name;
	if ((!strcmp(drv, "raw") || !strcmp(drv, "qcow2")) &&
	    single_file(img)) {
		snprintf(d->path, sizeof(d->path), "%s", image);
		d->qfmt = !strcmp(drv, "raw") ? "raw" : "qcow2";
		ret = 0;
		goto out;
	}
	snprintf(d->tmpdir, sizeof(d->tmpdir), "%s/vmconv-inspect.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->tmpdir)) {
		vmc_error_errno(err, errno, "%s", d->tmpdir);
		d->tmpdir[0] = 0;
		goto out;
	}
	snprintf(d->path, sizeof(d->path), "%s/disk.raw", d->tmpdir);
	d->qfmt = "raw";
	d->exported = true;
	if (export_raw(img, d->path, err) < 0) {
		vmc_error_prefix(err, "%s: exporting for inspection", image);
		vmc_gdisk_cleanup(d);
		goto out;
	}
	ret = 0;
out:
	vmc_image_close(img);
	return ret;
}

void vmc_gdisk_cleanup(struct vmc_gdisk *d)
{
	if (d->exported)
		unlink(d->path);
	if (d->tmpdir[0])
		rmdir(d->tmpdir);
	d->tmpdir[0] = 0;
	d->exported = false;
}

int vmc_gfs_error(guestfs_h *g, struct vmc_error *err, const char *image,
		  const char *what)
{
	const char *m = g ? guestfs_last_error(g) : NULL;

	return vmc_error_set(err, EIO, "%s: %s: %s", image, what,
			     m ? m : "libguestfs failed");
}

guestfs_h *vmc_gfs_launch(const char *path, const char *qfmt, bool readonly,
			  bool kvm, struct vmc_error *err)
{
	guestfs_h *g = guestfs_create();

	if (!g) {
		vmc_error_set(err, ENOMEM, "libguestfs: cannot create a"
			      " handle");
		return NULL;
	}
	guestfs_set_error_handler(g, NULL, NULL);
	if (!kvm) {
		char *settings[] = { "force_tcg", NULL };

		guestfs_set_backend(g, "direct");
		guestfs_set_backend_settings(g, settings);
	}
	if (guestfs_add_drive_opts(g, path, GUESTFS_ADD_DRIVE_OPTS_READONLY,
				   readonly ? 1 : 0,
				   GUESTFS_ADD_DRIVE_OPTS_FORMAT, qfmt,
				   -1) < 0 || guestfs_launch(g) < 0) {
		vmc_gfs_error(g, err, path, "libguestfs could not start");
		guestfs_close(g);
		return NULL;
	}
	return g;
}

int vmc_gfs_close(guestfs_h *g, bool written, const char *image,
		  struct vmc_error *err)
{
	int ret = 0;

	if (!g)
		return 0;
	if (written && (guestfs_umount_all(g) < 0 || guestfs_sync(g) < 0 ||
			guestfs_shutdown(g) < 0))
		ret = vmc_gfs_error(g, err, image, "writing the guest back");
	guestfs_close(g);
	return ret;
}

char *vmc_gfs_read(guestfs_h *g, const char *path, size_t max)
{
	int64_t sz;
	size_t len;
	char *buf, *s;

	if (guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS,
				 1, -1) <= 0)
		return NULL;
	sz = guestfs_filesize(g, path);
	if (sz < 0 || (uint64_t)sz > max)
		return NULL;
	buf = guestfs_read_file(g, path, &len);
	if (!buf)
		return NULL;
	s = malloc(len + 1);
	if (s) {
		memcpy(s, buf, len);
		s[len] = 0;
	}
	free(buf);
	return s;
}

bool vmc_gfs_is_file(guestfs_h *g, const char *path)
{
	return guestfs_is_file_opts(g, path,
				    GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1,
				    -1) > 0;
}

bool vmc_gfs_is_dir(guestfs_h *g, const char *path)
{
	return guestfs_is_dir_opts(g, path, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS,
				   1, -1) > 0;
}

void vmc_gfs_free_strings(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}
