/* Network configuration tied to the old hypervisor's NICs: udev's
 * persistent-net rules name interfaces by MAC address, so the new
 * hypervisor's NIC (a new MAC) would come up as eth1 with eth0's
 * configuration unused.  The rules file is moved aside (kept, renamed
 * .vmconv-disabled, which udev does not read); MAC addresses in
 * interfaces, netplan and ifcfg files are reported by inspection only. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inject/gfs.h"
#include "inject/inject.h"

#define RULES "/etc/udev/rules.d/70-persistent-net.rules"

int vmc_inject_net(guestfs_h *g, bool dry_run, struct vmc_plan *plan,
		   const char *image, struct vmc_error *err)
{
	const char *to = RULES ".vmconv-disabled";

	if (!vmc_gfs_is_file(g, RULES))
		return 0;
	if (vmc_plan_add(plan, RULES, "names NICs by their old MAC addresses",
			 "moved to " RULES ".vmconv-disabled") < 0)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (!dry_run && guestfs_mv(g, RULES, to) < 0)
		return vmc_gfs_error(g, err, image, RULES);
	return 0;
}
