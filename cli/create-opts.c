/* -o for the commands that create images (create, convert, measure):
 * "-o help" (or "-o ?") lists the format's create options from its
 * driver table, as `qemu-img create -f FMT -o help` does; anything else
 * is a key=value list the image layer vets against the same table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int vmc_cli_create_opt(struct vmc_opts *opts, const char *arg, bool *help)
{
	struct vmc_error err;

	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		*help = true;
		return 0;
	}
	if (vmc_opts_parse(opts, arg, &err) < 0) {
		vmc_cli_error(&err);
		return -1;
	}
	return 0;
}

int vmc_cli_create_opts_help(const char *fmt)
{
	const struct vmc_driver *d = vmc_driver_find(fmt);
	const struct vmc_opt_desc *o;

	if (!d) {
		vmc_cli_errorf("unknown format '%s'", fmt);
		return 1;
	}
	if (!d->create) {
		vmc_cli_errorf("format %s cannot be written", d->name);
		return 1;
	}
	printf("Supported %s options:\n", d->name);
	if (!d->create_opts)
		printf("  (the %s driver declares none)\n", d->name);
	for (o = d->create_opts; o && o->name; o++) {
		char key[64];

		snprintf(key, sizeof(key), "%s=<%s>", o->name,
			 vmc_opt_type_name(o->type));
		printf("  %-30s - %s", key, o->help ? o->help : "");
		for (const char *const *c = o->choices; c && *c; c++)
			printf("%s%s", c == o->choices ? " (" : ", ", *c);
		if (o->choices)
			putchar(')');
		if (o->def)
			printf(" (default: %s)", o->def);
		putchar('\n');
	}
	return 0;
}
