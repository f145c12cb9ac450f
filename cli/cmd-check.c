/* vmconv check: metadata consistency, qemu-img check's messages and exit
 * codes (0 clean, 1 check failed, 2 corruptions, 3 leaks only). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv check [-f FMT] [--repair | -r leaks|all] [--output=human|json]\n"
"                    IMG\n"
"\n"
"Check IMG's metadata for leaks and corruption.  --repair fixes what can\n"
"be fixed IN PLACE: it is the only vmconv command that writes to an\n"
"existing image.\n"
"Exit: 0 clean, 1 check could not complete, 2 corruptions, 3 leaks only,\n"
"63 the format has no check (qemu-img's codes).  --output=json prints\n"
"qemu-img's keys; the problem lines then go to stderr.\n";

/* qemu-img's keys: the counts are present only when non-zero (as its
 * QAPI ImageCheck's optional members); messages go to stderr. */
static void set_count(json_t *o, const char *key, uint64_t n)
{
	if (n)
		json_object_set_new(o, key, json_integer((json_int_t)n));
}

static json_t *to_json(const char *path, const char *fmt,
		       const struct vmc_check_result *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "filename", json_string(path));
	json_object_set_new(o, "format", json_string(fmt));
	json_object_set_new(o, "check-errors",
			    json_integer((json_int_t)r->check_errors));
	set_count(o, "corruptions", r->corruptions);
	set_count(o, "leaks", r->leaks);
	set_count(o, "corruptions-fixed", r->corruptions_fixed);
	set_count(o, "leaks-fixed", r->leaks_fixed);
	set_count(o, "image-end-offset", r->image_end_offset);
	set_count(o, "total-clusters", r->total_clusters);
	set_count(o, "allocated-clusters", r->allocated_clusters);
	set_count(o, "fragmented-clusters", r->fragmented_clusters);
	set_count(o, "compressed-clusters", r->compressed_clusters);
	for (size_t i = 0; i < r->n_messages; i++)
		fprintf(stderr, "%s\n", r->messages[i]);
	return o;
}

static void print_human(const struct vmc_check_result *r)
{
	for (size_t i = 0; i < r->n_messages; i++)
		printf("%s\n", r->messages[i]);
	if (r->corruptions_fixed || r->leaks_fixed)
		printf("The following inconsistencies were found and repaired:"
		       "\n\n    %" PRIu64 " leaked clusters\n    %" PRIu64
		       " corruptions\n\n", r->leaks_fixed,
		       r->corruptions_fixed);
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%" PRIu64 " errors were found on the image.\nData"
		       " may be corrupted, or further writes to the image may"
		       " corrupt it.\n", r->corruptions);
	if (r->leaks)
		printf("\n%" PRIu64 " leaked clusters were found on the image."
		       "\nThis means waste of disk space, but no harm to data."
		       "\n", r->leaks);
	if (r->check_errors)
		printf("\n%" PRIu64 " internal errors have occurred during the"
		       " check.\n", r->check_errors);
	if (r->total_clusters)
		printf("%" PRIu64 "/%" PRIu64 " = %.2f%% allocated, %.2f%%"
		       " fragmented, %.2f%% compressed clusters\n",
		       r->allocated_clusters, r->total_clusters,
		       100.0 * (double)r->allocated_clusters /
		       (double)r->total_clusters,
		       r->allocated_clusters ? 100.0 *
		       (double)r->fragmented_clusters /
		       (double)r->allocated_clusters : 0.0,
		       r->allocated_clusters ? 100.0 *
		       (double)r->compressed_clusters /
		       (double)r->allocated_clusters : 0.0);
	if (r->image_end_offset)
		printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

int vmc_cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "repair", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_check_result res = { 0 };
	const char *fmt = NULL;
	struct vmc_image *img;
	struct vmc_error err;
	bool repair = false, json = false;
	int opt, ret, done;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:r:q", lo, usage, &json,
				     &done)) != -1) {
		switch (opt) {
		case 'f': fmt = optarg; break;
		case 'R': repair = true; break;
		case 'r':
			if (strcmp(optarg, "leaks") && strcmp(optarg, "all")) {
				vmc_cli_errorf("-r takes leaks or all");
				return 1;
			}
			repair = true;
			break;
		case 'q': break;
		}
	}
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return vmc_cli_usage(usage, false);
	/* The image's own metadata: its backing files are not needed. */
	img = vmc_image_open(argv[optind], fmt, VMC_OPEN_NO_BACKING |
			     (repair ? VMC_OPEN_RDWR : 0), NULL, &err);
	if (!img) {
		vmc_cli_error(&err);
		return 1;
	}
	if (repair && !json)
		fprintf(stderr, "vmconv: check --repair writes to %s in place\n",
			argv[optind]);
	if (!vmc_image_can_check(img)) {	/* qemu-img's 63 */
		vmc_cli_errorf("%s: this image format (%s) does not support"
			       " checks", argv[optind], img->drv->name);
		vmc_image_close(img);
		return 63;
	}
	if (vmc_image_check(img, &res, repair, &err) < 0) {
		/* the check could not complete (a repair it cannot do) */
		vmc_cli_error(&err);
		ret = 1;
		vmc_image_close(img);
		vmc_check_result_free(&res);
		return ret;
	}
	if (json) {
		json_t *o = to_json(argv[optind], img->drv->name, &res);
		vmc_cli_print_json(o);
		json_decref(o);
	} else {
		print_human(&res);
	}
	ret = vmc_check_exit_code(&res);
	vmc_image_close(img);
	vmc_check_result_free(&res);
	return ret;
}
