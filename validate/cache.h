/* The validator's cache folder ($VMCONV_CACHE, else
 * $XDG_CACHE_HOME/vmconv, else ~/.cache/vmconv): the nested engine's
 * appliance, guest kernels, console logs. */
#ifndef VMC_VALIDATE_CACHE_H
#define VMC_VALIDATE_CACHE_H

#include <stddef.h>

#include <vmconv/error.h>

/* The cache folder, created. */
int vmc_cache_dir(char *buf, size_t len, struct vmc_error *err);

/* mkdir -p path (mode 0755). */
int vmc_mkdir_p(const char *path, struct vmc_error *err);

#endif
