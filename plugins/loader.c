/* The plugin loader: finds *.so files in the plugin search path, checks
 * the ABI and registers their drivers.  See include/vmconv/plugin.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/plugin.h>

#include "formats/registry.h"

#ifndef VMC_PLUGIN_DIR
#define VMC_PLUGIN_DIR "/usr/local/lib/vmconv/plugins"
#endif

#define MAX_WARNINGS 32
static char *warnings[MAX_WARNINGS + 1];
static size_t n_warnings;
static pthread_once_t once = PTHREAD_ONCE_INIT;

int vmc_plugin_load(const char *path, struct vmc_error *err)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	vmc_plugin_init_fn init;
	const struct vmc_driver *d;

	if (!h)
		return vmc_error_set(err, ENOEXEC, "%s: cannot load plugin: %s",
				     path, dlerror());
	*(void **)&init = dlsym(h, VMC_PLUGIN_ENTRY_NAME);
	if (!init) {
		vmc_error_set(err, ENOEXEC, "%s: not a vmconv plugin (no %s)",
			      path, VMC_PLUGIN_ENTRY_NAME);
		goto fail;
	}
	d = init();
	if (!d) {
		vmc_error_set(err, ENOEXEC, "%s: plugin returned no driver",
			      path);
		goto fail;
	}
	if (d->abi_version != VMC_DRIVER_ABI_VERSION) {
		vmc_error_set(err, ENOEXEC,
			"%s: plugin ABI version %u, vmconv needs %u", path,
			d->abi_version, VMC_DRIVER_ABI_VERSION);
		goto fail;
	}
	/* The struct only grows at its end: an older plugin has a shorter
	 * struct and the fields it lacks stay NULL. */
	if (d->struct_size < offsetof(struct vmc_driver, pread) +
			     sizeof(d->pread) ||
	    d->struct_size > sizeof(struct vmc_driver)) {
		vmc_error_set(err, ENOEXEC,
			"%s: plugin driver struct of %u bytes (vmconv knows"
			" %zu)", path, d->struct_size,
			sizeof(struct vmc_driver));
		goto fail;
	}
	if (!d->name || !d->open || !d->pread) {
		vmc_error_set(err, ENOEXEC,
			"%s: plugin lacks a name, open or pread", path);
		goto fail;
	}
	if (vmc_registry_add(d, d->struct_size, path, err) < 0)
		goto fail;
	return 0;		/* the handle stays open for the process */
fail:
	dlclose(h);
	return -1;
}

static void warn(const char *msg)
{
	if (n_warnings < MAX_WARNINGS)
		warnings[n_warnings++] = strdup(msg);
}

static void load_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t len = strlen(nm);
		char path[PATH_MAX];
		struct vmc_error err;

		if (len > 3 && !strcmp(nm + len - 3, ".so") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, nm) <
		    (int)sizeof(path) &&
		    vmc_plugin_load(path, &err) < 0)
			warn(err.msg);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static void load_all(void)
{
	const char *env = getenv("VMCONV_PLUGIN_PATH");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env) {
		char *copy = strdup(env), *save = NULL;

		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
		     d = strtok_r(NULL, ":", &save))
			load_dir(d);
		free(copy);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 32);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			/* build tree: build/plugins beside build/vmconv */
			strcpy(slash, "/plugins");
			load_dir(exe);
			/* installed: PREFIX/bin/vmconv and
			 * PREFIX/lib/vmconv/plugins, whatever PREFIX was */
			strcpy(slash, "/../lib/vmconv/plugins");
			if (access(exe, F_OK) == 0 &&
			    strcmp(exe, VMC_PLUGIN_DIR) != 0) {
				load_dir(exe);
				return;
			}
		}
	}
	load_dir(VMC_PLUGIN_DIR);
}

void vmc_plugins_load_all(void)
{
	pthread_once(&once, load_all);
}

const char *const *vmc_plugin_warnings(void)
{
	vmc_plugins_load_all();
	return (const char *const *)warnings;
}
