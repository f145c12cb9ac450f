/* The inspection report as JSON: every driver by its module name, present
 * and missing per bus, and the verdict per bus. */
#include <string.h>

#include "inject/inspect.h"

const char *const vmc_storage_drivers[] = {
	"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "ata_piix",
	"ahci", "sd_mod", "nvme", "hv_vmbus", "hv_storvsc", "hv_netvsc",
	"vmw_pvscsi", "mptspi", "xen_blkfront", NULL,
};

static const char *const bus_needs[VMC_GBUS_COUNT][4] = {
	{ "virtio_pci", "virtio_blk", NULL },
	{ "ata_piix", "sd_mod", NULL },
	{ "virtio_pci", "virtio_scsi", "sd_mod", NULL },
};

static json_t *kernel_json(const struct vmc_kernel *k)
{
	json_t *o = json_pack("{s:s, s:s, s:s*, s:b}", "version", k->version,
			      "vmlinuz", k->vmlinuz, "initrd",
			      k->initrd[0] ? k->initrd : NULL,
			      "virtio_modules_installed",
			      k->virtio_available);
	json_t *in = json_array(), *bi = json_array(), *miss = json_object();

	for (int i = 0; vmc_storage_drivers[i]; i++) {
		if (vmc_modset_has(&k->initrd_mods, vmc_storage_drivers[i]))
			json_array_append_new(in,
					json_string(vmc_storage_drivers[i]));
		if (vmc_modset_has(&k->builtin, vmc_storage_drivers[i]))
			json_array_append_new(bi,
					json_string(vmc_storage_drivers[i]));
	}
	for (int b = 0; b < VMC_GBUS_COUNT; b++) {
		json_t *m = json_array();

		for (int i = 0; bus_needs[b][i]; i++)
			if (!vmc_kernel_has(k, bus_needs[b][i]))
				json_array_append_new(m,
					json_string(bus_needs[b][i]));
		json_object_set_new(miss, vmc_guest_bus_name(b), m);
	}
	json_object_set_new(o, "initrd_drivers", in);
	json_object_set_new(o, "builtin_drivers", bi);
	json_object_set_new(o, "missing_drivers", miss);
	json_object_set_new(o, "initrd_modules",
			    json_integer((json_int_t)k->initrd_mods.n));
	if (k->initrd_error[0])
		json_object_set_new(o, "initrd_error",
				    json_string(k->initrd_error));
	return o;
}

static json_t *strings(const char (*v)[VMC_STR], int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *boot_json(const struct vmc_guest *g)
{
	json_t *o = json_pack("{s:s, s:b, s:s*}", "loader", g->bootloader,
			      "etc_default_grub", g->default_grub,
			      "grub_mkconfig", g->grub_mkconfig[0] ?
			      g->grub_mkconfig : NULL);
	json_t *e = json_array();

	json_object_set_new(o, "configs", strings(g->bootcfg, g->nbootcfg));
	for (int i = 0; i < g->nentries; i++)
		json_array_append_new(e, json_pack("{s:s, s:s, s:s, s:s, s:s}",
			"title", g->entries[i].title,
			"kernel", g->entries[i].kernel,
			"initrd", g->entries[i].initrd,
			"cmdline", g->entries[i].cmdline,
			"root", g->entries[i].root));
	json_object_set_new(o, "entries", e);
	json_object_set_new(o, "default_entry",
			    json_integer(g->default_entry));
	return o;
}

static void linux_json(const struct vmc_guest *g, json_t *o)
{
	json_t *ks = json_array(), *names = json_array(), *tools = json_array();
	const struct vmc_kernel *dk = vmc_guest_default_kernel(g);

	for (int i = 0; i < g->nkernels; i++)
		json_array_append_new(ks, kernel_json(&g->kernels[i]));
	for (int i = 0; i < g->nnames; i++)
		json_array_append_new(names, json_pack("{s:s, s:s, s:b}",
			"where", g->names[i].where, "name", g->names[i].name,
			"unstable", g->names[i].unstable));
	for (int i = 0; i < g->ntools; i++)
		json_array_append_new(tools, json_string(g->tools[i]));
	json_object_set_new(o, "kernels", ks);
	json_object_set_new(o, "default_kernel",
			    dk ? json_string(dk->version) : json_null());
	json_object_set_new(o, "initramfs_tool",
			    json_string(g->initramfs_tool));
	json_object_set_new(o, "root_fstab",
			    json_string(g->root_spec[0] ? g->root_spec : ""));
	json_object_set_new(o, "device_names", names);
	json_object_set_new(o, "guest_tools", tools);
	json_object_set_new(o, "network", strings(g->net, g->nnet));
	json_object_set_new(o, "lvm", strings(g->id.lvm, g->id.nlvm));
}

const char *vmc_windriver_start_name(int64_t start)
{
	static const char *const n[] = {
		"boot", "system", "automatic", "manual", "disabled",
	};

	return start >= 0 && start <= 4 ? n[start] : start < 0 ? "none" :
	       "unknown";
}

/* Drivers of other hypervisors' hardware: leftovers on KVM. */
static bool leftover(const char *name)
{
	static const char *const l[] = {
		"storvsc", "vmbus", "netvsc", "pvscsi", "vmxnet3", NULL,
	};

	for (int i = 0; l[i]; i++)
		if (!strcmp(l[i], name))
			return true;
	return false;
}

static json_t *windriver_json(const struct vmc_windriver *d)
{
	return json_pack("{s:b, s:o, s:s, s:s*, s:s*, s:b}",
			 "installed", d->service && d->file_present,
			 "start", d->start >= 0 ? json_integer(d->start) :
			 json_null(), "start_type",
			 vmc_windriver_start_name(d->start),
			 "image_path", d->image_path[0] ? d->image_path : NULL,
			 "file", d->file[0] ? d->file : NULL,
			 "file_present", d->file_present);
}

static json_t *windows_json(const struct vmc_windows *w)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s*}",
		"systemroot", w->systemroot, "product_name", w->product,
		"edition", w->edition, "current_version", w->current_version,
		"build", w->build, "control_set",
		w->control_set[0] ? w->control_set : NULL, "registry_error",
		w->registry_error[0] ? w->registry_error : NULL);
	json_t *drv = json_object(), *in = json_array(), *left = json_array();

	json_object_set_new(o, "version", json_pack("{s:o, s:o}", "major",
		w->major >= 0 ? json_integer(w->major) : json_null(),
		"minor", w->minor >= 0 ? json_integer(w->minor) :
		json_null()));
	for (int i = 0; i < VMC_WIN_DRIVERS; i++) {
		const struct vmc_windriver *d = &w->drivers[i];

		json_object_set_new(drv, d->name, windriver_json(d));
		if (d->service && d->file_present)
			json_array_append_new(leftover(d->name) ? left : in,
					      json_string(d->name));
	}
	json_object_set_new(o, "drivers", drv);
	json_object_set_new(o, "installed_drivers", in);
	json_object_set_new(o, "leftovers", left);
	return o;
}

json_t *vmc_guest_json(const struct vmc_guest *g)
{
	json_t *o = json_object(), *rd = json_object();

	json_object_set_new(o, "os_found", json_boolean(g->id.found));
	json_object_set_new(o, "firmware", json_string(g->id.firmware));
	json_object_set_new(o, "esp", vmc_esp_json(&g->esp));
	if (g->id.found) {
		json_object_set_new(o, "type", json_string(g->id.type));
		json_object_set_new(o, "distro", json_string(g->id.distro));
		json_object_set_new(o, "product", json_string(g->id.product));
		json_object_set_new(o, "version", json_pack("{s:i, s:i}",
				    "major", g->id.major, "minor", g->id.minor));
		json_object_set_new(o, "arch", json_string(g->id.arch));
		json_object_set_new(o, "hostname", json_string(g->id.hostname));
		json_object_set_new(o, "root_filesystem",
				    json_string(g->id.root_fs));
		json_object_set_new(o, "root_fstype",
				    json_string(g->id.root_fstype));
		json_object_set_new(o, "boot", boot_json(g));
	}
	if (g->id.found && !strcmp(g->id.type, "linux"))
		linux_json(g, o);
	if (g->id.found && !strcmp(g->id.type, "windows"))
		json_object_set_new(o, "windows", windows_json(&g->win));
	for (int b = 0; b < VMC_GBUS_COUNT; b++)
		json_object_set_new(rd, vmc_guest_bus_name(b),
			json_pack("{s:b, s:s}", "ready", g->ready[b],
				  "verdict", g->verdict[b]));
	json_object_set_new(o, "readiness", rd);
	return o;
}
