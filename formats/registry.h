/* Internal: the built-in drivers and the registry's plugin hook. */
#ifndef VMC_FORMATS_REGISTRY_H
#define VMC_FORMATS_REGISTRY_H

#include <vmconv/image.h>

extern const struct vmc_driver vmc_raw_driver;
extern const struct vmc_driver vmc_qcow2_driver;
extern const struct vmc_driver vmc_vmdk_driver;
extern const struct vmc_driver vmc_vhdx_driver;

/* Add a copy of the first size bytes of d (a plugin's table). */
int vmc_registry_add(const struct vmc_driver *d, size_t size,
		     const char *path, struct vmc_error *err);

#endif
