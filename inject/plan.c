/* The list of changes injection makes.  See inject/plan.h. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/plan.h"

int vmc_plan_add(struct vmc_plan *p, const char *file, const char *before,
		 const char *after)
{
	return vmc_plan_add_method(p, file, before, after, NULL);
}

const char *vmc_plan_method(const struct vmc_plan *p, const char *file)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].method && !strcmp(p->c[i].file, file))
			return p->c[i].method;
	return NULL;
}

int vmc_plan_add_method(struct vmc_plan *p, const char *file,
			const char *before, const char *after,
			const char *method)
{
	struct vmc_change *c;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		c = realloc(p->c, cap * sizeof(*c));
		if (!c)
			return -1;
		p->c = c;
		p->cap = cap;
	}
	c = &p->c[p->n];
	c->file = strdup(file);
	c->before = strdup(before);
	c->after = strdup(after);
	c->method = method;
	if (!c->file || !c->before || !c->after) {
		free(c->file);
		free(c->before);
		free(c->after);
		return -1;
	}
	p->n++;
	return 0;
}

int vmc_plan_note(struct vmc_plan *p, const char *fmt, ...)
{
	char **v = realloc(p->notes, (p->nnotes + 1) * sizeof(*v));
	va_list ap;
	int r;

	if (!v)
		return -1;
	p->notes = v;
	va_start(ap, fmt);
	r = vasprintf(&v[p->nnotes], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	p->nnotes++;
	return 0;
}

void vmc_plan_free(struct vmc_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->c[i].file);
		free(p->c[i].before);
		free(p->c[i].after);
	}
	for (size_t i = 0; i < p->nnotes; i++)
		free(p->notes[i]);
	free(p->c);
	free(p->notes);
	memset(p, 0, sizeof(*p));
}

json_t *vmc_plan_json(const struct vmc_plan *p)
{
	json_t *o = json_object(), *ch = json_array(), *notes = json_array();

	for (size_t i = 0; i < p->n; i++) {
		json_t *c = json_pack("{s:s, s:s, s:s}", "file", p->c[i].file,
				      "before", p->c[i].before,
				      "after", p->c[i].after);

		if (p->c[i].method)
			json_object_set_new(c, "method",
					    json_string(p->c[i].method));
		json_array_append_new(ch, c);
	}
	for (size_t i = 0; i < p->nnotes; i++)
		json_array_append_new(notes, json_string(p->notes[i]));
	json_object_set_new(o, "changes", ch);
	json_object_set_new(o, "notes", notes);
	return o;
}
