/* OVF manifests (DSP0243 section 5.1): lines "SHA256(NAME)= HEX" or
 * "SHA1(NAME)= HEX", one per file of the package. */
#ifndef VMC_VM_MANIFEST_H
#define VMC_VM_MANIFEST_H

#include <stddef.h>

#include <vmconv/error.h>

/* Hex digests of one file: SHA-1 and SHA-256. */
struct vmc_digests {
	char sha1[41], sha256[65];
};

/* Digest of the file name of the package, or -1 (error filled) when the
 * package has no such file. */
typedef int (*vmc_digest_fn)(void *ctx, const char *name,
			     struct vmc_digests *d, struct vmc_error *err);

/* Check every line of the manifest text; mf names it in messages.  The
 * number of files checked goes to *checked. */
int vmc_manifest_check(const char *text, size_t len, const char *mf,
		       vmc_digest_fn fn, void *ctx, size_t *checked,
		       struct vmc_error *err);

/* Digests of a whole file (opened O_NOFOLLOW, a regular file). */
int vmc_digest_file(const char *path, struct vmc_digests *d,
		    struct vmc_error *err);

/* Incremental digests. */
struct vmc_digester;
struct vmc_digester *vmc_digester_new(void);
void vmc_digester_update(struct vmc_digester *g, const void *buf,
			 size_t len);
void vmc_digester_final(struct vmc_digester *g, struct vmc_digests *d);

#endif
