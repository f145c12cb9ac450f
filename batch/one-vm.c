/* A batch VM whose source is a whole VM (OVA, OVF, .vmx, Hyper-V export,
 * libvirt XML; vm/vm.h): its boot disk becomes DEST/NAME.EXT, its other
 * disks DEST/NAME-N.EXT, and for a KVM target (raw, qcow2) the libvirt
 * domain DEST/NAME.xml.  An OVA's members are unpacked into the state
 * folder (tmp/), never into DEST.  The journal lists every output before
 * the first is written, so a resumed run removes them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/one.h"
#include "migrate/migrate.h"
#include "vm/vm.h"

static char *output(const struct vmc_batch_vm *v, size_t k, const char *ext)
{
	const char *dot = strrchr(v->target, '.');
	char *r;

	if (k == 0 && strcmp(ext, "xml"))
		return strdup(v->target);
	if (asprintf(&r, "%.*s%s%.0zu.%s", (int)(dot - v->target), v->target,
		     k ? "-" : "", k, ext) < 0)
		return NULL;
	return r;
}

static void append_output(json_t *outs, char *name)
{
	json_array_append_new(outs, json_string(name));
	free(name);
}

/* The outputs' names, in the journal before any is written. */
static json_t *plan_outputs(struct vmc_batch_one *c, struct vmc_vm *vm)
{
	const char *ext = strrchr(c->vm->target, '.') + 1;
	json_t *outs = json_array();
	size_t k = 0;

	for (size_t i = 0; i < vm->n_disks; i++)
		if (!vm->disks[i].cdrom && vm->disks[i].path)
			append_output(outs, output(c->vm, k++, ext));
	if (vmc_migrate_kvm_target(c->vm->to))
		append_output(outs, output(c->vm, 0, "xml"));
	json_object_set(c->jn, "outputs", outs);
	return outs;
}

static int disks(struct vmc_batch_one *c, struct vmc_vm *vm, json_t *outs,
		 json_t *list, struct vmc_error *err)
{
	size_t k = 0;

	for (size_t i = 0; i < vm->n_disks; i++) {
		struct vmc_vm_disk *d = &vm->disks[i];
		const char *t = json_string_value(json_array_get(outs, k++));
		json_t *sum = NULL;

		if (d->cdrom || !d->path)
			continue;
		if (vmc_batch_one_disk(c, d->path, d->format, t, vm,
				       d == vmc_vm_boot_disk(vm), &sum,
				       err) < 0) {
			vmc_error_prefix(err, "%s: disk %s", c->vm->source,
					 d->href ? d->href : d->id);
			return -1;
		}
		json_array_append_new(list, sum);
		free(d->path);
		d->path = strdup(t);
		free(d->format);
		d->format = strdup(c->vm->to);
	}
	return 0;
}

int vmc_batch_one_convert_vm(struct vmc_batch_one *c, struct vmc_error *err)
{
	char *tmp = NULL, *nv = NULL;
	json_t *outs, *list = json_array(), *first;
	struct vmc_vm *vm = NULL;
	int r = -1;

	if (asprintf(&tmp, "%s/tmp", c->state) < 0 ||
	    (mkdir(tmp, 0755) < 0 && errno != EEXIST)) {
		vmc_error_errno(err, errno, "%s/tmp: cannot create", c->state);
		goto out;
	}
	vm = vmc_vm_load(c->vm->source, tmp, err);
	if (!vm)
		goto out;
	outs = plan_outputs(c, vm);
	json_decref(outs);
	if (vmc_batch_journal_write(c->state, c->id, c->jn, err) < 0 ||
	    disks(c, vm, outs, list, err) < 0)
		goto out;
	if (!json_array_size(list)) {
		vmc_error_set(err, EINVAL, "%s: the VM has no disk",
			      c->vm->source);
		goto out;
	}
	if (vmc_migrate_kvm_target(c->vm->to)) {
		const char *xml = json_string_value(json_array_get(outs,
					json_array_size(outs) - 1));

		nv = output(c->vm, 0, "nvram.fd");
		if (vmc_libvirt_write(vm, xml, c->vm->bus && !strcmp(c->vm->bus,
				      "ide") ? VMC_DISK_IDE : VMC_DISK_VIRTIO,
				      nv, err) < 0)
			goto out;
		json_object_set_new(c->jn, "configuration", json_string(xml));
	}
	first = json_deep_copy(json_array_get(list, 0));
	json_object_set_new(first, "source", json_string(c->vm->source));
	json_object_set(first, "disks", list);
	json_object_set_new(first, "vm", vmc_vm_to_json(vm));
	json_object_set_new(c->jn, "migration", first);
	r = 0;
out:
	json_decref(list);
	vmc_vm_free(vm);
	free(tmp);
	free(nv);
	return r;
}
