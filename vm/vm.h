/* The shape of a whole virtual machine, read from and written to the
 * configuration formats hypervisors use: OVF/OVA (DMTF DSP0243), VMware
 * .vmx, Hyper-V 2012 R2 exported XML and libvirt domain XML.
 *
 * Layer: vm/ sits above convert/ and formats/ (beside inject/); it never
 * calls cli/ or validate/ and never prints.  Fallible functions return -1
 * (or NULL) and fill the caller's struct vmc_error.
 */
#ifndef VMC_VM_VM_H
#define VMC_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <vmconv/error.h>

enum vmc_vm_firmware { VMC_FW_BIOS, VMC_FW_EFI };

/* The bus a disk hangs on at the source (or target). */
enum vmc_disk_bus {
	VMC_DISK_UNKNOWN, VMC_DISK_IDE, VMC_DISK_SCSI, VMC_DISK_SATA,
	VMC_DISK_NVME, VMC_DISK_VIRTIO,
};

struct vmc_vm_ctrl {
	enum vmc_disk_bus bus;
	char *model;			/* lsilogic, pvscsi, AHCI, PIIX4 ... */
	unsigned index;			/* scsi0 -> 0 */
};

/* Where a disk's bytes are read from. */
enum vmc_disk_origin {
	VMC_DISK_FILE,			/* a file of its own */
	VMC_DISK_IN_PLACE,		/* an OVA member, where it lies */
	VMC_DISK_EXTRACTED,		/* copied (inflated, joined) to scratch */
};

struct vmc_vm_disk {
	char *id;			/* OVF diskId, "scsi0:0", "vda" */
	char *path;			/* the file as found on this host */
	char *href;			/* the name the configuration uses */
	char *format;			/* "vmdk", "qcow2"; NULL: probe */
	uint64_t capacity;		/* bytes; 0 when not stated */
	enum vmc_disk_bus bus;
	unsigned ctrl_index, unit;
	bool cdrom;
	enum vmc_disk_origin origin;
	uint64_t member_offset;		/* IN_PLACE: its data in the OVA */
};

struct vmc_vm_nic {
	char *mac;			/* "00:50:56:aa:bb:cc" or NULL */
	char *model;			/* vmxnet3, e1000, virtio ... */
	char *network;			/* network or switch name */
};

struct vmc_vm {
	char *name;
	char *source_kind;		/* "ova", "ovf", "vmx", "hyperv", ... */
	char *os_type;			/* vmw:osType, guestOS, <os><type> */
	char *os_id;			/* OVF OperatingSystemSection ovf:id */
	enum vmc_vm_firmware firmware;
	unsigned vcpus;
	uint64_t memory;		/* bytes */
	struct vmc_vm_ctrl *ctrls;
	size_t n_ctrls;
	struct vmc_vm_disk *disks;
	size_t n_disks;
	struct vmc_vm_nic *nics;
	size_t n_nics;
	char **notes;			/* unknown sections kept, cert, ... */
	size_t n_notes;
	char *tmpdir;			/* scratch: inflated, joined files */
	char *windows;			/* OVA: owner of its file windows */
};

/* Which configuration kind a file is, by content (and name), or NULL if
 * it is none of them (then it is a disk image). */
const char *vmc_vm_probe(const char *path);

/* Read a VM's shape from path (any kind vmc_vm_probe names).  An OVA's
 * disks stored plainly are read where they lie (their paths are file
 * windows, "OVA/MEMBER", that vmc_vm_free forgets); gzip-compressed or
 * chunked ones are streamed into a new folder under tmp_parent (NULL:
 * the folder of path), which vmc_vm_free removes. */
struct vmc_vm *vmc_vm_load(const char *path, const char *tmp_parent,
			   struct vmc_error *err);
void vmc_vm_free(struct vmc_vm *vm);

/* The shape as JSON (for `vmconv info`). */
json_t *vmc_vm_to_json(const struct vmc_vm *vm);

/* Building a shape. */
struct vmc_vm *vmc_vm_new(const char *kind);
struct vmc_vm_disk *vmc_vm_add_disk(struct vmc_vm *vm);
struct vmc_vm_nic *vmc_vm_add_nic(struct vmc_vm *vm);
struct vmc_vm_ctrl *vmc_vm_add_ctrl(struct vmc_vm *vm);
int vmc_vm_add_note(struct vmc_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *vmc_disk_bus_name(enum vmc_disk_bus bus);
/* "in place", "extracted" (to a scratch folder), "file". */
const char *vmc_disk_origin_name(enum vmc_disk_origin o);
enum vmc_disk_bus vmc_disk_bus_parse(const char *s);
/* "00:50:56:AA:bb:cc", "00-50-...", "005056aabbcc" -> "00:50:56:aa:bb:cc";
 * -1 if not a MAC. */
int vmc_mac_normalize(const char *in, char out[18]);
/* A disk file a configuration names, found inside the configuration's
 * folder (a path elsewhere, or a Windows path, is looked up by its last
 * component there, then in subdir): the untrusted-input rule for files
 * an input names.  malloc'd real path or NULL. */
char *vmc_vm_resolve(const char *cfg, const char *name, const char *subdir,
		     struct vmc_error *err);
/* Scratch folders ".vmconv-KIND.PID.XXXXXX" in parent (stale ones of
 * dead processes removed first); removal of a whole folder. */
char *vmc_scratch_new(const char *parent, const char *kind,
		      struct vmc_error *err);
void vmc_scratch_clean_stale(const char *parent);
void vmc_scratch_remove(const char *dir);

/* The VM's name made safe as the start of a file name (the name comes
 * from an untrusted configuration): characters other than letters,
 * digits and -_.+ become '_', a leading '.' too; "vm" if empty or over
 * 200 bytes.  malloc'd. */
char *vmc_vm_file_stem(const char *name);
/* The disk the VM boots from: the first non-CD disk. */
const struct vmc_vm_disk *vmc_vm_boot_disk(const struct vmc_vm *vm);

/* ---- readers (one file each) ---- */
struct vmc_vm *vmc_ovf_read(const char *path, const char *pkg_dir,
			    struct vmc_error *err);
struct vmc_vm *vmc_ova_read(const char *path, const char *tmp_parent,
			    struct vmc_error *err);
struct vmc_vm *vmc_vmx_read(const char *path, struct vmc_error *err);
struct vmc_vm *vmc_hyperv_read(const char *path, struct vmc_error *err);
struct vmc_vm *vmc_libvirt_read(const char *path, struct vmc_error *err);

/* OVF descriptor from a memory buffer; name is for messages, pkg_dir is
 * the folder holding the files References names, or an OVA whose members
 * are file windows "OVA/NAME" (their digests were checked by the
 * caller).  Joined or gunzipped files go into scratch, an existing
 * folder of vmconv's, or (NULL) a new one made under tmp_parent (NULL:
 * pkg_dir) on first need, which becomes vm->tmpdir. */
struct vmc_vm *vmc_ovf_parse(const char *buf, size_t len, const char *name,
			     const char *pkg_dir, const char *scratch,
			     const char *tmp_parent, struct vmc_error *err);

/* ---- writers ---- */

/* libvirt domain XML for KVM: every disk virtio (or bus) with its path
 * and format as given in vm->disks; UEFI with Debian's OVMF and an NVRAM
 * file nvram (NULL: libvirt's default).  Written atomically to path. */
int vmc_libvirt_write(const struct vmc_vm *vm, const char *path,
		      enum vmc_disk_bus bus, const char *nvram,
		      struct vmc_error *err);

/* The OVF 1.0 envelope as VMware writes it; disks[i].path are the
 * streamOptimized VMDKs, whose sizes go into References.  Returns a
 * malloc'd NUL-terminated document. */
char *vmc_ovf_write(const struct vmc_vm *vm, struct vmc_error *err);

/* An OVA: NAME.ovf, NAME.mf (SHA256), then every disk, as a tar written
 * atomically to path. */
int vmc_ova_write(const struct vmc_vm *vm, const char *path,
		  struct vmc_error *err);

#endif
