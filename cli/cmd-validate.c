/* vmconv validate: boot an image and say how far it got and why it
 * stopped.  Exit 0 when the guest reached userspace, 1 when it did not,
 * 2 when it could not be booted at all (bad arguments, no engine). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "validate/request.h"
#include "validate/validate.h"

static const char usage[] =
"usage: vmconv validate [--engine=auto|direct|nested|qemu] [--bus=virtio|ide]\n"
"                       [--boot=firmware|kernel] [--firmware=auto|bios|uefi]\n"
"                       [--kernel K [--initrd I]\n"
"                       [--append A]] [--timeout=S] [--expect=REGEX]\n"
"                       [--console-log=PATH] [--firmware-log=PATH]\n"
"                       [--memory=MIB] [-f FMT] [-v]\n"
"                       [--output=human|json] IMG\n"
"       vmconv validate --request=FILE [OPTIONS] [IMG]\n"
"\n"
"Boot the disk image IMG with the target's virtual hardware and report the\n"
"boot stages it reached (firmware, bootloader, kernel, root, userspace) and\n"
"why it stopped.  The image is never modified.  Exit status 0 when the guest\n"
"reached userspace, 1 when it did not, 2 when it could not be run.\n"
"\n"
"  --engine   direct: the built-in VMM on this host's KVM; nested: the\n"
"             built-in VMM inside a hypervisor appliance run by QEMU; qemu:\n"
"             qemu-system-x86_64 itself (the reference); auto (default):\n"
"             direct where the host's KVM passes the self-test, else nested\n"
"  --bus      the disk controller: virtio (KVM targets, default) or ide\n"
"  --boot     firmware (SeaBIOS and the disk's boot loader, default) or\n"
"             kernel (direct Linux boot of --kernel/--initrd/--append)\n"
"  --firmware with --boot=firmware: bios (SeaBIOS), uefi (OVMF) or auto\n"
"             (default): UEFI for a GPT disk with an EFI system partition\n"
"             and no BIOS boot code, else BIOS; the report says which and\n"
"             why\n"
"  --timeout  seconds before giving up (default 120)\n"
"  --expect   a console line matching REGEX means userspace was reached\n"
"  -v         copy the guest's console to stderr as it boots\n"
"  --request  take the options from a JSON request file (what the nested\n"
"             engine hands the vmconv in its appliance); options after it\n"
"             override it\n";

int vmc_cli_parse_bus(const char *s, enum vmc_vm_bus *b)
{
	if (!strcmp(s, "virtio"))
		*b = VMC_BUS_VIRTIO;
	else if (!strcmp(s, "ide"))
		*b = VMC_BUS_IDE;
	else {
		vmc_cli_errorf("--bus must be virtio or ide, not '%s'", s);
		return -1;
	}
	return 0;
}

int vmc_cli_parse_firmware(const char *s, enum vmc_firmware *f)
{
	if (vmc_firmware_parse(s, f) < 0) {
		vmc_cli_errorf("--firmware must be auto, bios or uefi, not"
			       " '%s'", s);
		return -1;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *v)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (!*s || *end || n == 0 || n > max)
		return -1;
	*v = (unsigned)n;
	return 0;
}

int vmc_cli_parse_timeout(const char *s, unsigned *t)
{
	if (parse_uint(s, 86400, t) < 0) {
		vmc_cli_errorf("--timeout must be a number of seconds, not"
			       " '%s'", s);
		return -1;
	}
	return 0;
}

void vmc_cli_print_report(json_t *rep, const char *label)
{
	json_t *stages = json_object_get(rep, "stages"), *s;
	bool booted = json_is_true(json_object_get(rep, "booted"));
	size_t i;

	printf("%s: %s (stage %s)\n", label ? label :
	       json_string_value(json_object_get(rep, "image")),
	       booted ? "BOOTED" : "DID NOT BOOT",
	       json_string_value(json_object_get(rep, "stage")));
	printf("  reason:  %s\n", json_string_value(json_object_get(rep,
		"reason")));
	json_array_foreach(stages, i, s)
		printf("  %-10s %8.3f s\n",
		       json_string_value(json_object_get(s, "stage")),
		       (double)json_integer_value(json_object_get(s, "ms")) /
		       1000.0);
	printf("  engine:  %s (%s), bus %s, boot %s\n",
	       json_string_value(json_object_get(rep, "engine")),
	       json_string_value(json_object_get(rep, "engine_reason")),
	       json_string_value(json_object_get(rep, "bus")),
	       json_string_value(json_object_get(rep, "boot")));
	if (json_object_get(rep, "firmware"))
		printf("  firmware: %s (%s)\n",
		       json_string_value(json_object_get(rep, "firmware")),
		       json_string_value(json_object_get(rep,
							 "firmware_reason")));
	printf("  console: %s\n", json_string_value(json_object_get(rep,
		"console_log")));
}

/* Also used for each disk of a whole VM (cli/cmd-vm.c). */
int vmc_cli_validate(const struct vmc_validate_opts *o, bool json,
		     json_t **report_out)
{
	struct vmc_error err = { 0 };
	json_t *rep = NULL;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (vmc_validate(o, &rep, &err) < 0) {
		vmc_cli_error(&err);
		return 2;
	}
	ret = json_is_true(json_object_get(rep, "booted")) ? 0 : 1;
	if (report_out) {
		*report_out = rep;
		return ret;
	}
	if (json)
		vmc_cli_print_json(rep);
	else
		vmc_cli_print_report(rep, NULL);
	json_decref(rep);
	return ret;
}

/* Options; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct vmc_validate_opts *o,
		 bool *json, json_t **req)
{
	enum { O_ENGINE = 256, O_BUS, O_BOOT, O_KERNEL, O_INITRD, O_APPEND,
	       O_TIMEOUT, O_EXPECT, O_OUTPUT, O_LOG, O_FWLOG, O_MEM,
	       O_REQUEST, O_FIRMWARE };
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "bus", required_argument, NULL, O_BUS },
		{ "boot", required_argument, NULL, O_BOOT },
		{ "firmware", required_argument, NULL, O_FIRMWARE },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "append", required_argument, NULL, O_APPEND },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "expect", required_argument, NULL, O_EXPECT },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "console-log", required_argument, NULL, O_LOG },
		{ "firmware-log", required_argument, NULL, O_FWLOG },
		{ "memory", required_argument, NULL, O_MEM },
		{ "request", required_argument, NULL, O_REQUEST },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 }
	};
	struct vmc_error err;
	int opt;

	o->engine = VMC_ENGINE_AUTO;
	o->bus = VMC_BUS_VIRTIO;
	o->boot = VMC_BOOT_FIRMWARE;
	while ((opt = getopt_long(argc, argv, "hf:v", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'f': o->format = optarg; break;
		case 'v': o->verbose = true; break;
		case O_ENGINE:
			if (vmc_engine_parse(optarg, &o->engine) < 0) {
				vmc_cli_errorf("--engine must be auto, direct,"
					       " nested or qemu, not '%s'",
					       optarg);
				return 2;
			}
			break;
		case O_BUS:
			if (vmc_cli_parse_bus(optarg, &o->bus) < 0)
				return 2;
			break;
		case O_BOOT:
			if (!strcmp(optarg, "firmware"))
				o->boot = VMC_BOOT_FIRMWARE;
			else if (!strcmp(optarg, "kernel"))
				o->boot = VMC_BOOT_KERNEL;
			else {
				vmc_cli_errorf("--boot must be firmware or"
					       " kernel, not '%s'", optarg);
				return 2;
			}
			break;
		case O_FIRMWARE:
			if (vmc_cli_parse_firmware(optarg, &o->firmware) < 0)
				return 2;
			break;
		case O_KERNEL: o->kernel = optarg; break;
		case O_INITRD: o->initrd = optarg; break;
		case O_APPEND: o->append = optarg; break;
		case O_TIMEOUT:
			if (vmc_cli_parse_timeout(optarg, &o->timeout_s) < 0)
				return 2;
			break;
		case O_MEM:
			if (parse_uint(optarg, 65536, &o->mem_mib) < 0 ||
			    o->mem_mib < 16) {
				vmc_cli_errorf("--memory must be MiB (16 to"
					       " 65536), not '%s'", optarg);
				return 2;
			}
			break;
		case O_EXPECT: o->expect = optarg; break;
		case O_LOG: o->console_log = optarg; break;
		case O_FWLOG: o->firmware_log = optarg; break;
		case O_REQUEST:
			json_decref(*req);
			if (vmc_request_load(optarg, o, req, &err) < 0) {
				vmc_cli_error(&err);
				return 2;
			}
			break;
		case O_OUTPUT:
			if (vmc_cli_output_format(optarg, json) < 0)
				return 2;
			break;
		default:
			vmc_cli_usage(usage, false);
			return 2;
		}
	}
	/* a --request names the image itself */
	if (argc - optind > 1 || (argc == optind && !*req)) {
		vmc_cli_usage(usage, false);
		return 2;
	}
	if ((o->kernel || o->initrd || o->append) &&
	    o->boot != VMC_BOOT_KERNEL) {
		if (!o->kernel) {
			vmc_cli_errorf("--initrd and --append need --kernel");
			return 2;
		}
		o->boot = VMC_BOOT_KERNEL;
	}
	if (optind < argc)
		o->image = argv[optind];
	if (!o->image) {
		vmc_cli_errorf("the request names no image");
		return 2;
	}
	return -1;
}

int vmc_cmd_validate(int argc, char **argv)
{
	struct vmc_validate_opts o = { 0 };
	json_t *req = NULL;
	bool json = false;
	int ret = parse(argc, argv, &o, &json, &req);

	if (ret < 0)
		ret = vmc_cli_validate(&o, json, NULL);
	json_decref(req);
	return ret;
}
