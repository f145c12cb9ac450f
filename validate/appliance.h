/* The nested engine's appliance (validate/appliance.c). */
#ifndef VMC_VALIDATE_APPLIANCE_H
#define VMC_VALIDATE_APPLIANCE_H

#include <stdbool.h>

#include <vmconv/error.h>

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
