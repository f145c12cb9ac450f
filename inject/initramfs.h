/* What an initramfs holds: the kernel modules in it, read from the file
 * with libarchive (every segment: the uncompressed early cpio that
 * microcode and dracut put first, then the compressed main archive). */
#ifndef VMC_INJECT_INITRAMFS_H
#define VMC_INJECT_INITRAMFS_H

#include <vmconv/error.h>

#include "inject/modset.h"

/* Largest initramfs vmconv reads (a guest file is untrusted). */
#define VMC_INITRAMFS_MAX (512ull << 20)

/* Add the module names in the initramfs at host path to mods;
 * *entries counts the archive's entries (0: not an initramfs). */
int vmc_initramfs_modules(const char *path, struct vmc_modset *mods,
			  size_t *entries, struct vmc_error *err);

#endif
