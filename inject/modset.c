/* Sets of kernel module names.  See inject/modset.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/modset.h"

static const char *const suffixes[] = {
	".ko", ".ko.xz", ".ko.zst", ".ko.gz",
};

bool vmc_module_name(const char *path, char *name, size_t len)
{
	const char *b = strrchr(path, '/');
	size_t bl;

	b = b ? b + 1 : path;
	bl = strlen(b);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (bl > sl && !strcmp(b + bl - sl, suffixes[i]) &&
		    bl - sl < len) {
			for (size_t j = 0; j < bl - sl; j++)
				name[j] = b[j] == '-' ? '_' : b[j];
			name[bl - sl] = 0;
			return true;
		}
	}
	return false;
}

bool vmc_modset_has(const struct vmc_modset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return true;
	return false;
}

int vmc_modset_add(struct vmc_modset *s, const char *name_or_path)
{
	char name[256];
	size_t i;

	if (!vmc_module_name(name_or_path, name, sizeof(name))) {
		snprintf(name, sizeof(name), "%s", name_or_path);
		for (i = 0; name[i]; i++)
			if (name[i] == '-')
				name[i] = '_';
	}
	if (vmc_modset_has(s, name))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(name);
	if (!s->v[s->n])
		return -1;
	s->n++;
	return 0;
}

void vmc_modset_free(struct vmc_modset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
