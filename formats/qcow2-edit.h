/* Internal to formats/: the helpers of the qcow2 in-place changes
 * (formats/edit.h declares what other folders call). */
#ifndef VMC_FORMATS_QCOW2_EDIT_H
#define VMC_FORMATS_QCOW2_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/edit.h"
#include "formats/qcow2.h"

/* The header cluster rebuilt from s (version, features, backing file),
 * other extensions kept; s->header_length is the one the file has. */
int qcow2_rewrite_header(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err);

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
