/* OVF 1.0 descriptor writer (DSP0243 1.0), laid out as VMware ovftool
 * writes it: References, DiskSection (streamOptimized VMDK format URL),
 * NetworkSection, one VirtualSystem with OperatingSystemSection and a
 * VirtualHardwareSection of rasd Items (elements in the schema's
 * alphabetical order), vmw:Config firmware="efi" for UEFI guests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/tree.h>

#include "vm/vm.h"
#include "vm/xml.h"

#define NS_OVF "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_RASD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/" \
	"CIM_ResourceAllocationSettingData"
#define NS_VSSD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/" \
	"CIM_VirtualSystemSettingData"
#define NS_VMW "http://www.vmware.com/schema/ovf"
#define NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/common"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define VMDK_STREAM "http://www.vmware.com/interfaces/specifications/" \
	"vmdk.html#streamOptimized"

struct w {
	xmlNsPtr ovf, rasd, vssd, vmw;
	unsigned iid;
};

static xmlNodePtr el(xmlNodePtr p, xmlNsPtr ns, const char *n, const char *t)
{
	return xmlNewTextChild(p, ns, BAD_CAST n, BAD_CAST t);
}

static void at(xmlNodePtr n, xmlNsPtr ns, const char *a, const char *v)
{
	xmlNewNsProp(n, ns, BAD_CAST a, BAD_CAST v);
}

static void capacity(uint64_t bytes, char *num, size_t nlen, char *units,
		     size_t ulen)
{
	unsigned sh = 30;

	while (sh && (bytes & ((1ull << sh) - 1)))
		sh -= 10;
	snprintf(num, nlen, "%llu", (unsigned long long)(bytes >> sh));
	if (sh)
		snprintf(units, ulen, "byte * 2^%u", sh);
	else
		snprintf(units, ulen, "byte");
}

static void refs_and_disks(struct w *w, const struct vmc_vm *vm,
			   xmlNodePtr env)
{
	xmlNodePtr refs = el(env, NULL, "References", NULL);
	xmlNodePtr ds = el(env, NULL, "DiskSection", NULL), n;
	char a[64], b[64];
	unsigned k = 0;

	el(ds, NULL, "Info", "Virtual disk information");
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vmc_vm_disk *d = &vm->disks[i];
		struct stat st;

		if (d->cdrom || !d->path)
			continue;
		k++;
		n = el(refs, NULL, "File", NULL);
		at(n, w->ovf, "href", d->href);
		snprintf(a, sizeof(a), "file%u", k);
		at(n, w->ovf, "id", a);
		snprintf(b, sizeof(b), "%llu", stat(d->path, &st) == 0 ?
			 (unsigned long long)st.st_size : 0ull);
		at(n, w->ovf, "size", b);
		n = el(ds, NULL, "Disk", NULL);
		capacity(d->capacity, a, sizeof(a), b, sizeof(b));
		at(n, w->ovf, "capacity", a);
		at(n, w->ovf, "capacityAllocationUnits", b);
		snprintf(a, sizeof(a), "vmdisk%u", k);
		at(n, w->ovf, "diskId", a);
		snprintf(a, sizeof(a), "file%u", k);
		at(n, w->ovf, "fileRef", a);
		at(n, w->ovf, "format", VMDK_STREAM);
	}
	n = el(env, NULL, "NetworkSection", NULL);
	el(n, NULL, "Info", "The list of logical networks");
	n = el(n, NULL, "Network", NULL);
	at(n, w->ovf, "name", "VM Network");
	el(n, NULL, "Description", "The VM Network network");
}

/* One rasd Item; fields in schema order, NULL ones left out. */
static void item(struct w *w, xmlNodePtr hw, const char *addr,
		 const char *aop, const char *units, const char *conn,
		 const char *desc, const char *name, const char *host,
		 const char *parent, const char *sub, unsigned type,
		 const char *qty)
{
	xmlNodePtr it = el(hw, NULL, "Item", NULL);
	char iid[16], t[16];

	snprintf(iid, sizeof(iid), "%u", ++w->iid);
	snprintf(t, sizeof(t), "%u", type);
	if (addr)
		el(it, w->rasd, "Address", addr);
	if (aop)
		el(it, w->rasd, "AddressOnParent", aop);
	if (units)
		el(it, w->rasd, "AllocationUnits", units);
	if (type == 10)
		el(it, w->rasd, "AutomaticAllocation", "true");
	if (conn)
		el(it, w->rasd, "Connection", conn);
	if (desc)
		el(it, w->rasd, "Description", desc);
	el(it, w->rasd, "ElementName", name);
	if (host)
		el(it, w->rasd, "HostResource", host);
	el(it, w->rasd, "InstanceID", iid);
	if (parent)
		el(it, w->rasd, "Parent", parent);
	if (sub)
		el(it, w->rasd, "ResourceSubType", sub);
	el(it, w->rasd, "ResourceType", t);
	if (qty)
		el(it, w->rasd, "VirtualQuantity", qty);
}

static const char *nic_model(const char *m)
{
	static const char *const vmw[] = { "E1000", "E1000e", "VmxNet3",
					   "PCNet32" };

	for (size_t i = 0; m && i < sizeof(vmw) / sizeof(vmw[0]); i++)
		if (!strcasecmp(m, vmw[i]))
			return vmw[i];
	return "E1000";
}

static void hardware(struct w *w, const struct vmc_vm *vm, xmlNodePtr vs)
{
	xmlNodePtr hw = el(vs, NULL, "VirtualHardwareSection", NULL), sys, n;
	char a[64], b[96], scsi[16], ide[16];
	unsigned k = 0, su = 0, iu = 0;

	el(hw, NULL, "Info", "Virtual hardware requirements");
	sys = el(hw, NULL, "System", NULL);
	el(sys, w->vssd, "ElementName", "Virtual Hardware Family");
	el(sys, w->vssd, "InstanceID", "0");
	el(sys, w->vssd, "VirtualSystemIdentifier", vm->name);
	el(sys, w->vssd, "VirtualSystemType", "vmx-10");
	snprintf(a, sizeof(a), "%u", vm->vcpus ? vm->vcpus : 1);
	snprintf(b, sizeof(b), "%s virtual CPU(s)", a);
	item(w, hw, NULL, NULL, "hertz * 10^6", NULL,
	     "Number of Virtual CPUs", b, NULL, NULL, NULL, 3, a);
	snprintf(a, sizeof(a), "%llu", (unsigned long long)(vm->memory >> 20));
	snprintf(b, sizeof(b), "%sMB of memory", a);
	item(w, hw, NULL, NULL, "byte * 2^20", NULL, "Memory Size", b, NULL,
	     NULL, NULL, 4, a);
	item(w, hw, "0", NULL, NULL, NULL, "SCSI Controller",
	     "SCSI Controller 0", NULL, NULL, "lsilogic", 6, NULL);
	snprintf(scsi, sizeof(scsi), "%u", w->iid);
	item(w, hw, "0", NULL, NULL, NULL, "IDE Controller", "IDE 0", NULL,
	     NULL, NULL, 5, NULL);
	snprintf(ide, sizeof(ide), "%u", w->iid);
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vmc_vm_disk *d = &vm->disks[i];
		bool on_ide = d->bus == VMC_DISK_IDE && iu < 2;

		if (d->cdrom || !d->path)
			continue;
		snprintf(a, sizeof(a), "%u", on_ide ? iu++ : su++);
		if (!on_ide && su == 8)	/* unit 7 is the controller's */
			su++;
		snprintf(b, sizeof(b), "ovf:/disk/vmdisk%u", ++k);
		item(w, hw, NULL, a, NULL, NULL, NULL, "Hard disk", b,
		     on_ide ? ide : scsi, NULL, 17, NULL);
	}
	for (size_t i = 0; i < vm->n_nics; i++) {
		snprintf(b, sizeof(b), "Network adapter %zu", i + 1);
		snprintf(a, sizeof(a), "%zu", 7 + i);
		item(w, hw, vm->nics[i].mac, a, NULL, "VM Network", NULL, b,
		     NULL, NULL, nic_model(vm->nics[i].model), 10, NULL);
	}
	if (vm->firmware == VMC_FW_EFI) {
		n = el(hw, w->vmw, "Config", NULL);
		at(n, w->ovf, "required", "false");
		at(n, w->vmw, "key", "firmware");
		at(n, w->vmw, "value", "efi");
	}
}

static bool is_linux(const char *t)
{
	static const char *const l[] = { "linux", "debian", "ubuntu",
		"centos", "rhel", "sles", "fedora", "rocky", "alma" };

	for (size_t i = 0; t && i < sizeof(l) / sizeof(l[0]); i++)
		if (strcasestr(t, l[i]))
			return true;
	return false;
}

/* vmw:osType: kept when it is one already ("debian11_64Guest"), made
 * from a .vmx guestOS the way VMware names them ("debian10-64" ->
 * "debian10_64Guest"), else generic. */
static char *os_type(const struct vmc_vm *vm)
{
	const char *t = vm->os_type;
	size_t n = t ? strlen(t) : 0;
	char *r;

	if (n > 5 && n < 64 && !strcmp(t + n - 5, "Guest"))
		return strdup(t);
	if (n && n < 64 && !strcmp(vm->source_kind, "vmx") &&
	    strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	    asprintf(&r, "%sGuest", t) > 0) {
		for (char *p = r; *p; p++)
			if (*p == '-')
				*p = '_';
		return r;
	}
	return strdup(is_linux(t) ? "otherLinux64Guest" : "otherGuest64");
}

static void virtual_system(struct w *w, const struct vmc_vm *vm,
			   xmlNodePtr env)
{
	xmlNodePtr vs = el(env, NULL, "VirtualSystem", NULL), os;
	char *ot = os_type(vm);
	bool linux_os = is_linux(ot);
	uint64_t id;

	at(vs, w->ovf, "id", vm->name);
	el(vs, NULL, "Info", "A virtual machine");
	el(vs, NULL, "Name", vm->name);
	os = el(vs, NULL, "OperatingSystemSection", NULL);
	/* CIM_OperatingSystem: 1 Other, 101 Linux 64-Bit */
	at(os, w->ovf, "id", vm->os_id && vmc_xml_u64(vm->os_id, &id) == 0 ?
	   vm->os_id : linux_os ? "101" : "1");
	at(os, w->vmw, "osType", ot ? ot : "otherGuest64");
	el(os, NULL, "Info", "The kind of installed guest operating system");
	free(ot);
	hardware(w, vm, vs);
}

char *vmc_ovf_write(const struct vmc_vm *vm, struct vmc_error *err)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr env;
	struct w w = { 0 };
	xmlChar *buf = NULL;
	char *res = NULL;
	int len = 0;

	if (!doc)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	env = xmlNewNode(NULL, BAD_CAST "Envelope");
	xmlDocSetRootElement(doc, env);
	xmlSetNs(env, xmlNewNs(env, BAD_CAST NS_OVF, NULL));
	xmlNewNs(env, BAD_CAST NS_CIM, BAD_CAST "cim");
	w.ovf = xmlNewNs(env, BAD_CAST NS_OVF, BAD_CAST "ovf");
	w.rasd = xmlNewNs(env, BAD_CAST NS_RASD, BAD_CAST "rasd");
	w.vmw = xmlNewNs(env, BAD_CAST NS_VMW, BAD_CAST "vmw");
	w.vssd = xmlNewNs(env, BAD_CAST NS_VSSD, BAD_CAST "vssd");
	xmlNewNs(env, BAD_CAST NS_XSI, BAD_CAST "xsi");
	at(env, w.vmw, "buildId", "vmconv");
	refs_and_disks(&w, vm, env);
	virtual_system(&w, vm, env);
	xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
	if (buf)
		res = strndup((const char *)buf, (size_t)len);
	if (!res)
		vmc_error_set(err, ENOMEM, "out of memory");
	xmlFree(buf);
	xmlFreeDoc(doc);
	return res;
}
