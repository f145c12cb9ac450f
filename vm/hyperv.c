/* Hyper-V exported configuration, Windows Server 2012 R2 and earlier
 * (Virtual Machines/GUID.xml, usually UTF-16): <configuration> with
 * properties/name, properties/subtype (1: generation 2, which is UEFI),
 * settings/processors/count, settings/memory/bank/size (MiB), the IDE
 * controllers under _83F8638B-8DCA-4152-9EDA-2CA8B33039B4_ and SCSI
 * under _d422512d-2bf2-4752-809d-7b82b5fcb1b4_ (controllerN/driveM with
 * pathname and type), and network adapters (elements holding a
 * MacAddress).  Disk paths are Windows paths: the disks are looked up
 * by name in the export folder ("Virtual Hard Disks").  The binary .vmcx
 * of 2016 and later is undocumented and not read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "vm/xml.h"

#define IDE_GUID "_83F8638B-8DCA-4152-9EDA-2CA8B33039B4_"
#define SCSI_GUID "_d422512d-2bf2-4752-809d-7b82b5fcb1b4_"

static xmlNodePtr child_ci(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcasecmp((const char *)n->name, name))
			return n;
	return NULL;
}

static int u64_at(xmlNodePtr n, const char *a, const char *b, uint64_t *v)
{
	xmlNodePtr x = child_ci(child_ci(n, a), b);
	char *t = x ? vmc_xml_text(x) : NULL;
	int r = vmc_xml_u64(t, v);

	free(t);
	return r;
}

static int add_drive(const char *cfg, struct vmc_vm *vm, xmlNodePtr drv,
		     enum vmc_disk_bus bus, unsigned c, unsigned u,
		     struct vmc_error *err)
{
	char *path = vmc_xml_child_text(drv, "pathname");
	char *type = vmc_xml_child_text(drv, "type");
	struct vmc_vm_disk *d;
	int r = 0;

	if (!path || !*path || (type && strcasecmp(type, "VHD") &&
				strcasecmp(type, "ISO")))
		goto out;
	d = vmc_vm_add_disk(vm);
	if (!d) {
		r = vmc_error_set(err, EINVAL, "%s: too many disks", cfg);
		goto out;
	}
	d->bus = bus;
	d->ctrl_index = c;
	d->unit = u;
	d->cdrom = type && !strcasecmp(type, "ISO");
	d->href = path;
	path = NULL;
	if (asprintf(&d->id, "%s%u:%u", vmc_disk_bus_name(bus), c, u) < 0)
		d->id = NULL;
	if (!d->cdrom) {
		d->path = vmc_vm_resolve(cfg, d->href, "Virtual Hard Disks",
					 err);
		r = d->path ? 0 : -1;
	}
out:
	free(path);
	free(type);
	return r;
}

static int read_ctrls(const char *cfg, struct vmc_vm *vm, xmlNodePtr root,
		      const char *guid, enum vmc_disk_bus bus,
		      struct vmc_error *err)
{
	xmlNodePtr g = child_ci(root, guid);
	char name[32];

	for (unsigned c = 0; g && c < 4; c++) {
		xmlNodePtr ctl;
		struct vmc_vm_ctrl *vc;

		snprintf(name, sizeof(name), "controller%u", c);
		ctl = child_ci(g, name);
		if (!ctl)
			continue;
		vc = vmc_vm_add_ctrl(vm);
		if (!vc)
			return vmc_error_set(err, EINVAL, "%s: too many"
					     " controllers", cfg);
		vc->bus = bus;
		vc->index = c;
		vc->model = strdup(bus == VMC_DISK_IDE ? "hyperv-ide" :
				   "hyperv-scsi");
		for (unsigned u = 0; u < 64; u++) {
			snprintf(name, sizeof(name), "drive%u", u);
			if (child_ci(ctl, name) &&
			    add_drive(cfg, vm, child_ci(ctl, name), bus, c, u,
				      err) < 0)
				return -1;
		}
	}
	return 0;
}

static int read_nics(const char *cfg, struct vmc_vm *vm, xmlNodePtr root,
		     struct vmc_error *err)
{
	for (xmlNodePtr n = root->children; n; n = n->next) {
		xmlNodePtr m = child_ci(n, "MacAddress");
		struct vmc_vm_nic *nic;
		char *t, mac[18];

		if (!m)
			continue;
		nic = vmc_vm_add_nic(vm);
		if (!nic)
			return vmc_error_set(err, EINVAL, "%s: too many NICs",
					     cfg);
		t = vmc_xml_text(m);
		if (t && *t && vmc_mac_normalize(t, mac) < 0) {
			vmc_error_set(err, EINVAL, "%s: <%s>: MacAddress '%s'"
				      " is not a MAC", cfg, n->name, t);
			free(t);
			return -1;
		}
		nic->mac = t && *t ? strdup(mac) : NULL;
		free(t);
		nic->model = strdup("hyperv-netvsc");
		nic->network = vmc_xml_child_text(child_ci(n, "Connection"),
						  "AltSwitchName");
	}
	return 0;
}

static int read_shape(const char *cfg, const char *root_cfg,
		      struct vmc_vm *vm, xmlNodePtr root,
		      struct vmc_error *err)
{
	xmlNodePtr props = child_ci(root, "properties");
	xmlNodePtr set = child_ci(root, "settings");
	uint64_t v;

	vm->name = vmc_xml_child_text(props, "name");
	if (!vm->name || !*vm->name)
		return vmc_error_set(err, EINVAL, "%s: no properties/name",
				     cfg);
	if (u64_at(root, "properties", "subtype", &v) == 0 && v == 1)
		vm->firmware = VMC_FW_EFI;
	if (u64_at(set, "processors", "count", &v) < 0 || !v || v > 1024)
		return vmc_error_set(err, EINVAL, "%s: settings/processors/"
				     "count missing or not 1..1024", cfg);
	vm->vcpus = (unsigned)v;
	if (u64_at(child_ci(set, "memory"), "bank", "size", &v) < 0 || !v ||
	    v > (16u << 20))
		return vmc_error_set(err, EINVAL, "%s: settings/memory/bank/"
				     "size missing or not a size in MiB", cfg);
	vm->memory = v << 20;
	vm->os_type = strdup("unknown (Hyper-V does not record it)");
	if (read_ctrls(root_cfg, vm, root, IDE_GUID, VMC_DISK_IDE, err) < 0 ||
	    read_ctrls(root_cfg, vm, root, SCSI_GUID, VMC_DISK_SCSI, err) < 0)
		return -1;
	return read_nics(cfg, vm, root, err);
}

struct vmc_vm *vmc_hyperv_read(const char *path, struct vmc_error *err)
{
	xmlDocPtr doc = vmc_xml_read_file(path, 16u << 20, err);
	struct vmc_vm *vm = NULL;
	char *copy = strdup(path), *root_cfg = NULL;
	xmlNodePtr root;

	if (!doc || !copy)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!vmc_xml_is(root, "configuration")) {
		vmc_error_set(err, EINVAL, "%s: the root element is <%s>, not"
			      " a Hyper-V <configuration>", path, root->name);
		goto out;
	}
	/* an export: NAME/Virtual Machines/GUID.xml beside NAME/Virtual
	 * Hard Disks/; the disks are looked up from NAME */
	if (!strcmp(basename(dirname(copy)), "Virtual Machines"))
		asprintf(&root_cfg, "%s/../config", dirname(strcpy(copy,
							path)));
	vm = vmc_vm_new("hyperv");
	if (vm && read_shape(path, root_cfg ? root_cfg : path, vm, root,
			     err) < 0) {
		vmc_vm_free(vm);
		vm = NULL;
	}
out:
	free(copy);
	free(root_cfg);
	xmlFreeDoc(doc);
	return vm;
}
