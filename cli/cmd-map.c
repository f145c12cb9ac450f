/* vmconv map: which ranges of the guest disk hold data, zeros, nothing. */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
"usage: vmconv map [-f FMT] [--output=human|json] IMG\n"
"\n"
"List the runs of IMG's guest-visible disk: data, zero (allocated as\n"
"zeros) or unallocated (no layer holds it; reads as zeros).\n";

static const char *kind_name[] = { "data", "zero", "unallocated" };

static void emit(bool json, json_t *arr, const struct vmc_extent *x)
{
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "start", json_integer((json_int_t)x->offset));
		json_object_set_new(o, "length", json_integer((json_int_t)x->length));
		json_object_set_new(o, "present", json_boolean(x->kind != VMC_EXTENT_UNALLOCATED));
		json_object_set_new(o, "zero", json_boolean(x->kind != VMC_EXTENT_DATA));
		json_object_set_new(o, "data", json_boolean(x->kind == VMC_EXTENT_DATA));
		json_array_append_new(arr, o);
	} else {
		printf("0x%-18" PRIx64 " 0x%-18" PRIx64 " %s\n", x->offset,
		       x->length, kind_name[x->kind]);
	}
}

int vmc_cmd_map(int argc, char **argv)
{
	struct vmc_extent run = { 0 }, x;
	const char *fmt = NULL;
	struct vmc_image *img;
	struct vmc_error err;
	bool json = false;
	json_t *arr = NULL;
	uint64_t off = 0;
	const char *path;
	int ret;

	ret = vmc_cli_image_args(argc, argv, usage, &fmt, &json, &path);
	if (ret >= 0)
		return ret;
	ret = 1;
	img = vmc_image_open(path, fmt, 0, NULL, &err);
	if (!img) {
		vmc_cli_error(&err);
		return 1;
	}
	if (json)
		arr = json_array();
	else
		printf("%-20s %-20s %s\n", "Offset", "Length", "Kind");
	while (off < img->size) {
		if (vmc_image_block_status(img, off, img->size - off, &x,
					   &err) < 0) {
			vmc_cli_error(&err);
			goto out;
		}
		if (run.length && run.kind == x.kind) {
			run.length += x.length;
		} else {
			if (run.length)
				emit(json, arr, &run);
			run = x;
		}
		off += x.length;
	}
	if (run.length)
		emit(json, arr, &run);
	if (json)
		vmc_cli_print_json(arr);
	ret = 0;
out:
	json_decref(arr);
	vmc_image_close(img);
	return ret;
}
