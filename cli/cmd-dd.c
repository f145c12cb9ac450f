/* vmconv dd: qemu-img dd [-f FMT] [-O FMT] bs=N count=N skip=N if=IN
 * of=OUT.  Copies blocks skip..count of bs bytes (qemu-img 7.2 counts the
 * skipped blocks in count) of IN into a new image OUT, through the
 * conversion engine: any format vmconv reads in, any it writes out, the
 * output written atomically. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <vmconv/convert.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv dd [-f FMT] [-O FMT] [-U] [bs=BLOCK_SIZE] [count=BLOCKS]\n"
"                 [skip=BLOCKS] if=INPUT of=OUTPUT\n"
"\n"
"Copy blocks of BLOCK_SIZE bytes (default 512) of INPUT, from block SKIP\n"
"up to block COUNT (to the end without count=; qemu-img dd counts the\n"
"skipped blocks in COUNT too), into a new image OUTPUT of format FMT\n"
"(default raw).  SKIP not below COUNT is an error.\n";

struct dd {
	const char *in, *out;
	uint64_t bs, count, skip;
	bool have_count;
};

static int operand(struct dd *d, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint64_t *v = NULL;

	if (!eq)
		return -1;
	if (!strncmp(arg, "if=", 3)) {
		d->in = eq + 1;
		return 0;
	}
	if (!strncmp(arg, "of=", 3)) {
		d->out = eq + 1;
		return 0;
	}
	if (!strncmp(arg, "bs=", 3))
		v = &d->bs;
	else if (!strncmp(arg, "count=", 6))
		v = &d->count, d->have_count = true;
	else if (!strncmp(arg, "skip=", 5))
		v = &d->skip;
	if (!v || vmc_parse_size(eq + 1, v) < 0 || (v == &d->bs && !*v)) {
		vmc_cli_errorf("dd: invalid operand '%s'", arg);
		return -2;
	}
	return 0;
}

static int run(const struct dd *d, const char *fmt, const char *out_fmt)
{
	struct vmc_image *src, *win = NULL;
	struct vmc_convert_params p = { 0 };
	struct vmc_convert_stats st;
	struct vmc_error err;
	uint64_t off, len, end, n;
	int ret = 1;

	src = vmc_image_open(d->in, fmt, 0, NULL, &err);
	if (!src)
		goto fail;
	if (__builtin_mul_overflow(d->skip, d->bs, &off) || off > src->size) {
		vmc_error_set(&err, EINVAL, "%s: skip=%llu blocks of %llu"
			      " bytes is past the end", d->in,
			      (unsigned long long)d->skip,
			      (unsigned long long)d->bs);
		goto fail;
	}
	/* As qemu-img dd does: count= ends the copy at block count of IN,
	 * skipped blocks included. */
	end = src->size;
	if (d->have_count && !__builtin_mul_overflow(d->count, d->bs, &n) &&
	    n < end)
		end = n;
	if (off >= end && end) {
		vmc_error_set(&err, EINVAL, "%s: skip=%llu is not below the"
			      " end of the copy (count=%llu blocks)", d->in,
			      (unsigned long long)d->skip,
			      (unsigned long long)d->count);
		goto fail;
	}
	len = end - off;
	win = vmc_image_window(src, off, len, &err);
	if (!win)
		goto fail;
	p.src = win;
	if (vmc_convert_to_file(&p, d->out, out_fmt, NULL, &st, &err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_image_close(win);
	vmc_image_close(src);
	return ret;
}

int vmc_cmd_dd(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL, *out_fmt = "raw";
	struct dd d = { .bs = 512 };
	int opt;

	while ((opt = getopt_long(argc, argv, "hf:O:U", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': fmt = optarg; break;
		case 'O': out_fmt = optarg; break;
		case 'U': break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	for (int i = optind; i < argc; i++) {
		int r = operand(&d, argv[i]);

		if (r == -2)
			return 1;
		if (r < 0)
			return vmc_cli_usage(usage, false);
	}
	if (!d.in || !d.out)
		return vmc_cli_usage(usage, false);
	return run(&d, fmt, out_fmt);
}
