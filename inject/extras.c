/* What ties a guest to its old hypervisor besides drivers: guest tools
 * installed (open-vm-tools, hyperv-daemons, ...: the program on disk, or
 * the package in dpkg's status file), network configuration
 * pinned to old NICs' MAC addresses (Linux guests; Windows guests are read
 * from their registry, inject/windows.c). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inspect.h"

static const char *const tools[][2] = {
	{ "/usr/bin/vmtoolsd", "open-vm-tools" },
	{ "/usr/sbin/hv_kvp_daemon", "hyperv-daemons" },
	{ "/usr/sbin/xe-daemon", "xe-guest-utilities" },
	{ "/usr/sbin/VBoxService", "virtualbox-guest-utils" },
	{ "/usr/bin/cloud-init", "cloud-init" },
};

const char *vmc_guest_tool_file(const char *tool)
{
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(tools[i][1], tool))
			return tools[i][0];
	return "";
}

/* Whether dpkg's status file says package is installed. */
static bool dpkg_installed(const char *status, const char *package)
{
	char key[96];
	const char *p = status;

	snprintf(key, sizeof(key), "Package: %s\n", package);
	while (p && (p = strstr(p, key))) {
		const char *end = strstr(p, "\n\n"), *st;

		if (p != status && p[-1] != '\n') {
			p += strlen(key);
			continue;
		}
		st = strstr(p, "\nStatus: ");
		if (st && (!end || st < end))
			return !strncmp(st + 10, "install ok installed", 20);
		return false;
	}
	return false;
}

static void add_net(struct vmc_guest *gu, const char *fmt, const char *a)
{
	if (gu->nnet < VMC_GUEST_MAX)
		snprintf(gu->net[gu->nnet++], VMC_STR, fmt, a);
}

/* A file that names a MAC address with key (case-sensitive). */
static void mac_in(guestfs_h *g, struct vmc_guest *gu, const char *path,
		   const char *key)
{
	char *text = vmc_gfs_read(g, path, 1 << 20);

	if (text && strstr(text, key))
		add_net(gu, "%s pins a MAC address", path);
	free(text);
}

static void mac_glob(guestfs_h *g, struct vmc_guest *gu, const char *pat,
		     const char *key)
{
	char **files = guestfs_glob_expand(g, pat);

	for (size_t i = 0; files && files[i]; i++)
		mac_in(g, gu, files[i], key);
	vmc_gfs_free_strings(files);
}

static void network(guestfs_h *g, struct vmc_guest *gu)
{
	if (vmc_gfs_is_file(g, "/etc/udev/rules.d/70-persistent-net.rules"))
		add_net(gu, "%s names NICs by MAC address",
			"/etc/udev/rules.d/70-persistent-net.rules");
	mac_in(g, gu, "/etc/network/interfaces", "hwaddress");
	mac_glob(g, gu, "/etc/netplan/*.yaml", "macaddress");
	mac_glob(g, gu, "/etc/sysconfig/network-scripts/ifcfg-*", "HWADDR=");
}

void vmc_inspect_extras(guestfs_h *g, struct vmc_guest *gu)
{
	char *status;

	if (!strcmp(gu->id.type, "windows"))
		return;		/* the registry tells: inject/windows.c */
	status = vmc_gfs_read(g, "/var/lib/dpkg/status", 64 << 20);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if ((vmc_gfs_is_file(g, tools[i][0]) ||
		     (status && dpkg_installed(status, tools[i][1]))) &&
		    gu->ntools < VMC_GUEST_MAX)
			snprintf(gu->tools[gu->ntools++], 64, "%s",
				 tools[i][1]);
	free(status);
	network(g, gu);
}
