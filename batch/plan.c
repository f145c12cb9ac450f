/* Batch plans: JSON ({"dest": D, "vms": [{...}, ...]} or a bare array)
 * and CSV inventories with a header row (columns name, source, to, bus,
 * validate, inject, expect, dest, engine, timeout; name, source and to
 * required; inject left empty is the one-command form's default).
 * Both become the same list of entries with absolute paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "batch/batch.h"
#include "batch/csv.h"
#include "migrate/migrate.h"

#define PLAN_MAX_BYTES (64u << 20)
#define PLAN_MAX_VMS 100000

static char *abs_path(const char *base, const char *p)
{
	char *r;

	if (!p || !*p)
		return NULL;
	if (p[0] == '/' || !base)
		return strdup(p);
	if (asprintf(&r, "%s/%s", base, p) < 0)
		return NULL;
	return r;
}

static bool parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "yes", "y", "true", "1", "on" };
	static const char *const no[] = { "no", "n", "false", "0", "off", "" };

	for (size_t i = 0; i < 5; i++)
		if (!strcasecmp(s, yes[i]))
			return *v = true, true;
	for (size_t i = 0; i < 6; i++)
		if (!strcasecmp(s, no[i]))
			return *v = false, true;
	return false;
}

/* Set one field of vm from its text; base is the plan's folder. */
static int set_field(struct vmc_batch_vm *vm, const char *key,
		     const char *val, const char *base, const char *where,
		     struct vmc_error *err)
{
	char **slot = NULL;

	if (!strcmp(key, "name")) slot = &vm->name;
	else if (!strcmp(key, "to")) slot = &vm->to;
	else if (!strcmp(key, "bus")) slot = &vm->bus;
	else if (!strcmp(key, "expect")) slot = &vm->expect;
	else if (!strcmp(key, "engine")) slot = &vm->engine;
	if (slot) {
		free(*slot);
		*slot = *val ? strdup(val) : NULL;
		return 0;
	}
	if (!strcmp(key, "source") || !strcmp(key, "dest")) {
		slot = key[0] == 's' ? &vm->source : &vm->dest;
		free(*slot);
		*slot = abs_path(base, val);
		return 0;
	}
	if (!strcmp(key, "validate")) {
		if (!parse_bool(val, &vm->validate))
			return vmc_error_set(err, EINVAL, "%s: validate must be"
					     " yes or no, not '%s'", where, val);
		return 0;
	}
	if (!strcmp(key, "inject")) {
		if (!parse_bool(val, &vm->inject))
			return vmc_error_set(err, EINVAL, "%s: inject must"
					     " be yes or no, not '%s'", where,
					     val);
		vm->inject_set = *val != 0;
		return 0;
	}
	if (!strcmp(key, "timeout")) {
		char *end;
		unsigned long t = strtoul(val, &end, 10);

		if (*val && (*end || t == 0 || t > 86400))
			return vmc_error_set(err, EINVAL, "%s: timeout must be"
					     " 1..86400 seconds, not '%s'",
					     where, val);
		vm->timeout_s = *val ? (unsigned)t : 0;
		return 0;
	}
	return vmc_error_set(err, EINVAL, "%s: unknown column or key '%s'"
			     " (name, source, to, bus, validate, inject,"
			     " expect, dest, engine, timeout)", where, key);
}

static int finish_vm(struct vmc_batch_vm *vm, const char *dest_default,
		     const char *where, struct vmc_error *err)
{
	if (!vm->name || !vm->source || !vm->to)
		return vmc_error_set(err, EINVAL, "%s: name, source and to are"
				     " required", where);
	if (!vm->inject_set)
		vm->inject = VMC_MIGRATE_INJECT_DEFAULT;
	if (!vm->dest && dest_default && !(vm->dest = strdup(dest_default)))
		return vmc_error_set(err, ENOMEM, "%s: out of memory", where);
	return 0;
}

static struct vmc_batch_vm *add_vm(struct vmc_batch_plan *p,
				   struct vmc_error *err)
{
	struct vmc_batch_vm *v;

	if (p->n >= PLAN_MAX_VMS) {
		vmc_error_set(err, EFBIG, "plan: more than %u VMs",
			      PLAN_MAX_VMS);
		return NULL;
	}
	v = realloc(p->vms, (p->n + 1) * sizeof(*v));
	if (!v) {
		vmc_error_set(err, ENOMEM, "plan: out of memory");
		return NULL;
	}
	p->vms = v;
	memset(&v[p->n], 0, sizeof(*v));
	return &v[p->n++];
}

static int json_value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_null(v))
		buf[0] = 0;
	else
		return -1;
	return 0;
}

static int read_json(struct vmc_batch_plan *p, json_t *root,
		     const char *path, const char *base, const char *dest_dflt,
		     struct vmc_error *err)
{
	json_t *vms = json_is_array(root) ? root : json_object_get(root, "vms");
	json_t *e, *v;
	const char *dest = dest_dflt, *key;
	char *pdest = NULL, where[PATH_MAX + 64], text[4096];
	size_t i;
	int ret = -1;

	if (!json_is_array(vms))
		return vmc_error_set(err, EINVAL, "%s: a JSON plan is an array"
				     " of VMs or an object with \"vms\"", path);
	if (json_is_string(json_object_get(root, "dest")) && !dest_dflt)
		dest = pdest = abs_path(base, json_string_value(
			json_object_get(root, "dest")));
	json_array_foreach(vms, i, e) {
		struct vmc_batch_vm *vm = add_vm(p, err);

		snprintf(where, sizeof(where), "%s: vms[%zu]", path, i);
		if (!vm)
			goto out;
		if (!json_is_object(e)) {
			vmc_error_set(err, EINVAL, "%s: not an object", where);
			goto out;
		}
		json_object_foreach(e, key, v) {
			if (json_value_text(v, text, sizeof(text)) < 0) {
				vmc_error_set(err, EINVAL, "%s: \"%s\" must be"
					      " a string", where, key);
				goto out;
			}
			if (set_field(vm, key, text, base, where, err) < 0)
				goto out;
		}
		if (finish_vm(vm, dest, where, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(pdest);
	return ret;
}

static int read_csv(struct vmc_batch_plan *p, const char *text, size_t len,
		    const char *path, const char *base, const char *dest,
		    struct vmc_error *err)
{
	struct vmc_csv csv = { text, len, 0, 1 };
	char *head[16], *row[16], where[PATH_MAX + 64];
	size_t nh, nr, line;
	int ret = -1;

	if (vmc_csv_row(&csv, head, 16, &nh, path, err) <= 0)
		return nh ? -1 : vmc_error_set(err, EINVAL, "%s: empty CSV"
					       " plan (a header row first)",
					       path);
	for (;;) {
		struct vmc_batch_vm *vm;
		int r;

		line = csv.line;
		r = vmc_csv_row(&csv, row, 16, &nr, path, err);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (nr == 1 && !row[0][0]) {
			vmc_csv_free(row, nr);
			continue;
		}
		snprintf(where, sizeof(where), "%s: line %zu", path, line);
		vm = nr > nh ? NULL : add_vm(p, err);
		if (!vm) {
			if (nr > nh)
				vmc_error_set(err, EINVAL, "%s: %zu fields,"
					      " the header has %zu", where, nr,
					      nh);
			vmc_csv_free(row, nr);
			goto out;
		}
		for (size_t i = 0; i < nr && r >= 0; i++)
			r = set_field(vm, head[i], row[i], base, where, err);
		vmc_csv_free(row, nr);
		if (r < 0 || finish_vm(vm, dest, where, err) < 0)
			goto out;
	}
	ret = 0;
out:
	vmc_csv_free(head, nh);
	return ret;
}

static char *slurp(const char *path, size_t *len, struct vmc_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;

	if (!f) {
		vmc_error_errno(err, errno, "%s: cannot open the plan", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		vmc_error_errno(err, errno, "%s: cannot read the plan", path);
		goto out;
	}
	if ((unsigned long)sz > PLAN_MAX_BYTES) {
		vmc_error_set(err, EFBIG, "%s: plan larger than %u MiB", path,
			      PLAN_MAX_BYTES >> 20);
		goto out;
	}
	buf = malloc((size_t)sz + 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		vmc_error_errno(err, buf ? EIO : ENOMEM, "%s: cannot read the"
				" plan", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[sz] = 0;
	*len = (size_t)sz;
out:
	fclose(f);
	return buf;
}

struct vmc_batch_plan *vmc_batch_plan_read(const char *path,
					   const char *dest_default,
					   struct vmc_error *err)
{
	struct vmc_batch_plan *p = calloc(1, sizeof(*p));
	char *text, *rp = realpath(path, NULL), *base, cwd[PATH_MAX];
	char *dd = NULL;
	size_t len = 0, i = 0;
	int r = -1;

	text = slurp(path, &len, err);
	if (!p || !text || !rp)
		goto out;
	/* paths in the state folder are absolute: run-one may run anywhere */
	if (dest_default && getcwd(cwd, sizeof(cwd)))
		dest_default = dd = abs_path(cwd, dest_default);
	base = dirname(rp);
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	if (i < len && (text[i] == '{' || text[i] == '[')) {
		json_error_t je;
		json_t *root = json_loadb(text, len, 0, &je);

		if (!root) {
			vmc_error_set(err, EINVAL, "%s: JSON error at line %d"
				      " column %d: %s", path, je.line,
				      je.column, je.text);
			goto out;
		}
		r = read_json(p, root, path, base, dest_default, err);
		json_decref(root);
	} else {
		r = read_csv(p, text, len, path, base,
			     dest_default ? dest_default : base, err);
	}
	for (size_t k = 0; r == 0 && k < p->n; k++)
		if (!p->vms[k].dest && !(p->vms[k].dest = strdup(base)))
			r = vmc_error_set(err, ENOMEM, "%s: out of memory",
					  path);
out:
	if (p && !p->n && r == 0)
		r = vmc_error_set(err, EINVAL, "%s: the plan has no VMs", path);
	if (!rp && text)
		vmc_error_errno(err, errno, "%s", path);
	free(text);
	free(rp);
	free(dd);
	if (r < 0 || !rp) {
		vmc_batch_plan_free(p);
		return NULL;
	}
	return p;
}

void vmc_batch_plan_free(struct vmc_batch_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct vmc_batch_vm *v = &p->vms[i];

		free(v->name); free(v->source); free(v->to); free(v->dest);
		free(v->expect); free(v->target); free(v->bus);
		free(v->engine); free(v->problem);
	}
	free(p->vms);
	free(p);
}
