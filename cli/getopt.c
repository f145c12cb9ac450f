/* The part of option parsing every subcommand shares: getopt_long with
 * -h/--help, --output=human|json and unknown options handled here. */
#include <getopt.h>

#include "cli/cli.h"

int vmc_cli_getopt(int argc, char **argv, const char *shortopts,
		   const struct option *lo, const char *usage, bool *json,
		   int *done)
{
	int opt;

	*done = -1;
	for (;;) {
		opt = getopt_long(argc, argv, shortopts, lo, NULL);
		switch (opt) {
		case -1:
			return -1;
		case 'h':
			*done = vmc_cli_usage(usage, true);
			return -1;
		case 'J':
			if (!json)
				break;
			if (vmc_cli_output_format(optarg, json) < 0) {
				*done = 1;
				return -1;
			}
			continue;
		case '?':
		case ':':
			*done = vmc_cli_usage(usage, false);
			return -1;
		}
		return opt;
	}
}
