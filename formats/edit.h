/* What formats/ offers the folders above it for changing an existing
 * image in place (qemu-img snapshot, resize, rebase, amend).  Each
 * vmc_qcow2_* function opens the qcow2 image read-write under an
 * exclusive lock (flock), keeps it consistent at every step (see
 * formats/qcow2-inplace.c) and closes it. */
#ifndef VMC_FORMATS_EDIT_H
#define VMC_FORMATS_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <vmconv/error.h>
#include <vmconv/opts.h>

/* qcow2-snapshot-write.c: qemu-img snapshot -c / -a / -d. */
int vmc_qcow2_snapshot_create(const char *path, const char *name,
			      struct vmc_error *err);
int vmc_qcow2_snapshot_apply(const char *path, const char *name,
			     struct vmc_error *err);
int vmc_qcow2_snapshot_delete(const char *path, const char *name,
			      struct vmc_error *err);

/* qcow2-resize.c: the virtual size set to size (shrinking drops the
 * clusters past the new end from the active state). */
int vmc_qcow2_resize(const char *path, uint64_t size, bool shrink,
		     struct vmc_error *err);

/* qcow2-header-write.c: the backing file name and format (NULL name:
 * none), written as the whole header cluster. */
int vmc_qcow2_set_backing(const char *path, const char *backing,
			  const char *backing_fmt, struct vmc_error *err);
/* qemu-img amend -o: compat, lazy_refcounts, size. */
int vmc_qcow2_amend(const char *path, struct vmc_opts *opts,
		    struct vmc_error *err);

/* qcow2-rebase.c: qemu-img rebase (safe): the clusters the image does
 * not allocate and where the old and new backing files differ are copied
 * into it from the old one, then the header names the new one. */
int vmc_qcow2_rebase(const char *path, const char *backing,
		     const char *backing_fmt, struct vmc_error *err);

#endif
