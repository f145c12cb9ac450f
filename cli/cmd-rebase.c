/* vmconv rebase: qemu-img rebase [-u] [-f FMT] -b BACKING [-F FMT] IMG.
 * qcow2 only: formats/qcow2-rebase.c (safe) and qcow2-header-write.c
 * (-u). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "formats/edit.h"

static const char usage[] =
"usage: vmconv rebase [-f FMT] [-q] [-p] [-u] [-U] -b BACKING -F FMT IMG\n"
"       vmconv rebase [-f FMT] [-q] [-u] -b \"\" IMG\n"
"\n"
"Make BACKING (of format FMT) the backing file of IMG (qcow2); -b \"\"\n"
"removes it.\n"
"Without -u (safe), the clusters IMG does not hold itself and where the\n"
"old and the new backing file differ are first copied into IMG from the\n"
"old one, so the guest sees the same disk.  -u (unsafe) only rewrites\n"
"the name, for when the backing file was moved or renamed.  BACKING is\n"
"relative to IMG's folder.  This WRITES INTO the existing image, IN\n"
"PLACE, under a lock (flock); the header changes last, so a killed run\n"
"leaves the old backing file in use.\n";

static int check_qcow2(const char *path, const char *fmt)
{
	const struct vmc_driver *d = vmc_cli_driver(path, fmt);

	if (!d)
		return -1;
	if (strcmp(d->name, "qcow2")) {
		vmc_cli_errorf("%s: rebasing %s images is not supported (qcow2"
			       " is)", path, d->name);
		return -1;
	}
	return 0;
}

int vmc_cmd_rebase(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL, *bfmt = NULL, *backing = NULL;
	struct vmc_error err;
	bool unsafe = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "hf:F:b:uqpUt:T:", lo, NULL))
	       != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': fmt = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'u': unsafe = true; break;
		case 'q': case 'p': case 'U': case 't': case 'T': break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (!backing || argc - optind != 1)
		return vmc_cli_usage(usage, false);
	if (check_qcow2(argv[optind], fmt) < 0)
		return 1;
	/* qemu-img 7 no longer writes a backing file without its format. */
	if (*backing && !bfmt) {
		vmc_cli_errorf("Could not change the backing file to '%s':"
			       " backing format must be specified (-F)",
			       backing);
		return 1;
	}
	if (bfmt && !vmc_driver_find(bfmt)) {
		vmc_cli_errorf("unknown format '%s'", bfmt);
		return 1;
	}
	r = unsafe ? vmc_qcow2_set_backing(argv[optind], backing, bfmt, &err) :
		     vmc_qcow2_rebase(argv[optind], backing, bfmt, &err);
	if (r < 0) {
		vmc_cli_error(&err);
		return 1;
	}
	return 0;
}
