/* Whole VMs on the command line: `vmconv info` on an OVA, OVF, .vmx,
 * Hyper-V or libvirt configuration, and the one-shot migration form
 * when its source is such a configuration (vmconv web01.ova --to qcow2,
 * vmconv web01.xml --to ova).  Every disk goes through the one-command
 * migration of a single disk (migrate/migrate.h), the boot disk with its
 * driver injection (KVM targets, unless --no-inject); vm/ reads and
 * writes the configurations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/vm.h"
#include "migrate/migrate.h"
#include "vm/vm.h"

static void print_shape(const struct vmc_vm *vm)
{
	char h[32];

	vmc_cli_human_size(vm->memory, h, sizeof(h));
	printf("vm: %s (from %s)\n", vm->name, vm->source_kind);
	printf("os type: %s\n", vm->os_type ? vm->os_type : "unknown");
	printf("firmware: %s\n", vm->firmware == VMC_FW_EFI ? "efi" : "bios");
	printf("vcpus: %u\nmemory: %s\n", vm->vcpus, h);
	for (size_t i = 0; i < vm->n_ctrls; i++)
		printf("controller: %s%u %s\n",
		       vmc_disk_bus_name(vm->ctrls[i].bus),
		       vm->ctrls[i].index, vm->ctrls[i].model ?
		       vm->ctrls[i].model : "");
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vmc_vm_disk *d = &vm->disks[i];

		vmc_cli_human_size(d->capacity, h, sizeof(h));
		printf("disk %zu: %s %s%u:%u %s (%s, %s)\n", i + 1,
		       d->cdrom ? "cdrom" : "disk", vmc_disk_bus_name(d->bus),
		       d->ctrl_index, d->unit, d->href ? d->href : "",
		       d->format ? d->format : "-", d->cdrom ? "-" : h);
	}
	for (size_t i = 0; i < vm->n_nics; i++)
		printf("nic %zu: %s %s%s%s\n", i + 1,
		       vm->nics[i].model ? vm->nics[i].model : "?",
		       vm->nics[i].mac ? vm->nics[i].mac : "(no MAC)",
		       vm->nics[i].network ? " on " : "",
		       vm->nics[i].network ? vm->nics[i].network : "");
	for (size_t i = 0; i < vm->n_notes; i++)
		printf("note: %s\n", vm->notes[i]);
}

int vmc_cli_vm_info(const char *path, bool json)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = vmc_vm_load(path, NULL, &err);
	json_t *j;

	if (!vm) {
		vmc_cli_error(&err);
		return 1;
	}
	if (json) {
		j = vmc_vm_to_json(vm);
		vmc_cli_print_json(j);
		json_decref(j);
	} else {
		print_shape(vm);
	}
	vmc_vm_free(vm);
	return 0;
}

/* DIR/NAME-diskN.EXT or DIR/NAME.EXT, NAME made safe for a file name
 * (it comes from the configuration). */
static char *join(const char *dir, const char *name, unsigned n,
		  const char *ext)
{
	char *p = NULL, *stem = vmc_vm_file_stem(name);

	if (!stem)
		return NULL;
	if ((n ? asprintf(&p, "%s/%s-disk%u.%s", dir, stem, n, ext) :
		 asprintf(&p, "%s/%s.%s", dir, stem, ext)) < 0)
		p = NULL;
	free(stem);
	return p;
}

static void remove_outputs(json_t *list)
{
	for (size_t j = 0; j < json_array_size(list); j++)
		unlink(json_string_value(json_object_get(
			json_array_get(list, j), "target")));
}

/* How the disks of one VM are converted: the one-command migration
 * (migrate/migrate.h) for each, with driver injection into the boot disk
 * only (data disks are converted and left alone). */
struct vm_job {
	const struct vmc_cli_convert *c;
	struct vmc_vm *vm;
	bool inject, bus_set, remove_tools;
	enum vmc_initramfs_method initramfs;
	enum vmc_vm_bus bus;
	/* the boot disk's migration, kept for its injection report */
	struct vmc_migrate_result boot;
	bool have_boot;
};

/* One disk through vmc_migrate; *s gets its summary. */
static int migrate_disk(struct vm_job *j, struct vmc_vm_disk *d,
			const char *t, const char *fmt, struct vmc_opts *copts,
			json_t **s)
{
	const struct vmc_cli_convert *c = j->c;
	bool boot = d == vmc_vm_boot_disk(j->vm);
	struct vmc_migrate_params p = {
		.src_path = d->path, .src_fmt = d->format, .dst_path = t,
		.dst_fmt = fmt, .create_opts = copts, .compress = c->compress,
		.digest = c->digest, .cache = c->cache,
		.inject = boot && j->inject, .bus_set = j->bus_set,
		.remove_tools = j->remove_tools, .initramfs = j->initramfs,
		.progress = vmc_progress_update,
	};
	struct vmc_migrate_result res;
	struct vmc_error err = { 0 };
	struct vmc_progress *bar;
	int r;

	p.vo.bus = j->bus;
	p.kvm = p.inject && vmc_cli_kvm_usable();
	bar = vmc_progress_new(c->progress, c->json ? stderr : stdout,
			       "converting");
	p.progress_ctx = bar;
	r = vmc_migrate(&p, &res, &err);
	vmc_progress_finish(bar, r == 0);
	if (r < 0) {
		vmc_cli_error(&err);
		return -1;
	}
	*s = json_incref(res.summary);
	if (!boot) {
		json_object_set_new(*s, "injection", json_string(
			"data disk: left alone"));
		vmc_migrate_result_free(&res);
	} else {
		j->boot = res;
		j->have_boot = true;
	}
	return 0;
}

/* Each disk of vm converted to fmt as dir/NAME-diskN.EXT; vm's disks are
 * pointed at the outputs.  On failure the outputs made so far go. */
static int convert_disks(struct vm_job *j, const char *dir, const char *fmt,
			 const char *ext, struct vmc_opts *copts, json_t *list)
{
	struct vmc_vm *vm = j->vm;
	unsigned k = 0;
	size_t i;

	for (i = 0; i < vm->n_disks; i++) {
		struct vmc_vm_disk *d = &vm->disks[i];
		json_t *s = NULL;
		char *t;

		if (d->cdrom || !d->path)
			continue;
		t = join(dir, vm->name, ++k, ext);
		if (!t || migrate_disk(j, d, t, fmt, copts, &s) < 0) {
			free(t);
			goto fail;
		}
		if (d->origin != VMC_DISK_FILE) {	/* an OVA member */
			char *m = NULL;

			if (asprintf(&m, "%s:%s", j->c->src_path, d->href) > 0)
				json_object_set_new(s, "source",
						    json_string(m));
			free(m);
			json_object_set_new(s, "source-read", json_string(
				vmc_disk_origin_name(d->origin)));
		}
		json_array_append_new(list, s);
		free(d->path);
		d->path = t;
		free(d->format);
		d->format = strdup(fmt);
		free(d->href);
		d->href = strdup(basename(t));
	}
	return 0;
fail:
	remove_outputs(list);
	return -1;
}

/* Boot the converted boot disk with the VM's memory, vCPUs and firmware
 * (the qemu engine boots all the vCPUs, the built-in VMM one: the report
 * says which). */
static int validate_boot(const struct vmc_vm *vm, const char *fmt,
			 struct vmc_validate_opts *vo, bool bus_set,
			 bool json, json_t *summary)
{
	const struct vmc_vm_disk *d = vmc_vm_boot_disk(vm);
	json_t *rep = NULL;
	int ret;

	if (!d) {
		json_object_set_new(summary, "validation",
				    json_string("no disk to boot"));
		if (!json)
			printf("validation: not run (no disk)\n");
		return 2;
	}
	vo->image = d->path;
	vo->format = fmt;
	vo->boot = VMC_BOOT_FIRMWARE;
	if (vm->firmware == VMC_FW_EFI)
		vo->firmware = VMC_FIRMWARE_UEFI;
	vo->mem_mib = vm->memory >> 20 > 16384 ? 16384 :
		      (unsigned)(vm->memory >> 20);
	vo->vcpus = vm->vcpus;
	if (!bus_set)
		vo->bus = VMC_BUS_VIRTIO;
	ret = vmc_cli_validate(vo, json, &rep);
	json_object_set_new(summary, "validation-memory-mib",
			    json_integer(vo->mem_mib));
	json_object_set_new(summary, "validation-vcpus", rep ?
			    json_incref(json_object_get(rep, "vcpus")) :
			    json_null());
	json_object_set_new(summary, "validation", rep ? rep :
			    json_string("could not run"));
	return ret;
}

static char *out_dir(const struct vmc_cli_convert *c)
{
	char *copy;

	if (c->dst_path) {
		if (mkdir(c->dst_path, 0755) < 0 && errno != EEXIST)
			return NULL;
		return realpath(c->dst_path, NULL);
	}
	copy = strdup(c->src_path);
	if (!copy)
		return NULL;
	char *r = realpath(dirname(copy), NULL);
	free(copy);
	return r;
}

static int to_disks(struct vm_job *j, const char *dir,
		    enum vmc_disk_bus bus, json_t *summary,
		    struct vmc_error *err)
{
	const struct vmc_cli_convert *c = j->c;
	struct vmc_vm *vm = j->vm;
	const struct vmc_driver *drv = vmc_driver_find(c->dst_fmt);
	json_t *list = json_array();
	char *xml = join(dir, vm->name, 0, "xml"), *nv = join(dir, vm->name,
							      0, "nvram.fd");
	int r = -1;

	json_object_set_new(summary, "disks", list);
	if (!xml || !nv)
		goto out;
	if (convert_disks(j, dir, c->dst_fmt, drv && drv->extension ?
			  drv->extension : c->dst_fmt, c->create_opts,
			  list) < 0)
		goto out;
	if (vmc_libvirt_write(vm, xml, bus, nv, err) < 0) {
		vmc_cli_error(err);
		remove_outputs(list);
		goto out;
	}
	json_object_set_new(summary, "configuration", json_string(xml));
	r = 0;
out:
	free(xml);
	free(nv);
	return r;
}

/* Disks to streamOptimized VMDKs in a scratch folder, then the OVA. */
static int to_ova(struct vm_job *j, const char *ova, json_t *summary,
		  struct vmc_error *err)
{
	struct vmc_vm *vm = j->vm;
	char *copy = strdup(ova), *tmp = NULL;
	struct vmc_opts *o = vmc_opts_new();
	json_t *list = json_array();
	int r = -1;

	json_object_set_new(summary, "disks", list);
	if (!copy || !o) {
		vmc_cli_errorf("out of memory");
		goto out;
	}
	tmp = vmc_scratch_new(dirname(copy), "ova-out", err);
	if (!tmp) {
		vmc_cli_error(err);
		goto out;
	}
	if (vmc_opts_parse(o, "subformat=streamOptimized", err) < 0) {
		vmc_cli_error(err);
		goto out;
	}
	if (convert_disks(j, tmp, "vmdk", "vmdk", o, list) < 0)
		goto out;
	if (vmc_ova_write(vm, ova, err) < 0)
		vmc_cli_error(err);
	else
		r = 0;
	json_object_set_new(summary, "configuration", json_string(ova));
	remove_outputs(list);	/* they live on inside the OVA */
	for (size_t i = 0; i < json_array_size(list); i++)
		json_object_set_new(json_array_get(list, i), "target",
				    json_string(ova));
out:
	vmc_scratch_remove(tmp);
	free(tmp);
	free(copy);
	vmc_opts_free(o);
	return r;
}

static void print_summary(const struct vm_job *j, json_t *s)
{
	const struct vmc_vm *vm = j->vm;
	json_t *d;
	size_t i;

	printf("%s: %s VM, %u vCPU, %llu MiB, %s\n", vm->name,
	       vm->source_kind, vm->vcpus,
	       (unsigned long long)(vm->memory >> 20),
	       vm->firmware == VMC_FW_EFI ? "UEFI" : "BIOS");
	json_array_foreach(json_object_get(s, "disks"), i, d) {
		const char *how = json_string_value(json_object_get(d,
							"source-read"));

		printf("  disk %zu: %s (%s%s%s) -> %s (%s) in %.1f s\n", i + 1,
		       json_string_value(json_object_get(d, "source")),
		       json_string_value(json_object_get(d, "source-format")),
		       how ? ", read " : "", how ? how : "",
		       json_string_value(json_object_get(d, "target")),
		       json_string_value(json_object_get(d, "target-format")),
		       json_real_value(json_object_get(d, "seconds")));
	}
	printf("  configuration: %s\n", json_string_value(
		json_object_get(s, "configuration")));
	if (j->have_boot && j->boot.injected)
		vmc_cli_print_injection(&j->boot.inject);
	else
		printf("  boot disk unchanged: %s\n", json_string_value(
			json_object_get(s, "injection")));
}

/* The folder the outputs go to (for an OVA target: its scratch's). */
static char *vm_out_dir(const struct vmc_cli_convert *c, bool ova)
{
	char *copy, *dir;

	if (!ova || !c->dst_path)
		return out_dir(c);
	copy = strdup(c->dst_path);
	dir = copy ? realpath(dirname(copy), NULL) : NULL;
	free(copy);
	return dir;
}

/* The boot disk's injection (as the one-disk form reports it) for the
 * VM's summary. */
static json_t *injection_json(const struct vm_job *j, bool ova)
{
	json_t *v = j->have_boot ? json_object_get(j->boot.summary,
						   "injection") : NULL;

	if (ova)
		return json_string("not a KVM target: guest unchanged");
	return v ? json_incref(v) : json_string("no boot disk");
}

int vmc_cli_vm_migrate(const struct vmc_cli_convert *c,
		       struct vmc_validate_opts *vo, bool validate,
		       bool bus_set, bool no_inject, bool remove_tools,
		       enum vmc_initramfs_method initramfs)
{
	bool ova = !strcmp(c->dst_fmt, "ova");
	struct vm_job j = { .c = c, .inject = !no_inject && !ova,
			    .bus_set = bus_set, .bus = vo->bus,
			    .remove_tools = remove_tools,
			    .initramfs = initramfs };
	struct vmc_error err = { 0 };
	char *dir = NULL, *ovapath = NULL;
	json_t *summary = json_object();
	int ret = 1;

	if (!ova && !vmc_driver_find(c->dst_fmt)) {
		vmc_cli_errorf("unknown target format '%s' (vmconv formats"
			       " lists them, and ova)", c->dst_fmt);
		goto out;
	}
	dir = vm_out_dir(c, ova);
	if (!dir) {
		vmc_cli_errorf("%s: cannot use it as the output folder: %s",
			       c->dst_path ? c->dst_path : c->src_path,
			       strerror(errno));
		goto out;
	}
	j.vm = vmc_vm_load(c->src_path, dir, &err);
	if (!j.vm) {
		vmc_cli_error(&err);
		goto out;
	}
	json_object_set_new(summary, "vm", vmc_vm_to_json(j.vm));
	if (ova) {
		ovapath = c->dst_path ? strdup(c->dst_path) :
			  join(dir, j.vm->name, 0, "ova");
		if (!ovapath || to_ova(&j, ovapath, summary, &err) < 0)
			goto out;
	} else if (to_disks(&j, dir, bus_set && vo->bus == VMC_BUS_IDE ?
			    VMC_DISK_IDE : VMC_DISK_VIRTIO, summary,
			    &err) < 0) {
		goto out;
	}
	json_object_set_new(summary, "injection", injection_json(&j, ova));
	if (!c->json && !c->quiet)
		print_summary(&j, summary);
	ret = 0;
	if (validate && !ova)
		ret = validate_boot(j.vm, c->dst_fmt, vo, bus_set, c->json,
				    summary);
	if (c->json)
		vmc_cli_print_json(summary);
out:
	if (j.have_boot)
		vmc_migrate_result_free(&j.boot);
	json_decref(summary);
	vmc_vm_free(j.vm);
	free(dir);
	free(ovapath);
	return ret;
}
