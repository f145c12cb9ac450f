/* OVF descriptor reader: DMTF DSP0243 (Open Virtualization Format) 1.x
 * and 2.x, section 7 (Envelope, References), 9.1 (DiskSection), 9.5
 * (OperatingSystemSection) and 8 (VirtualSystem), as VMware ovftool and
 * VirtualBox write them.  Hardware items are in ovf-hw.c, the files
 * References names (chunks, gzip) in ovf-files.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "vm/ovf.h"

int vmc_ovf_check_name(const char *desc, const char *what,
		       const char *href, struct vmc_error *err)
{
	const char *p = href;

	if (!*href)
		return vmc_error_set(err, EINVAL, "%s: %s has an empty name",
				     desc, what);
	if (strstr(href, "://") || href[0] == '/')
		return vmc_error_set(err, EINVAL, "%s: %s '%s' is not a file"
				     " of the package", desc, what, href);
	for (; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
			return vmc_error_set(err, EINVAL, "%s: %s '%s' leaves"
					     " the package folder ('..')",
					     desc, what, href);
	if (strchr(href, '/') || strchr(href, '\\') || href[0] == '.')
		return vmc_error_set(err, EINVAL, "%s: %s '%s': only plain"
				     " file names are supported in a package",
				     desc, what, href);
	return 0;
}

int vmc_ovf_units(const char *u, uint64_t *mul)
{
	static const struct { const char *name; unsigned shift; } named[] = {
		{ "byte", 0 }, { "bytes", 0 }, { "KiloBytes", 10 },
		{ "MegaBytes", 20 }, { "GigaBytes", 30 }, { "KB", 10 },
		{ "MB", 20 }, { "GB", 30 }, { "TB", 40 },
	};
	unsigned base, exp;
	char tail;

	if (!u || !*u) {
		*mul = 1;
		return 0;
	}
	for (size_t i = 0; i < VMC_ARRAY_SIZE(named); i++)
		if (!strcasecmp(u, named[i].name)) {
			*mul = 1ull << named[i].shift;
			return 0;
		}
	/* DSP0004 programmatic units: "byte * 2^30", "byte*10^9" */
	if (sscanf(u, "byte * %u^%u%c", &base, &exp, &tail) != 2 &&
	    sscanf(u, "byte*%u^%u%c", &base, &exp, &tail) != 2)
		return -1;
	if ((base != 2 && base != 10) || exp > 60)
		return -1;
	*mul = 1;
	while (exp--)
		if (vmc_mul_overflow(*mul, base, mul))
			return -1;
	return 0;
}

static int read_references(struct vmc_ovf_ctx *c, xmlNodePtr env)
{
	xmlNodePtr refs = vmc_xml_child(env, "References");

	for (xmlNodePtr f = vmc_xml_child(refs, "File"); f;
	     f = vmc_xml_next(f, "File")) {
		struct vmc_ovf_file *nf;
		char *sz, *ch;
		int bad = 0;

		if (c->n_files == VMC_OVF_MAX_FILES)
			return vmc_error_set(c->err, EINVAL, "%s: more than"
					     " %d References", c->name,
					     VMC_OVF_MAX_FILES);
		nf = &c->files[c->n_files++];
		nf->id = vmc_xml_attr(f, "id");
		nf->href = vmc_xml_attr(f, "href");
		nf->compression = vmc_xml_attr(f, "compression");
		sz = vmc_xml_attr(f, "size");
		ch = vmc_xml_attr(f, "chunkSize");
		if ((sz && vmc_xml_u64(sz, &nf->size) < 0) ||
		    (ch && vmc_xml_u64(ch, &nf->chunk) < 0))
			bad = 1;
		free(sz);
		free(ch);
		if (!nf->id || !nf->href || bad)
			return vmc_error_set(c->err, EINVAL, "%s: References"
					     " File %zu lacks ovf:id or"
					     " ovf:href or has a bad size",
					     c->name, c->n_files);
		if (vmc_ovf_check_name(c->name, "References file", nf->href,
				       c->err) < 0)
			return -1;
		if (nf->compression && strcmp(nf->compression, "gzip") &&
		    strcmp(nf->compression, "identity"))
			return vmc_error_set(c->err, EINVAL, "%s: References"
					     " file '%s': compression '%s' is"
					     " not gzip", c->name, nf->href,
					     nf->compression);
		for (size_t i = 0; i + 1 < c->n_files; i++)
			if (!strcmp(c->files[i].id, nf->id) ||
			    !strcmp(c->files[i].href, nf->href))
				return vmc_error_set(c->err, EINVAL, "%s:"
					" References lists file '%s' (id %s)"
					" twice", c->name, nf->href, nf->id);
	}
	return 0;
}

static struct vmc_ovf_file *find_file(struct vmc_ovf_ctx *c, const char *id)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i].id, id))
			return &c->files[i];
	return NULL;
}

static int disk_capacity(struct vmc_ovf_ctx *c, xmlNodePtr d,
			 const char *id, uint64_t *cap)
{
	char *cs = vmc_xml_attr(d, "capacity");
	char *us = vmc_xml_attr(d, "capacityAllocationUnits");
	uint64_t mul;
	int r = 0;

	if (vmc_xml_u64(cs, cap) < 0 || vmc_ovf_units(us, &mul) < 0 ||
	    vmc_mul_overflow(*cap, mul, cap) || *cap == 0)
		r = vmc_error_set(c->err, EINVAL, "%s: DiskSection disk '%s':"
				  " bad capacity '%s' units '%s'", c->name,
				  id, cs ? cs : "", us ? us : "byte");
	free(cs);
	free(us);
	return r;
}

static int read_one_disk(struct vmc_ovf_ctx *c, xmlNodePtr d)
{
	char *id = vmc_xml_attr(d, "diskId"), *ref = vmc_xml_attr(d, "fileRef");
	struct vmc_vm_disk *vd;
	struct vmc_ovf_file *f;
	uint64_t cap;
	int r = -1;

	if (!id) {
		vmc_error_set(c->err, EINVAL, "%s: DiskSection Disk without"
			      " ovf:diskId", c->name);
		goto out;
	}
	for (xmlNodePtr p = d->prev; p; p = p->prev) {
		char *pid = vmc_xml_is(p, "Disk") ? vmc_xml_attr(p, "diskId") :
			    NULL;
		bool same = pid && !strcmp(pid, id);

		free(pid);
		if (same) {
			vmc_error_set(c->err, EINVAL, "%s: DiskSection lists"
				      " disk '%s' twice", c->name, id);
			goto out;
		}
	}
	if (disk_capacity(c, d, id, &cap) < 0)
		goto out;
	if (!ref) {
		r = vmc_vm_add_note(c->vm, "disk '%s' is blank (no fileRef);"
				    " not converted", id);
		goto out;
	}
	f = find_file(c, ref);
	if (!f) {
		vmc_error_set(c->err, EINVAL, "%s: disk '%s' names file id"
			      " '%s', which References does not list",
			      c->name, id, ref);
		goto out;
	}
	if (f->used) {
		vmc_error_set(c->err, EINVAL, "%s: file '%s' is listed twice"
			      " in DiskSection (disk '%s')", c->name, f->href,
			      id);
		goto out;
	}
	f->used = true;
	vd = vmc_vm_add_disk(c->vm);
	if (!vd || !(vd->href = strdup(f->href))) {
		vmc_error_set(c->err, ENOMEM, "%s: too many disks", c->name);
		goto out;
	}
	vd->id = id;
	id = NULL;
	vd->capacity = cap;
	/* a streamOptimized VMDK is smaller than its capacity; its
	 * metadata adds far less than 1/16 */
	vd->path = vmc_ovf_file_path(c, f, cap + cap / 16 + (16u << 20));
	r = vd->path ? 0 : -1;
	if (f->chunk || (f->compression && !strcmp(f->compression, "gzip")))
		vd->origin = VMC_DISK_EXTRACTED;	/* a scratch copy */
out:
	free(id);
	free(ref);
	return r;
}

static int read_disks(struct vmc_ovf_ctx *c, xmlNodePtr env)
{
	xmlNodePtr ds = vmc_xml_child(env, "DiskSection");

	unsigned n = 0;

	for (xmlNodePtr d = vmc_xml_child(ds, "Disk"); d;
	     d = vmc_xml_next(d, "Disk")) {
		if (++n > VMC_OVF_MAX_FILES)
			return vmc_error_set(c->err, EINVAL, "%s: more than %d"
					     " disks in DiskSection", c->name,
					     VMC_OVF_MAX_FILES);
		if (read_one_disk(c, d) < 0)
			return -1;
	}
	return 0;
}

static int read_os(struct vmc_ovf_ctx *c, xmlNodePtr vs)
{
	xmlNodePtr os = vmc_xml_child(vs, "OperatingSystemSection");

	if (!os)
		return 0;
	c->vm->os_id = vmc_xml_attr(os, "id");
	c->vm->os_type = vmc_xml_attr(os, "osType");
	if (!c->vm->os_type)
		c->vm->os_type = vmc_xml_child_text(os, "Description");
	return 0;
}

static void note_unknown(struct vmc_ovf_ctx *c, xmlNodePtr parent,
			 const char *const *known, size_t n)
{
	for (xmlNodePtr s = parent->children; s; s = s->next) {
		size_t i;

		if (s->type != XML_ELEMENT_NODE)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp((const char *)s->name, known[i]))
				break;
		if (i == n)
			vmc_vm_add_note(c->vm, "section %s%s%s kept, not"
					" interpreted", s->ns && s->ns->prefix ?
					(const char *)s->ns->prefix : "",
					s->ns && s->ns->prefix ? ":" : "",
					(const char *)s->name);
	}
}

static int read_system(struct vmc_ovf_ctx *c, xmlNodePtr env)
{
	static const char *const env_known[] = { "References", "DiskSection",
		"NetworkSection", "VirtualSystem", "Info", "Annotation",
		"Strings" };
	static const char *const vs_known[] = { "Info", "Name",
		"OperatingSystemSection", "VirtualHardwareSection",
		"AnnotationSection", "ProductSection", "EulaSection",
		"Machine" };
	xmlNodePtr vs = vmc_xml_child(env, "VirtualSystem");

	if (vmc_xml_child(env, "VirtualSystemCollection"))
		return vmc_error_set(c->err, ENOTSUP, "%s: a"
				     " VirtualSystemCollection (several VMs)"
				     " is not supported", c->name);
	if (!vs)
		return vmc_error_set(c->err, EINVAL, "%s: no VirtualSystem"
				     " in the Envelope", c->name);
	if (vmc_xml_next(vs, "VirtualSystem"))
		return vmc_error_set(c->err, ENOTSUP, "%s: more than one"
				     " VirtualSystem", c->name);
	c->vm->name = vmc_xml_child_text(vs, "Name");
	if (!c->vm->name || !*c->vm->name) {
		free(c->vm->name);
		c->vm->name = vmc_xml_attr(vs, "id");
	}
	if (!c->vm->name || !*c->vm->name)
		return vmc_error_set(c->err, EINVAL, "%s: VirtualSystem has"
				     " no Name and no ovf:id", c->name);
	note_unknown(c, env, env_known, VMC_ARRAY_SIZE(env_known));
	note_unknown(c, vs, vs_known, VMC_ARRAY_SIZE(vs_known));
	if (read_os(c, vs) < 0 || vmc_ovf_hardware(c, vs) < 0)
		return -1;
	return vmc_ovf_vbox(c, vs);
}

static void free_ctx(struct vmc_ovf_ctx *c)
{
	for (size_t i = 0; i < c->n_files; i++) {
		free(c->files[i].id);
		free(c->files[i].href);
		free(c->files[i].compression);
	}
}

struct vmc_vm *vmc_ovf_parse(const char *buf, size_t len, const char *name,
			     const char *pkg_dir, const char *scratch,
			     const char *tmp_parent, struct vmc_error *err)
{
	struct vmc_ovf_ctx c = { .name = name, .pkg_dir = pkg_dir, .err = err,
				 .scratch = scratch, .tmp_parent = tmp_parent };
	xmlDocPtr doc = vmc_xml_parse(buf, len, name, err);
	xmlNodePtr env;
	int r = -1;

	if (!doc)
		return NULL;
	env = xmlDocGetRootElement(doc);
	if (!vmc_xml_is(env, "Envelope")) {
		vmc_error_set(err, EINVAL, "%s: the root element is <%s>, not"
			      " an OVF <Envelope>", name, env->name);
		goto out;
	}
	c.vm = vmc_vm_new("ovf");
	if (!c.vm) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (read_references(&c, env) == 0 && read_disks(&c, env) == 0 &&
	    read_system(&c, env) == 0)
		r = 0;
	for (size_t i = 0; r == 0 && i < c.n_files; i++)
		if (!c.files[i].used)
			vmc_vm_add_note(c.vm, "file '%s' is not a disk; not"
					" converted", c.files[i].href);
out:
	free_ctx(&c);
	xmlFreeDoc(doc);
	if (r < 0 && c.vm) {
		vmc_vm_free(c.vm);
		return NULL;
	}
	return c.vm;
}
