/* The files an open image reads from: each descriptor vmc_confine_open
 * handed out while the image (with its backing chain, data file and
 * extents) was being opened, with the identity (device and inode) of its
 * file.  The VM process (validate/vmm/sandbox.c) keeps these descriptors
 * and closes every other one it inherited; the identity tells a
 * descriptor still open from a number a driver closed and the process
 * reused for something else.
 */
#ifndef VMC_COMMON_HELD_H
#define VMC_COMMON_HELD_H

#include <stddef.h>
#include <sys/stat.h>

struct vmc_held_file {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct vmc_held_files {
	struct vmc_held_file *v;
	size_t n, cap;
};

/* Record fd (of the file st describes): 0, or -1 (out of memory). */
int vmc_held_add(struct vmc_held_files *h, int fd, const struct stat *st);
/* Add every entry of from to to: 0, or -1 (out of memory). */
int vmc_held_merge(struct vmc_held_files *to,
		   const struct vmc_held_files *from);
void vmc_held_free(struct vmc_held_files *h);
/* The recorded descriptors that still refer to the file recorded, each
 * once: up to max into fds; returns how many there are. */
size_t vmc_held_fds(const struct vmc_held_files *h, int *fds, size_t max);

/* The list this thread's vmc_confine_open records into (NULL: none);
 * returns the one it replaces (common/confine.c). */
struct vmc_held_files *vmc_confine_record(struct vmc_held_files *to);

#endif
