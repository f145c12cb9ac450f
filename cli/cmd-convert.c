/* vmconv convert: qemu-img convert's interface. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define VMC_CLI_MAX_THREADS 256

static const char usage[] =
"usage: vmconv convert [-f FMT] -O FMT [-o KEY=VALUE,...] [-c] [-p] [-q]\n"
"                      [-l SNAPSHOT] [-B BACKING [-F BACKING_FMT]]\n"
"                      [-m THREADS] [--digest] [--output=human|json] SRC DST\n"
"\n"
"Convert the disk image SRC to DST in format FMT.  DST appears only when\n"
"the conversion has succeeded and is on disk; SRC is never modified.\n"
"\n"
"  -f FMT        source format (default: probed)\n"
"  -O FMT        target format (vmconv formats lists them)\n"
"  -o OPTS       target options, e.g. compat=1.1,cluster_size=64k\n"
"  -c            compress (qcow2, vmdk streamOptimized)\n"
"  -p            progress as qemu-img -p prints it: records\n"
"                \"    (12.34/100%)\\r\" on stdout (stderr with JSON)\n"
"  -q            quiet: no progress, no digest line (errors still shown)\n"
"  -l SNAPSHOT   convert an internal snapshot of SRC\n"
"  -B FILE       the target reads through to backing FILE\n"
"  -F FMT        format of the backing file\n"
"  -m THREADS    worker threads (default: one per CPU)\n"
"  --digest      SHA-256 of the guest-visible content\n"
"  --output=json machine-readable summary on stdout\n";

/* -m: qemu-img takes 1..16 coroutines; vmconv's are threads. */
static int parse_threads(const char *arg, unsigned *threads)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (!*arg || *end || n < 1 || n > VMC_CLI_MAX_THREADS) {
		vmc_cli_errorf("-m: the number of threads is 1 to %d, not '%s'",
			       VMC_CLI_MAX_THREADS, arg);
		return -1;
	}
	*threads = (unsigned)n;
	return 0;
}

int vmc_cmd_convert(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_cli_convert c = { 0 };
	struct vmc_error err;
	json_t *summary = NULL;
	const char *snap = NULL;
	int opt, ret = 1;

	c.create_opts = vmc_opts_new();
	c.open_opts = vmc_opts_new();
	while ((opt = getopt_long(argc, argv, "hf:O:o:cpql:B:F:m:", lo,
				  NULL)) != -1) {
		switch (opt) {
		case 'h': ret = vmc_cli_usage(usage, true); goto out;
		case 'f': c.src_fmt = optarg; break;
		case 'O': c.dst_fmt = optarg; break;
		case 'o':
			if (vmc_opts_parse(c.create_opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				goto out;
			}
			break;
		case 'c': c.compress = true; break;
		case 'p': c.progress = VMC_PROGRESS_QEMU; break;
		case 'q': c.quiet = true; break;
		case 'l': snap = optarg; break;
		case 'B':
		case 'F':
			if (vmc_opts_set(c.create_opts, opt == 'B' ?
					 "backing_file" : "backing_fmt",
					 optarg, &err) < 0) {
				vmc_cli_error(&err);
				goto out;
			}
			break;
		case 'm':
			if (parse_threads(optarg, &c.threads) < 0)
				goto out;
			break;
		case 'D': c.digest = true; break;
		case 'J':
			if (vmc_cli_output_format(optarg, &c.json) < 0)
				goto out;
			break;
		default: goto out_usage;
		}
	}
	if (argc - optind != 2 || !c.dst_fmt)
		goto out_usage;
	if (c.quiet)
		c.progress = VMC_PROGRESS_OFF;	/* qemu-img: -q wins over -p */
	if (snap) {
		if (!strncmp(snap, "snapshot.name=", 14))
			snap += 14;
		if (vmc_opts_set(c.open_opts, "snapshot", snap, &err) < 0) {
			vmc_cli_error(&err);
			goto out;
		}
	}
	c.src_path = argv[optind];
	c.dst_path = argv[optind + 1];
	ret = vmc_cli_run_convert(&c, &summary);
	if (ret == 0 && c.json) {
		vmc_cli_print_json(summary);
	} else if (ret == 0 && !c.quiet && summary) {
		const char *sha = json_string_value(
			json_object_get(summary, "sha256"));
		if (sha)
			printf("sha256: %s\n", sha);
	}
	json_decref(summary);
	goto out;
out_usage:
	ret = vmc_cli_usage(usage, false);
out:
	vmc_opts_free(c.create_opts);
	vmc_opts_free(c.open_opts);
	return ret;
}
