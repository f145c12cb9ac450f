/* Checking a plan before anything runs (every problem found, not only the
 * first), the output estimate and the free space it needs, and the plan
 * as JSON (state/plan.json). */
#define _GNU_SOURCE
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <vmconv/vmconv.h>

#include "batch/batch.h"
#include "migrate/migrate.h"
#include "validate/validate.h"
#include "vm/vm.h"

static void problem(struct vmc_batch_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct vmc_batch_vm *vm, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL, *both = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	if (vm->problem && asprintf(&both, "%s; %s", vm->problem, msg) >= 0) {
		free(msg);
		msg = both;
	}
	free(vm->problem);
	vm->problem = msg;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128 || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") == n;
}

/* What a disk's output may take: its allocated bytes (holes stay holes)
 * capped at its virtual size, plus 1% and 1 MiB of metadata; 0 with a
 * problem when it does not open. */
static uint64_t disk_estimate(struct vmc_batch_vm *vm, const char *path,
			      const char *fmt)
{
	struct vmc_error err = { 0 };
	struct vmc_image *img = vmc_image_open(path, fmt, 0, NULL, &err);
	struct stat st;
	uint64_t alloc;

	if (!img) {
		problem(vm, "source: %s", err.msg);
		return 0;
	}
	alloc = stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 :
		img->size;
	if (alloc > img->size)
		alloc = img->size;
	vmc_image_close(img);
	return alloc + alloc / 100 + (1u << 20);
}

/* A whole VM: its configuration read and every disk opened (the sum of
 * their estimates); an OVA's disks are read only when it runs (they are
 * compressed: four times the package). */
static void check_vm_source(struct vmc_batch_vm *vm, const char *kind)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *v;
	struct stat st;

	if (!strcmp(kind, "ova")) {
		if (stat(vm->source, &st) < 0)
			problem(vm, "source: %s: %s", vm->source,
				strerror(errno));
		else
			vm->estimate = (uint64_t)st.st_size * 4 + (1u << 20);
		return;
	}
	v = vmc_vm_load(vm->source, NULL, &err);
	if (!v) {
		problem(vm, "source: %s", err.msg);
		return;
	}
	vm->estimate = 0;
	for (size_t i = 0; i < v->n_disks && !vm->problem; i++)
		if (!v->disks[i].cdrom && v->disks[i].path)
			vm->estimate += disk_estimate(vm, v->disks[i].path,
						      v->disks[i].format);
	vmc_vm_free(v);
}

static void check_source(struct vmc_batch_vm *vm)
{
	const char *kind = vmc_vm_probe(vm->source);

	if (kind)
		check_vm_source(vm, kind);
	else
		vm->estimate = disk_estimate(vm, vm->source, NULL);
}

static void check_target(struct vmc_batch_plan *p, size_t i,
			 const char *state)
{
	struct vmc_batch_vm *vm = &p->vms[i];
	const struct vmc_driver *d = vmc_driver_find(vm->to);
	struct stat st;

	if (!d || !d->create) {
		problem(vm, "to: %s '%s' (vmconv formats lists them)",
			d ? "cannot write format" : "unknown format", vm->to);
		return;
	}
	if (stat(vm->dest, &st) < 0 || !S_ISDIR(st.st_mode))
		problem(vm, "dest: %s is not a folder", vm->dest);
	free(vm->target);
	if (asprintf(&vm->target, "%s/%s.%s", vm->dest, vm->name,
		     d->extension ? d->extension : d->name) < 0) {
		vm->target = NULL;
		return;
	}
	for (size_t j = 0; j < i; j++)
		if (p->vms[j].target &&
		    !strcmp(p->vms[j].target, vm->target)) {
			problem(vm, "target %s is also VM %zu's (%s)",
				vm->target, j, p->vms[j].name);
			return;
		}
	if (lstat(vm->target, &st) == 0) {
		json_t *jn = state ? vmc_batch_journal_read(state, i) : NULL;
		const char *t = json_string_value(json_object_get(jn,
								  "target"));

		if (!t || strcmp(t, vm->target))
			problem(vm, "target %s already exists", vm->target);
		json_decref(jn);
	}
}

static void check_vm(struct vmc_batch_plan *p, size_t i, const char *state)
{
	struct vmc_batch_vm *vm = &p->vms[i];
	enum vmc_engine e;
	regex_t re;

	free(vm->problem);
	vm->problem = NULL;
	if (!name_ok(vm->name))
		problem(vm, "name '%s' must be letters, digits, '.', '_' or"
			" '-' (1..128, not starting with '.' or '-')",
			vm->name);
	check_source(vm);
	if (name_ok(vm->name))
		check_target(p, i, state);
	if (vm->bus && strcmp(vm->bus, "virtio") && strcmp(vm->bus, "ide"))
		problem(vm, "bus must be virtio or ide, not '%s'", vm->bus);
	if (vm->engine && vmc_engine_parse(vm->engine, &e) < 0)
		problem(vm, "engine must be auto, direct, nested or qemu, not"
			" '%s'", vm->engine);
	if (vm->expect) {
		if (regcomp(&re, vm->expect, REG_EXTENDED | REG_NOSUB))
			problem(vm, "expect: '%s' is not an extended regular"
				" expression", vm->expect);
		else
			regfree(&re);
	}
}

/* Free space per destination file system against the VMs' estimates. */
static char *check_space(struct vmc_batch_plan *p, const char *state)
{
	char *msg = NULL;

	for (size_t i = 0; i < p->n; i++) {
		struct stat a, b;
		struct statvfs fs;
		uint64_t need = 0, avail;
		bool first = true;

		if (p->vms[i].problem || stat(p->vms[i].dest, &a) < 0)
			continue;
		for (size_t j = 0; j < p->n; j++) {
			json_t *jn;

			if (p->vms[j].problem || stat(p->vms[j].dest, &b) < 0 ||
			    b.st_dev != a.st_dev)
				continue;
			first = first && j >= i;
			jn = state ? vmc_batch_journal_read(state, j) : NULL;
			if (vmc_batch_outcome_of(jn) == VMC_BATCH_UNFINISHED)
				need += p->vms[j].estimate;
			json_decref(jn);
		}
		if (!first || statvfs(p->vms[i].dest, &fs) < 0)
			continue;
		avail = (uint64_t)fs.f_bavail * fs.f_frsize;
		if (need > avail && !msg &&
		    asprintf(&msg, "%s: the outputs may need %llu MiB, the"
			     " file system has %llu MiB free", p->vms[i].dest,
			     (unsigned long long)(need >> 20),
			     (unsigned long long)(avail >> 20)) < 0)
			msg = NULL;
	}
	return msg;
}

size_t vmc_batch_plan_check(struct vmc_batch_plan *p, const char *state,
			    char **space_problem)
{
	size_t bad = 0;

	for (size_t i = 0; i < p->n; i++) {
		check_vm(p, i, state);
		bad += p->vms[i].problem != NULL;
	}
	*space_problem = check_space(p, state);
	return bad;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

json_t *vmc_batch_plan_json(const struct vmc_batch_plan *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++) {
		const struct vmc_batch_vm *v = &p->vms[i];
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer((json_int_t)i));
		set_str(o, "name", v->name);
		set_str(o, "source", v->source);
		set_str(o, "to", v->to);
		set_str(o, "dest", v->dest);
		set_str(o, "target", v->target);
		set_str(o, "bus", v->bus);
		set_str(o, "engine", v->engine);
		set_str(o, "expect", v->expect);
		json_object_set_new(o, "validate", json_boolean(v->validate));
		json_object_set_new(o, "inject", json_boolean(v->inject));
		if (v->timeout_s)
			json_object_set_new(o, "timeout",
					    json_integer(v->timeout_s));
		json_object_set_new(o, "estimate",
				    json_integer((json_int_t)v->estimate));
		set_str(o, "problem", v->problem);
		json_array_append_new(a, o);
	}
	return a;
}

static char *dup_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? strdup(s) : NULL;
}

struct vmc_batch_plan *vmc_batch_plan_from_json(json_t *j,
						struct vmc_error *err)
{
	struct vmc_batch_plan *p = calloc(1, sizeof(*p));
	size_t n = json_array_size(j);
	json_t *o;
	size_t i;

	if (!p || !json_is_array(j) || !n ||
	    !(p->vms = calloc(n, sizeof(*p->vms)))) {
		free(p);
		vmc_error_set(err, EINVAL, "plan.json: not a list of VMs");
		return NULL;
	}
	p->n = n;
	json_array_foreach(j, i, o) {
		struct vmc_batch_vm *v = &p->vms[i];

		v->name = dup_str(o, "name");
		v->source = dup_str(o, "source");
		v->to = dup_str(o, "to");
		v->dest = dup_str(o, "dest");
		v->target = dup_str(o, "target");
		v->bus = dup_str(o, "bus");
		v->engine = dup_str(o, "engine");
		v->expect = dup_str(o, "expect");
		v->problem = dup_str(o, "problem");
		v->validate = json_is_true(json_object_get(o, "validate"));
		v->inject = json_is_boolean(json_object_get(o, "inject")) ?
			    json_is_true(json_object_get(o, "inject")) :
			    VMC_MIGRATE_INJECT_DEFAULT;
		v->timeout_s = (unsigned)json_integer_value(
			json_object_get(o, "timeout"));
		v->estimate = (uint64_t)json_integer_value(
			json_object_get(o, "estimate"));
		if (!v->name || !v->source || !v->to) {
			vmc_batch_plan_free(p);
			vmc_error_set(err, EINVAL, "plan.json: VM %zu lacks"
				      " name, source or to", i);
			return NULL;
		}
	}
	return p;
}
