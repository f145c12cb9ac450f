/* vmconv key=value option lists: see include/vmconv/opts.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vmconv/opts.h>

struct vmc_opt {
	char *key;
	char *value;
	bool used;
};

struct vmc_opts {
	struct vmc_opt *v;
	size_t n;
};

struct vmc_opts *vmc_opts_new(void)
{
	return calloc(1, sizeof(struct vmc_opts));
}

void vmc_opts_free(struct vmc_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].value);
	}
	free(o->v);
	free(o);
}

struct vmc_opts *vmc_opts_dup(const struct vmc_opts *o)
{
	struct vmc_opts *c = vmc_opts_new();

	for (size_t i = 0; c && o && i < o->n; i++) {
		struct vmc_error err;

		if (vmc_opts_set(c, o->v[i].key, o->v[i].value, &err) < 0) {
			vmc_opts_free(c);
			return NULL;
		}
		c->v[i].used = o->v[i].used;
	}
	return c;
}

static struct vmc_opt *find(const struct vmc_opts *o, const char *key)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (strcmp(o->v[i].key, key) == 0)
			return &o->v[i];
	return NULL;
}

int vmc_opts_set(struct vmc_opts *o, const char *key, const char *value,
		 struct vmc_error *err)
{
	struct vmc_opt *e = find(o, key), *nv;
	char *v = strdup(value);

	if (!v)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (e) {
		free(e->value);
		e->value = v;
		e->used = false;
		return 0;
	}
	nv = realloc(o->v, (o->n + 1) * sizeof(*nv));
	if (!nv || !(key = strdup(key))) {
		if (nv)
			o->v = nv;
		free(v);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	o->v = nv;
	o->v[o->n++] = (struct vmc_opt){ (char *)key, v, false };
	return 0;
}

int vmc_opts_parse(struct vmc_opts *o, const char *str, struct vmc_error *err)
{
	size_t len = strlen(str);
	char *buf = malloc(len + 1);
	const char *p = str;
	int ret = 0;

	if (!buf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	while (*p && ret == 0) {
		size_t n = 0;
		char *eq;

		/* One item up to a single comma; ",," is a literal comma. */
		while (*p) {
			if (*p == ',') {
				if (p[1] == ',') {
					buf[n++] = ',';
					p += 2;
					continue;
				}
				p++;
				break;
			}
			buf[n++] = *p++;
		}
		buf[n] = '\0';
		if (n == 0)
			continue;
		eq = strchr(buf, '=');
		if (!eq || eq == buf) {
			ret = vmc_error_set(err, EINVAL,
				"option '%s' is not of the form key=value",
				buf);
			break;
		}
		*eq = '\0';
		ret = vmc_opts_set(o, buf, eq + 1, err);
	}
	free(buf);
	return ret;
}

const char *vmc_opts_get(struct vmc_opts *o, const char *key)
{
	struct vmc_opt *e = find(o, key);

	if (!e)
		return NULL;
	e->used = true;
	return e->value;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "on") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") ||
		 !strcasecmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int parse_uint(const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 0);
	return errno || end == v || *end || *v == '-' ? -1 : 0;
}

int vmc_opts_get_bool(struct vmc_opts *o, const char *key, bool def,
		      bool *out, struct vmc_error *err)
{
	const char *v = vmc_opts_get(o, key);

	*out = def;
	if (v && parse_bool(v, out) < 0)
		return vmc_error_set(err, EINVAL,
			"option %s: '%s' is not on or off", key, v);
	return 0;
}

int vmc_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': if (end[1] == '\0') { end++; break; } return -1;
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	case 't': shift = 40; end++; break;
	case 'p': shift = 50; end++; break;
	default: return -1;
	}
	if (shift && (!strcasecmp(end, "b") || !strcasecmp(end, "ib")))
		end += strlen(end);
	if (*end)
		return -1;
	if (shift && n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

int vmc_opts_get_size(struct vmc_opts *o, const char *key, uint64_t def,
		      uint64_t *out, struct vmc_error *err)
{
	const char *v = vmc_opts_get(o, key);

	*out = def;
	if (v && vmc_parse_size(v, out) < 0)
		return vmc_error_set(err, EINVAL,
			"option %s: '%s' is not a size", key, v);
	return 0;
}

int vmc_opts_get_uint(struct vmc_opts *o, const char *key, uint64_t def,
		      uint64_t *out, struct vmc_error *err)
{
	const char *v = vmc_opts_get(o, key);

	*out = def;
	if (v && parse_uint(v, out) < 0)
		return vmc_error_set(err, EINVAL,
			"option %s: '%s' is not a number", key, v);
	return 0;
}

int vmc_opts_check_used(const struct vmc_opts *o, const char *what,
			struct vmc_error *err)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (!o->v[i].used)
			return vmc_error_set(err, EINVAL,
				"%s: unknown option '%s'", what, o->v[i].key);
	return 0;
}

const struct vmc_opt_desc *vmc_opt_desc_find(const struct vmc_opt_desc *desc,
					     const char *name)
{
	for (; desc && desc->name; desc++)
		if (!strcmp(desc->name, name))
			return desc;
	return NULL;
}

const char *vmc_opt_type_name(enum vmc_opt_type type)
{
	switch (type) {
	case VMC_OPT_BOOL: return "bool (on/off)";
	case VMC_OPT_UINT: return "num";
	case VMC_OPT_SIZE: return "size";
	default: return "str";
	}
}

/* Whether v is a value of d's type and among its choices. */
static int check_value(const struct vmc_opt_desc *d, const char *v,
		       const char *what, struct vmc_error *err)
{
	static const char *const type_err[] = {
		[VMC_OPT_BOOL] = "on or off", [VMC_OPT_UINT] = "a number",
		[VMC_OPT_SIZE] = "a size",
	};
	char list[VMC_ERROR_MSG_MAX / 2] = "";
	size_t n = 0;
	uint64_t u;
	bool b;
	int bad;

	switch (d->type) {
	case VMC_OPT_BOOL: bad = parse_bool(v, &b); break;
	case VMC_OPT_UINT: bad = parse_uint(v, &u); break;
	case VMC_OPT_SIZE: bad = vmc_parse_size(v, &u); break;
	default: bad = 0; break;
	}
	if (bad)
		return vmc_error_set(err, EINVAL, "%s: option %s: '%s' is not"
				     " %s", what, d->name, v,
				     type_err[d->type]);
	if (!d->choices)
		return 0;
	for (const char *const *c = d->choices; *c; c++) {
		if (!strcmp(*c, v))
			return 0;
		n += (size_t)snprintf(list + n, n < sizeof(list) ?
				      sizeof(list) - n : 0, "%s%s",
				      c == d->choices ? "" : ", ", *c);
	}
	return vmc_error_set(err, EINVAL, "%s: option %s must be one of %s,"
			     " not '%s'", what, d->name, list, v);
}

int vmc_opts_apply(struct vmc_opts *o, const struct vmc_opt_desc *desc,
		   const char *what, struct vmc_error *err)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct vmc_opt_desc *d = vmc_opt_desc_find(desc,
							     o->v[i].key);

		if (!d)
			return vmc_error_set(err, EINVAL,
				"%s: unknown option '%s'", what, o->v[i].key);
		if (check_value(d, o->v[i].value, what, err) < 0)
			return -1;
	}
	for (; desc && desc->name; desc++) {
		if (!desc->def || find(o, desc->name))
			continue;
		if (vmc_opts_set(o, desc->name, desc->def, err) < 0)
			return -1;
		find(o, desc->name)->used = true;
	}
	return 0;
}
