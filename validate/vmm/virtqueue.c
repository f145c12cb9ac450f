/* Split virtqueues (Virtual I/O Device 1.1, section 2.6; the legacy layout
 * of section 2.6.2 / virtio 0.9.5 appendix).  Unlike kvmtool's, this walk
 * trusts nothing the guest wrote: the queue size must be a power of two no
 * larger than the device's maximum, the rings must be aligned and lie in
 * RAM, the available index may not run ahead by more than the queue size,
 * every descriptor index is checked, a chain is capped at the queue size
 * (so a loop ends), indirect descriptors (never offered) are refused, and
 * every buffer must lie entirely in guest RAM.  Firecracker's queue.rs
 * makes the same checks.
 */
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1

static uint16_t rd16(const struct vmc_mem *m, uint64_t gpa)
{
	const volatile uint8_t *p = vmc_mem_ptr(m, gpa, 2);
	uint8_t b[2];

	if (!p)
		return 0;
	b[0] = p[0];
	b[1] = p[1];
	return vmc_get_le16(b);
}

bool vmc_vq_setup(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t size,
		  uint64_t desc, uint64_t avail, uint64_t used, char *reason,
		  size_t rlen)
{
	memset(q, 0, sizeof(*q));
	if (!VMC_IS_POWER_OF_2(size) || size > VMC_VQ_MAX_SIZE) {
		snprintf(reason, rlen,
			 "virtqueue size %u is not a power of two up to %u",
			 size, VMC_VQ_MAX_SIZE);
		return false;
	}
	if (desc % 16 || avail % 2 || used % 4) {
		snprintf(reason, rlen,
			 "virtqueue rings misaligned (descriptors 0x%llx, "
			 "available 0x%llx, used 0x%llx)",
			 (unsigned long long)desc, (unsigned long long)avail,
			 (unsigned long long)used);
		return false;
	}
	if (!vmc_mem_ptr(mem, desc, 16ULL * size) ||
	    !vmc_mem_ptr(mem, avail, 6 + 2ULL * size) ||
	    !vmc_mem_ptr(mem, used, 6 + 8ULL * size)) {
		snprintf(reason, rlen,
			 "virtqueue rings outside guest RAM (descriptors "
			 "0x%llx, available 0x%llx, used 0x%llx, size %u)",
			 (unsigned long long)desc, (unsigned long long)avail,
			 (unsigned long long)used, size);
		return false;
	}
	q->size = size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	return true;
}

bool vmc_vq_setup_legacy(struct vmc_vq *q, const struct vmc_mem *mem,
			 uint16_t size, uint32_t pfn, char *reason,
			 size_t rlen)
{
	uint64_t desc = (uint64_t)pfn << 12;
	uint64_t avail = desc + 16ULL * size;
	uint64_t used = VMC_ALIGN_UP(avail + 6 + 2ULL * size, 4096);

	return vmc_vq_setup(q, mem, size, desc, avail, used, reason, rlen);
}

int vmc_vq_pop(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t *head,
	       struct vmc_vq_seg *segs, unsigned *nsegs, char *reason,
	       size_t rlen)
{
	uint16_t avail_idx, i;
	unsigned n = 0;

	*nsegs = 0;
	if (!q->size)
		return 0;
	avail_idx = rd16(mem, q->avail + 2);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size) {
		snprintf(reason, rlen,
			 "virtqueue available index %u ran %u entries ahead "
			 "of the device (queue size %u)", avail_idx,
			 (uint16_t)(avail_idx - q->last_avail), q->size);
		return -1;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	i = rd16(mem, q->avail + 4 + 2ULL * (q->last_avail % q->size));
	*head = i;
	q->last_avail++;

	for (;;) {
		const volatile uint8_t *dp;
		uint8_t d[16];
		uint64_t addr;
		uint32_t len;
		uint16_t flags;

		if (i >= q->size) {
			snprintf(reason, rlen,
				 "virtqueue descriptor index %u out of range "
				 "(queue size %u)", i, q->size);
			return -1;
		}
		if (n == q->size) {
			snprintf(reason, rlen,
				 "virtqueue descriptor chain from %u is longer "
				 "than the queue (%u): a loop", *head, q->size);
			return -1;
		}
		dp = vmc_mem_ptr(mem, q->desc + 16ULL * i, 16);
		if (!dp) {
			snprintf(reason, rlen, "virtqueue descriptor table "
				 "outside guest RAM");
			return -1;
		}
		for (unsigned k = 0; k < 16; k++)
			d[k] = dp[k];
		addr = vmc_get_le64(d);
		len = vmc_get_le32(d + 8);
		flags = vmc_get_le16(d + 12);
		if (flags & VRING_DESC_F_INDIRECT) {
			snprintf(reason, rlen, "virtqueue indirect descriptor "
				 "%u, a feature the device did not offer", i);
			return -1;
		}
		if (!vmc_mem_ptr(mem, addr, len)) {
			snprintf(reason, rlen,
				 "virtqueue descriptor %u points outside guest "
				 "RAM (address 0x%llx, length %u, RAM %llu MiB)",
				 i, (unsigned long long)addr, len,
				 (unsigned long long)(mem->size >> 20));
			return -1;
		}
		segs[n].gpa = addr;
		segs[n].len = len;
		segs[n].write = flags & VRING_DESC_F_WRITE;
		n++;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = vmc_get_le16(d + 14);
	}
	*nsegs = n;
	return 1;
}

bool vmc_vq_push(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t head,
		 uint32_t written)
{
	uint8_t e[8], idx[2];
	uint64_t slot = q->used + 4 + 8ULL * (q->used_idx % q->size);

	vmc_put_le32(e, head);
	vmc_put_le32(e + 4, written);
	if (!vmc_mem_write(mem, slot, e, 8))
		return false;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx++;
	vmc_put_le16(idx, q->used_idx);
	return vmc_mem_write(mem, q->used + 2, idx, 2);
}

bool vmc_vq_want_irq(const struct vmc_vq *q, const struct vmc_mem *mem)
{
	return !(rd16(mem, q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}
