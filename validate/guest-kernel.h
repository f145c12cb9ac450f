/* --boot=kernel without --kernel: the guest's own kernel
 * (validate/guest-kernel.c). */
#ifndef VMC_VALIDATE_GUEST_KERNEL_H
#define VMC_VALIDATE_GUEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include <vmconv/error.h>

/* The kernel, initramfs and command line the guest's own boot loader
 * configuration names (GRUB, SYSLINUX, EXTLINUX), copied into dir with
 * libguestfs; *initrd is "" when there is none. */
int vmc_guest_kernel(const char *image, const char *qfmt, bool kvm,
		     const char *dir, char *kernel, char *initrd,
		     char *append, size_t len, struct vmc_error *err);

/* Parse a boot loader configuration (GRUB when the path says grub, else
 * SYSLINUX/EXTLINUX) found at cfgpath; text is modified.  The default (or
 * first) entry's kernel and initrd as paths in that file system (initrd
 * "" if none) and its arguments without initrd= and BOOT_IMAGE=. */
int vmc_bootcfg_parse(const char *cfgpath, char *text, char *kernel,
		      char *initrd, char *append, size_t len);

#endif
