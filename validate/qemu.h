/* QEMU helpers shared by the qemu and nested engines and the guest-kernel
 * extraction (validate/qemu.c). */
#ifndef VMC_VALIDATE_QEMU_H
#define VMC_VALIDATE_QEMU_H

#include <stdbool.h>

#include <vmconv/image.h>

#define QEMU "qemu-system-x86_64"

/* Whether qemu-system-x86_64 is on $PATH (the nested and qemu engines
 * need it); why says why not. */
bool vmc_qemu_usable(char *why, size_t len);

/* QEMU's name for a vmconv format both read, or NULL. */
const char *vmc_qemu_format(const char *drv);

/* The start of a QEMU command line both QEMU-based engines use: an
 * i440FX "pc" machine without default devices or user configuration,
 * KVM or TCG, the CPU model cpu (NULL: QEMU's default), mem MiB, smp
 * vCPUs (NULL: one), no display, under QEMU's seccomp sandbox (-sandbox
 * on with obsolete, elevateprivileges, spawn and resourcecontrol denied).
 * Fills argv from its start (at most 18 entries); returns the count. */
int vmc_qemu_machine_args(const char **argv, bool kvm, const char *cpu,
			  const char *mem, const char *smp);

/* The json: name under which QEMU may open img itself with nothing
 * left to probe: the file protocol, the format and, for qcow2, no backing
 * file.  Only for raw and for qcow2 opened from one file (files: the
 * files vmconv opened for it); NULL otherwise (export it raw instead).
 * The caller frees it. */
char *vmc_qemu_pinned_name(const struct vmc_image *img, unsigned files);

/* The guest content of img as a sparse raw file at path, through vmconv's
 * own drivers (for formats QEMU cannot read, and for images made of
 * several files, which the appliance cannot see). */
int vmc_export_raw(struct vmc_image *img, const char *path,
		   struct vmc_error *err);

/* OVMF for UEFI guests (validate/ovmf.c): the code image and the variable
 * store template, or vars "" for a single image (OVMF.fd). */
struct vmc_ovmf {
	char code[4096];
	char vars[4096];
};
int vmc_ovmf_find(struct vmc_ovmf *f, struct vmc_error *err);
/* A fresh copy of the variable store for one run. */
int vmc_ovmf_copy_vars(const struct vmc_ovmf *f, const char *dst,
		       struct vmc_error *err);

#endif
