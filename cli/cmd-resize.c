/* vmconv resize: qemu-img resize [--shrink] [-f FMT] IMG [+-]SIZE. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv resize [-f FMT] [-q] [--shrink] IMG [+|-]SIZE\n"
"\n"
"Change IMG's virtual size to SIZE, or by +SIZE / -SIZE.  This WRITES\n"
"INTO the existing image, IN PLACE, under a lock (flock).  raw: the file\n"
"is extended or truncated; qcow2: the L1 table grows when needed, then\n"
"the size is written; shrinking writes the size first, then drops the\n"
"clusters past the end and trims the file (snapshots keep theirs; a v2\n"
"image with snapshots cannot be resized, as with qemu-img).  Shrinking\n"
"needs --shrink: the data past the new end is lost.\n";

/* "+1G", "-512M", "10G" against the current size. */
static int new_size(const char *arg, const char *path, const char *fmt,
		    uint64_t *out)
{
	struct vmc_error err;
	struct vmc_image *img;
	uint64_t n, cur;

	if (vmc_parse_size(arg + (*arg == '+' || *arg == '-'), &n) < 0) {
		vmc_cli_errorf("invalid size '%s'", arg);
		return -1;
	}
	if (*arg != '+' && *arg != '-') {
		*out = n;
		return 0;
	}
	img = vmc_image_open(path, fmt, VMC_OPEN_NO_BACKING, NULL, &err);
	if (!img) {
		vmc_cli_error(&err);
		return -1;
	}
	cur = img->size;
	vmc_image_close(img);
	if (*arg == '-' ? n > cur : n > UINT64_MAX - cur) {
		vmc_cli_errorf("%s: size %s out of range", path, arg);
		return -1;
	}
	*out = *arg == '-' ? cur - n : cur + n;
	return 0;
}

int vmc_cmd_resize(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "shrink", no_argument, NULL, 'S' },
		{ 0 }
	};
	const char *fmt = NULL, *neg = NULL;
	struct vmc_error err;
	bool shrink = false, quiet = false;
	uint64_t size;
	int opt;

	/* "-1G" is a size, not an option: taken off before getopt, as
	 * qemu-img does. */
	if (argc > 2 && argv[argc - 1][0] == '-' &&
	    argv[argc - 1][1] >= '0' && argv[argc - 1][1] <= '9')
		neg = argv[--argc];
	while ((opt = getopt_long(argc, argv, "hf:qU", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': break;
		case 'S': shrink = true; break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (argc - optind != (neg ? 1 : 2))
		return vmc_cli_usage(usage, false);
	if (new_size(neg ? neg : argv[optind + 1], argv[optind], fmt,
		     &size) < 0)
		return 1;
	if (vmc_image_resize(argv[optind], fmt, size, shrink, &err) < 0) {
		vmc_cli_error(&err);
		return 1;
	}
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}
