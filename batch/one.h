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

/* Set the journal's phase and write it. */
int vmc_batch_one_phase(struct vmc_batch_one *c, const char *phase,
			struct vmc_error *err);
/* Migrate the VM's source (a disk, or a whole VM) into its target(s),
 * recording in the journal the summary (sizes, digest, injection) and,
 * when the plan asks, the validator's report and its reason. */
int vmc_batch_one_convert(struct vmc_batch_one *c, struct vmc_error *err);
/* One disk through vmc_migrate into dst; *sum gets its summary (the
 * validation goes to the journal).  boot: the VM's boot disk (or its only
 * disk), injected and validated when the plan asks; vm: the whole VM it
 * belongs to (its memory and vCPUs for the validation), or NULL. */
struct vmc_vm;
int vmc_batch_one_disk(struct vmc_batch_one *c, const char *src,
		       const char *src_fmt, const char *dst,
		       const struct vmc_vm *vm, bool boot, json_t **sum,
		       struct vmc_error *err);
/* A whole-VM source (OVA, OVF, .vmx, Hyper-V, libvirt XML): every disk
 * (the boot disk validated when asked), and for KVM targets (raw, qcow2)
 * the libvirt domain DEST/NAME.xml. */
int vmc_batch_one_convert_vm(struct vmc_batch_one *c, struct vmc_error *err);

#endif
