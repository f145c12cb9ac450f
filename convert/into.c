/* convert -n: converting into an image that already exists (qemu-img
 * convert -n), the one conversion that writes into an existing file.
 *
 * The target is locked (flock, exclusive, not waiting) for the whole run.
 * A raw target (a file or a block device) is written in place through the
 * raw driver.  A qcow2 target cannot be written in place by vmconv's
 * writer, so it is rebuilt: a new qcow2 with the target's own creation
 * parameters (cluster size, compat, refcount width, lazy refcounts,
 * compression type, backing file) and size is written beside it, then
 * copied over the target's bytes (the same inode or device; holes punched
 * or zeroed) and cut to its length.  Targets with internal snapshots,
 * bitmaps, an external data file or extended L2 entries, or with data
 * beyond the source's size, are refused: rebuilding would lose them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/convert.h>
#include <vmconv/output.h>

#include "common/bytes.h"

struct vmc_into {
	char *path;
	int lock_fd;
	struct vmc_image *img;		/* what the conversion writes */
	/* qcow2 rebuild */
	struct vmc_output *out;
	char *tmp_path;
};

static int lock_target(struct vmc_into *t, struct vmc_error *err)
{
	t->lock_fd = open(t->path, O_RDWR | O_CLOEXEC);
	if (t->lock_fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open the"
				       " target for writing", t->path);
	if (flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return vmc_error_errno(err, errno, "%s: the target is locked"
				       " by another process", t->path);
	return 0;
}

/* Data in the target beyond the source's end would be lost by a
 * rebuild. */
static int tail_is_empty(struct vmc_image *cur, uint64_t from,
			 struct vmc_error *err)
{
	while (from < cur->size) {
		struct vmc_extent e;

		if (vmc_image_block_status(cur, from, cur->size - from, &e,
					   err) < 0)
			return -1;
		if (e.kind == VMC_EXTENT_DATA)
			return vmc_error_set(err, ENOTSUP, "%s: the target"
				" holds data at offset 0x%llx, beyond the"
				" source's end; convert -n into a qcow2 target"
				" rewrites the image and would lose it",
				cur->filename, (unsigned long long)from);
		from += e.length;
	}
	return 0;
}

static int set_opt(struct vmc_opts *o, const char *k, json_t *v,
		   struct vmc_error *err)
{
	char buf[32];

	if (!v)
		return 0;
	if (json_is_string(v))
		return vmc_opts_set(o, k, json_string_value(v), err);
	if (json_is_boolean(v))
		return vmc_opts_set(o, k, json_is_true(v) ? "on" : "off", err);
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	return vmc_opts_set(o, k, buf, err);
}

/* The creation options that make an image like cur, from its info. */
static int qcow2_like(struct vmc_image *cur, struct vmc_opts *o,
		      struct vmc_error *err)
{
	json_t *info = json_object(), *d;
	int r = -1;

	if (vmc_image_info(cur, info, err) < 0)
		goto out;
	d = json_object_get(json_object_get(info, "format-specific"), "data");
	if (json_array_size(json_object_get(info, "snapshots")) ||
	    json_array_size(json_object_get(d, "bitmaps")) ||
	    json_object_get(d, "data-file") ||
	    json_is_true(json_object_get(d, "extended-l2"))) {
		vmc_error_set(err, ENOTSUP, "%s: convert -n into a qcow2 image"
			      " with snapshots, bitmaps, an external data"
			      " file or extended L2 entries is not supported",
			      cur->filename);
		goto out;
	}
	if (set_opt(o, "cluster_size", json_object_get(info, "cluster-size"),
		    err) < 0 ||
	    set_opt(o, "compat", json_object_get(d, "compat"), err) < 0 ||
	    set_opt(o, "refcount_bits", json_object_get(d, "refcount-bits"),
		    err) < 0 ||
	    set_opt(o, "lazy_refcounts", json_object_get(d,
		    "lazy-refcounts"), err) < 0 ||
	    set_opt(o, "compression_type", json_object_get(d,
		    "compression-type"), err) < 0 ||
	    set_opt(o, "backing_file", json_object_get(info,
		    "backing-filename"), err) < 0 ||
	    set_opt(o, "backing_fmt", json_object_get(info,
		    "backing-filename-format"), err) < 0)
		goto out;
	r = 0;
out:
	json_decref(info);
	return r;
}

static int start_rebuild(struct vmc_into *t, uint64_t src_size,
			 uint64_t new_size, struct vmc_error *err)
{
	struct vmc_image *cur;
	struct vmc_opts *o = vmc_opts_new();
	char *dup = strdup(t->path), *dup2 = strdup(t->path);
	int r = -1;

	cur = vmc_image_open(t->path, "qcow2", VMC_OPEN_NO_BACKING, NULL,
			     err);
	if (!cur || !o || !dup || !dup2)
		goto out;
	if ((!new_size && tail_is_empty(cur, src_size, err) < 0) ||
	    qcow2_like(cur, o, err) < 0)
		goto out;
	if (asprintf(&t->tmp_path, "%s/.%s.vmconv-n.%ld", dirname(dup),
		     basename(dup2), (long)getpid()) < 0) {
		t->tmp_path = NULL;
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	t->out = vmc_output_new();
	if (!t->out) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	t->img = vmc_image_create(t->tmp_path, "qcow2",
				  new_size ? new_size : cur->size, o, t->out,
				  err);
	if (t->img)
		r = 0;
out:
	vmc_image_close(cur);
	vmc_opts_free(o);
	free(dup);
	free(dup2);
	return r;
}

struct vmc_into *vmc_into_open(const char *path, const char *format,
			       uint64_t src_size, struct vmc_error *err)
{
	return vmc_into_open_sized(path, format, src_size, 0, err);
}

struct vmc_into *vmc_into_open_sized(const char *path, const char *format,
				     uint64_t src_size, uint64_t new_size,
				     struct vmc_error *err)
{
	struct vmc_into *t = calloc(1, sizeof(*t));
	const struct vmc_driver *d;

	if (!t || !(t->path = strdup(path))) {
		free(t);
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	t->lock_fd = -1;
	if (lock_target(t, err) < 0)
		goto fail;
	d = format ? vmc_driver_find(format) : vmc_driver_probe(path, err);
	if (!d) {
		if (format)
			vmc_error_set(err, EINVAL, "unknown format '%s'",
				      format);
		goto fail;
	}
	if (!strcmp(d->name, "raw")) {
		t->img = vmc_image_open(path, "raw", VMC_OPEN_RDWR, NULL, err);
		if (!t->img)
			goto fail;
	} else if (!strcmp(d->name, "qcow2")) {
		if (start_rebuild(t, src_size, new_size, err) < 0)
			goto fail;
	} else {
		vmc_error_set(err, ENOTSUP, "%s: convert -n into an existing"
			      " %s image is not supported (raw and qcow2"
			      " are)", path, d->name);
		goto fail;
	}
	return t;
fail:
	vmc_into_close(t);
	return NULL;
}

struct vmc_image *vmc_into_image(struct vmc_into *t)
{
	return t->img;
}

/* Copy the rebuilt image over the target: the raw bytes of one file into
 * the other, holes as holes (or zeros on a block device). */
static int copy_over(struct vmc_into *t, struct vmc_error *err)
{
	struct vmc_image *from, *to = NULL;
	struct vmc_convert_stats st;
	struct stat sb;
	int r = -1;

	from = vmc_image_open(t->tmp_path, "raw", 0, NULL, err);
	if (!from)
		return -1;
	if (fstat(t->lock_fd, &sb) < 0) {
		vmc_error_errno(err, errno, "%s: cannot stat", t->path);
		goto out;
	}
	if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size < from->size &&
	    ftruncate(t->lock_fd, (off_t)from->size) < 0) {
		vmc_error_errno(err, errno, "%s: cannot grow", t->path);
		goto out;
	}
	to = vmc_image_open(t->path, "raw", VMC_OPEN_RDWR, NULL, err);
	if (!to)
		goto out;
	struct vmc_convert_params p = { .src = from, .dst = to, .threads = 1 };

	if (vmc_convert_run(&p, &st, err) < 0)
		goto out;
	if (S_ISREG(sb.st_mode) && ftruncate(t->lock_fd,
					     (off_t)from->size) < 0) {
		vmc_error_errno(err, errno, "%s: cannot set the size",
				t->path);
		goto out;
	}
	if (fsync(t->lock_fd) < 0) {
		vmc_error_errno(err, errno, "%s: flush failed", t->path);
		goto out;
	}
	r = 0;
out:
	vmc_image_close(to);
	vmc_image_close(from);
	return r;
}

int vmc_into_finish(struct vmc_into *t, struct vmc_error *err)
{
	int r;

	if (!t->out)
		return vmc_image_flush(t->img, err);
	vmc_image_close(t->img);
	t->img = NULL;
	if (vmc_output_commit(t->out, err) < 0)
		return -1;
	r = copy_over(t, err);
	unlink(t->tmp_path);
	return r;
}

void vmc_into_close(struct vmc_into *t)
{
	if (!t)
		return;
	vmc_image_close(t->img);
	if (t->out)
		vmc_output_free(t->out);
	if (t->tmp_path)
		unlink(t->tmp_path);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	free(t->tmp_path);
	free(t->path);
	free(t);
}
