/* One conversion with atomic output, shared by `convert` and the one-shot
 * migration form. */
#include <stdio.h>

#include "cli/cli.h"

static json_t *make_summary(const struct vmc_cli_convert *c,
			    struct vmc_image *src,
			    const struct vmc_convert_stats *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "source", json_string(c->src_path));
	json_object_set_new(o, "source-format", json_string(src->drv->name));
	json_object_set_new(o, "target", json_string(c->dst_path));
	json_object_set_new(o, "target-format", json_string(st->target_format));
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)st->virtual_size));
	json_object_set_new(o, "data-bytes", json_integer((json_int_t)st->data_bytes));
	json_object_set_new(o, "zero-bytes", json_integer((json_int_t)st->zero_bytes));
	json_object_set_new(o, "hole-bytes", json_integer((json_int_t)st->hole_bytes));
	json_object_set_new(o, "written-bytes", json_integer((json_int_t)st->written_bytes));
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

int vmc_cli_run_convert(const struct vmc_cli_convert *c, json_t **summary)
{
	struct vmc_image *src;
	struct vmc_convert_stats st;
	struct vmc_progress *bar;
	struct vmc_error err = { 0 };
	int r;

	src = vmc_image_open(c->src_path, c->src_fmt, 0, c->open_opts, &err);
	if (!src) {
		vmc_cli_error(&err);
		return 1;
	}
	bar = vmc_progress_new(c->progress, "converting");
	struct vmc_convert_params p = {
		.src = src, .compress = c->compress, .digest = c->digest,
		.threads = c->threads, .progress = vmc_progress_update,
		.progress_ctx = bar,
	};
	r = vmc_convert_to_file(&p, c->dst_path, c->dst_fmt, c->create_opts,
				&st, &err);
	vmc_progress_finish(bar);
	if (r < 0)
		vmc_cli_error(&err);
	else if (summary)
		*summary = make_summary(c, src, &st);
	vmc_image_close(src);
	return r < 0 ? 1 : 0;
}
