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
};

struct vmc_plan {
	struct vmc_change *c;
	size_t n, cap;
	char **notes;		/* "kept /dev/sdb1 in /etc/fstab: ..." */
	size_t nnotes;
};

int vmc_plan_add(struct vmc_plan *p, const char *file, const char *before,
		 const char *after);
int vmc_plan_note(struct vmc_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vmc_plan_free(struct vmc_plan *p);

/* {"changes": [{"file", "before", "after"}...], "notes": [...]} */
json_t *vmc_plan_json(const struct vmc_plan *p);

#endif
