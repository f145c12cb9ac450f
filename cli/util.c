/* Helpers shared by the subcommands: error and JSON printing, sizes. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void vmc_cli_error(const struct vmc_error *err)
{
	fprintf(stderr, "vmconv: %s\n", err->msg[0] ? err->msg :
		"unknown error");
}

void vmc_cli_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("vmconv: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vmc_cli_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
}

void vmc_cli_human_size(uint64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB",
				      "EiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.3g %s", v, unit[u]);
}

int vmc_cli_output_format(const char *arg, bool *json)
{
	if (!strcmp(arg, "json"))
		*json = true;
	else if (!strcmp(arg, "human"))
		*json = false;
	else {
		vmc_cli_errorf("--output must be human or json, not '%s'", arg);
		return -1;
	}
	return 0;
}

int vmc_cli_cache_mode(const char *arg, enum vmc_cache_mode *mode)
{
	if (!strcmp(arg, "writeback")) {
		*mode = VMC_CACHE_WRITEBACK;
	} else if (!strcmp(arg, "unsafe")) {
		*mode = VMC_CACHE_UNSAFE;
	} else if (!strcmp(arg, "none") || !strcmp(arg, "directsync") ||
		   !strcmp(arg, "writethrough")) {
		/* What these promise at the end of a conversion (the output
		 * on the disk) the durable default gives; pipelines that pass
		 * them (OpenStack's -t none) must not fail.  O_DIRECT and
		 * per-write syncs are not used. */
		*mode = VMC_CACHE_WRITEBACK;
	} else {
		vmc_cli_errorf("-t must be writeback, unsafe, none,"
			       " writethrough or directsync, not '%s'", arg);
		return -1;
	}
	return 0;
}

int vmc_cli_usage(const char *text, bool asked)
{
	fputs(text, asked ? stdout : stderr);
	return asked ? 0 : 1;
}

int vmc_cli_image_args(int argc, char **argv, const char *usage,
		       const char **fmt, bool *json, const char **path)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	int opt, done;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:", lo, usage, json,
				     &done)) != -1)
		if (opt == 'f')
			*fmt = optarg;
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return vmc_cli_usage(usage, false);
	*path = argv[optind];
	return -1;
}

const struct vmc_driver *vmc_cli_driver(const char *path, const char *fmt)
{
	const struct vmc_driver *d;
	struct vmc_error err;

	d = fmt ? vmc_driver_find(fmt) : vmc_driver_probe(path, &err);
	if (!d) {
		if (fmt)
			vmc_cli_errorf("unknown format '%s'", fmt);
		else
			vmc_cli_error(&err);
	}
	return d;
}
