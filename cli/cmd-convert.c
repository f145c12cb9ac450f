/* vmconv convert: qemu-img convert's interface. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define VMC_CLI_MAX_THREADS 256

static const char usage[] =
"usage: vmconv convert [-f FMT] -O FMT [-o KEY=VALUE,...] [-c|-C] [-p] [-q]\n"
"                      [-l SNAPSHOT] [-B BACKING [-F BACKING_FMT]]\n"
"                      [-m THREADS] [-n [--target-is-zero]] [-S SIZE] [-U]\n"
"                      [-r RATE] [--salvage] [-t CACHE] [-T CACHE] [--digest]\n"
"                      [--output=human|json]\n"
"                      SRC DST\n"
"\n"
"Convert the disk image SRC to DST in format FMT.  DST appears only when\n"
"the conversion has succeeded and is on disk; SRC is never modified.\n"
"\n"
"  -f FMT        source format (default: probed)\n"
"  -O FMT        target format (vmconv formats lists them)\n"
"  -o OPTS       target options, e.g. compat=1.1,cluster_size=64k\n"
"  -c            compress (qcow2, vmdk streamOptimized)\n"
"  -C            copy offloading to a raw target: data held plain by the\n"
"                source (raw, qcow2) is copied in the kernel\n"
"                (copy_file_range); zeros it holds are not made sparse\n"
"  -p            progress as qemu-img -p prints it: records\n"
"                \"    (12.34/100%)\\r\" on stdout (stderr with JSON)\n"
"  -q            quiet: no progress, no digest line (errors still shown)\n"
"  -l SNAPSHOT   convert an internal snapshot of SRC\n"
"  -B FILE       the target reads through to backing FILE\n"
"  -F FMT        format of the backing file\n"
"  -m THREADS    worker threads (default: one per CPU)\n"
"  -n            DST exists: write INTO it, IN PLACE, locked (raw file or\n"
"                block device; qcow2, rebuilt with its own parameters and\n"
"                copied over it); -O names its format (else probed)\n"
"  --target-is-zero  with -n: DST reads as zeros, zero runs are skipped\n"
"  -S SIZE       zero runs of SIZE bytes are left sparse (default: the\n"
"                target's cluster, at least 4k); -S 0 writes every byte\n"
"  -U            accepted: vmconv takes no lock on the source\n"
"  -t CACHE      writeback (default): DST is flushed to the disk before it\n"
"                appears; unsafe: never flushed (qemu-img's default)\n"
"  -T CACHE      accepted: vmconv reads through the page cache\n"
"  -r RATE       read at most RATE bytes a second (e.g. 50M)\n"
"  --salvage     unreadable source sectors become zeros, each run\n"
"                reported with its offset on stderr\n"
"  --digest      SHA-256 of the guest-visible content\n"
"  --output=json machine-readable summary on stdout\n";

/* -t / -T: qemu's cache modes are accepted and checked; vmconv always
 * reads and writes through the page cache and makes the target durable
 * (fsync) before it is renamed into place, whatever the mode. */
static bool cache_mode(const char *m)
{
	static const char *const modes[] = { "none", "writeback",
		"writethrough", "directsync", "unsafe" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(m, modes[i]))
			return true;
	vmc_cli_errorf("invalid cache mode '%s'", m);
	return false;
}

/* -S SIZE (0 allowed) and -r RATE (bytes a second, not 0). */
static int size_arg(int opt, const char *arg, struct vmc_cli_convert *c)
{
	uint64_t v;

	if (vmc_parse_size(arg, &v) < 0 || (opt == 'r' && v == 0) ||
	    (opt == 'S' && (v % 512 || v > (1u << 30)))) {
		vmc_cli_errorf(opt == 'S' ? "-S takes 0 or a multiple of 512"
			       " up to 1G, not '%s'" : "-r takes a rate in"
			       " bytes a second, not '%s'", arg);
		return -1;
	}
	if (opt == 'S') {
		c->sparse_set = true;
		c->sparse_size = (size_t)v;
	} else {
		c->rate_limit = v;
	}
	return 0;
}

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

/* Options that exclude or need each other. */
static int check_combination(const struct vmc_cli_convert *c, bool has_o)
{
	if (c->target_is_zero && !c->no_create) {
		vmc_cli_errorf("--target-is-zero requires -n");
		return -1;
	}
	if (c->no_create && (c->compress || has_o)) {
		vmc_cli_errorf("-n writes into an existing image: -c, -o, -B"
			       " do not apply");
		return -1;
	}
	if (c->copy_offload && (c->compress || c->sparse_set)) {
		vmc_cli_errorf("-C (copy offloading) cannot be used with %s",
			       c->compress ? "-c" : "-S");
		return -1;
	}
	return 0;
}

int vmc_cmd_convert(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ "target-is-zero", no_argument, NULL, 'Z' },
		{ "salvage", no_argument, NULL, 'V' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	struct vmc_cli_convert c = { 0 };
	struct vmc_error err;
	json_t *summary = NULL;
	const char *snap = NULL;
	bool has_o = false, help = false;
	int opt, done, ret = 1;

	c.create_opts = vmc_opts_new();
	c.open_opts = vmc_opts_new();
	while ((opt = vmc_cli_getopt(argc, argv, "hf:O:o:cCpql:B:F:m:nS:Ur:t:T:",
				     lo, usage, &c.json, &done)) != -1) {
		switch (opt) {
		case 'f': c.src_fmt = optarg; break;
		case 'O': c.dst_fmt = optarg; break;
		case 'o':
			has_o = true;
			if (vmc_cli_create_opt(c.create_opts, optarg,
					       &help) < 0)
				goto out;
			break;
		case 'c': c.compress = true; break;
		case 'C': c.copy_offload = true; break;
		case 'p': c.progress = VMC_PROGRESS_QEMU; break;
		case 'q': c.quiet = true; break;
		case 'l': snap = optarg; break;
		case 'B':
		case 'F':
			has_o = true;
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
		case 't':
			if (vmc_cli_cache_mode(optarg, &c.cache) < 0)
				goto out;
			break;
		case 'D': c.digest = true; break;
		case 'n': c.no_create = true; break;
		case 'Z': c.target_is_zero = true; break;
		case 'V': c.salvage = true; break;
		case 'U': break;
		case 'T':
			if (!cache_mode(optarg))
				goto out;
			break;
		case 'S':
		case 'r':
			if (size_arg(opt, optarg, &c) < 0)
				goto out;
			break;
		}
	}
	if (done >= 0) {
		ret = done;
		goto out;
	}
	if (help) {
		ret = vmc_cli_create_opts_help(c.dst_fmt ? c.dst_fmt : "raw");
		goto out;
	}
	if (argc - optind != 2 || (!c.dst_fmt && !c.no_create))
		goto out_usage;
	if (check_combination(&c, has_o) < 0)
		goto out;
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
