/* vmconv: the command line.  `vmconv SUBCOMMAND ...`, or the one-shot
 * migration form `vmconv SRC --to FMT ...`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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
"  snapshot  list an image's internal snapshots (-l)\n"
"  dd        copy part of an image into a new image (if= of= bs=...)\n"
"  formats   list the formats this vmconv reads and writes\n"
"  validate  boot a disk image and say how far the guest got\n"
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
	{ "formats", vmc_cmd_formats },
	{ "validate", vmc_cmd_validate },
};

int main(int argc, char **argv)
{
	vmc_output_install_signal_handlers();
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
