/* vmconv amend: qemu-img amend [-f FMT] -o OPTS IMG, for qcow2
 * (formats/qcow2-amend.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "formats/edit.h"

static const char usage[] =
"usage: vmconv amend [-f FMT] [-q] [-p] -o OPTIONS IMG\n"
"\n"
"Change options of an existing qcow2 image: compat=0.10|1.1 (zero\n"
"clusters expanded on the way to 0.10), lazy_refcounts=on|off,\n"
"size=SIZE.  Creation-only options and the backing file (see rebase)\n"
"are refused, as qemu-img does.  This WRITES INTO the existing image, IN\n"
"PLACE, under a lock (flock), the header in one write.\n";

int vmc_cmd_amend(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'F' },
		{ 0 }
	};
	const char *fmt = NULL;
	struct vmc_opts *opts = vmc_opts_new();
	struct vmc_error err;
	bool have = false;
	int opt, r = 1;

	if (!opts)
		return 1;
	while ((opt = getopt_long(argc, argv, "hf:o:qpt:", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': r = vmc_cli_usage(usage, true); goto out;
		case 'f': fmt = optarg; break;
		case 'o':
			have = true;
			if (vmc_opts_parse(opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				goto out;
			}
			break;
		case 'q': case 'p': case 't': case 'F': break;
		default: r = vmc_cli_usage(usage, false); goto out;
		}
	}
	if (!have || argc - optind != 1) {
		r = vmc_cli_usage(usage, false);
		goto out;
	}
	if (fmt && strcmp(fmt, "qcow2")) {
		vmc_cli_errorf("%s: amending %s images is not supported (qcow2"
			       " is)", argv[optind], fmt);
		goto out;
	}
	if (vmc_qcow2_amend(argv[optind], opts, &err) < 0) {
		vmc_cli_error(&err);
		goto out;
	}
	r = 0;
out:
	vmc_opts_free(opts);
	return r;
}
