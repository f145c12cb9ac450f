/* vmconv file helpers for drivers and tools: full reads and writes that
 * name the file and offset on failure, zeroing a file range, paths
 * relative to an image, zero detection.  Implemented in common/io.c. */
#ifndef VMCONV_IO_H
#define VMCONV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <vmconv/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resolve a file name stored inside image (a backing file, an extent, a
 * parent) relative to image's folder.  Absolute names are returned as
 * they are.  Returns a malloc'd string or NULL (ENOMEM). */
char *vmc_path_relative_to(const char *image, const char *name);

/* pread/pwrite that loop over short transfers; a read past end of file
 * fails with EIO and names path and offset. */
int vmc_pread_full(int fd, void *buf, size_t len, uint64_t off,
		   const char *path, struct vmc_error *err);
int vmc_pwrite_full(int fd, const void *buf, size_t len, uint64_t off,
		    const char *path, struct vmc_error *err);

/* What drivers call on the fds vmc_confine_open gives them, in place of
 * pread, fstat, lseek and close: the fd may be a window over part of a
 * larger file (an OVA's member read where it lies, common/window.h), and
 * these calls keep every offset, size and SEEK_DATA/SEEK_HOLE answer
 * inside it; on any other fd they are the plain calls.  A read past the
 * window's end is a short read, as at a file's end; a window's st_size
 * is its length. */
ssize_t vmc_file_pread(int fd, void *buf, size_t len, uint64_t off);
int vmc_file_fstat(int fd, struct stat *st);
off_t vmc_file_lseek(int fd, off_t off, int whence);
int vmc_file_close(int fd);

/* Makes file bytes [off, off+len) read as zeros: a punched hole, or
 * written zeros where the file system cannot punch. */
int vmc_zero_file_range(int fd, uint64_t off, uint64_t len,
			const char *path, struct vmc_error *err);

/* True if len bytes at buf are all zero. */
bool vmc_is_zero(const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
