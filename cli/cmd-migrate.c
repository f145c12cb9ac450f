/* The one-shot migration form: vmconv SRC --to FMT [--out PATH] ...
 * Parses the options, runs the migration (migrate/migrate.h: convert,
 * then with --validate boot the output on the target's disk controller)
 * and prints what it did; a whole VM goes to cli/cmd-vm.c.  For a KVM
 * target the migration injects drivers into the temporary output before
 * it is renamed into place (inject/inject.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vm.h"
#include "migrate/migrate.h"
#include "vm/vm.h"

static const char usage[] =
"usage: vmconv SRC --to FMT [--out PATH] [-o KEY=VALUE,...] [-c] [-p]\n"
"              [-t writeback|unsafe]\n"
"              [--digest] [--no-inject] [--remove-tools] [--output=json]\n"
"              [--initramfs=guest|direct]\n"
"              [--validate[=ENGINE]] [--bus=virtio|ide] [--timeout=S]\n"
"              [--expect=REGEX]\n"
"\n"
"Migrate the disk image SRC to format FMT, written beside SRC with FMT's\n"
"extension unless --out names the target.  --validate then boots the\n"
"converted disk (vmconv validate, ENGINE auto by default) on the target's\n"
"disk controller: virtio for raw and qcow2 (KVM), IDE for vhd, vhdx and\n"
"vmdk, unless --bus says otherwise.  For raw and qcow2 targets the\n"
"guest is first made bootable on that controller (vmconv inject: virtio\n"
"drivers in the initramfs, stable device names) unless --no-inject says\n"
"not to (--inject, the default, is accepted); --remove-tools also removes\n"
"the old hypervisor's guest tools (open-vm-tools, hyperv-daemons, ...) with\n"
"the guest's package manager; --initramfs=direct rewrites each initramfs\n"
"on the host instead of running the guest's update-initramfs or dracut\n"
"(vmconv inject --help).  The target appears only\n"
"when both are done.  A data disk or a guest that needs nothing is\n"
"converted unchanged; a guest that needs injection vmconv cannot do\n"
"(Windows) fails.  The exit status is 1 when a step fails or the\n"
"converted guest does not boot.\n"
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

static void print_human(const struct vmc_migrate_params *p,
			const struct vmc_migrate_result *res)
{
	json_t *sum = res->summary;
	char sz[32];

	vmc_cli_human_size((uint64_t)json_integer_value(
		json_object_get(sum, "virtual-size")), sz, sizeof(sz));
	printf("%s (%s, %s) -> %s (%s) in %.1f s\n", p->src_path,
	       json_string_value(json_object_get(sum, "source-format")), sz,
	       json_string_value(json_object_get(sum, "target")), p->dst_fmt,
	       json_real_value(json_object_get(sum, "seconds")));
	if (json_object_get(sum, "sha256"))
		printf("sha256: %s\n",
		       json_string_value(json_object_get(sum, "sha256")));
	if (res->injected)
		vmc_cli_print_injection(&res->inject);
	else
		printf("guest unchanged: %s\n", !p->inject ?
		       "driver injection not run (--no-inject)" :
		       "not a KVM target");
	if (res->report)
		vmc_cli_print_report(res->report, "validation");
}


/* Options; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct vmc_migrate_params *p,
		 bool *json, bool *quiet, enum vmc_progress_kind *progress)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'O' },
		{ "validate", optional_argument, NULL, 'V' },
		{ "bus", required_argument, NULL, 'B' },
		{ "engine", required_argument, NULL, 'V' },
		{ "firmware", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'M' },
		{ "expect", required_argument, NULL, 'E' },
		{ "no-inject", no_argument, NULL, 'N' },
		{ "inject", no_argument, NULL, 'I' },
		{ "remove-tools", no_argument, NULL, 'R' },
		{ "initramfs", required_argument, NULL, 'i' },
		{ "digest", no_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'J' },
		{ 0 }
	};
	struct vmc_error err;
	bool fw_set = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "hf:o:cpqt:", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'T': p->dst_fmt = optarg; break;
		case 'O': p->dst_path = optarg; break;
		case 'f': p->src_fmt = optarg; break;
		case 'o':
			if (vmc_opts_parse(p->create_opts, optarg, &err) < 0) {
				vmc_cli_error(&err);
				return 1;
			}
			break;
		case 'c': p->compress = true; break;
		case 'p': *progress = VMC_PROGRESS_QEMU; break;
		case 'q': *quiet = true; break;
		case 'V':
			p->validate = true;
			if (optarg &&
			    vmc_engine_parse(optarg, &p->vo.engine) < 0) {
				vmc_cli_errorf("--validate=ENGINE: auto, direct,"
					       " nested or qemu, not '%s'",
					       optarg);
				return 1;
			}
			break;
		case 'B':
			p->bus_set = true;
			if (vmc_cli_parse_bus(optarg, &p->vo.bus) < 0)
				return 1;
			break;
		case 'F':
			fw_set = true;
			if (vmc_cli_parse_firmware(optarg, &p->vo.firmware) < 0)
				return 1;
			break;
		case 'M':
			if (vmc_cli_parse_timeout(optarg,
						  &p->vo.timeout_s) < 0)
				return 1;
			break;
		case 'E': p->vo.expect = optarg; break;
		case 'N': p->inject = false; break;
		case 'I': break;	/* --inject: the default */
		case 'R': p->remove_tools = true; break;
		case 'i':
			if (vmc_cli_parse_initramfs(optarg,
						    &p->initramfs) < 0)
				return 1;
			break;
		case 't':
			if (vmc_cli_cache_mode(optarg, &p->cache) < 0)
				return 1;
			break;
		case 'D': p->digest = true; break;
		case 'J':
			if (vmc_cli_output_format(optarg, json) < 0)
				return 1;
			break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	if (argc - optind == 1 && !p->dst_fmt) {
		vmc_cli_errorf("'%s' is not a command; to migrate an image,"
			       " say --to FORMAT (vmconv --help)",
			       argv[optind]);
		return 1;
	}
	if (argc - optind != 1 || !p->dst_fmt)
		return vmc_cli_usage(usage, false);
	if (!p->validate && (p->bus_set || p->vo.timeout_s || p->vo.expect ||
			     fw_set)) {
		vmc_cli_errorf("--bus, --firmware, --timeout and --expect go"
			       " with --validate");
		return 1;
	}
	p->src_path = argv[optind];
	if (*quiet)
		*progress = VMC_PROGRESS_OFF;
	return -1;
}

/* A whole VM (OVA, OVF, .vmx, Hyper-V or libvirt XML): every disk, the
 * boot disk injected as a single disk is (unless --no-inject). */
static int migrate_vm(const struct vmc_migrate_params *p, bool json,
		      bool quiet, enum vmc_progress_kind progress)
{
	struct vmc_cli_convert c = {
		.src_path = p->src_path, .dst_path = p->dst_path,
		.dst_fmt = p->dst_fmt, .create_opts = p->create_opts,
		.compress = p->compress, .digest = p->digest, .json = json,
		.quiet = quiet, .progress = progress, .cache = p->cache,
	};
	struct vmc_validate_opts vo = p->vo;

	return vmc_cli_vm_migrate(&c, &vo, p->validate, p->bus_set,
				  !p->inject, p->remove_tools, p->initramfs);
}

int vmc_cmd_migrate(int argc, char **argv)
{
	struct vmc_migrate_params p = { 0 };
	struct vmc_migrate_result res;
	enum vmc_progress_kind progress = VMC_PROGRESS_BAR;
	struct vmc_progress *bar;
	struct vmc_error err;
	bool json = false, quiet = false;
	int ret;

	p.create_opts = vmc_opts_new();
	p.inject = true;
	ret = parse(argc, argv, &p, &json, &quiet, &progress);
	if (ret >= 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	if (!p.src_fmt && vmc_vm_probe(p.src_path)) {
		ret = migrate_vm(&p, json, quiet, progress);
		goto out;
	}
	bar = vmc_progress_new(progress, json ? stderr : stdout, "converting");
	p.progress = vmc_progress_update;
	p.progress_ctx = bar;
	p.kvm = p.inject && vmc_cli_kvm_usable();
	ret = vmc_migrate(&p, &res, &err);
	vmc_progress_finish(bar, ret == 0);
	if (ret < 0) {
		vmc_cli_error(&err);
		ret = 1;
		goto out;
	}
	if (res.validate_failed)
		vmc_cli_error(&res.validate_err);
	ret = !p.validate ? 0 : res.validate_failed ? 2 :
	      json_is_true(json_object_get(res.report, "booted")) ? 0 : 1;
	if (json)
		vmc_cli_print_json(res.summary);
	else if (!quiet)
		print_human(&p, &res);
	vmc_migrate_result_free(&res);
out:
	vmc_opts_free(p.create_opts);
	return ret;
}
