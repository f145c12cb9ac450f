/* libvirt domain XML (https://libvirt.org/formatdomain.html), read as a
 * KVM source and written for a KVM target: name, memory, vcpu, os
 * (firmware), devices/disk (source file, target bus, driver type),
 * devices/interface (mac, model), a serial console.  Checked in the tests
 * by `virt-xml-validate FILE domain` against libvirt's own schema.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <vmconv/output.h>

#include "common/bytes.h"
#include "vm/ovf.h"
#include "vm/vm.h"
#include "vm/xml.h"

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

static int read_memory(const char *path, xmlNodePtr dom, struct vmc_vm *vm,
		       struct vmc_error *err)
{
	xmlNodePtr m = vmc_xml_child(dom, "memory");
	char *u = vmc_xml_attr(m, "unit"), *t = m ? vmc_xml_text(m) : NULL;
	static const struct { const char *u; unsigned sh; } un[] = {
		{ "b", 0 }, { "bytes", 0 }, { "KiB", 10 }, { "k", 10 },
		{ "MiB", 20 }, { "M", 20 }, { "GiB", 30 }, { "G", 30 },
		{ "TiB", 40 }, { "T", 40 },
	};
	int sh = u ? -1 : 10, r = 0;
	uint64_t v;

	for (size_t i = 0; u && i < VMC_ARRAY_SIZE(un); i++)
		if (!strcmp(u, un[i].u))
			sh = (int)un[i].sh;
	if (sh < 0 || vmc_xml_u64(t, &v) < 0 || !v ||
	    vmc_mul_overflow(v, 1ull << sh, &vm->memory))
		r = vmc_error_set(err, EINVAL, "%s: <memory unit='%s'>%s is"
				  " not a memory size", path, u ? u : "KiB",
				  t ? t : "");
	free(u);
	free(t);
	return r;
}

static int read_disk(const char *path, xmlNodePtr d, struct vmc_vm *vm,
		     struct vmc_error *err)
{
	char *dev = vmc_xml_attr(d, "device");
	xmlNodePtr tg = vmc_xml_child(d, "target");
	char *file = vmc_xml_attr(vmc_xml_child(d, "source"), "file");
	char *bus = vmc_xml_attr(tg, "bus");
	struct vmc_vm_disk *vd;
	int r = 0;

	if (dev && strcmp(dev, "disk") && strcmp(dev, "cdrom"))
		goto out;	/* floppy, lun */
	vd = vmc_vm_add_disk(vm);
	if (!vd) {
		r = vmc_error_set(err, EINVAL, "%s: too many disks", path);
		goto out;
	}
	vd->cdrom = dev && !strcmp(dev, "cdrom");
	vd->id = vmc_xml_attr(tg, "dev");
	vd->bus = vmc_disk_bus_parse(bus);
	vd->format = vmc_xml_attr(vmc_xml_child(d, "driver"), "type");
	if (vd->format && !strcmp(vd->format, "vpc"))
		strcpy(vd->format, "vhd");
	vd->href = file;
	file = NULL;
	if (vd->cdrom)
		goto out;
	if (!vd->href) {
		r = vmc_error_set(err, EINVAL, "%s: disk %s has no <source"
				  " file=...>", path, vd->id ? vd->id : "?");
		goto out;
	}
	vd->path = vmc_vm_resolve(path, vd->href, NULL, err);
	r = vd->path ? 0 : -1;
out:
	free(dev);
	free(file);
	free(bus);
	return r;
}

static int read_devices(const char *path, xmlNodePtr dom, struct vmc_vm *vm,
			struct vmc_error *err)
{
	xmlNodePtr devs = vmc_xml_child(dom, "devices");
	char mac[18];

	for (xmlNodePtr d = vmc_xml_child(devs, "disk"); d;
	     d = vmc_xml_next(d, "disk"))
		if (read_disk(path, d, vm, err) < 0)
			return -1;
	for (xmlNodePtr i = vmc_xml_child(devs, "interface"); i;
	     i = vmc_xml_next(i, "interface")) {
		struct vmc_vm_nic *n = vmc_vm_add_nic(vm);
		char *a = vmc_xml_attr(vmc_xml_child(i, "mac"), "address");

		if (!n || (a && vmc_mac_normalize(a, mac) < 0)) {
			vmc_error_set(err, EINVAL, "%s: interface mac '%s'"
				      " is not a MAC (or too many NICs)", path,
				      a ? a : "");
			free(a);
			return -1;
		}
		n->mac = a ? strdup(mac) : NULL;
		free(a);
		n->model = vmc_xml_attr(vmc_xml_child(i, "model"), "type");
		n->network = vmc_xml_attr(vmc_xml_child(i, "source"),
					  "network");
	}
	return 0;
}

static int read_domain(const char *path, xmlNodePtr dom, struct vmc_vm *vm,
		       struct vmc_error *err)
{
	xmlNodePtr os = vmc_xml_child(dom, "os");
	char *fw = vmc_xml_attr(os, "firmware"), *t;
	uint64_t v;

	vm->name = vmc_xml_child_text(dom, "name");
	if (!vm->name || !*vm->name)
		return vmc_error_set(err, EINVAL, "%s: domain has no <name>",
				     path);
	t = vmc_xml_child_text(dom, "vcpu");
	if (t ? vmc_xml_u64(t, &v) < 0 || !v || v > 1024 : (v = 1, 0)) {
		free(t);
		free(fw);
		return vmc_error_set(err, EINVAL, "%s: <vcpu> is not 1..1024",
				     path);
	}
	free(t);
	vm->vcpus = (unsigned)v;
	if ((fw && !strcmp(fw, "efi")) || vmc_xml_child(os, "nvram"))
		vm->firmware = VMC_FW_EFI;
	free(fw);
	vm->os_type = vmc_xml_child_text(os, "type");
	if (read_memory(path, dom, vm, err) < 0)
		return -1;
	return read_devices(path, dom, vm, err);
}

struct vmc_vm *vmc_libvirt_read(const char *path, struct vmc_error *err)
{
	xmlDocPtr doc = vmc_xml_read_file(path, 16u << 20, err);
	struct vmc_vm *vm = NULL;
	xmlNodePtr dom;

	if (!doc)
		return NULL;
	dom = xmlDocGetRootElement(doc);
	if (!vmc_xml_is(dom, "domain")) {
		vmc_error_set(err, EINVAL, "%s: the root element is <%s>, not"
			      " a libvirt <domain>", path, dom->name);
		goto out;
	}
	vm = vmc_vm_new("libvirt");
	if (vm && read_domain(path, dom, vm, err) < 0) {
		vmc_vm_free(vm);
		vm = NULL;
	}
out:
	xmlFreeDoc(doc);
	return vm;
}

/* ---- writing ---- */

static xmlNodePtr add(xmlNodePtr p, const char *name, const char *text)
{
	return xmlNewTextChild(p, NULL, BAD_CAST name, BAD_CAST text);
}

static void set(xmlNodePtr n, const char *a, const char *v)
{
	xmlNewProp(n, BAD_CAST a, BAD_CAST v);
}

static void write_os(const struct vmc_vm *vm, xmlNodePtr dom,
		     const char *nvram)
{
	xmlNodePtr os = add(dom, "os", NULL), n;

	n = add(os, "type", "hvm");
	set(n, "arch", "x86_64");
	set(n, "machine", vm->firmware == VMC_FW_EFI ? "q35" : "pc");
	if (vm->firmware == VMC_FW_EFI) {
		n = add(os, "loader", OVMF_CODE);
		set(n, "readonly", "yes");
		set(n, "type", "pflash");
		n = add(os, "nvram", nvram);
		set(n, "template", OVMF_VARS);
	}
	set(add(os, "boot", NULL), "dev", "hd");
	n = add(dom, "features", NULL);
	add(n, "acpi", NULL);
	add(n, "apic", NULL);
}

static void write_disks(const struct vmc_vm *vm, xmlNodePtr devs,
			enum vmc_disk_bus bus)
{
	const char *pre = bus == VMC_DISK_VIRTIO ? "vd" :
			  bus == VMC_DISK_IDE ? "hd" : "sd";
	unsigned k = 0;

	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vmc_vm_disk *d = &vm->disks[i];
		xmlNodePtr n, x;
		char dev[16];

		if (d->cdrom || !d->path)
			continue;
		n = add(devs, "disk", NULL);
		set(n, "type", "file");
		set(n, "device", "disk");
		x = add(n, "driver", NULL);
		set(x, "name", "qemu");
		set(x, "type", d->format && !strcmp(d->format, "vhd") ?
			"vpc" : d->format ? d->format : "raw");
		set(add(n, "source", NULL), "file", d->path);
		snprintf(dev, sizeof(dev), "%s%c", pre, 'a' + (k++ % 26));
		x = add(n, "target", NULL);
		set(x, "dev", dev);
		set(x, "bus", vmc_disk_bus_name(bus));
	}
}

static void write_devices(const struct vmc_vm *vm, xmlNodePtr dom,
			  enum vmc_disk_bus bus)
{
	xmlNodePtr devs = add(dom, "devices", NULL), n;

	write_disks(vm, devs, bus);
	for (size_t i = 0; i < vm->n_nics; i++) {
		n = add(devs, "interface", NULL);
		set(n, "type", "network");
		if (vm->nics[i].mac)
			set(add(n, "mac", NULL), "address", vm->nics[i].mac);
		set(add(n, "source", NULL), "network", "default");
		set(add(n, "model", NULL), "type", "virtio");
	}
	n = add(devs, "serial", NULL);
	set(n, "type", "pty");
	set(add(n, "target", NULL), "port", "0");
	n = add(devs, "console", NULL);
	set(n, "type", "pty");
	n = add(n, "target", NULL);
	set(n, "type", "serial");
	set(n, "port", "0");
}

static int write_file(const char *path, const xmlChar *buf, int len,
		      struct vmc_error *err)
{
	struct vmc_output *out = vmc_output_new();
	int fd, r = -1;

	if (!out)
		return vmc_error_set(err, ENOMEM, "out of memory");
	fd = vmc_output_open(out, path, err);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)len) != len)
			vmc_error_errno(err, errno, "%s: write", path);
		else
			r = vmc_output_commit(out, err);
	}
	vmc_output_free(out);
	return r;
}

int vmc_libvirt_write(const struct vmc_vm *vm, const char *path,
		      enum vmc_disk_bus bus, const char *nvram,
		      struct vmc_error *err)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr dom, n;
	xmlChar *buf = NULL;
	char num[32];
	int len = 0, r;

	if (!doc)
		return vmc_error_set(err, ENOMEM, "out of memory");
	dom = xmlNewNode(NULL, BAD_CAST "domain");
	xmlDocSetRootElement(doc, dom);
	set(dom, "type", "kvm");
	add(dom, "name", vm->name);
	snprintf(num, sizeof(num), "%llu",
		 (unsigned long long)(vm->memory >> 10));
	set(add(dom, "memory", num), "unit", "KiB");
	snprintf(num, sizeof(num), "%u", vm->vcpus ? vm->vcpus : 1);
	set(add(dom, "vcpu", num), "placement", "static");
	write_os(vm, dom, nvram);
	n = add(dom, "cpu", NULL);
	set(n, "mode", "host-model");
	write_devices(vm, dom, bus);
	xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
	r = buf ? write_file(path, buf, len, err) :
		  vmc_error_set(err, ENOMEM, "out of memory");
	xmlFree(buf);
	xmlFreeDoc(doc);
	return r;
}
