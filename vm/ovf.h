/* Private to the OVF reader (ovf.c, ovf-hw.c, ovf-files.c). */
#ifndef VMC_VM_OVF_H
#define VMC_VM_OVF_H

#include "vm/vm.h"
#include "vm/xml.h"

#define VMC_OVF_NS "http://schemas.dmtf.org/ovf/envelope/1"
#define VMC_OVF_MAX_FILES 256

struct vmc_ovf_file {
	char *id, *href, *compression;
	uint64_t size, chunk;
	bool used;
};

struct vmc_ovf_ctx {
	const char *name;		/* the descriptor, for messages */
	const char *pkg_dir;		/* where References' files are */
	const char *scratch;		/* our folder for copies, or NULL */
	const char *tmp_parent;		/* where to make one (NULL: pkg_dir) */
	struct vmc_vm *vm;
	struct vmc_ovf_file files[VMC_OVF_MAX_FILES];
	size_t n_files;
	struct vmc_error *err;
};

/* VirtualHardwareSection: CPU, memory, controllers, disks' buses, NICs,
 * vmw:Config firmware. */
int vmc_ovf_hardware(struct vmc_ovf_ctx *c, xmlNodePtr vs);

/* VirtualBox's <vbox:Machine>: firmware and MACs the Items lack. */
int vmc_ovf_vbox(struct vmc_ovf_ctx *c, xmlNodePtr vs);

/* "byte * 2^30", "MegaBytes", ... -> multiplier; -1 if unknown. */
int vmc_ovf_units(const char *u, uint64_t *mul);

/* The plain file for References entry f on this host: the file itself,
 * or its chunks joined and/or gunzipped into vm->tmpdir (at most limit
 * bytes).  malloc'd path or NULL. */
char *vmc_ovf_file_path(struct vmc_ovf_ctx *c, struct vmc_ovf_file *f,
			uint64_t limit);

/* Refuse names that leave the package: absolute, "..", subfolders. */
int vmc_ovf_check_name(const char *desc, const char *what,
		       const char *href, struct vmc_error *err);

#endif
