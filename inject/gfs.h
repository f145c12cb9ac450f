/* The libguestfs appliance as inject/ uses it: one handle on one disk,
 * with the backend this host can run, and the image handed over so that
 * QEMU never probes it. */
#ifndef VMC_INJECT_GFS_H
#define VMC_INJECT_GFS_H

#include <limits.h>
#include <stdbool.h>

#include <guestfs.h>

#include <vmconv/error.h>

/* A disk as libguestfs is given it: the image itself with its format
 * pinned (raw, or a qcow2 that is one file), or a raw export made through
 * vmconv's own drivers into a temporary folder. */
struct vmc_gdisk {
	char path[PATH_MAX + 16];
	const char *qfmt;		/* "raw" or "qcow2" */
	char tmpdir[PATH_MAX];		/* "" unless an export was made */
	bool exported;
};

/* Prepare image (format fmt, NULL to probe with vmconv's drivers). */
int vmc_gdisk_prepare(const char *image, const char *fmt,
		      struct vmc_gdisk *d, struct vmc_error *err);
void vmc_gdisk_cleanup(struct vmc_gdisk *d);

/* A launched handle on path.  kvm: the host's KVM is usable; otherwise
 * the direct backend with force_tcg (libguestfs's default tries KVM and
 * fails where it is not usable). */
guestfs_h *vmc_gfs_launch(const char *path, const char *qfmt, bool readonly,
			  bool kvm, struct vmc_error *err);

/* Close, after a clean shutdown when the disk was written (the write-back
 * is flushed then): -1 when that fails. */
int vmc_gfs_close(guestfs_h *g, bool written, const char *image,
		  struct vmc_error *err);

/* err from the handle's last error: "<image>: <what>: <libguestfs>". */
int vmc_gfs_error(guestfs_h *g, struct vmc_error *err, const char *image,
		  const char *what);

/* Read a guest file of at most max bytes as a NUL-terminated string
 * (NULL when it is absent, larger, or unreadable). */
char *vmc_gfs_read(guestfs_h *g, const char *path, size_t max);

/* Whether path is a file / a directory / exists in the guest. */
bool vmc_gfs_is_file(guestfs_h *g, const char *path);
bool vmc_gfs_is_dir(guestfs_h *g, const char *path);

void vmc_gfs_free_strings(char **v);

#endif
