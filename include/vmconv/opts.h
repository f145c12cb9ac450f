/* vmconv key=value option lists, as qemu-img's -o takes them.
 *
 * "compat=1.1,cluster_size=64k" is parsed into a list; a driver reads the
 * keys it knows with vmc_opts_get*(), which marks them used, and the
 * generic layer then refuses any key no one used, naming it.  A comma in a
 * value is written as ",," (qemu's rule).
 */
#ifndef VMCONV_OPTS_H
#define VMCONV_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include <vmconv/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmc_opts;

struct vmc_opts *vmc_opts_new(void);
void vmc_opts_free(struct vmc_opts *o);

/* Parse "k=v,k2=v2" and add the pairs; a later key replaces an earlier. */
int vmc_opts_parse(struct vmc_opts *o, const char *str, struct vmc_error *err);
int vmc_opts_set(struct vmc_opts *o, const char *key, const char *value,
		 struct vmc_error *err);

/* The value of key, or NULL.  Marks the key used. */
const char *vmc_opts_get(struct vmc_opts *o, const char *key);

/* Typed getters: *out = def when the key is absent.  Errors name the key.
 * Sizes accept the suffixes k, M, G, T (powers of 1024, case-insensitive)
 * and an optional trailing "B"/"iB". */
int vmc_opts_get_bool(struct vmc_opts *o, const char *key, bool def,
		      bool *out, struct vmc_error *err);
int vmc_opts_get_size(struct vmc_opts *o, const char *key, uint64_t def,
		      uint64_t *out, struct vmc_error *err);
int vmc_opts_get_uint(struct vmc_opts *o, const char *key, uint64_t def,
		      uint64_t *out, struct vmc_error *err);

/* Fail naming the first key that no getter has asked for, as
 * "<what>: unknown option 'key'". */
int vmc_opts_check_used(const struct vmc_opts *o, const char *what,
			struct vmc_error *err);

/* Parse a size such as "10G" or "512". */
int vmc_parse_size(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
