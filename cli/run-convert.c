/* One conversion with atomic output, shared by `convert` and the one-shot
 * migration form. */
#include <stdio.h>

#include "cli/cli.h"

int vmc_cli_run_convert(const struct vmc_cli_convert *c, json_t **summary)
{
	struct vmc_image *src;
	struct vmc_convert_stats st;
	struct vmc_progress *bar;
	struct vmc_error err = { 0 };
	int r;

	if (c->no_create)
		return vmc_cli_run_convert_into(c, summary);
	src = vmc_image_open(c->src_path, c->src_fmt, 0, c->open_opts, &err);
	if (!src) {
		vmc_cli_error(&err);
		return 1;
	}
	bar = vmc_progress_new(c->progress, c->json ? stderr : stdout,
			       "converting");
	struct vmc_convert_params p = {
		.src = src, .compress = c->compress, .digest = c->digest,
		.threads = c->threads, .progress = vmc_progress_update,
		.progress_ctx = bar,
	};
	vmc_cli_convert_tune(c, &p);
	r = vmc_convert_to_file(&p, c->dst_path, c->dst_fmt, c->create_opts,
				&st, &err);
	vmc_progress_finish(bar, r == 0);
	if (r < 0)
		vmc_cli_error(&err);
	else if (summary)
		*summary = vmc_convert_summary(c->src_path, c->dst_path,
					       src, &st);
	vmc_image_close(src);
	return r < 0 ? 1 : 0;
}
