/* vmconv info: what an image is, in qemu-img info's words. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vm.h"
#include "vm/vm.h"

static const char usage[] =
"usage: vmconv info [-f FMT] [--output=human|json] IMG\n"
"\n"
"Show the format, sizes and format-specific details of IMG.  For a VM\n"
"configuration (OVA, OVF, .vmx, Hyper-V or libvirt XML) show the VM's shape:\n"
"firmware, vCPUs, memory, controllers, disks and NICs.\n";

static void print_value(const char *key, json_t *v, int indent);

static void print_object(json_t *o, int indent)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		print_value(k, v, indent);
}

static void print_value(const char *key, json_t *v, int indent)
{
	size_t i;
	json_t *e;

	printf("%*s%s:", indent, "", key);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		putchar('\n');
		print_object(v, indent + 4);
		break;
	case JSON_ARRAY:
		putchar('\n');
		json_array_foreach(v, i, e) {
			if (json_is_object(e)) {
				printf("%*s[%zu]:\n", indent + 4, "", i);
				print_object(e, indent + 8);
			} else {
				char *s = json_dumps(e, JSON_ENCODE_ANY);
				printf("%*s[%zu]: %s\n", indent + 4, "", i,
				       s ? s : "?");
				free(s);
			}
		}
		break;
	case JSON_STRING:
		printf(" %s\n", json_string_value(v));
		break;
	default: {
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		printf(" %s\n", s ? s : "?");
		free(s);
	}
	}
}

static void print_snapshots(json_t *snaps)
{
	size_t i;
	json_t *s;

	printf("Snapshot list:\n%-4s %-20s %12s %19s %15s\n", "ID", "TAG",
	       "VM SIZE", "DATE", "VM CLOCK");
	json_array_foreach(snaps, i, s) {
		char vs[32];

		vmc_cli_human_size((uint64_t)json_integer_value(
			json_object_get(s, "vm-state-size")), vs, sizeof(vs));
		printf("%-4s %-20s %12s %19" JSON_INTEGER_FORMAT " %15"
		       JSON_INTEGER_FORMAT "\n",
		       json_string_value(json_object_get(s, "id")),
		       json_string_value(json_object_get(s, "name")), vs,
		       json_integer_value(json_object_get(s, "date-sec")),
		       json_integer_value(json_object_get(s, "vm-clock-sec")));
	}
}

static void print_human(json_t *info)
{
	uint64_t vs = (uint64_t)json_integer_value(
		json_object_get(info, "virtual-size"));
	json_int_t as = json_integer_value(json_object_get(info,
							   "actual-size"));
	static const char *const plain[][2] = {
		{ "cluster-size", "cluster_size" },
		{ "backing-filename", "backing file" },
		{ "backing-filename-format", "backing file format" },
	};
	json_t *fs = json_object_get(info, "format-specific");
	char h[32];

	printf("image: %s\n", json_string_value(json_object_get(info,
							       "filename")));
	printf("file format: %s\n", json_string_value(json_object_get(info,
								     "format")));
	vmc_cli_human_size(vs, h, sizeof(h));
	printf("virtual size: %s (%" PRIu64 " bytes)\n", h, vs);
	if (as >= 0) {
		vmc_cli_human_size((uint64_t)as, h, sizeof(h));
		printf("disk size: %s\n", h);
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		json_t *v = json_object_get(info, plain[i][0]);

		if (json_is_string(v))
			printf("%s: %s\n", plain[i][1], json_string_value(v));
		else if (json_is_integer(v))
			printf("%s: %" JSON_INTEGER_FORMAT "\n", plain[i][1],
			       json_integer_value(v));
	}
	if (json_array_size(json_object_get(info, "snapshots")))
		print_snapshots(json_object_get(info, "snapshots"));
	if (json_is_object(json_object_get(fs, "data"))) {
		printf("Format specific information:\n");
		print_object(json_object_get(fs, "data"), 4);
	}
}

int vmc_cmd_info(int argc, char **argv)
{
	const char *fmt = NULL;
	struct vmc_error err;
	struct vmc_image *img;
	bool json = false;
	json_t *info;
	const char *path;
	int ret;

	ret = vmc_cli_image_args(argc, argv, usage, &fmt, &json, &path);
	if (ret >= 0)
		return ret;
	if (!fmt && vmc_vm_probe(path))	/* a whole VM's configuration */
		return vmc_cli_vm_info(path, json);
	ret = 1;
	/* Like qemu-img info: the image itself, even when its backing file
	 * is missing. */
	img = vmc_image_open(path, fmt, VMC_OPEN_NO_BACKING, NULL,
			     &err);
	if (!img) {
		vmc_cli_error(&err);
		return 1;
	}
	info = json_object();
	if (vmc_image_info(img, info, &err) < 0) {
		vmc_cli_error(&err);
		goto out;
	}
	if (json)
		vmc_cli_print_json(info);
	else
		print_human(info);
	ret = 0;
out:
	json_decref(info);
	vmc_image_close(img);
	return ret;
}
