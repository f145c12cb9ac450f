/* The one-shot migration form: vmconv SRC --to FMT [--out PATH] ...
 * Converts SRC to FMT beside it (or at --out) and, with --validate, boots
 * the converted output with the target's disk controller and reports
 * whether it reaches userspace (validate/validate.h).  Driver injection
 * hooks in here as it is built. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vm.h"
#include "vm/vm.h"
#include "validate/validate.h"

static const char usage[] =
"usage: vmconv SRC --to FMT [--out PATH] [-o KEY=VALUE,...] [-c] [-p]\n"
"              [-t writeback|unsafe]\n"
"              [--digest] [--no-inject] [--output=json]\n"
"              [--validate[=ENGINE]] [--bus=virtio|ide] [--timeout=S]\n"
"              [--expect=REGEX]\n"
"\n"
"Migrate the disk image SRC to format FMT, written beside SRC with FMT's\n"
"extension unless --out names the target.  --validate then boots the\n"
"converted disk (vmconv validate, ENGINE auto by default) on the target's\n"
"disk controller: virtio for raw and qcow2 (KVM), IDE for vhd, vhdx and\n"
"vmdk, unless --bus says otherwise.  The exit status is 1 when the\n"
"converted guest does not reach userspace.\n"
"\n"
"A progress bar is drawn when stderr is a terminal; -p prints qemu-img\n"
"convert -p's records \"    (12.34/100%)\\r\" instead, terminal or not, on\n"
"stdout (stderr with --output=json); -q prints neither, nor the summary.\n"
"\n"
"When SRC is a whole VM (an OVA, OVF, VMware .vmx, Hyper-V XML or libvirt\n"
"domain XML), every disk is converted into the folder --out names (default:\n"
"SRC's folder) as NAME-diskN.EXT and NAME.xml is written for libvirt; with\n"
"--to ova the VM becomes one OVA (--out names the file).\n"
"\n"
"-t unsafe skips the flush of the output to the disk (qemu-img's default);\n"
"-t writeback, the default, makes it durable before it appears.\n";

/* The disk controller a guest meets on the hypervisor a format is for. */
static enum vmc_vm_bus target_bus(const char *fmt)
{
	static const char *const ide[] = { "vhd", "vpc", "vhdx", "vmdk" };

	for (size_t i = 0; i < sizeof(ide) / sizeof(ide[0]); i++)
		if (!strcmp(fmt, ide[i]))
			return VMC_BUS_IDE;
	return VMC_BUS_VIRTIO;
}

/* SRC's path with its extension replaced by the driver's. */
static char *default_target(const char *src, const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);
	const char *ext = d && d->extension ? d->extension : fmt;
	const char *slash = strrchr(src, '/');
	const char *dot = strrchr(src, '.');
	size_t stem = (dot && (!slash || dot > slash) && dot != src &&
		       dot[-1] != '/') ? (size_t)(dot - src) : strlen(src);
	char *res = malloc(stem + strlen(ext) + 2);

	if (res)
		sprintf(res, "%.*s.%s", (int)stem, src, ext);
	return res;
}

int vmc_cmd_migrate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'O' },
		{ "validate", optional_argument, NULL, 'V' },
		{ "bus", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 'M' },
		{ "expect", required_argument, NULL, 'E' },
		{ "no-inject", no_argument, NULL, 'N' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_cli_convert c = { 0 };
	struct vmc_error err;
	json_t *summary = NULL;
	char *target = NULL;
	struct vmc_validate_opts vo = { 0 };
	bool validate = false, no_inject = false, bus_set = false;
	json_t *vrep = NULL;
	int opt, ret = 1;

	c.create_opts = vmc_opts_new();
	c.progress = VMC_PROGRESS_BAR;
	while ((opt = getopt_long(argc, argv, "hf:o:cpqt:", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': ret = vmc_cli_usage(usage, true); goto out;
		case 'T': c.dst_fmt = optarg; break;
		case 'O': c.dst_path = optarg; break;
		case 'f': c.src_fmt = optarg; break;
		case 'o':
			if (vmc_opts_parse(c.create_opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				goto out;
			}
			break;
		case 'c': c.compress = true; break;
		case 'p': c.progress = VMC_PROGRESS_QEMU; break;
		case 'q': c.quiet = true; break;
		case 'V':
			validate = true;
			if (optarg && vmc_engine_parse(optarg, &vo.engine) < 0) {
				vmc_cli_errorf("--validate=ENGINE: auto, direct,"
					       " nested or qemu, not '%s'",
					       optarg);
				goto out;
			}
			break;
		case 'B':
			bus_set = true;
			if (!strcmp(optarg, "ide"))
				vo.bus = VMC_BUS_IDE;
			else if (!strcmp(optarg, "virtio"))
				vo.bus = VMC_BUS_VIRTIO;
			else {
				vmc_cli_errorf("--bus must be virtio or ide,"
					       " not '%s'", optarg);
				goto out;
			}
			break;
		case 'M': {
			char *end;
			unsigned long t = strtoul(optarg, &end, 10);

			if (!*optarg || *end || t == 0 || t > 86400) {
				vmc_cli_errorf("--timeout must be a number of"
					       " seconds, not '%s'", optarg);
				goto out;
			}
			vo.timeout_s = (unsigned)t;
			break;
		}
		case 'E': vo.expect = optarg; break;
		case 'N': no_inject = true; break;
		case 't':
			if (vmc_cli_cache_mode(optarg, &c.cache) < 0)
				goto out;
			break;
		case 'D': c.digest = true; break;
		case 'J':
			if (vmc_cli_output_format(optarg, &c.json) < 0)
				goto out;
			break;
		default: goto out_usage;
		}
	}
	if (argc - optind == 1 && !c.dst_fmt) {
		vmc_cli_errorf("'%s' is not a command; to migrate an image,"
			       " say --to FORMAT (vmconv --help)",
			       argv[optind]);
		goto out;
	}
	if (argc - optind != 1 || !c.dst_fmt)
		goto out_usage;
	if (c.quiet)
		c.progress = VMC_PROGRESS_OFF;
	if (!validate && (bus_set || vo.timeout_s || vo.expect)) {
		vmc_cli_errorf("--bus, --timeout and --expect go with"
			       " --validate");
		goto out;
	}
	c.src_path = argv[optind];
	if (!c.src_fmt && vmc_vm_probe(c.src_path)) {	/* a whole VM */
		ret = vmc_cli_vm_migrate(&c, &vo, validate, bus_set,
					 no_inject);
		goto out;
	}
	if (!vmc_driver_find(c.dst_fmt)) {
		vmc_cli_errorf("unknown target format '%s' (vmconv formats"
			       " lists them)", c.dst_fmt);
		goto out;
	}
	if (!c.dst_path)
		c.dst_path = target = default_target(c.src_path, c.dst_fmt);
	ret = vmc_cli_run_convert(&c, &summary);
	if (ret != 0)
		goto out;
	json_object_set_new(summary, "injection", json_string(no_inject ?
		"skipped (--no-inject)" : "not available in this build"));
	if (validate) {
		/* the converted output, as the target will boot it */
		vo.image = c.dst_path;
		vo.format = c.dst_fmt;
		vo.boot = VMC_BOOT_FIRMWARE;
		if (!bus_set)
			vo.bus = target_bus(c.dst_fmt);
		ret = vmc_cli_validate(&vo, c.json, &vrep);
		if (vrep)
			json_object_set(summary, "validation", vrep);
		else
			json_object_set_new(summary, "validation",
					    json_string("could not run"));
	}
	if (c.json) {
		vmc_cli_print_json(summary);
	} else if (!c.quiet) {
		char sz[32];

		vmc_cli_human_size((uint64_t)json_integer_value(
			json_object_get(summary, "virtual-size")), sz,
			sizeof(sz));
		printf("%s (%s, %s) -> %s (%s) in %.1f s\n", c.src_path,
		       json_string_value(json_object_get(summary,
						"source-format")), sz,
		       c.dst_path, c.dst_fmt, json_real_value(
				json_object_get(summary, "seconds")));
		if (json_object_get(summary, "sha256"))
			printf("sha256: %s\n", json_string_value(
				json_object_get(summary, "sha256")));
		if (!no_inject)
			printf("guest unchanged: driver injection is not"
			       " available in this build\n");
		if (vrep) {
			json_t *st = json_object_get(vrep, "stages"), *e;
			size_t i;

			printf("validation: %s (stage %s, engine %s, bus %s)\n",
			       json_is_true(json_object_get(vrep, "booted")) ?
			       "BOOTED" : "DID NOT BOOT",
			       json_string_value(json_object_get(vrep,
								 "stage")),
			       json_string_value(json_object_get(vrep,
								 "engine")),
			       json_string_value(json_object_get(vrep, "bus")));
			printf("  reason:  %s\n", json_string_value(
				json_object_get(vrep, "reason")));
			json_array_foreach(st, i, e)
				printf("  %-10s %8.3f s\n", json_string_value(
					json_object_get(e, "stage")),
				       (double)json_integer_value(
					json_object_get(e, "ms")) / 1000.0);
			printf("  console: %s\n", json_string_value(
				json_object_get(vrep, "console_log")));
		}
	}
	goto out;
out_usage:
	ret = vmc_cli_usage(usage, false);
out:
	json_decref(vrep);
	json_decref(summary);
	free(target);
	vmc_opts_free(c.create_opts);
	return ret;
}
