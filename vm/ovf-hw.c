/* OVF VirtualHardwareSection: DSP0243 section 9.8 and the CIM
 * ResourceAllocationSettingData items it holds (DSP1041 / DSP1043):
 * ResourceType 3 processor, 4 memory, 5 IDE, 6 parallel SCSI, 20 other
 * storage (SATA, NVMe), 17 disk drive, 10 Ethernet adapter, 15/16 CD/DVD.
 * OVF 2.x StorageItem and EthernetPortItem are read the same way.
 * VMware's firmware choice is <vmw:Config vmw:key="firmware"
 * vmw:value="efi"/>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "vm/ovf.h"

#define MAX_ITEMS 1024

struct item {
	xmlNodePtr node;
	char *iid, *parent, *sub, *addr, *aop, *host, *name, *conn;
	uint64_t type;
};

static void item_free(struct item *it)
{
	free(it->iid);
	free(it->parent);
	free(it->sub);
	free(it->addr);
	free(it->aop);
	free(it->host);
	free(it->name);
	free(it->conn);
}

static int item_read(struct vmc_ovf_ctx *c, xmlNodePtr n, struct item *it)
{
	char *t = vmc_xml_child_text(n, "ResourceType");

	memset(it, 0, sizeof(*it));
	it->node = n;
	if (vmc_xml_u64(t, &it->type) < 0) {
		char *iid = vmc_xml_child_text(n, "InstanceID");

		vmc_error_set(c->err, EINVAL, "%s: hardware Item (InstanceID"
			      " %s) has no valid ResourceType", c->name,
			      iid ? iid : "?");
		free(iid);
		free(t);
		return -1;
	}
	free(t);
	it->iid = vmc_xml_child_text(n, "InstanceID");
	it->parent = vmc_xml_child_text(n, "Parent");
	it->sub = vmc_xml_child_text(n, "ResourceSubType");
	it->addr = vmc_xml_child_text(n, "Address");
	it->aop = vmc_xml_child_text(n, "AddressOnParent");
	it->host = vmc_xml_child_text(n, "HostResource");
	it->name = vmc_xml_child_text(n, "ElementName");
	it->conn = vmc_xml_child_text(n, "Connection");
	return 0;
}

static int quantity(struct vmc_ovf_ctx *c, struct item *it, uint64_t *v,
		    bool memory)
{
	char *q = vmc_xml_child_text(it->node, "VirtualQuantity");
	char *u = vmc_xml_child_text(it->node, "AllocationUnits");
	uint64_t mul = 1;
	int r = 0;

	if (memory && (!u || !*u)) {
		free(u);
		u = strdup("byte * 2^20");
	}
	if (vmc_xml_u64(q, v) < 0 || *v == 0 ||
	    (memory && (vmc_ovf_units(u, &mul) < 0 ||
			vmc_mul_overflow(*v, mul, v))))
		r = vmc_error_set(c->err, EINVAL, "%s: Item %s (ResourceType"
				  " %llu): bad VirtualQuantity '%s' units"
				  " '%s'", c->name, it->iid ? it->iid : "?",
				  (unsigned long long)it->type, q ? q : "",
				  u ? u : "");
	if (!memory && r == 0 && *v > 1024)
		r = vmc_error_set(c->err, EINVAL, "%s: %llu virtual CPUs is"
				  " more than vmconv accepts (1024)", c->name,
				  (unsigned long long)*v);
	free(q);
	free(u);
	return r;
}

static enum vmc_disk_bus ctrl_bus(const struct item *it)
{
	if (it->type == 5)
		return VMC_DISK_IDE;
	if (it->type == 6)
		return VMC_DISK_SCSI;
	if (it->type == 20 && it->sub && strcasestr(it->sub, "nvme"))
		return VMC_DISK_NVME;
	if (it->type == 20)
		return VMC_DISK_SATA;
	return VMC_DISK_UNKNOWN;
}

static const struct item *find_iid(struct item *its, size_t n, const char *id)
{
	for (size_t i = 0; id && i < n; i++)
		if (its[i].iid && !strcmp(its[i].iid, id))
			return &its[i];
	return NULL;
}

static int add_ctrl(struct vmc_ovf_ctx *c, const struct item *it)
{
	struct vmc_vm_ctrl *vc = vmc_vm_add_ctrl(c->vm);
	uint64_t idx = 0;

	if (!vc)
		return vmc_error_set(c->err, EINVAL, "%s: too many"
				     " controllers", c->name);
	vc->bus = ctrl_bus(it);
	vc->model = it->sub ? strdup(it->sub) : NULL;
	if (it->addr && vmc_xml_u64(it->addr, &idx) == 0 && idx < 64)
		vc->index = (unsigned)idx;
	return 0;
}

static int attach_disk(struct vmc_ovf_ctx *c, struct item *its, size_t n,
		       const struct item *it)
{
	const char *h = it->host, *id;
	const struct item *p = find_iid(its, n, it->parent);
	uint64_t unit = 0;

	if (!h)
		return vmc_error_set(c->err, EINVAL, "%s: disk Item %s has no"
				     " HostResource", c->name, it->iid);
	id = strncmp(h, "ovf:/disk/", 10) == 0 ? h + 10 :
	     strncmp(h, "/disk/", 6) == 0 ? h + 6 : NULL;
	if (!id)	/* ovf:/file/ID: a file used as is, or a blank */
		return vmc_vm_add_note(c->vm, "disk Item %s uses '%s', not a"
				       " DiskSection disk; not converted",
				       it->iid, h);
	for (size_t i = 0; i < c->vm->n_disks; i++) {
		struct vmc_vm_disk *d = &c->vm->disks[i];

		if (strcmp(d->id, id))
			continue;
		if (d->bus != VMC_DISK_UNKNOWN)
			return vmc_error_set(c->err, EINVAL, "%s: disk '%s' is"
					     " attached twice (Item %s)",
					     c->name, id, it->iid);
		d->bus = p ? ctrl_bus(p) : VMC_DISK_UNKNOWN;
		if (d->bus == VMC_DISK_UNKNOWN)
			d->bus = VMC_DISK_SCSI;	/* VMware's default */
		if (p && p->addr && vmc_xml_u64(p->addr, &unit) == 0 &&
		    unit < 64)
			d->ctrl_index = (unsigned)unit;
		unit = 0;
		if (it->aop && vmc_xml_u64(it->aop, &unit) == 0 && unit < 256)
			d->unit = (unsigned)unit;
		return 0;
	}
	return vmc_error_set(c->err, EINVAL, "%s: disk Item %s names disk"
			     " '%s', which DiskSection does not list",
			     c->name, it->iid, id);
}

static int add_nic(struct vmc_ovf_ctx *c, const struct item *it)
{
	struct vmc_vm_nic *nic = vmc_vm_add_nic(c->vm);
	char mac[18];

	if (!nic)
		return vmc_error_set(c->err, EINVAL, "%s: too many NICs",
				     c->name);
	nic->model = it->sub ? strdup(it->sub) : NULL;
	nic->network = it->conn ? strdup(it->conn) : NULL;
	if (it->addr && *it->addr) {
		if (vmc_mac_normalize(it->addr, mac) < 0)
			return vmc_error_set(c->err, EINVAL, "%s: NIC Item %s:"
					     " Address '%s' is not a MAC",
					     c->name, it->iid, it->addr);
		nic->mac = strdup(mac);
	}
	return 0;
}

static int use_item(struct vmc_ovf_ctx *c, struct item *its, size_t n,
		    struct item *it)
{
	uint64_t v;

	switch (it->type) {
	case 3:
		if (quantity(c, it, &v, false) < 0)
			return -1;
		c->vm->vcpus = (unsigned)v;
		return 0;
	case 4:
		return quantity(c, it, &c->vm->memory, true);
	case 5: case 6: case 20:
		return add_ctrl(c, it);
	case 17: case 31:
		return attach_disk(c, its, n, it);
	case 10:
		return add_nic(c, it);
	default:
		return vmc_vm_add_note(c->vm, "hardware Item %s (ResourceType"
				       " %llu, %s) kept, not converted",
				       it->iid ? it->iid : "?",
				       (unsigned long long)it->type,
				       it->name ? it->name : "unnamed");
	}
}

static void read_config(struct vmc_ovf_ctx *c, xmlNodePtr hw)
{
	for (xmlNodePtr n = vmc_xml_child(hw, "Config"); n;
	     n = vmc_xml_next(n, "Config")) {
		char *k = vmc_xml_attr(n, "key"), *v = vmc_xml_attr(n, "value");

		if (k && v && !strcmp(k, "firmware") && !strcasecmp(v, "efi"))
			c->vm->firmware = VMC_FW_EFI;
		free(k);
		free(v);
	}
}

static bool is_item(xmlNodePtr n)
{
	return vmc_xml_is(n, "Item") || vmc_xml_is(n, "StorageItem") ||
	       vmc_xml_is(n, "EthernetPortItem");
}

int vmc_ovf_hardware(struct vmc_ovf_ctx *c, xmlNodePtr vs)
{
	xmlNodePtr hw = vmc_xml_child(vs, "VirtualHardwareSection");
	struct item *its;
	size_t n = 0;
	int r = 0;

	if (!hw)
		return vmc_error_set(c->err, EINVAL, "%s: VirtualSystem has no"
				     " VirtualHardwareSection", c->name);
	its = calloc(MAX_ITEMS, sizeof(*its));
	if (!its)
		return vmc_error_set(c->err, ENOMEM, "out of memory");
	for (xmlNodePtr x = hw->children; x && r == 0; x = x->next) {
		if (!is_item(x))
			continue;
		if (n == MAX_ITEMS)
			r = vmc_error_set(c->err, EINVAL, "%s: more than %d"
					  " hardware Items", c->name,
					  MAX_ITEMS);
		else if (item_read(c, x, &its[n]) == 0)
			n++;
		else
			r = -1;
	}
	/* controllers first, so disks find their parent's bus */
	for (size_t i = 0; i < n && r == 0; i++)
		if (ctrl_bus(&its[i]) != VMC_DISK_UNKNOWN)
			r = use_item(c, its, n, &its[i]);
	for (size_t i = 0; i < n && r == 0; i++)
		if (ctrl_bus(&its[i]) == VMC_DISK_UNKNOWN)
			r = use_item(c, its, n, &its[i]);
	read_config(c, hw);
	for (size_t i = 0; i < n; i++)
		item_free(&its[i]);
	free(its);
	return r;
}
