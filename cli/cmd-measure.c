/* vmconv measure: how large a new image will be, as qemu-img measure
 * (required and fully-allocated bytes), for every format vmconv writes. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv measure [--output=human|json] [-O FMT] [-o KEY=VALUE,...]\n"
"                      (--size SIZE | [-f FMT] [-U] SRC)\n"
"\n"
"Print the bytes a new FMT image (default raw) made with OPTS needs for\n"
"SRC's content (required; never less than the files `vmconv convert`\n"
"then writes) and with every block allocated (fully-allocated).\n"
"--size measures an empty image of SIZE bytes.  All files of a multi-file\n"
"format (VMDK descriptor and extents) are counted.\n";

static void print(const struct vmc_measure *m, bool json)
{
	if (json) {
		json_t *o = json_object();

		if (m->has_bitmaps)
			json_object_set_new(o, "bitmaps", json_integer(
				(json_int_t)m->bitmaps));
		json_object_set_new(o, "required", json_integer(
			(json_int_t)m->required));
		json_object_set_new(o, "fully-allocated", json_integer(
			(json_int_t)m->fully_allocated));
		vmc_cli_print_json(o);
		json_decref(o);
		return;
	}
	printf("required size: %" PRIu64 "\n", m->required);
	printf("fully allocated size: %" PRIu64 "\n", m->fully_allocated);
	if (m->has_bitmaps)
		printf("bitmaps size: %" PRIu64 "\n", m->bitmaps);
}

int vmc_cmd_measure(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'J' },
		{ "size", required_argument, NULL, 'S' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL, *out_fmt = "raw", *size_arg = NULL;
	struct vmc_opts *opts = vmc_opts_new();
	struct vmc_image *src = NULL;
	struct vmc_measure m;
	struct vmc_error err;
	uint64_t size = 0;
	bool json = false, help = false;
	int opt, done, ret = 1;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:O:o:U", lo, usage, &json,
				     &done)) != -1) {
		switch (opt) {
		case 'f': fmt = optarg; break;
		case 'O': out_fmt = optarg; break;
		case 'S': size_arg = optarg; break;
		case 'U': break;
		case 'o':
			if (vmc_cli_create_opt(opts, optarg, &help) < 0)
				goto out;
			break;
		}
	}
	if (done >= 0) {
		ret = done;
		goto out;
	}
	if (help) {
		ret = vmc_cli_create_opts_help(out_fmt);
		goto out;
	}
	if ((size_arg != NULL) == (argc - optind == 1) ||
	    argc - optind > 1) {
		vmc_cli_errorf("measure takes either --size SIZE or one"
			       " image");
		ret = vmc_cli_usage(usage, false);
		goto out;
	}
	if (size_arg && vmc_parse_size(size_arg, &size) < 0) {
		vmc_cli_errorf("invalid --size '%s'", size_arg);
		goto out;
	}
	if (!size_arg) {
		src = vmc_image_open(argv[optind], fmt, 0, NULL, &err);
		if (!src)
			goto fail;
	}
	if (vmc_image_measure(out_fmt, src, size, opts, &m, &err) < 0)
		goto fail;
	print(&m, json);
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_image_close(src);
	vmc_opts_free(opts);
	return ret;
}
