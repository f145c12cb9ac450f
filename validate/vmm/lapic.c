/* The local APIC's registers (Intel SDM vol. 3A, chapter 11) at
 * 0xfee00000 for UEFI runs, which have no in-kernel irqchip (pic.c says
 * why).  OVMF reads the APIC's ID and version, programs the spurious
 * vector, the LVT entries (LINT0 as ExtINT: "virtual wire"), the task
 * priority and the timer, sends EOIs, and may send INIT and SIPI to find
 * other CPUs; with one vCPU there are none, so an IPI is accepted and
 * goes nowhere.  Interrupts reach the CPU from the PIC through LINT0
 * (the run loop injects the PIC's vector); this APIC delivers none of its
 * own, so the vCPU's CPUID does not offer one (kvm.c) and the guest's
 * kernel runs in PIC mode.  The timer counts down (its current count is
 * computed from the clock) but raises nothing.
 * Accesses are 32-bit at 16-byte aligned offsets; anything else reads
 * 0 and writes nothing, as on hardware.
 */
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define REG(off) ((off) >> 4)

void vmc_lapic_init(struct vmc_lapic *a)
{
	memset(a, 0, sizeof(*a));
	a->reg[REG(0x30)] = 0x00050014;	/* version 0x14, 6 LVTs */
	a->reg[REG(0xe0)] = 0xffffffff;		/* DFR: flat model */
	a->reg[REG(0xf0)] = 0xff;		/* SVR: disabled */
	for (unsigned off = 0x320; off <= 0x370; off += 0x10)
		a->reg[REG(off)] = 0x10000;	/* LVTs masked */
}

static uint32_t timer_count(const struct vmc_lapic *a)
{
	uint32_t init = a->reg[REG(0x380)], dcr = a->reg[REG(0x3e0)];
	/* divide by 2^shift: DCR 0b1011 is 1 */
	unsigned shift = (((dcr & 3) | (dcr & 8) >> 1) + 1) & 7;
	uint64_t ticks;

	if (!init)
		return 0;
	/* a 1 GHz bus: one tick a nanosecond */
	ticks = (vmc_pit_now() - a->timer_ns) >> shift;
	if (a->reg[REG(0x320)] & (1u << 17))	/* periodic */
		return init - (uint32_t)(ticks % init);
	return ticks >= init ? 0 : init - (uint32_t)ticks;
}

static uint32_t lapic_read(const struct vmc_lapic *a, unsigned off)
{
	switch (off) {
	case 0xa0:				/* PPR follows TPR */
		return a->reg[REG(0x80)];
	case 0x390:
		return timer_count(a);
	case 0x300:				/* ICR: delivered at once */
		return a->reg[REG(off)] & ~(1u << 12);
	default:
		return a->reg[REG(off)];
	}
}

static void lapic_write(struct vmc_lapic *a, unsigned off, uint32_t val)
{
	switch (off) {
	case 0x20:			/* ID */
		a->reg[REG(off)] = val & 0xff000000;
		break;
	case 0x80:			/* TPR */
		a->reg[REG(off)] = val & 0xff;
		break;
	case 0xd0:			/* LDR */
		a->reg[REG(off)] = val & 0xff000000;
		break;
	case 0xe0:			/* DFR */
		a->reg[REG(off)] = val | 0x0fffffff;
		break;
	case 0xf0:			/* SVR */
		a->reg[REG(off)] = val & 0x13ff;
		break;
	case 0x280:			/* ESR: a write clears it */
		a->reg[REG(off)] = 0;
		break;
	case 0x300:			/* ICR: no other CPU to reach */
		a->reg[REG(off)] = val & 0x000cdfff;
		a->ipis++;
		break;
	case 0x310:
		a->reg[REG(off)] = val & 0xff000000;
		break;
	case 0x320: case 0x330: case 0x340: case 0x350: case 0x360:
	case 0x370:
		a->reg[REG(off)] = val & 0x000717ff;
		break;
	case 0x380:
		a->reg[REG(off)] = val;
		a->timer_ns = vmc_pit_now();
		break;
	case 0x3e0:
		a->reg[REG(off)] = val & 0xb;
		break;
	default:			/* EOI, read-only registers */
		break;
	}
}

void vmc_lapic_mmio(struct vmc_lapic *a, uint64_t off, bool write,
		    uint8_t *data, unsigned len)
{
	if (off >= VMC_LAPIC_SIZE || (off & 0xf) || len != 4) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	if (write)
		lapic_write(a, (unsigned)off, vmc_get_le32(data));
	else
		vmc_put_le32(data, lapic_read(a, (unsigned)off));
}
