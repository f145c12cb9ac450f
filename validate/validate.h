/* The boot validator as the layers above see it (migrate, batch, cli):
 * the options, the engines by name, and vmc_validate, which boots an
 * image and builds the report.
 *
 * Inside validate/: an engine (validate/engine.h, engine-*.c) boots the
 * image and feeds everything the guest prints on its serial console (and
 * the firmware on its debug port) to a watcher (validate/stages.h),
 * which records the boot stages with the time each was reached and
 * decides, as soon as it can, whether the guest booted and why not.
 */
#ifndef VMC_VALIDATE_VALIDATE_H
#define VMC_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <vmconv/error.h>

#include "validate/firmware.h"
#include "validate/vm.h"

enum vmc_engine {
	VMC_ENGINE_AUTO,
	VMC_ENGINE_DIRECT,
	VMC_ENGINE_NESTED,
	VMC_ENGINE_QEMU,
};

const char *vmc_engine_name(enum vmc_engine e);
int vmc_engine_parse(const char *s, enum vmc_engine *e);

struct vmc_validate_opts {
	const char *image;
	const char *format;		/* NULL: probe */
	enum vmc_engine engine;
	enum vmc_vm_bus bus;
	enum vmc_vm_boot boot;
	/* --boot=firmware: BIOS (SeaBIOS) or UEFI (OVMF); auto reads the
	 * disk's partition tables (validate/firmware.h) */
	enum vmc_firmware firmware;
	const char *kernel, *initrd, *append;
	unsigned timeout_s;		/* 0: VMC_VALIDATE_TIMEOUT */
	const char *expect;
	const char *console_log;	/* NULL: a file in the cache */
	const char *firmware_log;	/* NULL: beside the console log */
	unsigned mem_mib;		/* 0: 512 */
	/* the VM's vCPU count (0: 1); the qemu engine boots that many (up
	 * to VMC_VALIDATE_MAX_VCPUS), the built-in VMM (direct, nested)
	 * one, and the report says which */
	unsigned vcpus;
	bool no_selftest;		/* direct engine: trust /dev/kvm */
	bool verbose;			/* stream the console to stderr */
};

#define VMC_VALIDATE_TIMEOUT 120
#define VMC_VALIDATE_MAX_VCPUS 16

/* The vCPUs engine e boots for o (see vmc_validate_opts.vcpus). */
unsigned vmc_validate_vcpus(const struct vmc_validate_opts *o,
			    enum vmc_engine e);

/* Whether the built-in VMM is in this binary, and if so whether the
 * host's /dev/kvm passes its self-test.  *why says why not. */
bool vmc_direct_usable(char *why, size_t len);

/* Boot opts->image and build the report: booted, stage, reason, stages,
 * engine, engine_reason, bus, boot, console_log.  0 with *report (whatever
 * the guest did), -1 when validation could not run at all. */
int vmc_validate(const struct vmc_validate_opts *o, json_t **report,
		 struct vmc_error *err);

#endif
