/* Converting an open image into a new file, atomically: the one way
 * vmconv writes a converted image (vmconv convert, the migration, the
 * raw export the validator hands to QEMU).  See include/vmconv/convert.h.
 */
#include <errno.h>
#include <sys/stat.h>

#include <vmconv/convert.h>
#include <vmconv/output.h>

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int vmc_convert_to_file(const struct vmc_convert_params *p,
			const char *path, const char *format,
			struct vmc_opts *create_opts,
			struct vmc_convert_stats *st, struct vmc_error *err)
{
	struct vmc_convert_params cp = *p;
	struct vmc_output *out;
	int ret = -1;

	vmc_output_clean_stale(path);
	if (same_file(p->src->filename, path))
		return vmc_error_set(err, EINVAL,
			"%s: source and target are the same file", path);
	out = vmc_output_new();
	if (!out)
		return vmc_error_set(err, ENOMEM, "out of memory");
	cp.dst = vmc_image_create(path, format, p->src->size, create_opts, out,
				  err);
	if (!cp.dst)
		goto out;
	if (vmc_convert_run(&cp, st, err) < 0)
		goto out;
	st->target_format = cp.dst->drv->name;
	st->compressed = cp.compress || cp.dst->compress_always;
	vmc_image_close(cp.dst);
	cp.dst = NULL;
	if (vmc_output_commit(out, err) < 0)
		goto out;
	ret = 0;
out:
	vmc_image_close(cp.dst);
	vmc_output_free(out);	/* unlinks temporaries unless committed */
	return ret;
}

json_t *vmc_convert_summary(const char *src_path, const char *dst_path,
			    struct vmc_image *src,
			    const struct vmc_convert_stats *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "source", json_string(src_path));
	json_object_set_new(o, "source-format", json_string(src->drv->name));
	json_object_set_new(o, "target", json_string(dst_path));
	json_object_set_new(o, "target-format",
			    json_string(st->target_format));
	json_object_set_new(o, "virtual-size",
			    json_integer((json_int_t)st->virtual_size));
	json_object_set_new(o, "data-bytes",
			    json_integer((json_int_t)st->data_bytes));
	json_object_set_new(o, "zero-bytes",
			    json_integer((json_int_t)st->zero_bytes));
	json_object_set_new(o, "hole-bytes",
			    json_integer((json_int_t)st->hole_bytes));
	json_object_set_new(o, "written-bytes",
			    json_integer((json_int_t)st->written_bytes));
	if (st->compressed)
		json_object_set_new(o, "compressed-bytes",
			json_integer((json_int_t)st->compressed_bytes));
	json_object_set_new(o, "seconds", json_real(st->seconds));
	if (st->have_digest) {
		char hex[65];

		vmc_sha256_hex(st->sha256, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	}
	return o;
}
