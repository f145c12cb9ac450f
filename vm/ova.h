/* Private to the OVA reader (ova.c, ova-members.c). */
#ifndef VMC_VM_OVA_H
#define VMC_VM_OVA_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/manifest.h"
#include "vm/vm.h"

#define VMC_OVA_MAX_MEMBERS 1024
#define VMC_OVA_MAX_TEXT (16u << 20)	/* descriptor, manifest */

struct vmc_ova_member {
	char *name;
	uint64_t off, size;		/* its data in the OVA */
	bool extracted;			/* copied into the scratch folder */
	bool digested;			/* d is set */
	struct vmc_digests d;
	char *text;			/* .ovf and .mf, read into memory */
	size_t text_len;
};

struct vmc_ova {
	const char *path;		/* as the user named it */
	const char *tmp_parent;		/* where scratch goes (NULL: beside) */
	int fd;				/* the OVA, read-only */
	uint64_t file_size;
	char *dir;			/* scratch folder, made on first need */
	char *owner;			/* the file windows' owner */
	struct vmc_ova_member m[VMC_OVA_MAX_MEMBERS];
	size_t n;
	int ovf, mf;			/* member indexes, -1 if none */
	struct vmc_error *err;
};

/* Walk the tar: every member checked (name, type, no duplicate, data
 * inside the archive), the .ovf and .mf read into memory, every other
 * member named as a file window "OVA/NAME" over its data where it lies
 * (common/window.h), or, when the offset libarchive's first block shows
 * disagrees with the computed one, copied into the scratch folder and
 * named as a window over that copy. */
int vmc_ova_members(struct vmc_ova *o);

/* SHA-1 and SHA-256 of member m (a read pass over its data where it
 * lies, once). */
int vmc_ova_member_digest(struct vmc_ova *o, struct vmc_ova_member *m);

/* The scratch folder, made on first call. */
const char *vmc_ova_scratch(struct vmc_ova *o);

#endif
