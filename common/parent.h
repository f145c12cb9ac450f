/* Finding and reading the parent of a differencing disk, shared by the
 * formats whose child records its parent only as file names (VHDX parent
 * locator, VHD parent locators): the names become candidate paths beside
 * the child, the first that exists is opened read-only, and when none
 * does the caller's error lists every path tried.  Every candidate is
 * held to the parent policy (common/confine.h): one that exists but
 * resolves outside the allowed folders, or is not a regular file, is a
 * refusal, not a miss. */
#ifndef VMC_COMMON_PARENT_H
#define VMC_COMMON_PARENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <vmconv/image.h>

/* VHD has 8 parent locators plus the parent's Unicode name. */
#define VMC_PARENT_MAX_CANDIDATES 10

struct vmc_parent_search {
	char *cand[VMC_PARENT_MAX_CANDIDATES];
	char *name[VMC_PARENT_MAX_CANDIDATES];	/* as the child names it */
	size_t n;
	/* "a, b, c": the candidates that did not exist, for the caller's
	 * "parent disk not found" message; "" when none was tried. */
	char tried[VMC_ERROR_MSG_MAX / 2];
	size_t tried_len;
};

/* Vets an opened parent (format, linkage IDs); path is the candidate it
 * was opened from.  Returns 0 or -1 with err set. */
typedef int (*vmc_parent_check_fn)(void *ctx, struct vmc_image *parent,
				   const char *path, struct vmc_error *err);

/* The part of path after its last '/'. */
const char *vmc_parent_base_name(const char *path);

/* Adds name, resolved against the child image's directory (see
 * vmc_path_relative_to), unless the same path is already a candidate.
 * Returns 0, or -1 with err set (out of memory, too many candidates). */
int vmc_parent_add(struct vmc_parent_search *ps, const char *child,
		   const char *name, struct vmc_error *err);

/* Tries the candidates in order: one that does not exist is added to
 * ps->tried; the first that exists (and passes the parent policy, else
 * -1) is opened with the child's flags but
 * read-only, and check (if not NULL) vets it.  Returns 1 with *parent
 * and *parent_path (the caller owns both) set, 0 when no candidate
 * exists, or -1 with err set ("CHILD: parent" prefixed to an open
 * failure; check's error as it is). */
int vmc_parent_open(struct vmc_parent_search *ps,
		    const struct vmc_image *child, vmc_parent_check_fn check,
		    void *ctx, struct vmc_image **parent, char **parent_path,
		    struct vmc_error *err);

void vmc_parent_search_free(struct vmc_parent_search *ps);

/* The backing-filename, full-backing-filename and backing-filename-format
 * keys of `vmconv info` for a parent opened from path. */
void vmc_parent_info(json_t *obj, const char *path, const char *format);

/* Reads guest bytes [off, off+len) from parent (or a qcow2 backing
 * file), as zeros where there is none or past its end (a parent smaller
 * than the child). */
int vmc_parent_pread(struct vmc_image *parent, uint8_t *buf, uint64_t len,
		     uint64_t off, struct vmc_error *err);

#endif
