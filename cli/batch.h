/* The batch commands' shared pieces (cmd-batch.c, batch-view.c). */
#ifndef VMC_CLI_BATCH_H
#define VMC_CLI_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "batch/batch.h"

struct vmc_batch_view;
struct vmc_batch_view *vmc_cli_batch_view_new(const char *state,
					      const struct vmc_batch_plan *p,
					      bool tty, FILE *out);
void vmc_cli_batch_view_free(struct vmc_batch_view *v);
/* struct vmc_batch_events callbacks, ctx the view */
void vmc_cli_batch_view_started(void *ctx, size_t id);
void vmc_cli_batch_view_ended(void *ctx, size_t id, int status);
void vmc_cli_batch_view_tick(void *ctx);
/* Clear the live lines. */
void vmc_cli_batch_view_done(struct vmc_batch_view *v);

int vmc_cmd_batch(int argc, char **argv);

#endif
