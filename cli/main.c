/* vmconv: the command line.  `vmconv SUBCOMMAND ...`, or the one-shot
 * migration form `vmconv SRC --to FMT ...`. */
#include <stdio.h>
#include <string.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "common/confine.h"

static const char usage[] =
"usage: vmconv SRC --to FMT [--out PATH] [--validate] [--no-inject] [-p]\n"
"       vmconv COMMAND [OPTIONS] ...\n"
"\n"
"Convert virtual-machine disk images between hypervisors.\n"
"\n"
"Commands:\n"
"  convert   convert an image to another format (as qemu-img convert)\n"
"  info      show what an image is\n"
"  compare   compare the guest-visible content of two images\n"
"  check     check an image's metadata (and --repair it)\n"
"  create    create an empty image\n"
"  map       show which ranges hold data, zeros or nothing\n"
"  measure   how large a converted or new image will be\n"
"  resize    change an image's size (IN PLACE)\n"
"  snapshot  list, create, apply, delete internal snapshots (IN PLACE)\n"
"  rebase    change an image's backing file (IN PLACE)\n"
"  amend     change an image's options (IN PLACE)\n"
"  dd        copy part of an image into a new image (if= of= bs=...)\n"
"  formats   list the formats this vmconv reads and writes\n"
"  validate  boot an image and say how far it got and why it stopped\n"
"  inspect   show the guest on an image and whether it boots on each bus\n"
"  inject    make a guest bootable on KVM (virtio drivers, stable names)\n"
"  batch     migrate a plan of many VMs, resumably; the pre-cutover report\n"
"\n"
"Every command takes --allow-parent-dir DIR (repeatable): backing files,\n"
"data files, extents and parents named inside an image may also lie\n"
"under DIR (by default only beside the image that names them or the\n"
"image given on the command line).\n"
"\n"
"`vmconv COMMAND --help` describes each; `man vmconv` describes all.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "convert", vmc_cmd_convert },
	{ "info", vmc_cmd_info },
	{ "compare", vmc_cmd_compare },
	{ "check", vmc_cmd_check },
	{ "create", vmc_cmd_create },
	{ "map", vmc_cmd_map },
	{ "measure", vmc_cmd_measure },
	{ "resize", vmc_cmd_resize },
	{ "snapshot", vmc_cmd_snapshot },
	{ "dd", vmc_cmd_dd },
	{ "rebase", vmc_cmd_rebase },
	{ "amend", vmc_cmd_amend },
	{ "formats", vmc_cmd_formats },
	{ "validate", vmc_cmd_validate },
	{ "inspect", vmc_cmd_inspect },
	{ "inject", vmc_cmd_inject },
	{ "batch", vmc_cmd_batch },
};

/* Takes every --allow-parent-dir DIR (or =DIR) out of argv, wherever it
 * is (before "--"), and widens the parent policy with it.  Returns the
 * new argc, or -1 after printing an error. */
static int take_parent_dirs(int argc, char **argv)
{
	static const char opt[] = "--allow-parent-dir";
	const size_t n = sizeof(opt) - 1;
	struct vmc_error err;
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *dir = NULL;

		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strncmp(argv[i], opt, n) && argv[i][n] == '=') {
			dir = argv[i] + n + 1;
		} else if (!strcmp(argv[i], opt)) {
			if (i + 1 == argc) {
				vmc_cli_errorf("%s needs a folder", opt);
				return -1;
			}
			dir = argv[++i];
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (vmc_confine_allow_dir(dir, &err) < 0) {
			vmc_cli_error(&err);
			return -1;
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	vmc_output_install_signal_handlers();
	argc = take_parent_dirs(argc, argv);
	if (argc < 0)
		return 1;
	vmc_plugins_load_all();
	if (argc < 2)
		return vmc_cli_usage(usage, false);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		return vmc_cli_usage(usage, true);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vmconv %s\n", VMCONV_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return vmc_cmd_migrate(argc, argv);
}
