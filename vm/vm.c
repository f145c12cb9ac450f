/* The VM shape model: building, freeing, naming, JSON. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libgen.h>
#include <unistd.h>

#include "common/window.h"
#include "vm/vm.h"

#define VMC_VM_MAX_ITEMS 256	/* disks, NICs, controllers, notes each */

struct vmc_vm *vmc_vm_new(const char *kind)
{
	struct vmc_vm *vm = calloc(1, sizeof(*vm));

	if (vm && !(vm->source_kind = strdup(kind))) {
		free(vm);
		return NULL;
	}
	return vm;
}

static void *grow(void **arr, size_t *n, size_t elt)
{
	char *p;

	if (*n >= VMC_VM_MAX_ITEMS)
		return NULL;
	p = realloc(*arr, (*n + 1) * elt);
	if (!p)
		return NULL;
	*arr = p;
	memset(p + *n * elt, 0, elt);
	return p + (*n)++ * elt;
}

struct vmc_vm_disk *vmc_vm_add_disk(struct vmc_vm *vm)
{
	return grow((void **)&vm->disks, &vm->n_disks, sizeof(*vm->disks));
}

struct vmc_vm_nic *vmc_vm_add_nic(struct vmc_vm *vm)
{
	return grow((void **)&vm->nics, &vm->n_nics, sizeof(*vm->nics));
}

struct vmc_vm_ctrl *vmc_vm_add_ctrl(struct vmc_vm *vm)
{
	return grow((void **)&vm->ctrls, &vm->n_ctrls, sizeof(*vm->ctrls));
}

int vmc_vm_add_note(struct vmc_vm *vm, const char *fmt, ...)
{
	char **slot = grow((void **)&vm->notes, &vm->n_notes,
			   sizeof(*vm->notes));
	va_list ap;
	int r;

	if (!slot)
		return -1;
	va_start(ap, fmt);
	r = vasprintf(slot, fmt, ap);
	va_end(ap);
	if (r < 0) {
		*slot = NULL;
		vm->n_notes--;
		return -1;
	}
	return 0;
}

void vmc_vm_free(struct vmc_vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < vm->n_disks; i++) {
		free(vm->disks[i].id);
		free(vm->disks[i].path);
		free(vm->disks[i].href);
		free(vm->disks[i].format);
	}
	for (size_t i = 0; i < vm->n_nics; i++) {
		free(vm->nics[i].mac);
		free(vm->nics[i].model);
		free(vm->nics[i].network);
	}
	for (size_t i = 0; i < vm->n_ctrls; i++)
		free(vm->ctrls[i].model);
	for (size_t i = 0; i < vm->n_notes; i++)
		free(vm->notes[i]);
	vmc_scratch_remove(vm->tmpdir);
	free(vm->tmpdir);
	if (vm->windows)
		vmc_window_drop(vm->windows);
	free(vm->windows);
	free(vm->disks);
	free(vm->nics);
	free(vm->ctrls);
	free(vm->notes);
	free(vm->name);
	free(vm->source_kind);
	free(vm->os_type);
	free(vm->os_id);
	free(vm);
}

static const char *const bus_names[] = {
	[VMC_DISK_UNKNOWN] = "unknown", [VMC_DISK_IDE] = "ide",
	[VMC_DISK_SCSI] = "scsi", [VMC_DISK_SATA] = "sata",
	[VMC_DISK_NVME] = "nvme", [VMC_DISK_VIRTIO] = "virtio",
};

const char *vmc_disk_bus_name(enum vmc_disk_bus bus)
{
	return bus < sizeof(bus_names) / sizeof(bus_names[0]) ?
	       bus_names[bus] : "unknown";
}

enum vmc_disk_bus vmc_disk_bus_parse(const char *s)
{
	for (size_t i = 1; i < sizeof(bus_names) / sizeof(bus_names[0]); i++)
		if (s && !strcasecmp(s, bus_names[i]))
			return (enum vmc_disk_bus)i;
	return VMC_DISK_UNKNOWN;
}

int vmc_mac_normalize(const char *in, char out[18])
{
	unsigned char b[6];
	size_t n = 0;

	for (const char *p = in; *p && n < 12; ) {
		if (*p == ':' || *p == '-') {
			p++;
			continue;
		}
		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return -1;
		b[n / 2] = (unsigned char)strtoul((char[]){ p[0], p[1], 0 },
						  NULL, 16);
		n += 2;
		p += 2;
		if (n == 12 && *p)
			return -1;
	}
	if (n != 12)
		return -1;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
}

const char *vmc_disk_origin_name(enum vmc_disk_origin o)
{
	return o == VMC_DISK_IN_PLACE ? "in place" :
	       o == VMC_DISK_EXTRACTED ? "extracted" : "file";
}

const struct vmc_vm_disk *vmc_vm_boot_disk(const struct vmc_vm *vm)
{
	for (size_t i = 0; i < vm->n_disks; i++)
		if (!vm->disks[i].cdrom)
			return &vm->disks[i];
	return NULL;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *disk_json(const struct vmc_vm *vm,
			 const struct vmc_vm_disk *d)
{
	json_t *o = json_object();
	/* an OVA member has no path of its own (a window over the OVA, or a
	 * copy in a scratch folder that lives only while the OVA is read) */
	bool own = d->origin == VMC_DISK_FILE;

	json_object_set_new(o, "id", jstr(d->id));
	json_object_set_new(o, "file", jstr(d->href));
	json_object_set_new(o, "path", jstr(own ? d->path : NULL));
	if (!own)
		json_object_set_new(o, "read", json_string(
			vmc_disk_origin_name(d->origin)));
	if (d->origin == VMC_DISK_IN_PLACE)
		json_object_set_new(o, "member-offset", json_integer(
			(json_int_t)d->member_offset));
	json_object_set_new(o, "format", jstr(d->format));
	json_object_set_new(o, "capacity",
			    json_integer((json_int_t)d->capacity));
	json_object_set_new(o, "bus", json_string(vmc_disk_bus_name(d->bus)));
	json_object_set_new(o, "controller", json_integer(d->ctrl_index));
	json_object_set_new(o, "unit", json_integer(d->unit));
	json_object_set_new(o, "device", json_string(d->cdrom ? "cdrom" :
						     "disk"));
	return o;
}

json_t *vmc_vm_to_json(const struct vmc_vm *vm)
{
	json_t *o = json_object(), *a;

	json_object_set_new(o, "name", jstr(vm->name));
	json_object_set_new(o, "source", jstr(vm->source_kind));
	json_object_set_new(o, "os-type", jstr(vm->os_type));
	if (vm->os_id)
		json_object_set_new(o, "os-id", json_string(vm->os_id));
	json_object_set_new(o, "firmware", json_string(
		vm->firmware == VMC_FW_EFI ? "efi" : "bios"));
	json_object_set_new(o, "vcpus", json_integer(vm->vcpus));
	json_object_set_new(o, "memory", json_integer((json_int_t)vm->memory));
	a = json_array();
	for (size_t i = 0; i < vm->n_ctrls; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "bus", json_string(
			vmc_disk_bus_name(vm->ctrls[i].bus)));
		json_object_set_new(c, "index",
				    json_integer(vm->ctrls[i].index));
		json_object_set_new(c, "model", jstr(vm->ctrls[i].model));
		json_array_append_new(a, c);
	}
	json_object_set_new(o, "controllers", a);
	a = json_array();
	for (size_t i = 0; i < vm->n_disks; i++)
		json_array_append_new(a, disk_json(vm, &vm->disks[i]));
	json_object_set_new(o, "disks", a);
	a = json_array();
	for (size_t i = 0; i < vm->n_nics; i++) {
		json_t *n = json_object();

		json_object_set_new(n, "mac", jstr(vm->nics[i].mac));
		json_object_set_new(n, "model", jstr(vm->nics[i].model));
		json_object_set_new(n, "network", jstr(vm->nics[i].network));
		json_array_append_new(a, n);
	}
	json_object_set_new(o, "nics", a);
	a = json_array();
	for (size_t i = 0; i < vm->n_notes; i++)
		json_array_append_new(a, json_string(vm->notes[i]));
	json_object_set_new(o, "notes", a);
	return o;
}

static char *inside(const char *base, const char *cand)
{
	char *r = realpath(cand, NULL);
	size_t n = strlen(base);
	struct stat st;

	if (r && (strncmp(r, base, n) || r[n] != '/' || stat(r, &st) < 0 ||
		  !S_ISREG(st.st_mode))) {
		free(r);
		r = NULL;
	}
	return r;
}

char *vmc_vm_resolve(const char *cfg, const char *name, const char *subdir,
		     struct vmc_error *err)
{
	char *copy = strdup(cfg), *base = NULL, *cand = NULL, *r = NULL;
	const char *leaf = name;

	if (!copy)
		goto nomem;
	base = realpath(dirname(copy), NULL);
	if (!base)
		goto out;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			leaf = p + 1;
	if (name[0] != '/' && !strchr(name, '\\') && !strchr(name, ':')) {
		if (asprintf(&cand, "%s/%s", base, name) < 0)
			goto nomem;
		r = inside(base, cand);
		free(cand);
		cand = NULL;
	}
	if (!r && *leaf) {
		if (asprintf(&cand, "%s/%s", base, leaf) < 0)
			goto nomem;
		r = inside(base, cand);
		free(cand);
		cand = NULL;
	}
	if (!r && *leaf && subdir) {
		if (asprintf(&cand, "%s/%s/%s", base, subdir, leaf) < 0)
			goto nomem;
		r = inside(base, cand);
		free(cand);
		cand = NULL;
	}
out:
	if (!r)
		vmc_error_set(err, ENOENT, "%s: disk '%s' is not a file inside"
			      " the configuration's folder %s", cfg, name,
			      base ? base : "?");
	free(copy);
	free(base);
	return r;
nomem:
	free(copy);
	free(base);
	vmc_error_set(err, ENOMEM, "out of memory");
	return NULL;
}

char *vmc_vm_file_stem(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	char *s;

	if (n == 0 || n > 200)
		return strdup("vm");
	s = strdup(name);
	for (size_t i = 0; s && i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.+", s[i]))
			s[i] = '_';
	if (s && s[0] == '.')
		s[0] = '_';
	return s;
}
