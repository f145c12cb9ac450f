/* Boot stage detection and the verdict (validate/stages.c), and the
 * boot-sector check that tells the watcher what the disk holds
 * (validate/bootsector.c). */
#ifndef VMC_VALIDATE_STAGES_H
#define VMC_VALIDATE_STAGES_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
