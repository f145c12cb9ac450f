/* The direct engine: the built-in VMM (validate/vmm/) on the host's
 * /dev/kvm, used only where the VMM's self-test passes (or inside the
 * nested engine's appliance, whose request says "selftest": false).
 *
 * Firmware boots run SeaBIOS, or OVMF for UEFI guests (the build the
 * qemu engine uses, validate/ovmf.c, read-only: OVMF then keeps its
 * variables in memory, see validate/vmm/ovmf-rom.c).
 *
 * The VMM is referenced weakly so that a build without validate/vmm/
 * says the engine is absent instead of failing to link; the Makefile
 * links the validator archive whole so that the VMM, when present, is
 * always in.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "validate/process.h"
#include "validate/qemu.h"
#include "validate/engine.h"
#include "validate/echo.h"
#include "validate/exits.h"

#pragma weak vmc_vm_run
#pragma weak vmc_vm_selftest

#define SEABIOS "/usr/share/seabios/bios.bin"

/* The self-test takes seconds where KVM is slow: once per process. */
static int tested;		/* 0 not yet, 1 usable, -1 not */
static char tested_why[512];

static bool selftest(char *why, size_t len);

bool vmc_direct_usable(char *why, size_t len)
{
	if (!tested)
		tested = selftest(tested_why, sizeof(tested_why)) ? 1 : -1;
	snprintf(why, len, "%s", tested_why);
	return tested > 0;
}

static bool selftest(char *why, size_t len)
{
	struct vmc_error err = { 0 };
	bool usable = false;
	char reason[256] = "";

	if (!vmc_vm_selftest) {
		snprintf(why, len, "the built-in VMM is not part of this"
			 " build");
		return false;
	}
	if (vmc_vm_selftest(&usable, reason, sizeof(reason), &err) < 0) {
		snprintf(why, len, "%.400s", err.msg[0] ? err.msg :
			 "/dev/kvm is not usable");
		return false;
	}
	if (!usable) {
		snprintf(why, len, "the host's KVM failed the self-test: %s",
			 reason[0] ? reason : "(no reason given)");
		return false;
	}
	snprintf(why, len, "the host's KVM passed the self-test");
	return true;
}

struct direct_ctx {
	struct vmc_engine_run *r;
	unsigned long long start;
	struct vmc_exit_split exits;
};

static bool on_console(void *ctx, const char *buf, size_t len)
{
	struct direct_ctx *c = ctx;
	bool stop;

	vmc_console_out(c->r, buf, len);
	stop = vmc_watch_console(c->r->watch, buf, len,
				 (unsigned)(vmc_now_ms() - c->start));
	vmc_exits_mark(&c->exits, vmc_watch_verdict(c->r->watch));
	return stop;
}

static void on_debug(void *ctx, const char *buf, size_t len)
{
	struct direct_ctx *c = ctx;

	vmc_firmware_out(c->r, buf, len);
	vmc_watch_debug(c->r->watch, buf, len,
			(unsigned)(vmc_now_ms() - c->start));
	vmc_exits_mark(&c->exits, vmc_watch_verdict(c->r->watch));
}

static void on_stats(void *ctx, const struct vmc_vm_stats *s)
{
	struct direct_ctx *c = ctx;

	vmc_exits_update(&c->exits, s);
}

/* The exit counts per stage into the report (and the --verbose echo). */
static void report_exits(struct direct_ctx *c, const struct vmc_vm_result *res)
{
	json_t *j = vmc_exits_json(&c->exits, vmc_watch_verdict(c->r->watch),
				   &res->stats, res->elapsed_ms);

	if (c->r->echo)
		vmc_exits_print(c->r->echo, j);
	json_object_set_new(c->r->extra, "vmm_exits", j);
}

int vmc_engine_direct_run(struct vmc_engine_run *r, struct vmc_error *err)
{
	const struct vmc_validate_opts *o = r->o;
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res = { 0 };
	struct vmc_run_end end = { 0 };
	struct direct_ctx c = { .r = r };
	struct vmc_ovmf ovmf;
	unsigned timeout_s = o->timeout_s ? o->timeout_s :
			     VMC_VALIDATE_TIMEOUT;

	if (!vmc_vm_run)
		return vmc_error_set(err, ENOSYS, "the direct engine is not"
				     " available: the built-in VMM is not"
				     " part of this build");
	cfg.disk = r->img;
	cfg.bus = o->bus;
	cfg.boot = o->boot;
	if (o->boot == VMC_BOOT_FIRMWARE && o->firmware == VMC_FIRMWARE_UEFI) {
		if (vmc_ovmf_find(&ovmf, err) < 0)
			return -1;
		cfg.uefi = true;
		cfg.bios = ovmf.code;
		cfg.bios_vars = ovmf.vars[0] ? ovmf.vars : NULL;
		json_object_set_new(r->extra, "firmware_image",
				    json_string(ovmf.code));
	} else if (o->boot == VMC_BOOT_FIRMWARE) {
		if (access(SEABIOS, R_OK) != 0)
			return vmc_error_errno(err, errno, SEABIOS " (install"
					       " the seabios package)");
		cfg.bios = SEABIOS;
	}
	cfg.kernel = o->kernel;
	cfg.initrd = o->initrd;
	cfg.cmdline = o->append;
	cfg.mem_mib = o->mem_mib;
	cfg.timeout_ms = timeout_s * 1000u;
	cfg.on_console = on_console;
	cfg.on_debug = on_debug;
	cfg.on_stats = on_stats;
	cfg.ctx = &c;
	c.start = vmc_now_ms();
	if (vmc_vm_run(&cfg, &res, err) < 0)
		return -1;
	fflush(r->log);
	end.exit = res.exit;
	end.reason = res.reason;
	/* on the console's clock (from before the VM's set-up), not the
	 * VM's own (from its first KVM_RUN): a stage the end concludes
	 * (power-off after the root) never predates the lines before it */
	end.elapsed_ms = (unsigned)(vmc_now_ms() - c.start);
	end.timeout_s = timeout_s;
	vmc_watch_finish(r->watch, &end);
	if (res.reason[0])
		json_object_set_new(r->extra, "vmm_reason",
				    json_string(res.reason));
	report_exits(&c, &res);
	return 0;
}
