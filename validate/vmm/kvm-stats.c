/* KVM's own per-vCPU counters through the binary statistics interface
 * (KVM_GET_STATS_FD, the kernel's Documentation/virt/kvm/api.rst section
 * 4.133, Linux 5.14 and later): a file of a header, descriptors (name,
 * type, size, offset) and the data.  The descriptors are read once, before
 * the allow-list is installed; each read of the counters afterwards is one
 * pread of the data block, which the allow-list permits.  A kernel without
 * the interface, or without one of the counters, leaves them unknown.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"
#include "validate/vmm/kvm.h"

/* The descriptors' table is read whole: at most this big. */
#define DESC_MAX (256u << 10)

static const struct {
	enum vmc_vm_stat stat;
	const char *name;
} wanted[] = {
	{ VMC_STAT_KVM_EXITS, "exits" },
	{ VMC_STAT_KVM_IO, "io_exits" },
	{ VMC_STAT_KVM_MMIO, "mmio_exits" },
	{ VMC_STAT_KVM_HALT, "halt_exits" },
	{ VMC_STAT_KVM_IRQ_EXITS, "irq_exits" },
	{ VMC_STAT_KVM_IRQ_WINDOW, "irq_window_exits" },
	{ VMC_STAT_KVM_IRQ_INJECTIONS, "irq_injections" },
	{ VMC_STAT_KVM_EMULATED, "insn_emulation" },
	{ VMC_STAT_KVM_PAGE_FAULTS, "pf_taken" },
	{ VMC_STAT_KVM_HALT_NS, "halt_wait_ns" },
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

static void find_counters(struct vmc_kvm *k, const uint8_t *d, size_t len,
			  uint32_t ndesc, uint32_t name_size)
{
	size_t step = sizeof(struct kvm_stats_desc) + name_size;

	for (uint32_t i = 0; i < ndesc && (i + 1) * step <= len; i++) {
		struct kvm_stats_desc h;
		const char *name = (const char *)d + i * step + sizeof(h);

		memcpy(&h, d + i * step, sizeof(h));
		if (h.size < 1 || strnlen(name, name_size) == name_size)
			continue;
		for (size_t w = 0; w < NWANTED; w++) {
			if (strcmp(name, wanted[w].name))
				continue;
			k->stat_off[wanted[w].stat] = (int64_t)h.offset;
			if (h.offset + 8ULL > k->stats_len)
				k->stats_len = h.offset + 8ULL;
		}
	}
}

void vmc_kvm_stats_open(struct vmc_kvm *k)
{
	struct kvm_stats_header h;
	uint8_t *d = NULL;
	size_t len;

	for (unsigned i = 0; i < VMC_STAT_COUNT; i++)
		k->stat_off[i] = -1;
	k->stats_len = 0;
#ifdef KVM_GET_STATS_FD
	k->stats_fd = ioctl(k->vcpu, KVM_GET_STATS_FD, 0);
#else
	k->stats_fd = -1;
#endif
	if (k->stats_fd < 0)
		return;
	if (pread(k->stats_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.name_size > 256 || h.num_desc > 4096)
		goto fail;
	len = (size_t)h.num_desc * (sizeof(struct kvm_stats_desc) +
				    h.name_size);
	if (len > DESC_MAX || !(d = malloc(len ? len : 1)) ||
	    pread(k->stats_fd, d, len, h.desc_offset) != (ssize_t)len)
		goto fail;
	find_counters(k, d, len, h.num_desc, h.name_size);
	free(d);
	if (k->stats_len == 0 || k->stats_len > 65536)
		goto fail;
	k->stats_data = h.data_offset;
	return;
fail:
	free(d);
	close(k->stats_fd);
	k->stats_fd = -1;
}

void vmc_kvm_stats_close(struct vmc_kvm *k)
{
	if (k->stats_fd >= 0)
		close(k->stats_fd);
	k->stats_fd = -1;
}

void vmc_kvm_stats_read(void *opaque, struct vmc_vm_stats *s)
{
	struct vmc_kvm *k = opaque;
	uint8_t buf[65536];

	if (k->stats_fd < 0 ||
	    pread(k->stats_fd, buf, k->stats_len, k->stats_data) !=
	    (ssize_t)k->stats_len)
		return;
	for (unsigned i = 0; i < VMC_STAT_COUNT; i++)
		if (k->stat_off[i] >= 0)
			memcpy(&s->n[i], buf + k->stat_off[i], 8);
	s->kvm = true;
}
