/* inject/verdict.c for Windows guests: the driver each bus needs (viostor,
 * vioscsi, atapi with intelide or pciide), installed (service and .sys
 * file) and started at boot; an unreadable registry is said so.  The
 * registry reading itself runs against libguestfs in
 * tests/integration/inspect-windows.sh. */
#include <criterion/criterion.h>
#include <string.h>

#include "inject/inspect.h"

static void windows(struct vmc_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->id.found = true;
	snprintf(g->id.type, sizeof(g->id.type), "windows");
	snprintf(g->win.control_set, sizeof(g->win.control_set),
		 "ControlSet001");
	for (int i = 0; i < VMC_WIN_DRIVERS; i++) {
		snprintf(g->win.drivers[i].name,
			 sizeof(g->win.drivers[i].name), "%s",
			 vmc_windrivers[i]);
		g->win.drivers[i].start = -1;
	}
}

static void install(struct vmc_guest *g, const char *name, int start,
		    bool file)
{
	struct vmc_windriver *d =
		(struct vmc_windriver *)vmc_windows_driver(&g->win, name);

	cr_assert_not_null(d, "%s", name);
	d->service = true;
	d->start = start;
	d->file_present = file;
	snprintf(d->file, sizeof(d->file), "/Windows/System32/drivers/%s.sys",
		 name);
}

Test(windows_verdict, nothing_installed)
{
	struct vmc_guest g;

	windows(&g);
	vmc_inspect_verdicts(&g);
	cr_assert_not(g.ready[VMC_GBUS_VIRTIO]);
	cr_assert_str_eq(g.verdict[VMC_GBUS_VIRTIO], "virtio: will not boot:"
			 " viostor (the virtio-blk driver) is not installed"
			 " (no ControlSet001\\Services\\viostor in SYSTEM)");
	cr_assert(strstr(g.verdict[VMC_GBUS_SCSI], "vioscsi (the"
			 " virtio-scsi driver) is not installed"));
	cr_assert(strstr(g.verdict[VMC_GBUS_IDE], "intelide"));
	cr_assert(strstr(g.verdict[VMC_GBUS_IDE], "atapi"));
}

Test(windows_verdict, boot_start_needed)
{
	struct vmc_guest g;

	windows(&g);
	install(&g, "viostor", 3, true);
	install(&g, "vioscsi", 0, false);
	vmc_inspect_verdicts(&g);
	cr_assert_str_eq(g.verdict[VMC_GBUS_VIRTIO], "virtio: will not boot:"
			 " viostor is installed but does not start at boot"
			 " (Start=3, 0 needed)");
	cr_assert_str_eq(g.verdict[VMC_GBUS_SCSI], "scsi: will not boot:"
			 " vioscsi's service names"
			 " /Windows/System32/drivers/vioscsi.sys, which is"
			 " missing");
}

Test(windows_verdict, ready)
{
	struct vmc_guest g;

	windows(&g);
	install(&g, "viostor", 0, true);
	install(&g, "vioscsi", 0, true);
	install(&g, "atapi", 0, true);
	install(&g, "pciide", 0, true);		/* intelide absent: fine */
	vmc_inspect_verdicts(&g);
	for (int b = 0; b < VMC_GBUS_COUNT; b++)
		cr_assert(g.ready[b], "%s", g.verdict[b]);
	cr_assert_str_eq(g.verdict[VMC_GBUS_IDE], "ide: ready");
	cr_assert(vmc_windriver_boots(vmc_windows_driver(&g.win, "viostor")));
	cr_assert_not(vmc_windriver_boots(vmc_windows_driver(&g.win,
							     "netkvm")));
}

Test(windows_verdict, ide_needs_atapi)
{
	struct vmc_guest g;

	windows(&g);
	install(&g, "intelide", 0, true);
	install(&g, "atapi", 4, true);
	vmc_inspect_verdicts(&g);
	cr_assert_str_eq(g.verdict[VMC_GBUS_IDE], "ide: will not boot: atapi"
			 " is installed but does not start at boot (Start=4,"
			 " 0 needed)");
}

Test(windows_verdict, registry_unreadable)
{
	struct vmc_guest g;

	windows(&g);
	g.win.control_set[0] = 0;
	snprintf(g.win.registry_error, sizeof(g.win.registry_error),
		 "/Windows/System32/config/SYSTEM: cannot open the SYSTEM"
		 " hive: hivex_open: Invalid argument");
	vmc_inspect_verdicts(&g);
	for (int b = 0; b < VMC_GBUS_COUNT; b++) {
		cr_assert_not(g.ready[b]);
		cr_assert(strstr(g.verdict[b], "will not boot: registry"
				 " unreadable (/Windows/System32/config/SYSTEM:"
				 " cannot open"), "%s", g.verdict[b]);
	}
	cr_assert_null(strstr(strstr(g.verdict[VMC_GBUS_IDE], "registry") + 1,
			      "registry"), "said once: %s",
		       g.verdict[VMC_GBUS_IDE]);
	cr_assert_str_eq(vmc_windriver_start_name(0), "boot");
	cr_assert_str_eq(vmc_windriver_start_name(-1), "none");
	cr_assert_str_eq(vmc_windriver_start_name(9), "unknown");
}
