/* The validator's engine interface: what one run gets and fills, the
 * table of engines (validate/validate.c) and each engine's run
 * (validate/engine-*.c). */
#ifndef VMC_VALIDATE_ENGINE_H
#define VMC_VALIDATE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <vmconv/image.h>

#include "validate/stages.h"
#include "validate/validate.h"

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

int vmc_engine_direct_run(struct vmc_engine_run *r, struct vmc_error *err);
/* The nested engine sets r->verdict from the inner run's report. */
int vmc_engine_nested_run(struct vmc_engine_run *r, struct vmc_error *err);

#endif
