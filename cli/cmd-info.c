/* vmconv info: what an image is, in qemu-img info's words. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vm.h"
#include "vm/vm.h"

static const char usage[] =
"usage: vmconv info [-f FMT] [-U] [--backing-chain] [--output=human|json]\n"
"                   IMG\n"
"\n"
"Show the format, sizes and format-specific details of IMG.  For a VM\n"
"configuration (OVA, OVF, .vmx, Hyper-V or libvirt XML) show the VM's shape:\n"
"firmware, vCPUs, memory, controllers, disks and NICs.\n"
"  --backing-chain  every image of the backing chain, IMG first (JSON:\n"
"                   an array, as qemu-img)\n"
"  -U               accepted for qemu-img's sake: vmconv takes no lock on\n"
"                   images it only reads\n";

/* Deeper chains are refused (qemu's own limit on backing chains is in the
 * same range), so a loop of images naming each other ends. */
#define MAX_CHAIN 256

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

/* The info object of one image, or NULL with err set. */
static json_t *image_info(const char *path, const char *fmt,
			  struct vmc_error *err)
{
	struct vmc_image *img;
	json_t *info;

	/* Like qemu-img info: the image itself, even when its backing file
	 * is missing. */
	img = vmc_image_open(path, fmt, VMC_OPEN_NO_BACKING, NULL, err);
	if (!img)
		return NULL;
	info = json_object();
	if (vmc_image_info(img, info, err) < 0) {
		json_decref(info);
		info = NULL;
	}
	/* qemu-img shows it for every format it has information for. */
	if (info && !json_object_get(info, "dirty-flag"))
		json_object_set_new(info, "dirty-flag", json_false());
	vmc_image_close(img);
	return info;
}

/* The next image of the chain named by info, as a malloc'd path (NULL at
 * the end); *fmt points into info. */
static char *next_in_chain(json_t *info, const char **fmt)
{
	const char *full = json_string_value(json_object_get(info,
						"full-backing-filename"));
	const char *name = json_string_value(json_object_get(info,
						"backing-filename"));
	const char *self = json_string_value(json_object_get(info,
							     "filename"));

	*fmt = json_string_value(json_object_get(info,
						 "backing-filename-format"));
	if (full)
		return strdup(full);
	return name ? vmc_path_relative_to(self, name) : NULL;
}

static json_t *chain_info(const char *path, const char *fmt,
			  struct vmc_error *err)
{
	json_t *arr = json_array();
	char *cur = strdup(path);

	for (int depth = 0; cur; depth++) {
		json_t *info;

		if (depth == MAX_CHAIN) {
			vmc_error_set(err, ELOOP, "%s: backing chain longer"
				      " than %d images (a loop?)", path,
				      MAX_CHAIN);
			goto fail;
		}
		info = image_info(cur, fmt, err);
		if (!info)
			goto fail;
		json_array_append_new(arr, info);
		free(cur);
		cur = next_in_chain(info, &fmt);
	}
	return arr;
fail:
	free(cur);
	json_decref(arr);
	return NULL;
}

static void print_chain(json_t *arr)
{
	size_t i;
	json_t *info;

	json_array_foreach(arr, i, info) {
		if (i)
			putchar('\n');
		print_human(info);
	}
}

int vmc_cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'J' },
		{ "backing-chain", no_argument, NULL, 'B' },
		{ "force-share", no_argument, NULL, 'U' },
		{ 0 }
	};
	const char *fmt = NULL;
	struct vmc_error err;
	bool json = false, chain = false;
	json_t *info;
	int opt, done;

	while ((opt = vmc_cli_getopt(argc, argv, "hf:U", lo, usage, &json,
				     &done)) != -1) {
		switch (opt) {
		case 'f': fmt = optarg; break;
		case 'B': chain = true; break;
		case 'U': break;
		}
	}
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return vmc_cli_usage(usage, false);
	if (!fmt && !chain && vmc_vm_probe(argv[optind]))
		return vmc_cli_vm_info(argv[optind], json);	/* a whole VM */
	info = chain ? chain_info(argv[optind], fmt, &err) :
		       image_info(argv[optind], fmt, &err);
	if (!info) {
		vmc_cli_error(&err);
		return 1;
	}
	if (json)
		vmc_cli_print_json(info);
	else if (chain)
		print_chain(info);
	else
		print_human(info);
	json_decref(info);
	return 0;
}
