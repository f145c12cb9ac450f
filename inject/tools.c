/* The old hypervisor's guest tools (open-vm-tools, hyperv-daemons,
 * xe-guest-utilities, virtualbox-guest-utils, found by inspection:
 * inject/extras.c).  Without --remove-tools each is reported as a
 * leftover; with it, each is removed by the guest's own package manager
 * run inside the libguestfs appliance (chrooted into the guest, no
 * network): apt-get -y purge (dpkg --purge without apt) on Debian and
 * its derivatives, dnf remove with every repository off (rpm -e without
 * dnf) on RPM guests.  A failed removal is an error carrying the tool's
 * own words. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inject.h"

#define ENV "PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C" \
	" DEBIAN_FRONTEND=noninteractive "
#define EXIT_MARK "vmconv-exit:"
/* a package name as dpkg and rpm allow it (and the shell takes as is) */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789.+-_"

/* Cloud-init is not tied to a hypervisor: reported, never removed. */
static bool hypervisor_tool(const char *name)
{
	return strcmp(name, "cloud-init") != 0;
}

/* Run cmd in the guest: its exit status, and its output (stdout and
 * stderr) in *out; -1 when the appliance could not run it. */
static int run(guestfs_h *g, const char *cmd, char **out,
	       const char *image, struct vmc_error *err)
{
	char *full = NULL, *o, *m;
	int rc;

	if (asprintf(&full, "%s 2>&1; echo " EXIT_MARK "$?", cmd) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	o = guestfs_sh(g, full);
	free(full);
	if (!o)
		return vmc_gfs_error(g, err, image, cmd);
	m = strstr(o, EXIT_MARK);
	rc = m ? atoi(m + strlen(EXIT_MARK)) : 255;
	if (m)
		*m = 0;
	*out = o;
	return rc;
}

/* The last lines of a tool's output, on one line ("E: ...; ..."). */
static void last_lines(const char *out, char *buf, size_t len)
{
	const char *p = out + strlen(out);
	int lines = 0;

	while (p > out && (p[-1] == '\n' || p[-1] == ' '))
		p--;
	const char *end = p;

	while (p > out && lines < 3)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	snprintf(buf, len, "%.*s", (int)(end - p), p);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ';';
}

/* What the guest's package manager is and how it removes a package. */
struct pm {
	const char *query;	/* owner of a file: "dpkg-query -S" */
	const char *version;	/* printf: version of package %s */
	const char *remove;	/* printf: remove package %s */
};

static const struct pm *package_manager(guestfs_h *g)
{
	static const struct pm apt = {
		"dpkg-query -S", "dpkg-query -W -f='${Version}' '%s'",
		"apt-get -y -q -o Dpkg::Options::=--force-confdef purge '%s'",
	}, dpkg = {
		"dpkg-query -S", "dpkg-query -W -f='${Version}' '%s'",
		"dpkg --purge '%s'",
	}, dnf = {
		"rpm -qf --qf '%{NAME}\\n'", "rpm -q --qf '%%{VERSION}-%%{RELEASE}' '%s'",
		"dnf -y -C --disablerepo='*' remove '%s'",
	}, rpm = {
		"rpm -qf --qf '%{NAME}\\n'", "rpm -q --qf '%%{VERSION}-%%{RELEASE}' '%s'",
		"rpm -e '%s'",
	};

	if (vmc_gfs_is_dir(g, "/var/lib/dpkg"))
		return vmc_gfs_is_file(g, "/usr/bin/apt-get") ? &apt : &dpkg;
	if (vmc_gfs_is_file(g, "/usr/bin/rpm") || vmc_gfs_is_file(g, "/bin/rpm"))
		return vmc_gfs_is_file(g, "/usr/bin/dnf") ? &dnf : &rpm;
	return NULL;
}

/* The package that owns file (the tool's name when the query fails). */
static void owner(guestfs_h *g, const struct pm *pm, const char *file,
		  const char *tool, char *pkg, size_t len,
		  const char *image, struct vmc_error *err)
{
	char cmd[512], *out = NULL, *e;

	snprintf(pkg, len, "%s", tool);
	snprintf(cmd, sizeof(cmd), ENV "%s '%s'", pm->query, file);
	if (run(g, cmd, &out, image, err) == 0 && out[0]) {
		e = strstr(out, ": ");
		if (!e)
			e = strchr(out, '\n');
		if (e && e > out && (size_t)(e - out) < len &&
		    strspn(out, NAME_CHARS) == (size_t)(e - out))
			snprintf(pkg, len, "%.*s", (int)(e - out), out);
	}
	free(out);
}

static void version(guestfs_h *g, const struct pm *pm, const char *pkg,
		    char *buf, size_t len, const char *image,
		    struct vmc_error *err)
{
	char fmt[256], cmd[512], *out = NULL;

	snprintf(buf, len, "installed");
	snprintf(fmt, sizeof(fmt), ENV "%s", pm->version);
	snprintf(cmd, sizeof(cmd), fmt, pkg);
	if (run(g, cmd, &out, image, err) == 0 && out[0] &&
	    !strchr(out, '\n'))
		snprintf(buf, len, "installed (%s)", out);
	free(out);
}

/* Remove one tool's package (or plan it). */
static int remove_one(guestfs_h *g, const struct pm *pm, const char *tool,
		      bool dry_run, struct vmc_plan *plan, const char *image,
		      struct vmc_error *err)
{
	char pkg[128], ver[192], file[160], cmd[512], after[600], words[512];
	char *out = NULL;
	int rc;

	owner(g, pm, vmc_guest_tool_file(tool), tool, pkg, sizeof(pkg),
	      image, err);
	version(g, pm, pkg, ver, sizeof(ver), image, err);
	snprintf(cmd, sizeof(cmd), pm->remove, pkg);
	snprintf(file, sizeof(file), "package %s", pkg);
	snprintf(after, sizeof(after), "%s: %s", dry_run ? "to be removed" :
		 "removed", cmd);
	if (vmc_plan_add(plan, file, ver, after) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (dry_run)
		return 0;
	snprintf(after, sizeof(after), ENV "%s", cmd);
	rc = run(g, after, &out, image, err);
	if (rc < 0)
		return -1;
	if (rc) {
		last_lines(out, words, sizeof(words));
		vmc_error_set(err, EIO, "%s: removing %s (%s) failed with exit"
			      " status %d: %s", image, tool, cmd, rc, words);
	}
	free(out);
	return rc ? -1 : 0;
}

int vmc_inject_tools(guestfs_h *g, const struct vmc_guest *gu, bool remove,
		     bool dry_run, struct vmc_plan *plan, const char *image,
		     struct vmc_error *err)
{
	const struct pm *pm = NULL;

	for (int i = 0; i < gu->ntools; i++) {
		const char *t = gu->tools[i];

		if (!hypervisor_tool(t))
			continue;
		if (!remove) {
			vmc_plan_note(plan, "%s is installed: a leftover of"
				      " the old hypervisor (--remove-tools"
				      " removes it)", t);
			continue;
		}
		if (!pm)
			pm = package_manager(g);
		if (!pm)
			return vmc_error_set(err, ENOTSUP, "%s: %s is installed"
					     " but the guest has neither dpkg"
					     " nor rpm to remove it", image,
					     t);
		if (remove_one(g, pm, t, dry_run, plan, image, err) < 0)
			return -1;
	}
	return 0;
}

bool vmc_inject_tools_left(const struct vmc_guest *after, char *which,
			   size_t len)
{
	for (int i = 0; i < after->ntools; i++)
		if (hypervisor_tool(after->tools[i])) {
			snprintf(which, len, "%s", after->tools[i]);
			return true;
		}
	return false;
}
