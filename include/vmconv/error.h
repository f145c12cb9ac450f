/* vmconv error reporting.
 *
 * Library code never prints or exits: a fallible function returns -1 (or
 * NULL) and fills the caller's struct vmc_error, passed last.  The message
 * names the file, the structure and the offset, for example
 *   "disk.vhdx: BAT entry 17 points past end of file (offset 0x40000000,
 *    file size 0x2000000)"
 * and cli/ prints it once as "vmconv: <message>".
 */
#ifndef VMCONV_ERROR_H
#define VMCONV_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMC_ERROR_MSG_MAX 1024

struct vmc_error {
	int code;			/* positive errno value, EINVAL if unsure */
	char msg[VMC_ERROR_MSG_MAX];	/* "FILE: what is wrong (where)" */
};

/* Fill err (if not NULL) with code and a printf-style message.  Always
 * returns -1 so that callers can write "return vmc_error_set(...)". */
int vmc_error_set(struct vmc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like vmc_error_set, with strerror(code) appended as ": <text>". */
int vmc_error_errno(struct vmc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "<prefix>: <old message>". */
void vmc_error_prefix(struct vmc_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vmc_error_clear(struct vmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
