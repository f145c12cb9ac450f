/* The format driver registry: the built-in table, the drivers the plugin
 * loader hands it (vmc_registry_add), probing.  The registry never calls
 * the loader: the program loads plugins at start (cli/main.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <vmconv/image.h>

#include "common/confine.h"

#include "formats/registry.h"

/* Built-in formats, in one explicit table (no constructor tricks). */
static const struct vmc_driver *const builtin[] = {
	&vmc_raw_driver,
	&vmc_qcow2_driver,
	&vmc_vmdk_driver,
	&vmc_vhdx_driver,
};

#define MAX_PLUGINS 64
static struct vmc_driver plugin_drv[MAX_PLUGINS];
static size_t n_plugins;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

size_t vmc_driver_count(void)
{
	return sizeof(builtin) / sizeof(builtin[0]) + n_plugins;
}

const struct vmc_driver *vmc_driver_at(size_t i)
{
	size_t nb = sizeof(builtin) / sizeof(builtin[0]);

	if (i < nb)
		return builtin[i];
	if (i - nb < n_plugins)
		return &plugin_drv[i - nb];
	return NULL;
}

static bool has_name(const struct vmc_driver *d, const char *name)
{
	if (!strcasecmp(d->name, name))
		return true;
	for (size_t i = 0; d->aliases && d->aliases[i]; i++)
		if (!strcasecmp(d->aliases[i], name))
			return true;
	return false;
}

const struct vmc_driver *vmc_driver_find(const char *name)
{
	size_t n = vmc_driver_count();

	for (size_t i = 0; i < n; i++)
		if (has_name(vmc_driver_at(i), name))
			return vmc_driver_at(i);
	return NULL;
}

int vmc_registry_add(const struct vmc_driver *d, size_t size,
		     const char *path, struct vmc_error *err)
{
	int ret = -1;
	size_t nb = sizeof(builtin) / sizeof(builtin[0]);

	pthread_mutex_lock(&lock);
	if (n_plugins == MAX_PLUGINS) {
		vmc_error_set(err, ENOSPC, "%s: too many plugins (at most %d)",
			      path, MAX_PLUGINS);
		goto out;
	}
	for (size_t i = 0; i < nb + n_plugins; i++) {
		const struct vmc_driver *o = i < nb ? builtin[i]
						    : &plugin_drv[i - nb];
		bool clash = has_name(o, d->name);

		for (size_t j = 0; !clash && d->aliases && d->aliases[j]; j++)
			clash = has_name(o, d->aliases[j]);
		if (clash) {
			vmc_error_set(err, EEXIST,
				"%s: format '%s' is already provided by '%s'",
				path, d->name, o->name);
			goto out;
		}
	}
	memset(&plugin_drv[n_plugins], 0, sizeof(plugin_drv[0]));
	memcpy(&plugin_drv[n_plugins], d, size);
	plugin_drv[n_plugins].struct_size = sizeof(struct vmc_driver);
	n_plugins++;
	ret = 0;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

#define PROBE_BYTES 4096

const struct vmc_driver *vmc_driver_probe(const char *filename,
					  struct vmc_error *err)
{
	uint8_t buf[PROBE_BYTES];
	const struct vmc_driver *best = NULL;
	int best_score = 0, fd;
	ssize_t len;
	size_t n;

	fd = vmc_confine_open(filename, O_RDONLY, true, err);
	if (fd < 0)
		return NULL;
	len = vmc_file_pread(fd, buf, sizeof(buf), 0);
	vmc_file_close(fd);
	if (len < 0) {
		vmc_error_errno(err, errno, "%s: cannot read header", filename);
		return NULL;
	}
	n = vmc_driver_count();
	for (size_t i = 0; i < n; i++) {
		const struct vmc_driver *d = vmc_driver_at(i);
		int score;

		if (!d->probe)
			continue;
		score = d->probe(buf, (size_t)len, filename);
		if (score > best_score) {
			best_score = score;
			best = d;
		}
	}
	if (!best)
		vmc_error_set(err, EINVAL, "%s: unknown image format", filename);
	return best;
}
