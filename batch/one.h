/* The per-VM work of run-one (one.c), split from its bookkeeping. */
#ifndef VMC_BATCH_ONE_H
#define VMC_BATCH_ONE_H

#include "batch/batch.h"

struct vmc_batch_one {
	const char *state;
	size_t id;
	const struct vmc_batch_vm *vm;
	json_t *jn;			/* the journal being written */
	enum vmc_batch_outcome outcome;
};

/* Convert the source into the target (atomically), recording in the
 * journal the conversion's summary (sizes, digest, injection). */
int vmc_batch_one_convert(struct vmc_batch_one *c, struct vmc_error *err);
/* One disk file into dst (atomically); *sum gets its summary. */
int vmc_batch_one_convert_file(struct vmc_batch_one *c, const char *src_path,
			       const char *src_fmt, const char *dst,
			       json_t **sum, struct vmc_error *err);
/* A whole-VM source (OVA, OVF, .vmx, Hyper-V, libvirt XML): every disk,
 * and for KVM targets (raw, qcow2) the libvirt domain DEST/NAME.xml. */
int vmc_batch_one_convert_vm(struct vmc_batch_one *c, struct vmc_error *err);
/* Boot-validate the target; records "validation" (the validator's
 * report) in the journal; *reason gets the verdict's words. */
enum vmc_batch_outcome vmc_batch_one_validate(struct vmc_batch_one *c,
					      const char **reason);

#endif
