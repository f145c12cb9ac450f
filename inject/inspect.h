/* Guest inspection: what is installed on a disk, how it boots, and
 * whether it can boot on each disk controller (read-only; the appliance
 * is libguestfs's, see inject/gfs.h). */
#ifndef VMC_INJECT_INSPECT_H
#define VMC_INJECT_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include <guestfs.h>
#include <jansson.h>

#include <vmconv/error.h>

#include "inject/efi.h"
#include "inject/modset.h"

#define VMC_GUEST_MAX 16
#define VMC_GUEST_NAMES 64
#define VMC_STR 256

enum vmc_guest_bus { VMC_GBUS_VIRTIO, VMC_GBUS_IDE, VMC_GBUS_SCSI,
		     VMC_GBUS_COUNT };

const char *vmc_guest_bus_name(enum vmc_guest_bus b);

struct vmc_kernel {
	char version[128];
	char vmlinuz[VMC_STR];
	char initrd[VMC_STR];		/* "" when the kernel has none */
	size_t initrd_entries;		/* 0: not read */
	char initrd_error[1536];
	struct vmc_modset initrd_mods;	/* modules in the initramfs */
	struct vmc_modset builtin;	/* from modules.builtin */
	bool virtio_available;		/* virtio_blk in /lib/modules */
};

struct vmc_bootentry {
	char title[VMC_STR];
	char kernel[VMC_STR], initrd[VMC_STR];
	char cmdline[1024];
	char root[VMC_STR];		/* root= value */
};

/* One place the guest names a device. */
struct vmc_devname {
	char where[VMC_STR];		/* "/etc/fstab line 1 (/)" */
	char name[VMC_STR];
	bool unstable;
};

/* Windows: one driver's service in the SYSTEM hive (inject/windows.c). */
#define VMC_WIN_DRIVERS 11
struct vmc_windriver {
	char name[16];			/* the service: viostor, storvsc ... */
	bool service;			/* Services\<name> exists */
	int64_t start;			/* Start: 0 boot ... 4 disabled; -1 */
	char image_path[VMC_STR];	/* ImagePath as written, or "" */
	char file[VMC_STR];		/* the .sys file it names, in the guest */
	bool file_present;
};

struct vmc_windows {
	char systemroot[VMC_STR];	/* "/Windows" */
	char product[VMC_STR], edition[64];	/* from SOFTWARE */
	char current_version[32], build[32];
	int major, minor;		/* CurrentM*VersionNumber, or -1 */
	char control_set[32];		/* "ControlSet001" (Select\Current) */
	struct vmc_windriver drivers[VMC_WIN_DRIVERS];
	char registry_error[384];	/* "" when both hives were read */
};

/* The drivers read from SYSTEM, in vmc_windows.drivers order. */
extern const char *const vmc_windrivers[VMC_WIN_DRIVERS];

/* The guest's identity: what the first inspection finds and injection
 * does not change, carried over whole by vmc_inspect_again (a field
 * added here is carried over with the rest). */
struct vmc_guest_id {
	bool found;
	char root_fs[VMC_STR];		/* the appliance's name for root */
	char root_fstype[32];		/* ext4, xfs, btrfs ... */
	char type[32], distro[64], product[VMC_STR], arch[32];
	int major, minor;
	char hostname[VMC_STR];
	char firmware[8];		/* "bios" or "uefi" */
	char lvm[VMC_GUEST_MAX][VMC_STR];	/* logical volumes */
	int nlvm;
};

struct vmc_guest {
	struct vmc_guest_id id;
	struct vmc_esp esp;		/* the EFI system partition */
	char bootloader[32];		/* "grub2", "syslinux", "none" ... */
	char bootcfg[4][VMC_STR];
	int nbootcfg;
	bool default_grub;		/* /etc/default/grub */
	char grub_mkconfig[64];		/* path of the guest's tool, or "" */
	struct vmc_bootentry entries[VMC_GUEST_MAX];
	int nentries, default_entry;
	struct vmc_kernel kernels[VMC_GUEST_MAX];
	int nkernels, default_kernel;	/* -1: none */
	char initramfs_tool[32];	/* initramfs-tools, dracut, mkinitrd */
	char root_spec[VMC_STR];	/* root's device in /etc/fstab */
	struct vmc_devname names[VMC_GUEST_NAMES];
	int nnames;
	char tools[VMC_GUEST_MAX][64];	/* hypervisor tools installed */
	int ntools;
	char net[VMC_GUEST_MAX][VMC_STR];	/* config tied to old NICs */
	int nnet;
	struct vmc_windows win;		/* type "windows" only */
	bool ready[VMC_GBUS_COUNT];
	char verdict[VMC_GBUS_COUNT][768];
};

/* Inspect the disk in g (launched): fills guest; guest->found is false
 * for a disk with no operating system.  Leaves nothing mounted. */
int vmc_inspect(guestfs_h *g, const char *image, struct vmc_guest *guest,
		struct vmc_error *err);
void vmc_guest_free(struct vmc_guest *guest);

/* The same guest again after injection, read by the same launched
 * handle: its identity (the OS, root, mount points, firmware, logical
 * volumes) comes from before, which injection does not change, without
 * libguestfs's inspection again (18 s of a 210 s injection under TCG);
 * what injection changes (boot loader, kernels and initramfs, names,
 * tools, network, the ESP) is read again. */
int vmc_inspect_again(guestfs_h *g, const char *image,
		      const struct vmc_guest *before, struct vmc_guest *after,
		      struct vmc_error *err);

/* Mount the guest's file systems at their mount points (rw or ro). */
int vmc_guest_mount(guestfs_h *g, const char *root, bool rw,
		    const char *image, struct vmc_error *err);

/* Parts of inspection, each its own file. */
void vmc_inspect_bootloader(guestfs_h *g, struct vmc_guest *guest);
int vmc_inspect_kernels(guestfs_h *g, const char *image,
			struct vmc_guest *guest, struct vmc_error *err);
void vmc_inspect_names(guestfs_h *g, struct vmc_guest *guest);
void vmc_inspect_extras(guestfs_h *g, struct vmc_guest *guest);
void vmc_inspect_verdicts(struct vmc_guest *guest);
/* root: libguestfs's inspection root, or NULL when its inspection failed
 * and vmc_windows_find found the system root (mounted at /). */
void vmc_inspect_windows(guestfs_h *g, const char *root,
			 struct vmc_guest *guest);

/* Look for a Windows system root on each file system, as libguestfs's
 * inspection does (for when that inspection fails on a hive it cannot
 * parse); when found, its file system stays mounted read-only at /. */
bool vmc_windows_find(guestfs_h *g, struct vmc_guest *guest);

/* Driver name's entry in w (NULL for a name not in vmc_windrivers). */
const struct vmc_windriver *vmc_windows_driver(const struct vmc_windows *w,
					       const char *name);

/* Whether a Windows driver is installed (service and file) and started
 * at boot (Start 0), as a disk controller's driver must be. */
bool vmc_windriver_boots(const struct vmc_windriver *d);

/* A Start value's name: "boot", "system", "automatic", "manual",
 * "disabled"; "none" for -1. */
const char *vmc_windriver_start_name(int64_t start);

/* The program that shows a guest tool is installed ("/usr/bin/vmtoolsd"
 * for "open-vm-tools"; "" for a name inspection does not know). */
const char *vmc_guest_tool_file(const char *tool);

/* The drivers inspection reports, by module name. */
extern const char *const vmc_storage_drivers[];

/* The kernel the guest boots by default (NULL when none). */
const struct vmc_kernel *vmc_guest_default_kernel(const struct vmc_guest *g);

/* The kernel module that mounts the root file system ("" if unknown). */
const char *vmc_guest_root_module(const struct vmc_guest *g);

/* Whether module m is in kernel k's initramfs or built in. */
bool vmc_kernel_has(const struct vmc_kernel *k, const char *m);

json_t *vmc_guest_json(const struct vmc_guest *guest);

#endif
