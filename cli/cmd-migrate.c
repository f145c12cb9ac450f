/* The one-shot migration form: vmconv SRC --to FMT [--out PATH] ...
 * Converts SRC to FMT beside it (or at --out).  Driver injection and boot
 * validation hook in here as they are built; until then the flags that
 * ask for them fail with a message saying so. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv SRC --to FMT [--out PATH] [-o KEY=VALUE,...] [-c] [-p]\n"
"              [--digest] [--no-inject] [--validate] [--output=json]\n"
"\n"
"Migrate the disk image SRC to format FMT, written beside SRC with FMT's\n"
"extension unless --out names the target.\n";

/* SRC's path with its extension replaced by the driver's. */
static char *default_target(const char *src, const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);
	const char *ext = d && d->extension ? d->extension : fmt;
	const char *slash = strrchr(src, '/');
	const char *dot = strrchr(src, '.');
	size_t stem = (dot && (!slash || dot > slash) && dot != src &&
		       dot[-1] != '/') ? (size_t)(dot - src) : strlen(src);
	char *res = malloc(stem + strlen(ext) + 2);

	if (res)
		sprintf(res, "%.*s.%s", (int)stem, src, ext);
	return res;
}

int vmc_cmd_migrate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'O' },
		{ "validate", no_argument, NULL, 'V' },
		{ "no-inject", no_argument, NULL, 'N' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_cli_convert c = { 0 };
	struct vmc_error err;
	json_t *summary = NULL;
	char *target = NULL;
	bool validate = false, no_inject = false;
	int opt, ret = 1;

	c.create_opts = vmc_opts_new();
	c.progress = true;
	while ((opt = getopt_long(argc, argv, "hf:o:cpq", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': ret = vmc_cli_usage(usage, true); goto out;
		case 'T': c.dst_fmt = optarg; break;
		case 'O': c.dst_path = optarg; break;
		case 'f': c.src_fmt = optarg; break;
		case 'o':
			if (vmc_opts_parse(c.create_opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				goto out;
			}
			break;
		case 'c': c.compress = true; break;
		case 'p': c.progress = true; break;
		case 'q': c.quiet = true; c.progress = false; break;
		case 'V': validate = true; break;
		case 'N': no_inject = true; break;
		case 'D': c.digest = true; break;
		case 'J':
			if (vmc_cli_output_format(optarg, &c.json) < 0)
				goto out;
			break;
		default: goto out_usage;
		}
	}
	if (argc - optind == 1 && !c.dst_fmt) {
		vmc_cli_errorf("'%s' is not a command; to migrate an image,"
			       " say --to FORMAT (vmconv --help)",
			       argv[optind]);
		goto out;
	}
	if (argc - optind != 1 || !c.dst_fmt)
		goto out_usage;
	if (validate) {
		vmc_cli_errorf("--validate: the boot validator is not part of"
			       " this build yet");
		goto out;
	}
	c.src_path = argv[optind];
	if (!vmc_driver_find(c.dst_fmt)) {
		vmc_cli_errorf("unknown target format '%s' (vmconv formats"
			       " lists them)", c.dst_fmt);
		goto out;
	}
	if (!c.dst_path)
		c.dst_path = target = default_target(c.src_path, c.dst_fmt);
	ret = vmc_cli_run_convert(&c, &summary);
	if (ret != 0)
		goto out;
	json_object_set_new(summary, "injection", json_string(no_inject ?
		"skipped (--no-inject)" : "not available in this build"));
	if (c.json) {
		vmc_cli_print_json(summary);
	} else if (!c.quiet) {
		char sz[32];

		vmc_cli_human_size((uint64_t)json_integer_value(
			json_object_get(summary, "virtual-size")), sz,
			sizeof(sz));
		printf("%s (%s, %s) -> %s (%s) in %.1f s\n", c.src_path,
		       json_string_value(json_object_get(summary,
						"source-format")), sz,
		       c.dst_path, c.dst_fmt, json_real_value(
				json_object_get(summary, "seconds")));
		if (json_object_get(summary, "sha256"))
			printf("sha256: %s\n", json_string_value(
				json_object_get(summary, "sha256")));
		if (!no_inject)
			printf("guest unchanged: driver injection is not"
			       " available in this build\n");
	}
	goto out;
out_usage:
	ret = vmc_cli_usage(usage, false);
out:
	json_decref(summary);
	free(target);
	vmc_opts_free(c.create_opts);
	return ret;
}
