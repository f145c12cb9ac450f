/* The built-in VMM's exit counts split by boot stage.  The VMM hands its
 * cumulative counts over before each console and debug line; the counts
 * standing when the watcher first sees a stage mark that stage's start,
 * so each phase is what the guest cost while it was in that stage
 * ("start": before the first stage, e.g. SeaBIOS's first line). */
#include <string.h>

#include "validate/exits.h"

static const char *const names[VMC_STAT_COUNT] = {
	[VMC_STAT_SERIAL] = "serial",
	[VMC_STAT_IDE_DATA] = "ide_data",
	[VMC_STAT_IDE_CMD] = "ide_cmd",
	[VMC_STAT_IDE_BM] = "ide_dma",
	[VMC_STAT_VIRTIO_NOTIFY] = "virtio_notify",
	[VMC_STAT_VIRTIO] = "virtio_other",
	[VMC_STAT_PCI_CFG] = "pci_cfg",
	[VMC_STAT_FWCFG] = "fw_cfg",
	[VMC_STAT_CMOS] = "cmos",
	[VMC_STAT_DEBUG_PORT] = "debug_port",
	[VMC_STAT_OTHER_IO] = "other_io",
	[VMC_STAT_MMIO] = "mmio",
	[VMC_STAT_KICKS] = "kicks",
	[VMC_STAT_WAKEUPS] = "lost_wakeups",
	[VMC_STAT_KVM_EXITS] = "kvm_exits",
	[VMC_STAT_KVM_IO] = "kvm_io",
	[VMC_STAT_KVM_MMIO] = "kvm_mmio",
	[VMC_STAT_KVM_HALT] = "kvm_halt",
	[VMC_STAT_KVM_IRQ_EXITS] = "kvm_host_irq",
	[VMC_STAT_KVM_IRQ_WINDOW] = "kvm_irq_window",
	[VMC_STAT_KVM_IRQ_INJECTIONS] = "kvm_irq_injected",
	[VMC_STAT_KVM_EMULATED] = "kvm_emulated",
	[VMC_STAT_KVM_PAGE_FAULTS] = "kvm_page_faults",
	[VMC_STAT_KVM_HALT_NS] = "kvm_halted_ms",
};

const char *vmc_vm_stat_name(enum vmc_vm_stat s)
{
	return (unsigned)s < VMC_STAT_COUNT ? names[s] : "unknown";
}

void vmc_exits_update(struct vmc_exit_split *x, const struct vmc_vm_stats *s)
{
	x->last = *s;
}

void vmc_exits_mark(struct vmc_exit_split *x, const struct vmc_verdict *v)
{
	for (int s = 0; s < VMC_STAGE_COUNT; s++) {
		if (!v->reached[s] || x->seen[s])
			continue;
		x->at[s] = x->last;
		x->seen[s] = true;
	}
}

static json_t *counts(const struct vmc_vm_stats *a,
		      const struct vmc_vm_stats *b, bool kvm)
{
	json_t *j = json_object();

	for (int i = 0; i < VMC_STAT_COUNT; i++) {
		uint64_t d = b->n[i] >= a->n[i] ? b->n[i] - a->n[i] : 0;

		if (i >= VMC_STAT_KVM_EXITS && !kvm)
			continue;
		if (i == VMC_STAT_KVM_HALT_NS)
			d /= 1000000;
		json_object_set_new(j, names[i], json_integer((json_int_t)d));
	}
	return j;
}

static void add_phase(json_t *arr, const char *name, unsigned from,
		      unsigned to, const struct vmc_vm_stats *a,
		      const struct vmc_vm_stats *b, bool kvm)
{
	json_t *j = json_object();
	json_t *c = counts(a, b, kvm);

	json_object_set_new(j, "phase", json_string(name));
	json_object_set_new(j, "from_ms", json_integer(from));
	json_object_set_new(j, "to_ms", json_integer(to));
	json_object_update(j, c);
	json_decref(c);
	json_array_append_new(arr, j);
}

json_t *vmc_exits_json(const struct vmc_exit_split *x,
		       const struct vmc_verdict *v,
		       const struct vmc_vm_stats *end, unsigned end_ms)
{
	static const struct vmc_vm_stats zero;
	const struct vmc_vm_stats *from = &zero;
	const char *name = "start";
	unsigned from_ms = 0;
	bool kvm = end->kvm;
	json_t *j = json_object(), *arr = json_array();

	for (int s = 0; s < VMC_STAGE_COUNT; s++) {
		if (!x->seen[s])
			continue;
		add_phase(arr, name, from_ms, v->stage_ms[s], from, &x->at[s],
			  kvm);
		from = &x->at[s];
		from_ms = v->stage_ms[s];
		name = vmc_stage_name((enum vmc_stage)s);
	}
	add_phase(arr, name, from_ms, end_ms, from, end, kvm);
	json_object_set_new(j, "kvm_counters", json_boolean(kvm));
	json_object_set_new(j, "phases", arr);
	json_object_set_new(j, "total", counts(&zero, end, kvm));
	return j;
}

static long long num(const json_t *o, const char *k)
{
	const json_t *n = json_object_get(o, k);

	return n ? (long long)json_integer_value(n) : -1;
}

void vmc_exits_print(FILE *f, const json_t *exits)
{
	static const char *const cols[] = {
		"kvm_exits", "serial", "ide_data", "ide_cmd", "ide_dma",
		"virtio_notify", "kvm_io", "kvm_irq_injected", "kicks",
		"lost_wakeups", "kvm_halted_ms",
	};
	const json_t *arr = json_object_get(exits, "phases"), *p;
	size_t i;

	if (!json_is_array(arr))
		return;
	fprintf(f, "vmconv: exits per stage (%-11s %8s", "phase", "ms");
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(f, " %s", cols[c]);
	fprintf(f, ")\n");
	json_array_foreach(arr, i, p) {
		fprintf(f, "vmconv:   %-11s %8lld",
			json_string_value(json_object_get(p, "phase")),
			num(p, "to_ms") - num(p, "from_ms"));
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			fprintf(f, " %*lld", (int)strlen(cols[c]),
				num(p, cols[c]));
		fprintf(f, "\n");
	}
}
