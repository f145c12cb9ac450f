/* Human output of an inspection and an injection (JSON comes from
 * inject/report.c and inject/inject.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "inject/inject.h"

static void kernel_line(const struct vmc_kernel *k, bool dflt)
{
	printf("    %s%s\n", k->version, dflt ? " (default)" : "");
	if (!k->initrd[0]) {
		printf("      no initramfs\n");
		return;
	}
	printf("      %s:", k->initrd);
	for (int i = 0; vmc_storage_drivers[i]; i++)
		if (vmc_kernel_has(k, vmc_storage_drivers[i]))
			printf(" %s%s", vmc_storage_drivers[i],
			       vmc_modset_has(&k->initrd_mods,
					      vmc_storage_drivers[i]) ? "" :
			       " (built in)");
	printf(" (%zu modules)\n", k->initrd_mods.n);
	if (k->initrd_error[0])
		printf("      unreadable: %s\n", k->initrd_error);
}

static void linux_lines(const struct vmc_guest *g)
{
	const struct vmc_kernel *dk = vmc_guest_default_kernel(g);

	printf("  boot loader:    %s", g->bootloader);
	for (int i = 0; i < g->nbootcfg; i++)
		printf("%s%s", i ? ", " : " (", g->bootcfg[i]);
	printf("%s; %s\n", g->nbootcfg ? ")" : "",
	       g->default_grub ? "/etc/default/grub" :
	       "no /etc/default/grub");
	for (int i = 0; i < g->nentries; i++)
		printf("    entry %d%s: %s: %s %s\n", i,
		       i == g->default_entry ? " (default)" : "",
		       g->entries[i].title, g->entries[i].kernel,
		       g->entries[i].cmdline);
	printf("  kernels:\n");
	for (int i = 0; i < g->nkernels; i++)
		kernel_line(&g->kernels[i], &g->kernels[i] == dk);
	printf("  initramfs tool: %s\n", g->initramfs_tool);
	printf("  root in fstab:  %s\n", g->root_spec[0] ? g->root_spec :
	       "(none)");
	for (int i = 0; i < g->nnames; i++)
		printf("    %s: %s%s\n", g->names[i].where, g->names[i].name,
		       g->names[i].unstable ? " (named by controller)" : "");
	for (int i = 0; i < g->id.nlvm; i++)
		printf("  LVM:            %s\n", g->id.lvm[i]);
	for (int i = 0; i < g->ntools; i++)
		printf("  guest tools:    %s\n", g->tools[i]);
	for (int i = 0; i < g->nnet; i++)
		printf("  network:        %s\n", g->net[i]);
}

static void windows_lines(const struct vmc_windows *w)
{
	const char *sep = "";

	printf("  registry:       %s (%s), version %s", w->product[0] ?
	       w->product : "no ProductName",
	       w->edition[0] ? w->edition : "no EditionID",
	       w->current_version[0] ? w->current_version : "?");
	if (w->major >= 0 && w->minor >= 0)
		printf(" (%d.%d)", w->major, w->minor);
	printf(", build %s, %s, %s\n", w->build[0] ? w->build : "?",
	       w->systemroot, w->control_set[0] ? w->control_set :
	       "no control set");
	if (w->registry_error[0])
		printf("  registry unreadable: %s\n", w->registry_error);
	printf("  drivers:");
	for (int i = 0; i < VMC_WIN_DRIVERS; i++) {
		const struct vmc_windriver *d = &w->drivers[i];

		if (!d->service)
			continue;
		printf("%s %s (%s start%s)", sep, d->name,
		       vmc_windriver_start_name(d->start),
		       d->file_present ? "" : ", its .sys file is missing");
		sep = ",";
	}
	printf("%s\n  not installed: ", *sep ? "" : " none");
	sep = "";
	for (int i = 0; i < VMC_WIN_DRIVERS; i++)
		if (!w->drivers[i].service) {
			printf("%s%s", sep, w->drivers[i].name);
			sep = " ";
		}
	printf("\n");
}

/* The EFI system partition, its loaders and the fallback path. */
static void esp_lines(const struct vmc_esp *e)
{
	if (!e->found)
		return;
	printf("  EFI system partition: %s%s%s\n", e->device,
	       e->error[0] ? ": " : "", e->error);
	for (int i = 0; i < e->nloaders; i++)
		printf("    loader: %s\n", e->loaders[i]);
	printf("    fallback \\EFI\\BOOT\\BOOTX64.EFI: %s\n", e->fallback ?
	       "present" : "missing (firmware without boot entries finds"
	       " nothing to boot)");
}

void vmc_cli_print_guest(const char *image, const struct vmc_guest *g)
{
	const struct vmc_guest_id *id = &g->id;

	if (!id->found) {
		printf("%s: no operating system found (%s)\n", image,
		       id->firmware);
		esp_lines(&g->esp);
		return;
	}
	printf("%s: %s %s", image, id->type, id->distro);
	if (id->major >= 0 && id->minor >= 0)
		printf(" %d.%d", id->major, id->minor);
	printf(" (%s), %s, firmware %s\n", id->product[0] ? id->product :
	       "no product name", id->arch[0] ? id->arch :
	       "architecture unknown", id->firmware);
	printf("  root:           %s%s%s\n", id->root_fs,
	       id->hostname[0] ? ", hostname " : "", id->hostname);
	esp_lines(&g->esp);
	if (!strcmp(id->type, "linux"))
		linux_lines(g);
	if (!strcmp(id->type, "windows"))
		windows_lines(&g->win);
	for (int b = 0; b < VMC_GBUS_COUNT; b++)
		printf("  %s\n", g->verdict[b]);
}

/* One side of a change, every line of it marked ("    + virtio_pci"). */
static void change_lines(char mark, const char *text)
{
	const char *nl;

	do {
		nl = strchr(text, '\n');
		if (!nl && !*text)
			break;
		printf("    %c %.*s\n", mark,
		       nl ? (int)(nl - text) : (int)strlen(text), text);
		text = nl ? nl + 1 : text;
	} while (nl);
}

void vmc_cli_print_changes(const struct vmc_inject_result *r)
{
	for (size_t i = 0; i < r->plan.n; i++) {
		if (r->plan.c[i].method)
			printf("  %s (initramfs method: %s)\n",
			       r->plan.c[i].file, r->plan.c[i].method);
		else
			printf("  %s\n", r->plan.c[i].file);
		change_lines('-', r->plan.c[i].before);
		change_lines('+', r->plan.c[i].after);
	}
	for (size_t i = 0; i < r->plan.nnotes; i++)
		printf("  note: %s\n", r->plan.notes[i]);
}
