/* vmconv format plugins.
 *
 * A plugin is a shared object exporting one symbol, VMC_PLUGIN_ENTRY, that
 * returns its driver table.  The loader checks abi_version, copies only
 * struct_size bytes (so plugins built against an older, shorter struct keep
 * working) and refuses names that clash with a loaded driver.  Plugins may
 * call every vmc_* function of the library (the vmconv binary exports
 * them).  nbdkit's plugin_register() is the model.
 *
 *   #include <vmconv/plugin.h>
 *   static const struct vmc_driver drv = { VMC_DRIVER_INIT, .name = ... };
 *   VMC_REGISTER_PLUGIN(drv)
 *
 * Plugins are searched in $VMCONV_PLUGIN_PATH (colon-separated folders)
 * alone when it is set; otherwise in a "plugins" folder beside the vmconv
 * binary (the build tree), then in ../lib/vmconv/plugins relative to the
 * binary (an installed vmconv), else in the compiled-in plugin folder.
 */
#ifndef VMCONV_PLUGIN_H
#define VMCONV_PLUGIN_H

#include <vmconv/image.h>

#define VMC_PLUGIN_ENTRY vmc_plugin_init
#define VMC_PLUGIN_ENTRY_NAME "vmc_plugin_init"

typedef const struct vmc_driver *(*vmc_plugin_init_fn)(void);

#define VMC_DRIVER_INIT \
	.abi_version = VMC_DRIVER_ABI_VERSION, \
	.struct_size = sizeof(struct vmc_driver)

#define VMC_REGISTER_PLUGIN(drv) \
	const struct vmc_driver *VMC_PLUGIN_ENTRY(void); \
	__attribute__((visibility("default"))) \
	const struct vmc_driver *VMC_PLUGIN_ENTRY(void) { return &(drv); }

#ifdef __cplusplus
extern "C" {
#endif

/* Load one plugin file and add its driver to the registry. */
int vmc_plugin_load(const char *path, struct vmc_error *err);

/* Load every *.so of the search path (once; later calls do nothing).
 * Problems with single plugins are collected, not fatal: see
 * vmc_plugin_warnings(). */
void vmc_plugins_load_all(void);

/* Messages about plugins that failed to load, NULL-terminated. */
const char *const *vmc_plugin_warnings(void);

#ifdef __cplusplus
}
#endif
#endif
