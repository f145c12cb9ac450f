/* vmconv file helpers for drivers and tools: full reads and writes that
 * name the file and offset on failure, zeroing a file range, paths
 * relative to an image, zero detection.  Implemented in common/io.c. */
#ifndef VMCONV_IO_H
#define VMCONV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
