/* A set of kernel module names, as the kernel spells them (dashes
 * become underscores: "virtio_blk", "ata_piix"). */
#ifndef VMC_INJECT_MODSET_H
#define VMC_INJECT_MODSET_H

#include <stdbool.h>
#include <stddef.h>

struct vmc_modset {
	char **v;
	size_t n, cap;
};

/* Add a name (or a module file's path: ".../virtio-blk.ko.xz"); -1 when
 * out of memory.  Adding twice is harmless. */
int vmc_modset_add(struct vmc_modset *s, const char *name_or_path);
bool vmc_modset_has(const struct vmc_modset *s, const char *name);
void vmc_modset_free(struct vmc_modset *s);

/* The module name of a path if it names a module file, else false. */
bool vmc_module_name(const char *path, char *name, size_t len);

#endif
