/* vmconv snapshot -l: an image's internal snapshots in qemu-img
 * snapshot -l's table (block/qapi.c, bdrv_snapshot_dump).  Creating,
 * applying and deleting (-c, -a, -d) need writing into a qcow2 image whose
 * clusters snapshots share, which vmconv's qcow2 writer does not do: they
 * are refused. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv snapshot [-f FMT] [-U] [-q] -l IMG\n"
"\n"
"List IMG's internal snapshots (qcow2), as qemu-img snapshot -l does.\n"
"-c, -a and -d (create, apply, delete) are not supported by this vmconv.\n";

static void print_row(json_t *s)
{
	json_int_t date = json_integer_value(json_object_get(s, "date-sec"));
	uint64_t ns = (uint64_t)json_integer_value(json_object_get(s,
					"vm-clock-sec")) * 1000000000u +
		      (uint64_t)json_integer_value(json_object_get(s,
					"vm-clock-nsec"));
	json_t *ic = json_object_get(s, "icount");
	char size[32], when[32] = "", clock[32], icount[32] = "";
	time_t t = (time_t)date;
	struct tm tm;
	uint64_t secs = ns / 1000000000u;

	vmc_cli_human_size((uint64_t)json_integer_value(json_object_get(s,
				"vm-state-size")), size, sizeof(size));
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d",
		 (int)(secs / 3600), (int)((secs / 60) % 60),
		 (int)(secs % 60), (int)((ns / 1000000) % 1000));
	if (json_is_integer(ic))
		snprintf(icount, sizeof(icount), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(ic));
	printf("%-9s %-16s %8s%20s%13s%11s\n",
	       json_string_value(json_object_get(s, "id")),
	       json_string_value(json_object_get(s, "name")), size, when,
	       clock, icount);
}

static int list(const char *path, const char *fmt)
{
	struct vmc_error err;
	struct vmc_image *img;
	json_t *info = json_object(), *snaps, *s;
	size_t i;
	int ret = 1;

	img = vmc_image_open(path, fmt, VMC_OPEN_NO_BACKING, NULL, &err);
	if (!img)
		goto fail;
	if (vmc_image_info(img, info, &err) < 0)
		goto fail;
	snaps = json_object_get(info, "snapshots");
	if (json_array_size(snaps)) {
		printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID",
		       "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
		json_array_foreach(snaps, i, s)
			print_row(s);
	}
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	vmc_image_close(img);
	json_decref(info);
	return ret;
}

int vmc_cmd_snapshot(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL;
	bool do_list = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "hf:Uqlc:a:d:", lo, NULL))
	       != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': fmt = optarg; break;
		case 'U': case 'q': break;
		case 'l': do_list = true; break;
		case 'c': case 'a': case 'd':
			vmc_cli_errorf("snapshot -%c is not supported by this"
				       " vmconv (only -l: listing)", opt);
			return 1;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (!do_list || argc - optind != 1)
		return vmc_cli_usage(usage, false);
	return list(argv[optind], fmt);
}
