/* Differencing-disk parents: the parent search of include/vmconv/driver.h.
 * It opens images, so it lives beside formats/image.c, above common/. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/driver.h>
#include <vmconv/image.h>

#include "common/bytes.h"
#include "common/confine.h"

const char *vmc_parent_base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

int vmc_parent_add(struct vmc_parent_search *ps, const char *child,
		   const char *name, struct vmc_error *err)
{
	char *c;

	if (ps->n >= VMC_PARENT_MAX_CANDIDATES)
		return vmc_error_set(err, EINVAL,
			"%s: more than %d parent candidates", child,
			VMC_PARENT_MAX_CANDIDATES);
	c = vmc_path_relative_to(child, name);
	if (!c)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < ps->n; i++) {
		if (!strcmp(ps->cand[i], c)) {
			free(c);
			return 0;
		}
	}
	ps->name[ps->n] = strdup(name);
	if (!ps->name[ps->n]) {
		free(c);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	ps->cand[ps->n++] = c;
	return 0;
}

static void note_tried(struct vmc_parent_search *ps, const char *path)
{
	size_t room = sizeof(ps->tried) - ps->tried_len;
	int w = snprintf(ps->tried + ps->tried_len, room, "%s%s",
			 ps->tried_len ? ", " : "", path);

	/* A list cut at the buffer's end still names the first paths. */
	if (w > 0)
		ps->tried_len = VMC_MIN(ps->tried_len + (size_t)w,
					sizeof(ps->tried) - 1);
}

int vmc_parent_open(struct vmc_parent_search *ps,
		    const struct vmc_image *child, vmc_parent_check_fn check,
		    void *ctx, struct vmc_image **parent, char **parent_path,
		    struct vmc_error *err)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct vmc_image *p;
		struct vmc_error e;
		char *real;

		real = vmc_confine_resolve(child->filename, "parent locator",
					   ps->name[i], &e);
		if (!real && e.code == ENOENT) {
			note_tried(ps, ps->cand[i]);
			continue;
		}
		if (!real) {
			if (err)
				*err = e;
			return -1;
		}
		p = vmc_image_open(real, NULL, child->flags & ~VMC_OPEN_RDWR,
				   NULL, err);
		free(real);
		if (!p) {
			vmc_error_prefix(err, "%s: parent", child->filename);
			return -1;
		}
		if (check && check(ctx, p, ps->cand[i], err) < 0) {
			vmc_image_close(p);
			return -1;
		}
		*parent = p;
		*parent_path = ps->cand[i];
		ps->cand[i] = NULL;
		return 1;
	}
	return 0;
}

void vmc_parent_search_free(struct vmc_parent_search *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->cand[i]);
		free(ps->name[i]);
	}
	ps->n = 0;
}

void vmc_parent_info(json_t *obj, const char *path, const char *format)
{
	json_object_set_new(obj, "backing-filename", json_string(path));
	json_object_set_new(obj, "full-backing-filename", json_string(path));
	json_object_set_new(obj, "backing-filename-format",
			    json_string(format));
}

int vmc_parent_pread(struct vmc_image *parent, uint8_t *buf, uint64_t len,
		     uint64_t off, struct vmc_error *err)
{
	uint64_t n = 0;

	if (parent && off < parent->size) {
		n = VMC_MIN(len, parent->size - off);
		if (vmc_image_pread(parent, buf, (size_t)n, off, err) < 0)
			return -1;
	}
	memset(buf + n, 0, (size_t)(len - n));
	return 0;
}
