/* The boot validator: engines, stage detection and the verdict.
 *
 * An engine boots the image (validate/engine-*.c) and feeds everything the
 * guest prints on its serial console (and the firmware on its debug port)
 * to a watcher (validate/stages.c), which records the boot stages with the
 * time each was reached and decides, as soon as it can, whether the guest
 * booted and why not.  validate/validate.c picks the engine, saves the
 * console log and builds the report.
 */
#ifndef VMC_VALIDATE_VALIDATE_H
#define VMC_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <vmconv/image.h>

#include "validate/vm.h"

enum vmc_stage {
	VMC_STAGE_FIRMWARE,	/* the firmware ran */
	VMC_STAGE_BOOTLOADER,	/* the disk's boot code ran */
	VMC_STAGE_KERNEL,	/* the guest kernel started */
	VMC_STAGE_ROOT,		/* the real root filesystem is mounted */
	VMC_STAGE_USERSPACE,	/* init from the root, a login prompt, or
				 * the --expect marker */
	VMC_STAGE_COUNT
};

const char *vmc_stage_name(enum vmc_stage s);

/* How a run ended, as the engine saw it. */
struct vmc_run_end {
	enum vmc_vm_exit exit;
	const char *reason;	/* the VMM's or the engine's words, or NULL */
	unsigned elapsed_ms;
	unsigned timeout_s;
};

struct vmc_verdict {
	bool booted;
	int stage;			/* furthest stage reached, -1 none */
	bool reached[VMC_STAGE_COUNT];
	unsigned stage_ms[VMC_STAGE_COUNT];	/* since the VM started */
	char reason[768];
};

struct vmc_watch;

/* expect: an extended regular expression that, when a console line
 * matches it, means userspace was reached (NULL for none). */
struct vmc_watch *vmc_watch_new(enum vmc_vm_bus bus, const char *expect,
				struct vmc_error *err);
void vmc_watch_free(struct vmc_watch *w);

/* The watcher reads a screen now and then: lines may come twice. */
void vmc_watch_set_screen(struct vmc_watch *w);

/* What the validator found on the disk before booting it: false when
 * sector 0 has no 0x55AA signature. */
void vmc_watch_set_boot_signature(struct vmc_watch *w, bool present);

/* Console bytes (serial, or VGA text) and firmware debug-port bytes, at
 * ms since the VM started.  Return true once the verdict is final and the
 * VM can be stopped. */
bool vmc_watch_console(struct vmc_watch *w, const char *buf, size_t len,
		       unsigned ms);
bool vmc_watch_debug(struct vmc_watch *w, const char *buf, size_t len,
		     unsigned ms);

/* Text on the line where the cursor waits (a screen's last row): checked
 * for prompts only ("login:", "(initramfs)", "grub rescue>"). */
bool vmc_watch_prompt(struct vmc_watch *w, const char *text, unsigned ms);

/* True once the verdict is final. */
bool vmc_watch_done(const struct vmc_watch *w);

/* The run is over: settle the verdict (timeouts, power-off, resets). */
void vmc_watch_finish(struct vmc_watch *w, const struct vmc_run_end *end);

const struct vmc_verdict *vmc_watch_verdict(const struct vmc_watch *w);

/* {"booted", "stage", "reason", "stages": [{"stage", "ms"}...]} */
json_t *vmc_verdict_json(const struct vmc_verdict *v);

/* Read sector 0: *signature is false when it has no 0x55AA boot
 * signature (a wiped or never-installed boot sector). */
int vmc_bootsector_check(struct vmc_image *img, bool *signature,
			 struct vmc_error *err);

/* ---- engines ---- */

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
	const char *kernel, *initrd, *append;
	unsigned timeout_s;		/* 0: VMC_VALIDATE_TIMEOUT */
	const char *expect;
	const char *console_log;	/* NULL: a file in the cache */
	const char *firmware_log;	/* NULL: beside the console log */
	unsigned mem_mib;		/* 0: 512 */
	bool no_selftest;		/* direct engine: trust /dev/kvm */
	bool verbose;			/* stream the console to stderr */
};

#define VMC_VALIDATE_TIMEOUT 120

/* What one engine run hands back.  The engine fills the watcher; the log
 * file gets every console byte. */
struct vmc_engine_run {
	const struct vmc_validate_opts *o;
	struct vmc_image *img;		/* opened by the caller */
	unsigned img_files;		/* files it opened (backing, extents) */
	struct vmc_watch *watch;
	FILE *log;			/* console log */
	const char *log_path;
	FILE *fwlog;			/* firmware debug-port log, or NULL */
	uint64_t log_bytes, fwlog_bytes;	/* written so far */
	FILE *echo;			/* NULL or stderr (--verbose) */
	json_t *extra;			/* engine-specific report keys */
	/* The VGA text screen's own watcher, for guests whose console is
	 * only on the screen; its verdict counts when use_screen is set. */
	struct vmc_watch *screen;
	bool use_screen;
	/* An engine whose verdict comes from elsewhere (the nested engine:
	 * the inner run's report) sets it here as JSON {booted, stage,
	 * reason, stages, vmm_reason} instead of filling the watcher. */
	json_t *verdict;
};

/* Each log keeps at most this much of what the guest wrote. */
#define VMC_CONSOLE_LOG_MAX (16ULL << 20)
/* Guest console bytes to the log (capped, fflushed) and the echo; firmware
 * debug-port bytes to the firmware log, if any (capped). */
void vmc_console_out(struct vmc_engine_run *r, const char *buf, size_t len);
void vmc_firmware_out(struct vmc_engine_run *r, const char *buf,
		      size_t len);

/* The engines, in the order auto tries them (validate/validate.c). */
struct vmc_engine_ops {
	enum vmc_engine id;
	bool in_auto;		/* auto may choose it (not the reference) */
	/* Whether the engine can run on this host; why says why not (or,
	 * for direct, why it can). */
	bool (*usable)(char *why, size_t len);
	/* Boot r->img, feed r->watch (or set r->verdict) and r->log. */
	int (*run)(struct vmc_engine_run *r, struct vmc_error *err);
};
const struct vmc_engine_ops *vmc_engine_ops(enum vmc_engine e);

int vmc_engine_qemu_run(struct vmc_engine_run *r, struct vmc_error *err);

/* The kernel, initramfs and command line the guest's own boot loader
 * configuration names (GRUB, SYSLINUX, EXTLINUX), copied into dir with
 * libguestfs; *initrd is "" when there is none. */
/* Writes guest console bytes to a terminal with every control byte (and
 * anything not printable ASCII) shown as \xNN; carriage returns dropped. */
void vmc_echo(FILE *f, const char *buf, size_t len);

int vmc_guest_kernel(const char *image, const char *qfmt, bool kvm,
		     const char *dir, char *kernel, char *initrd,
		     char *append, size_t len, struct vmc_error *err);

/* Parse a boot loader configuration (GRUB when the path says grub, else
 * SYSLINUX/EXTLINUX) found at cfgpath; text is modified.  The default (or
 * first) entry's kernel and initrd as paths in that file system (initrd
 * "" if none) and its arguments without initrd= and BOOT_IMAGE=. */
int vmc_bootcfg_parse(const char *cfgpath, char *text, char *kernel,
		      char *initrd, char *append, size_t len);

int vmc_engine_direct_run(struct vmc_engine_run *r, struct vmc_error *err);
/* The nested engine sets r->verdict from the inner run's report. */
int vmc_engine_nested_run(struct vmc_engine_run *r, struct vmc_error *err);


/* Whether the built-in VMM is in this binary, and if so whether the
 * host's /dev/kvm passes its self-test.  *why says why not. */
bool vmc_direct_usable(char *why, size_t len);

/* Boot opts->image and build the report: booted, stage, reason, stages,
 * engine, engine_reason, bus, boot, console_log.  0 with *report (whatever
 * the guest did), -1 when validation could not run at all. */
int vmc_validate(const struct vmc_validate_opts *o, json_t **report,
		 struct vmc_error *err);

/* The appliance for the nested engine: kernel and initramfs in the cache
 * (built on first use).  Paths are filled in. */
struct vmc_appliance {
	char kernel[4096 + 64];
	char initrd[4096 + 128];
	char kver[128];
	bool built;		/* built now rather than found in the cache */
};
int vmc_appliance_get(struct vmc_appliance *a, struct vmc_error *err);

#endif
