/* An initramfs as the kernel reads it (Documentation/driver-api/
 * early-userspace/buffer-format.rst): cpio "newc" archives one after the
 * other, each compressed or not, zeros between them.  Loaded from a host
 * file (a guest's, downloaded: untrusted), listed entry by entry, and
 * extended by one appended compressed archive (inject/initramfs-write.c)
 * that the kernel unpacks over the others. */
#ifndef VMC_INJECT_INITRAMFS_H
#define VMC_INJECT_INITRAMFS_H

#include <stdint.h>

#include <vmconv/error.h>

#include "inject/modset.h"

/* Largest initramfs vmconv reads, and largest decompressed content (a
 * guest file is untrusted). */
#define VMC_INITRAMFS_MAX (512ull << 20)

struct vmc_initramfs {
	char path[4096];
	uint8_t *buf;			/* the file */
	uint64_t len;
	uint64_t comp_off;		/* the compressed part (len: none) */
	int filter;			/* its libarchive filter code */
	char filter_name[16];		/* "gzip", "zstd", ... or "none" */
	uint8_t *plain;			/* the compressed part, decompressed */
	uint64_t plain_len;
};

struct vmc_cpio_entry {
	const char *name;		/* as stored ("./conf/modules") */
	uint32_t mode;			/* type and permissions */
	const uint8_t *data;		/* size bytes (a symlink: its target) */
	uint64_t size;
};

/* Called for each entry but the trailers; non-zero stops the walk and is
 * returned. */
typedef int (*vmc_cpio_fn)(void *ctx, const struct vmc_cpio_entry *e);

int vmc_initramfs_load(const char *path, struct vmc_initramfs *ir,
		       struct vmc_error *err);
/* Every entry of every archive, in the order the kernel unpacks them. */
int vmc_initramfs_walk(const struct vmc_initramfs *ir, vmc_cpio_fn fn,
		       void *ctx, struct vmc_error *err);
void vmc_initramfs_free(struct vmc_initramfs *ir);

/* A name without its leading "./" or "/" ("conf/modules"). */
const char *vmc_cpio_name(const char *name);

/* Add the module names in the initramfs at host path to mods;
 * *entries counts the archive's entries (0: not an initramfs). */
int vmc_initramfs_modules(const char *path, struct vmc_modset *mods,
			  size_t *entries, struct vmc_error *err);

#endif
