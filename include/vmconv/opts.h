/* vmconv key=value option lists, as qemu-img's -o takes them.
 *
 * "compat=1.1,cluster_size=64k" is parsed into a list; a driver reads the
 * keys it knows with vmc_opts_get*(), which marks them used, and the
 * generic layer then refuses any key no one used, naming it.  A comma in a
 * value is written as ",," (qemu's rule).
 *
 * A driver declares the options it takes as a table of struct
 * vmc_opt_desc (QEMU's create_opts): vmc_opts_apply() checks a list
 * against it (every key declared, every value of its type and among its
 * choices) and fills in the declared defaults, so the driver reads values
 * the table has vetted and `-o help` prints the same table.
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
/* A copy of o with the same keys, values and used marks (o NULL: an empty
 * list), or NULL when out of memory. */
struct vmc_opts *vmc_opts_dup(const struct vmc_opts *o);

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

/* ---- declared options ---- */

enum vmc_opt_type {
	VMC_OPT_STRING = 0,
	VMC_OPT_BOOL,			/* on/off, true/false, yes/no, 1/0 */
	VMC_OPT_UINT,			/* decimal or 0x hex */
	VMC_OPT_SIZE,			/* as vmc_parse_size() */
};

/* One option a driver takes; a table ends with an entry whose name is
 * NULL. */
struct vmc_opt_desc {
	const char *name;
	enum vmc_opt_type type;
	const char *def;		/* the default as -o spells it, or NULL
					 * (none, or the driver chooses) */
	const char *help;		/* one line, for `-o help` */
	const char *const *choices;	/* NULL-terminated allowed values, or
					 * NULL (any value of the type) */
};

/* The entry of desc named name, or NULL. */
const struct vmc_opt_desc *vmc_opt_desc_find(const struct vmc_opt_desc *desc,
					     const char *name);

/* "str", "bool (on/off)", "num" or "size": how `-o help` names a type. */
const char *vmc_opt_type_name(enum vmc_opt_type type);

/* Check o against desc and add the default of every declared option o
 * lacks (as a value the driver need not read).  Fails naming the first
 * undeclared key ("<what>: unknown option 'key'"), or the first value
 * that is not of its type or not one of its choices ("<what>: option
 * KEY: 'v' is not a size" / "... must be one of a, b, c").  desc NULL
 * declares nothing. */
int vmc_opts_apply(struct vmc_opts *o, const struct vmc_opt_desc *desc,
		   const char *what, struct vmc_error *err);

/* Parse a size such as "10G" or "512". */
int vmc_parse_size(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
