/* The parent policy: which files an image may make vmconv open.
 *
 * Names stored inside an image (qcow2 backing file and external data file,
 * VMDK extents and parentFileNameHint, VHD/VHDX parent locators) are
 * untrusted.  Such a name must resolve, after symlinks, to a regular file
 * inside the folder of the image that names it, inside the folder of the
 * top image (the one the user named), or inside a folder widened with
 * vmc_confine_allow_dir (the CLI's --allow-parent-dir).  It must not look
 * like a QEMU protocol ("nbd:", "http:", "json:").  Files are opened with
 * O_NOFOLLOW|O_NONBLOCK and their type checked with fstat, so a FIFO or a
 * device swapped in after the check is refused, not read.  Block devices
 * are accepted only as the top image itself.
 *
 * The top image is known per thread: formats/image.c calls
 * vmc_confine_enter/leave around each open, so depth 1 is an image the
 * caller named and anything deeper was named by an image.
 */
#ifndef VMC_COMMON_CONFINE_H
#define VMC_COMMON_CONFINE_H

#include <stdbool.h>

#include <vmconv/driver.h>
#include <vmconv/error.h>

/* Widens the policy to files under dir (process-wide; an existing folder,
 * stored as its real path).  Returns 0 or -1 with err set. */
int vmc_confine_allow_dir(const char *dir, struct vmc_error *err);

/* Forgets every folder added by vmc_confine_allow_dir. */
void vmc_confine_reset(void);

/* Called by the image layer around opening filename: enter returns 0 or
 * -1 with err set (only when filename is the top image and has no real
 * path); leave undoes one enter. */
int vmc_confine_enter(const char *filename, struct vmc_error *err);
void vmc_confine_leave(void);

/* True while the image being opened is the one the caller named (depth
 * 1 or none): its own file may be a symlink or a block device. */
bool vmc_confine_trusted(void);

/* Resolves name, stored in field of image namer (relative names against
 * namer's folder), under the policy.  Returns the real path (the caller
 * frees it), or NULL with err set: code ENOENT when nothing exists there
 * (the message says so), EPERM for a refusal naming namer, field, name
 * and the resolved path. */
char *vmc_confine_resolve(const char *namer, const char *field,
			  const char *name, struct vmc_error *err);

/* vmc_confine_open, the open every driver uses for its files, is public
 * (include/vmconv/driver.h) so that plugins get the same checks. */

#endif
