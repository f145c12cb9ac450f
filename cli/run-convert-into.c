/* convert -n: a conversion into an existing target (convert/into.c), and
 * the engine options that qemu-img convert has beyond the basic ones
 * (-S, -r, --salvage), shared with the ordinary conversion. */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"

static void report_read_error(void *ctx, uint64_t off, uint64_t len,
			      const struct vmc_error *err)
{
	fprintf(stderr, "vmconv: %s: cannot read %" PRIu64 " bytes at offset"
		" 0x%" PRIx64 " (%s); written as zeros (--salvage)\n",
		(const char *)ctx, len, off, err->msg);
}

void vmc_cli_convert_tune(const struct vmc_cli_convert *c,
			  struct vmc_convert_params *p)
{
	p->allocate_all = c->sparse_set && c->sparse_size == 0;
	p->sparse_size = c->sparse_set ? c->sparse_size : 0;
	p->rate_limit = c->rate_limit;
	p->salvage = c->salvage;
	p->copy_offload = c->copy_offload;
	p->read_error = report_read_error;
	p->read_error_ctx = (void *)c->src_path;
}

int vmc_cli_run_convert_into(const struct vmc_cli_convert *c,
			     json_t **summary)
{
	struct vmc_image *src;
	struct vmc_into *t = NULL;
	struct vmc_convert_stats st;
	struct vmc_progress *bar;
	struct vmc_error err = { 0 };
	int ret = 1;

	src = vmc_image_open(c->src_path, c->src_fmt, 0, c->open_opts, &err);
	if (!src)
		goto fail;
	t = vmc_into_open(c->dst_path, c->dst_fmt, src->size, &err);
	if (!t)
		goto fail;
	if (!c->quiet && !c->json)
		fprintf(stderr, "vmconv: convert -n writes into %s in place\n",
			c->dst_path);
	vmc_into_image(t)->zero_init = c->target_is_zero;
	bar = vmc_progress_new(c->progress, c->json ? stderr : stdout,
			       "converting");
	struct vmc_convert_params p = {
		.src = src, .dst = vmc_into_image(t), .digest = c->digest,
		.threads = c->threads, .progress = vmc_progress_update,
		.progress_ctx = bar,
	};
	vmc_cli_convert_tune(c, &p);
	int r = vmc_convert_run(&p, &st, &err);

	if (r == 0)
		r = vmc_into_finish(t, &err);
	vmc_progress_finish(bar, r == 0);
	if (r < 0)
		goto fail;
	if (summary) {
		char hex[65];

		*summary = json_object();
		json_object_set_new(*summary, "source",
				    json_string(c->src_path));
		json_object_set_new(*summary, "target",
				    json_string(c->dst_path));
		json_object_set_new(*summary, "virtual-size",
				    json_integer((json_int_t)st.virtual_size));
		json_object_set_new(*summary, "written-bytes",
				    json_integer((json_int_t)st.written_bytes));
		json_object_set_new(*summary, "salvaged-bytes", json_integer(
			(json_int_t)st.salvaged_bytes));
		if (st.have_digest) {
			vmc_sha256_hex(st.sha256, hex);
			json_object_set_new(*summary, "sha256",
					    json_string(hex));
		}
	}
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_into_close(t);
	vmc_image_close(src);
	return ret;
}
