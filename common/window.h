/* File windows: a byte range of a host file read as if it were a file of
 * its own.  An OVA's disk stored plainly in the tar is opened where it
 * lies, as the window [data offset, + size) of the OVA, under a name of
 * its own ("web01.ova/disk1.vmdk": a path below a regular file, which
 * can never name a real file).  vmc_confine_open opens a window's name
 * read-only; the vmc_file_* calls (include/vmconv/io.h) that drivers use
 * on their fds translate offsets, sizes and SEEK_DATA/SEEK_HOLE, and
 * refuse to read outside the window, so every driver reads a member
 * unchanged.
 */
#ifndef VMC_COMMON_WINDOW_H
#define VMC_COMMON_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <vmconv/error.h>

/* Name the bytes [base, base + len) of file (a regular file) as name,
 * on behalf of owner (what vmc_window_drop takes).  The range must lie
 * inside the file as it is now. */
int vmc_window_add(const void *owner, const char *name, const char *file,
		   uint64_t base, uint64_t len, struct vmc_error *err);

/* Forget every window owner added (fds already open keep working). */
void vmc_window_drop(const void *owner);

/* True if name is a window's name. */
bool vmc_window_exists(const char *name);

/* stat() for a path that may be a window's name: a window gets its
 * file's st_dev and st_ino with st_size its length, and its base in
 * *base (0 for a plain file). */
int vmc_window_stat(const char *name, struct stat *st, uint64_t *base);

/* Open window name read-only (flags must be O_RDONLY): the fd of its
 * file, registered so that the vmc_file_* calls see the window.  -2
 * (err untouched) if name is no window; -1 with err set on failure. */
int vmc_window_open(const char *name, int flags, struct vmc_error *err);

/* fd was just opened for something else: forget any window its number
 * had (a plugin that closed a window's fd with plain close()). */
/* Whether fd is a window (its offsets are not the file's). */
bool vmc_window_is_fd(int fd);
void vmc_window_forget_fd(int fd);

#endif
