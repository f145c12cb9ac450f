/* vmconv formats: the drivers built in and loaded as plugins. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int vmc_cmd_formats(int argc, char **argv)
{
	size_t n = vmc_driver_count();
	const char *const *warn = vmc_plugin_warnings();

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return vmc_cli_usage("usage: vmconv formats\n\nList the formats"
				     " vmconv reads (r) and writes (w).\n",
				     true);
	for (size_t i = 0; i < n; i++) {
		const struct vmc_driver *d = vmc_driver_at(i);
		char names[128];
		size_t len = (size_t)snprintf(names, sizeof(names), "%s",
					      d->name);

		for (size_t j = 0; d->aliases && d->aliases[j]; j++)
			len += (size_t)snprintf(names + len, len < sizeof(names)
				? sizeof(names) - len : 0, ", %s",
				d->aliases[j]);
		printf("%-14s %s  %s\n", names, d->create ? "rw" : "r-",
		       d->description ? d->description : "");
	}
	for (size_t i = 0; warn[i]; i++)
		fprintf(stderr, "vmconv: warning: %s\n", warn[i]);
	return 0;
}
