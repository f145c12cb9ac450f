/* Device names a new disk controller breaks, and the stable names that
 * replace them: /dev/sdX, /dev/hdX and /dev/xvdX in /etc/fstab,
 * /etc/crypttab, boot-loader entries' root= and /etc/default/grub become
 * UUID=; GRUB's device.map gets the disks' names on the new controller.  Text in, text out: the guest is read and written elsewhere. */
#ifndef VMC_INJECT_NAMES_H
#define VMC_INJECT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "inject/plan.h"

/* /dev/sda1, /dev/hdb, /dev/xvda2: named by controller and position. */
bool vmc_name_unstable(const char *dev);

/* The stable name for an unstable one ("UUID=..."), or -1 to keep it. */
typedef int (*vmc_name_resolve_fn)(void *ctx, const char *dev, char *out,
				   size_t len);

enum vmc_names_kind {
	VMC_NAMES_FSTAB,	/* first field of each entry */
	VMC_NAMES_CRYPTTAB,	/* second field */
	VMC_NAMES_CMDLINE,	/* root=... and resume=... words anywhere */
	VMC_NAMES_DEVMAP,	/* GRUB's device.map: "(hd0) /dev/sda" */
};

/* The name a disk or partition gets on virtio: /dev/sdb2, /dev/hdb2 and
 * /dev/xvdb2 become /dev/vdb2; -1 for a name that is not unstable (a
 * vmc_name_resolve_fn, for device.map, whose entries name whole disks
 * and cannot be UUID=). */
int vmc_name_on_virtio(void *ctx, const char *dev, char *out, size_t len);

/* Rewrite text; each changed line goes into plan (file, before, after),
 * each unstable name that cannot be resolved into its notes.  Returns the
 * new text (malloc'd; equal to text when nothing changed) or NULL when
 * out of memory. */
char *vmc_names_rewrite(const char *text, enum vmc_names_kind kind,
			const char *file, vmc_name_resolve_fn resolve,
			void *ctx, struct vmc_plan *plan);

/* Every unstable name in text's device fields, for inspection: calls fn
 * with the name and the line's number. */
void vmc_names_scan(const char *text, enum vmc_names_kind kind,
		    void (*fn)(void *ctx, const char *dev, unsigned line),
		    void *ctx);

#endif
