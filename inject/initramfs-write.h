/* Extending an initramfs without its tool: one more cpio "newc" archive
 * appended after the others, compressed as the guest's main archive is.
 * The kernel unpacks the archives in order, so a file in the new one
 * replaces an older one of the same name (buffer-format.rst); the
 * original bytes stay as they were in front of it. */
#ifndef VMC_INJECT_INITRAMFS_WRITE_H
#define VMC_INJECT_INITRAMFS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <vmconv/error.h>

#include "inject/initramfs.h"

struct vmc_initramfs_file {
	char *path;		/* in the initramfs: "lib/modules/V/..." */
	uint8_t *data;
	size_t len;
};

/* Whether the direct rewrite can write an archive the kernel reads with
 * ir's compression (gzip, zstd, bzip2, or none); if not, why in err. */
int vmc_initramfs_can_append(const struct vmc_initramfs *ir,
			     struct vmc_error *err);

/* Write ir's bytes, then one archive holding the n files (regular, mode
 * 0644) and the directories above them that ir lacks, to the new file
 * out.  Each path is taken through ir's symbolic links first (a file
 * under lib/ goes to usr/lib/ where lib -> usr/lib), so that unpacking
 * never replaces a link with a directory. */
int vmc_initramfs_append(const struct vmc_initramfs *ir,
			 const struct vmc_initramfs_file *f, size_t n,
			 const char *out, struct vmc_error *err);

/* The content of entry name in ir (the last one of that name), copied;
 * NULL when absent (or out of memory). */
uint8_t *vmc_initramfs_get(const struct vmc_initramfs *ir, const char *name,
			   size_t *len, struct vmc_error *err);

#endif
