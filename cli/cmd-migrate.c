/* The one-shot migration form: vmconv SRC --to FMT [--out PATH] ...
 * Parses the options, runs the migration (migrate/migrate.h: convert,
 * then with --validate boot the output on the target's disk controller)
 * and prints what it did. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "migrate/migrate.h"

static const char usage[] =
"usage: vmconv SRC --to FMT [--out PATH] [-o KEY=VALUE,...] [-c] [-p]\n"
"              [--digest] [--no-inject] [--output=json]\n"
"              [--validate[=ENGINE]] [--bus=virtio|ide] [--timeout=S]\n"
"              [--expect=REGEX]\n"
"\n"
"Migrate the disk image SRC to format FMT, written beside SRC with FMT's\n"
"extension unless --out names the target.  --validate then boots the\n"
"converted disk (vmconv validate, ENGINE auto by default) on the target's\n"
"disk controller: virtio for raw and qcow2 (KVM), IDE for vhd, vhdx and\n"
"vmdk, unless --bus says otherwise.  The exit status is 1 when the\n"
"converted guest does not reach userspace.\n";

static void print_human(const struct vmc_migrate_params *p,
			const struct vmc_migrate_result *res)
{
	json_t *sum = res->summary;
	char sz[32];

	vmc_cli_human_size((uint64_t)json_integer_value(
		json_object_get(sum, "virtual-size")), sz, sizeof(sz));
	printf("%s (%s, %s) -> %s (%s) in %.1f s\n", p->src_path,
	       json_string_value(json_object_get(sum, "source-format")), sz,
	       json_string_value(json_object_get(sum, "target")), p->dst_fmt,
	       json_real_value(json_object_get(sum, "seconds")));
	if (json_object_get(sum, "sha256"))
		printf("sha256: %s\n",
		       json_string_value(json_object_get(sum, "sha256")));
	if (!p->no_inject)
		printf("guest unchanged: driver injection is not"
		       " available in this build\n");
	if (res->report)
		vmc_cli_print_report(res->report, "validation");
}

/* Options; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct vmc_migrate_params *p,
		 bool *json, bool *quiet)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'O' },
		{ "validate", optional_argument, NULL, 'V' },
		{ "bus", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 'M' },
		{ "expect", required_argument, NULL, 'E' },
		{ "no-inject", no_argument, NULL, 'N' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_error err;
	bool progress = true;
	int opt;

	while ((opt = getopt_long(argc, argv, "hf:o:cpq", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'T': p->dst_fmt = optarg; break;
		case 'O': p->dst_path = optarg; break;
		case 'f': p->src_fmt = optarg; break;
		case 'o':
			if (vmc_opts_parse(p->create_opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				return 1;
			}
			break;
		case 'c': p->compress = true; break;
		case 'p': progress = true; break;
		case 'q': *quiet = true; progress = false; break;
		case 'V':
			p->validate = true;
			if (optarg &&
			    vmc_engine_parse(optarg, &p->vo.engine) < 0) {
				vmc_cli_errorf("--validate=ENGINE: auto, direct,"
					       " nested or qemu, not '%s'",
					       optarg);
				return 1;
			}
			break;
		case 'B':
			p->bus_set = true;
			if (vmc_cli_parse_bus(optarg, &p->vo.bus) < 0)
				return 1;
			break;
		case 'M':
			if (vmc_cli_parse_timeout(optarg,
						  &p->vo.timeout_s) < 0)
				return 1;
			break;
		case 'E': p->vo.expect = optarg; break;
		case 'N': p->no_inject = true; break;
		case 'D': p->digest = true; break;
		case 'J':
			if (vmc_cli_output_format(optarg, json) < 0)
				return 1;
			break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (argc - optind == 1 && !p->dst_fmt) {
		vmc_cli_errorf("'%s' is not a command; to migrate an image,"
			       " say --to FORMAT (vmconv --help)",
			       argv[optind]);
		return 1;
	}
	if (argc - optind != 1 || !p->dst_fmt)
		return vmc_cli_usage(usage, false);
	if (!p->validate && (p->bus_set || p->vo.timeout_s || p->vo.expect)) {
		vmc_cli_errorf("--bus, --timeout and --expect go with"
			       " --validate");
		return 1;
	}
	p->src_path = argv[optind];
	if (progress) {
		p->progress = vmc_progress_update;
		p->progress_ctx = vmc_progress_new(true, "converting");
	}
	return -1;
}

int vmc_cmd_migrate(int argc, char **argv)
{
	struct vmc_migrate_params p = { 0 };
	struct vmc_migrate_result res;
	struct vmc_error err;
	bool json = false, quiet = false;
	int ret;

	p.create_opts = vmc_opts_new();
	ret = parse(argc, argv, &p, &json, &quiet);
	if (ret >= 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	ret = vmc_migrate(&p, &res, &err);
	vmc_progress_finish(p.progress_ctx);
	p.progress_ctx = NULL;
	if (ret < 0) {
		vmc_cli_error(&err);
		ret = 1;
		goto out;
	}
	if (res.validate_failed)
		vmc_cli_error(&res.validate_err);
	ret = !p.validate ? 0 : res.validate_failed ? 2 :
	      json_is_true(json_object_get(res.report, "booted")) ? 0 : 1;
	if (json)
		vmc_cli_print_json(res.summary);
	else if (!quiet)
		print_human(&p, &res);
	vmc_migrate_result_free(&res);
out:
	vmc_progress_finish(p.progress_ctx);
	vmc_opts_free(p.create_opts);
	return ret;
}
