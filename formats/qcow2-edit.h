/* qcow2 changes made in place to an existing image: internal snapshots,
 * resize, header changes (amend, rebase).  Each vmc_qcow2_* function
 * opens the image read-write under an exclusive lock (flock), keeps it
 * consistent at every step (see qcow2-inplace.c) and closes it. */
#ifndef VMC_FORMATS_QCOW2_EDIT_H
#define VMC_FORMATS_QCOW2_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/qcow2.h"

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

/* The header cluster rebuilt from s (version, features, backing file),
 * other extensions kept; s->header_length is the one the file has. */
int qcow2_rewrite_header(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err);

/* qcow2-rebase.c: qemu-img rebase (safe): the clusters the image does
 * not allocate and where the old and new backing files differ are copied
 * into it from the old one, then the header names the new one. */
int vmc_qcow2_rebase(const char *path, const char *backing,
		     const char *backing_fmt, struct vmc_error *err);

/* qcow2-inplace.c */
int qcow2_edit_open(const char *path, unsigned flags, struct vmc_image **out,
		    struct vmc_error *err);
int qcow2_rc_add(struct vmc_image *img, struct qcow2_state *s, uint64_t host,
		 uint64_t bytes, int delta, struct vmc_error *err);
int qcow2_rc_add_l2(struct vmc_image *img, struct qcow2_state *s,
		    const uint8_t *t, uint64_t from, int delta,
		    struct vmc_error *err);
int qcow2_rc_add_l1(struct vmc_image *img, struct qcow2_state *s,
		    const uint64_t *l1, uint32_t n, int delta,
		    struct vmc_error *err);
int qcow2_read_table(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t host, uint8_t *t, struct vmc_error *err);
int qcow2_fix_copied(struct vmc_image *img, struct qcow2_state *s,
		     struct vmc_error *err);
int qcow2_write_l1_at(struct vmc_image *img, struct qcow2_state *s,
		      const uint64_t *l1, uint32_t n, uint64_t host,
		      struct vmc_error *err);
int qcow2_sync(struct vmc_image *img, struct qcow2_state *s,
	       struct vmc_error *err);
int qcow2_header_put(struct vmc_image *img, struct qcow2_state *s,
		     uint64_t off, const void *buf, size_t len,
		     struct vmc_error *err);
int qcow2_rc_commit(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_error *err);
int qcow2_alloc_zeroed(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t bytes, uint64_t *host, struct vmc_error *err);
int qcow2_grow_l1(struct vmc_image *img, struct qcow2_state *s, uint32_t n,
		  struct vmc_error *err);

#endif
