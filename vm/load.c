/* Which configuration a file is, and reading any of them into a shape
 * whose disks have been opened once through vmconv's format drivers (so
 * the format is known and a capacity the configuration states is
 * checked against the disk itself).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/image.h>

#include "vm/vm.h"

static bool ext_is(const char *path, const char *ext)
{
	const char *dot = strrchr(path, '.');

	return dot && !strcasecmp(dot + 1, ext);
}

/* The root element's name, from the start of a UTF-8 or UTF-16 file. */
static void root_name(const unsigned char *b, size_t n, char *out, size_t cap)
{
	char a[4096];
	size_t k = 0;
	bool u16 = n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) ||
			      (b[0] == 0xfe && b[1] == 0xff));

	for (size_t i = u16 ? 2 : 0; i < n && k < sizeof(a) - 1;
	     i += u16 ? 2 : 1) {
		unsigned c = u16 ? (b[0] == 0xff ? b[i] : b[i + 1]) : b[i];

		a[k++] = c && c < 128 ? (char)c : ' ';
	}
	a[k] = 0;
	out[0] = 0;
	for (char *p = a; (p = strchr(p, '<')); p++) {
		size_t l;

		if (p[1] == '?' || p[1] == '!')
			continue;
		p++;
		if (strchr(p, ':') && strchr(p, ':') < p + strcspn(p, " >/"))
			p = strchr(p, ':') + 1;	/* prefix */
		l = strcspn(p, " \t\r\n>/");
		if (l >= cap)
			l = cap - 1;
		memcpy(out, p, l);
		out[l] = 0;
		return;
	}
}

const char *vmc_vm_probe(const char *path)
{
	unsigned char b[4096];
	char root[64];
	ssize_t n;
	int fd;

	if (ext_is(path, "ova"))
		return "ova";
	if (ext_is(path, "ovf"))
		return "ovf";
	if (ext_is(path, "vmx"))
		return "vmx";
	if (ext_is(path, "vmcx"))
		return "vmcx";
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0)
		return NULL;
	if (n >= 262 && !memcmp(b + 257, "ustar", 5))
		return "ova";
	root_name(b, (size_t)n, root, sizeof(root));
	if (!strcmp(root, "Envelope"))
		return "ovf";
	if (!strcmp(root, "domain"))
		return "libvirt";
	if (!strcmp(root, "configuration"))
		return "hyperv";
	if (ext_is(path, "xml"))
		return "libvirt";	/* its parser says what is wrong */
	return NULL;
}

static int check_disk(const char *path, struct vmc_vm_disk *d,
		      struct vmc_error *err)
{
	struct vmc_image *img;

	if (!d->path)
		return vmc_error_set(err, ENOENT, "%s: disk '%s' has no file",
				     path, d->id ? d->id : "?");
	img = vmc_image_open(d->path, d->format, 0, NULL, err);
	if (!img) {
		vmc_error_prefix(err, "%s: disk '%s'", path,
				 d->href ? d->href : d->path);
		return -1;
	}
	if (d->capacity && d->capacity != img->size) {
		vmc_error_set(err, EINVAL, "%s: disk '%s' is stated as %llu"
			      " bytes, but its file '%s' holds a %llu-byte"
			      " disk", path, d->id ? d->id : "?",
			      (unsigned long long)d->capacity,
			      d->href ? d->href : d->path,
			      (unsigned long long)img->size);
		vmc_image_close(img);
		return -1;
	}
	d->capacity = img->size;
	free(d->format);
	d->format = strdup(img->drv->name);
	vmc_image_close(img);
	return 0;
}

struct vmc_vm *vmc_vm_load(const char *path, const char *tmp_parent,
			   struct vmc_error *err)
{
	const char *kind = vmc_vm_probe(path);
	struct vmc_vm *vm = NULL;
	char *copy;

	if (!kind)
		return vmc_error_set(err, EINVAL, "%s: not an OVA, OVF, .vmx,"
				     " Hyper-V or libvirt configuration",
				     path), NULL;
	if (!strcmp(kind, "vmcx")) {
		vmc_error_set(err, ENOTSUP, "%s: a Hyper-V .vmcx configuration"
			      " (2016 and later) is binary and undocumented;"
			      " vmconv does not read it: convert its .vhdx"
			      " disks one by one", path);
		return NULL;
	}
	if (!strcmp(kind, "ova")) {
		vm = vmc_ova_read(path, tmp_parent, err);
	} else if (!strcmp(kind, "ovf")) {
		copy = strdup(path);
		vm = copy ? vmc_ovf_read(path, dirname(copy), err) : NULL;
		free(copy);
	} else if (!strcmp(kind, "vmx")) {
		vm = vmc_vmx_read(path, err);
	} else if (!strcmp(kind, "hyperv")) {
		vm = vmc_hyperv_read(path, err);
	} else {
		vm = vmc_libvirt_read(path, err);
	}
	for (size_t i = 0; vm && i < vm->n_disks; i++) {
		if (vm->disks[i].cdrom)
			continue;
		if (check_disk(path, &vm->disks[i], err) < 0) {
			vmc_vm_free(vm);
			vm = NULL;
		}
	}
	return vm;
}
