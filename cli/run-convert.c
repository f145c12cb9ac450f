/* One conversion with atomic output, shared by `convert` and the one-shot
 * migration form. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static json_t *make_summary(const struct vmc_cli_convert *c,
			    struct vmc_image *src, struct vmc_image *dst,
			    const struct vmc_convert_stats *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "source", json_string(c->src_path));
	json_object_set_new(o, "source-format", json_string(src->drv->name));
	json_object_set_new(o, "target", json_string(c->dst_path));
	json_object_set_new(o, "target-format", json_string(dst->drv->name));
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)st->virtual_size));
	json_object_set_new(o, "data-bytes", json_integer((json_int_t)st->data_bytes));
	json_object_set_new(o, "zero-bytes", json_integer((json_int_t)st->zero_bytes));
	json_object_set_new(o, "hole-bytes", json_integer((json_int_t)st->hole_bytes));
	json_object_set_new(o, "written-bytes", json_integer((json_int_t)st->written_bytes));
	if (c->compress || dst->compress_always)
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

int vmc_cli_run_convert(const struct vmc_cli_convert *c, json_t **summary)
{
	struct vmc_image *src = NULL, *dst = NULL;
	struct vmc_output *out = NULL;
	struct vmc_convert_stats st;
	struct vmc_progress *bar;
	struct vmc_error err = { 0 };
	int ret = 1;

	if (c->no_create)
		return vmc_cli_run_convert_into(c, summary);
	vmc_output_clean_stale(c->dst_path);
	if (same_file(c->src_path, c->dst_path)) {
		vmc_cli_errorf("%s: source and target are the same file",
			       c->dst_path);
		return 1;
	}
	src = vmc_image_open(c->src_path, c->src_fmt, 0, c->open_opts, &err);
	if (!src)
		goto fail;
	out = vmc_output_new();
	if (!out) {
		vmc_error_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	dst = vmc_image_create(c->dst_path, c->dst_fmt, src->size,
			       c->create_opts, out, &err);
	if (!dst)
		goto fail;
	bar = vmc_progress_new(c->progress, "converting");
	struct vmc_convert_params p = {
		.src = src, .dst = dst, .compress = c->compress,
		.digest = c->digest, .threads = c->threads,
		.progress = vmc_progress_update, .progress_ctx = bar,
	};
	vmc_cli_convert_tune(c, &p);
	int r = vmc_convert_run(&p, &st, &err);
	vmc_progress_finish(bar);
	if (r < 0)
		goto fail;
	if (summary)
		*summary = make_summary(c, src, dst, &st);
	vmc_image_close(dst);
	dst = NULL;
	if (vmc_output_commit(out, &err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_image_close(dst);
	vmc_output_free(out);	/* unlinks temporaries unless committed */
	vmc_image_close(src);
	return ret;
}
