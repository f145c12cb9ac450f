/* vmconv snapshot: qemu-img snapshot.  -l prints an image's internal
 * snapshots in qemu-img snapshot -l's table (block/qapi.c,
 * bdrv_snapshot_dump); -c, -a and -d create, apply and delete one in a
 * qcow2 image, in place (formats/qcow2-snapshot-write.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "formats/edit.h"

static const char usage[] =
"usage: vmconv snapshot [-f FMT] [-U] [-q] -l IMG\n"
"       vmconv snapshot [-f FMT] [-q] (-c | -a | -d) NAME IMG\n"
"\n"
"List IMG's internal snapshots (qcow2), as qemu-img snapshot -l does;\n"
"-c NAME creates one of the current state, -a NAME (id or name) reverts\n"
"the disk to one, -d NAME deletes one.  -c, -a and -d WRITE INTO the\n"
"existing image, IN PLACE, under a lock (flock); a run that is killed\n"
"leaves the image consistent (at worst with leaked clusters, which\n"
"vmconv check -r leaks reclaims).\n";

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

static int change(const char *path, const char *fmt, int op,
		  const char *name)
{
	static const char *const verb[] = { "create", "apply", "delete" };
	int k = op == 'c' ? 0 : op == 'a' ? 1 : 2, r;
	const struct vmc_driver *d;
	struct vmc_error err;

	d = vmc_cli_driver(path, fmt);
	if (!d)
		return 1;
	if (strcmp(d->name, "qcow2")) {
		vmc_cli_errorf("%s: %s images have no internal snapshots"
			       " (qcow2 has)", path, d->name);
		return 1;
	}
	r = k == 0 ? vmc_qcow2_snapshot_create(path, name, &err) :
	    k == 1 ? vmc_qcow2_snapshot_apply(path, name, &err) :
		     vmc_qcow2_snapshot_delete(path, name, &err);
	if (r < 0) {
		vmc_error_prefix(&err, "Could not %s snapshot '%s'", verb[k],
				 name);
		vmc_cli_error(&err);
		return 1;
	}
	return 0;
}

int vmc_cmd_snapshot(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL, *name = NULL;
	bool do_list = false;
	int opt, op = 0;

	while ((opt = getopt_long(argc, argv, "hf:Uqlc:a:d:", lo, NULL))
	       != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': fmt = optarg; break;
		case 'U': case 'q': break;
		case 'l': do_list = true; break;
		case 'c': case 'a': case 'd':
			if (op)
				return vmc_cli_usage(usage, false);
			op = opt;
			name = optarg;
			break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (do_list + !!op != 1 || argc - optind != 1)
		return vmc_cli_usage(usage, false);
	if (do_list)
		return list(argv[optind], fmt);
	return change(argv[optind], fmt, op, name);
}
