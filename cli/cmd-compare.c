/* vmconv compare: exit 0 same guest content, 1 different, 2 error. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv compare [-f FMT] [-F FMT] [-q] A B\n"
"\n"
"Compare the guest-visible content of A and B, of any formats.  Exit 0\n"
"when identical, 1 when different (the first differing offset is\n"
"printed), 2 on error.\n";

int vmc_cmd_compare(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *fa = NULL, *fb = NULL;
	struct vmc_image *a = NULL, *b = NULL;
	struct vmc_error err;
	bool quiet = false;
	int64_t differ;
	int opt, done, ret = 2;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:F:q", lo, usage, NULL,
				     &done)) != -1) {
		switch (opt) {
		case 'f': fa = optarg; break;
		case 'F': fb = optarg; break;
		case 'q': quiet = true; break;
		}
	}
	if (done >= 0)
		return done ? 2 : 0;	/* 1 means "different" here */
	if (argc - optind != 2) {
		vmc_cli_usage(usage, false);
		return 2;
	}
	a = vmc_image_open(argv[optind], fa, 0, NULL, &err);
	if (a)
		b = vmc_image_open(argv[optind + 1], fb ? fb : NULL, 0, NULL,
				   &err);
	if (!a || !b || vmc_image_compare(a, b, &differ, &err) < 0) {
		vmc_cli_error(&err);
		goto out;
	}
	if (differ < 0) {
		if (!quiet)
			printf("Images are identical.\n");
		ret = 0;
	} else {
		if (!quiet)
			printf("Content mismatch at offset %" PRId64 "!\n",
			       differ);
		ret = 1;
	}
out:
	vmc_image_close(a);
	vmc_image_close(b);
	return ret;
}
