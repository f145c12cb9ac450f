/* What injection changes in a guest, change by change (file, before,
 * after), and what it found worth saying but did not change. */
#ifndef VMC_INJECT_PLAN_H
#define VMC_INJECT_PLAN_H

#include <stddef.h>

#include <jansson.h>

struct vmc_change {
	char *file;		/* path in the guest */
	char *before;		/* the line, or a summary of the old state */
	char *after;
	/* an initramfs's: how it was (or is to be) rebuilt, a static
	 * string ("update-initramfs", "dracut", "direct"); else NULL */
	const char *method;
};

struct vmc_plan {
	struct vmc_change *c;
	size_t n, cap;
	char **notes;		/* "kept /dev/sdb1 in /etc/fstab: ..." */
	size_t nnotes;
};

int vmc_plan_add(struct vmc_plan *p, const char *file, const char *before,
		 const char *after);
/* The same with an initramfs's method (a static string). */
int vmc_plan_add_method(struct vmc_plan *p, const char *file,
			const char *before, const char *after,
			const char *method);
/* The method of the first change to file that has one, or NULL. */
const char *vmc_plan_method(const struct vmc_plan *p, const char *file);
int vmc_plan_note(struct vmc_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vmc_plan_free(struct vmc_plan *p);

/* {"changes": [{"file", "before", "after"[, "method"]}...],
 *  "notes": [...]} */
json_t *vmc_plan_json(const struct vmc_plan *p);

#endif
