/* VMware .vmx reader: the `key = "value"` configuration ESXi and
 * Workstation write (keys case-insensitive, # comments).  Read: displayName,
 * memsize (MiB), numvcpus, firmware, guestOS, scsiN.virtualDev,
 * {ide,scsi,sata,nvme}N:M.fileName / .present / .deviceType,
 * ethernetN.virtualDev / .addressType / .address / .generatedAddress /
 * .networkName / .present.  Disk files are the VMDK descriptors beside
 * the .vmx (found inside its folder only).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

#define MAX_LINES 20000
#define MAX_LINE 4096

struct kv {
	char *k, *v;
};

struct vmx {
	struct kv *kv;
	size_t n;
};

static const char *get(const struct vmx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *get(const struct vmx *x, const char *fmt, ...)
{
	char key[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	for (size_t i = x->n; i-- > 0; )	/* the last one wins */
		if (!strcasecmp(x->kv[i].k, key))
			return x->kv[i].v;
	return NULL;
}

static bool is_true(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		     !strcmp(v, "1"));
}

static int parse_line(char *l, struct kv *kv)
{
	char *eq = strchr(l, '='), *k = l, *v, *e;

	if (!eq)
		return -1;
	*eq = 0;
	while (isspace((unsigned char)*k))
		k++;
	for (e = eq; e > k && isspace((unsigned char)e[-1]); e--)
		e[-1] = 0;
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	e = v + strlen(v);
	while (e > v && isspace((unsigned char)e[-1]))
		*--e = 0;
	if (*v == '"') {
		v++;
		if (e == v || e[-1] != '"')
			return -1;
		e[-1] = 0;
	}
	if (!*k)
		return -1;
	kv->k = strdup(k);
	kv->v = strdup(v);
	return kv->k && kv->v ? 0 : -1;
}

static int read_vmx(const char *path, struct vmx *x, struct vmc_error *err)
{
	FILE *f = fopen(path, "r");
	char line[MAX_LINE];
	unsigned no = 0;

	if (!f)
		return vmc_error_errno(err, errno, "%s", path);
	x->kv = calloc(MAX_LINES, sizeof(*x->kv));
	if (!x->kv) {
		fclose(f);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	while (fgets(line, sizeof(line), f)) {
		char *l = line;

		no++;
		if (!strchr(line, '\n') && !feof(f))
			goto bad;
		line[strcspn(line, "\r\n")] = 0;
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#')
			continue;
		if (x->n == MAX_LINES || parse_line(l, &x->kv[x->n]) < 0)
			goto bad;
		x->n++;
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	return vmc_error_set(err, EINVAL, "%s: line %u is not 'key = \"value\"'"
			     " (or too long)", path, no);
}

static int add_disk(const char *path, const struct vmx *x, struct vmc_vm *vm,
		    const char *bus, unsigned c, unsigned u,
		    struct vmc_error *err)
{
	const char *fn = get(x, "%s%u:%u.fileName", bus, c, u);
	const char *dt = get(x, "%s%u:%u.deviceType", bus, c, u);
	struct vmc_vm_disk *d;

	if (!fn || !is_true(get(x, "%s%u:%u.present", bus, c, u)))
		return 0;
	d = vmc_vm_add_disk(vm);
	if (!d)
		return vmc_error_set(err, EINVAL, "%s: too many disks", path);
	d->bus = vmc_disk_bus_parse(bus);
	d->ctrl_index = c;
	d->unit = u;
	d->cdrom = dt && strcasestr(dt, "cdrom");
	if (asprintf(&d->id, "%s%u:%u", bus, c, u) < 0 ||
	    !(d->href = strdup(fn)))
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (d->cdrom)
		return 0;
	d->path = vmc_vm_resolve(path, fn, NULL, err);
	return d->path ? 0 : -1;
}

static int read_storage(const char *path, const struct vmx *x,
			struct vmc_vm *vm, struct vmc_error *err)
{
	static const struct { const char *bus; unsigned ctrls, units; } b[] = {
		{ "ide", 2, 2 }, { "scsi", 4, 16 }, { "sata", 4, 30 },
		{ "nvme", 4, 15 },
	};

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		for (unsigned c = 0; c < b[i].ctrls; c++) {
			const char *p = get(x, "%s%u.present", b[i].bus, c);
			struct vmc_vm_ctrl *vc;

			if (strcmp(b[i].bus, "ide") && !is_true(p))
				continue;
			if (!strcmp(b[i].bus, "ide") && p && !is_true(p))
				continue;
			for (unsigned u = 0; u < b[i].units; u++)
				if (add_disk(path, x, vm, b[i].bus, c, u,
					     err) < 0)
					return -1;
			if (!strcmp(b[i].bus, "ide") && !p)
				continue;	/* implicit, no disks */
			vc = vmc_vm_add_ctrl(vm);
			if (!vc)
				return vmc_error_set(err, EINVAL, "%s: too"
						     " many controllers", path);
			vc->bus = vmc_disk_bus_parse(b[i].bus);
			vc->index = c;
			p = get(x, "%s%u.virtualDev", b[i].bus, c);
			vc->model = p ? strdup(p) : NULL;
		}
	return 0;
}

static int read_nics(const char *path, const struct vmx *x,
		     struct vmc_vm *vm, struct vmc_error *err)
{
	for (unsigned i = 0; i < 10; i++) {
		const char *at = get(x, "ethernet%u.addressType", i), *mac;
		struct vmc_vm_nic *n;
		char m[18];

		if (!is_true(get(x, "ethernet%u.present", i)))
			continue;
		mac = at && !strcasecmp(at, "static") ?
		      get(x, "ethernet%u.address", i) :
		      get(x, "ethernet%u.generatedAddress", i);
		if (!mac)
			mac = get(x, "ethernet%u.address", i);
		n = vmc_vm_add_nic(vm);
		if (!n)
			return vmc_error_set(err, EINVAL, "%s: too many NICs",
					     path);
		if (mac && vmc_mac_normalize(mac, m) < 0)
			return vmc_error_set(err, EINVAL, "%s: ethernet%u:"
					     " '%s' is not a MAC address",
					     path, i, mac);
		n->mac = mac ? strdup(m) : NULL;
		mac = get(x, "ethernet%u.virtualDev", i);
		n->model = strdup(mac ? mac : "vlance");
		mac = get(x, "ethernet%u.networkName", i);
		n->network = mac ? strdup(mac) : NULL;
	}
	return 0;
}

static int read_shape(const char *path, const struct vmx *x,
		      struct vmc_vm *vm, struct vmc_error *err)
{
	const char *v = get(x, "displayName");
	char *end;
	unsigned long n;

	vm->name = strdup(v ? v : "vm");
	v = get(x, "guestOS");
	vm->os_type = v ? strdup(v) : NULL;
	v = get(x, "firmware");
	vm->firmware = v && !strcasecmp(v, "efi") ? VMC_FW_EFI : VMC_FW_BIOS;
	v = get(x, "numvcpus");
	n = v ? strtoul(v, &end, 10) : 1;
	if (v && (!*v || *end || n == 0 || n > 1024))
		return vmc_error_set(err, EINVAL, "%s: numvcpus '%s' is not"
				     " 1..1024", path, v);
	vm->vcpus = (unsigned)n;
	v = get(x, "memsize");
	n = v ? strtoul(v, &end, 10) : 0;
	if (!v || !*v || *end || n == 0 || n > (16ul << 20))
		return vmc_error_set(err, EINVAL, "%s: memsize '%s' is not a"
				     " size in MiB", path, v ? v : "(none)");
	vm->memory = (uint64_t)n << 20;
	if (read_storage(path, x, vm, err) < 0)
		return -1;
	return read_nics(path, x, vm, err);
}

struct vmc_vm *vmc_vmx_read(const char *path, struct vmc_error *err)
{
	struct vmx x = { 0 };
	struct vmc_vm *vm = NULL;

	if (read_vmx(path, &x, err) == 0) {
		vm = vmc_vm_new("vmx");
		if (!vm)
			vmc_error_set(err, ENOMEM, "out of memory");
		else if (read_shape(path, &x, vm, err) < 0) {
			vmc_vm_free(vm);
			vm = NULL;
		}
	}
	for (size_t i = 0; i < x.n; i++) {
		free(x.kv[i].k);
		free(x.kv[i].v);
	}
	free(x.kv);
	return vm;
}
