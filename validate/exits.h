/* The VMM's exit counts split by boot stage (validate/exits.c): the
 * report's "vmm_exits" and its --verbose table. */
#ifndef VMC_VALIDATE_EXITS_H
#define VMC_VALIDATE_EXITS_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "validate/stages.h"
#include "validate/vm.h"

struct vmc_exit_split {
	struct vmc_vm_stats last;		/* the newest counts seen */
	struct vmc_vm_stats at[VMC_STAGE_COUNT];	/* at each stage */
	bool seen[VMC_STAGE_COUNT];
};

/* The counts the VMM sent (before a console or debug line). */
void vmc_exits_update(struct vmc_exit_split *x, const struct vmc_vm_stats *s);
/* After the watcher read that line: the stages it reached since start
 * at the newest counts. */
void vmc_exits_mark(struct vmc_exit_split *x, const struct vmc_verdict *v);
/* {"kvm_counters": bool, "phases": [{"phase": "start" or the stage the
 * guest was in, "from_ms", "to_ms", counters...}], "total": {...}}; end
 * is the run's last counts, at end_ms. */
json_t *vmc_exits_json(const struct vmc_exit_split *x,
		       const struct vmc_verdict *v,
		       const struct vmc_vm_stats *end, unsigned end_ms);
/* A table of the main counters per phase, from vmc_exits_json's JSON. */
void vmc_exits_print(FILE *f, const json_t *exits);

#endif
