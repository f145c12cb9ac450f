/* vmconv create: an empty image, written atomically. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv create -f FMT [-o KEY=VALUE,...] [-b BACKING [-F FMT]] [-q]\n"
"                     IMG [SIZE]\n"
"\n"
"Create IMG of SIZE bytes (suffixes k, M, G, T).  With a backing file the\n"
"size defaults to the backing file's.  -o help lists FMT's options.\n";

int vmc_cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct vmc_opts *opts = vmc_opts_new();
	struct vmc_output *out = NULL;
	struct vmc_image *img = NULL;
	const char *fmt = NULL;
	struct vmc_error err;
	uint64_t size = 0;
	bool have_size = false, quiet = false, help = false;
	int opt, done, ret = 1;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:o:b:F:q", lo, usage, NULL,
				     &done)) != -1) {
		switch (opt) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'o':
			if (vmc_cli_create_opt(opts, optarg, &help) < 0)
				goto out;
			break;
		case 'b':
		case 'F':
			if (vmc_opts_set(opts, opt == 'b' ? "backing_file" :
					 "backing_fmt", optarg, &err) < 0)
				goto fail;
			break;
		}
	}
	if (done >= 0) {
		ret = done;
		goto out;
	}
	if (help) {
		ret = vmc_cli_create_opts_help(fmt ? fmt : "raw");
		goto out;
	}
	if (!fmt || argc - optind < 1 || argc - optind > 2) {
		ret = vmc_cli_usage(usage, false);
		goto out;
	}
	if (argc - optind == 2) {
		if (vmc_parse_size(argv[optind + 1], &size) < 0) {
			vmc_cli_errorf("'%s' is not a size", argv[optind + 1]);
			goto out;
		}
		have_size = true;
	}
	if (!have_size) {
		const char *b = vmc_opts_get(opts, "backing_file");
		struct vmc_image *bi;
		char *path;

		if (!b) {
			vmc_cli_errorf("%s: a size is needed", argv[optind]);
			goto out;
		}
		path = vmc_path_relative_to(argv[optind], b);
		bi = path ? vmc_image_open(path, vmc_opts_get(opts,
					   "backing_fmt"), 0, NULL, &err) : NULL;
		free(path);
		/* Let the driver see the backing options again. */
		vmc_opts_set(opts, "backing_file", b, &err);
		if (!bi)
			goto fail;
		size = bi->size;
		vmc_image_close(bi);
	}
	vmc_output_clean_stale(argv[optind]);
	out = vmc_output_new();
	img = vmc_image_create(argv[optind], fmt, size, opts, out, &err);
	if (!img || vmc_image_flush(img, &err) < 0)
		goto fail;
	vmc_image_close(img);
	img = NULL;
	if (vmc_output_commit(out, &err) < 0)
		goto fail;
	if (!quiet)
		printf("Formatting '%s', fmt=%s size=%llu\n", argv[optind],
		       fmt, (unsigned long long)size);
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_image_close(img);
	vmc_output_free(out);
	vmc_opts_free(opts);
	return ret;
}
