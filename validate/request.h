/* A validation request as JSON: how the nested engine hands the run to
 * the vmconv inside its appliance (a file in the appliance's own
 * initramfs), instead of spelling the options as command-line flags.
 *
 *   {"image": "/img/disk.vhdx", "format": "vhdx", "engine": "direct",
 *    "selftest": false, "bus": "ide", "boot": "firmware",
 *    "firmware": "bios", "timeout": 120, "memory": 512, "kernel": ..., "initrd": ...,
 *    "append": ..., "expect": ...}
 */
#ifndef VMC_VALIDATE_REQUEST_H
#define VMC_VALIDATE_REQUEST_H

#include <jansson.h>

#include "validate/validate.h"

/* The request for o, with image and format as the inner run sees them. */
json_t *vmc_request_new(const struct vmc_validate_opts *o,
			const char *image, const char *format);

/* Read a request file into o (fields it lacks stay as they are); the
 * strings of o point into *holder, which the caller frees with
 * json_decref after the run. */
int vmc_request_load(const char *path, struct vmc_validate_opts *o,
		     json_t **holder, struct vmc_error *err);

#endif
