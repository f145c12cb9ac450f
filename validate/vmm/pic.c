/* Two cascaded 8259A interrupt controllers (Intel 8259A data sheet; the
 * PIIX3's ELCR, 82371SB section 4.1.16) in user space, for UEFI runs:
 * OVMF's interrupt return writes CR8, which KVM with its in-kernel local
 * APIC lets through to the CPU, and QEMU's software SVM (the nested
 * engine) aborts on it.  Without an in-kernel irqchip KVM intercepts CR8
 * writes itself, so UEFI runs use this PIC, the PIT (pit.c) and a minimal
 * local APIC (lapic.c), and the run loop injects the PIC's vector with
 * KVM_INTERRUPT.
 *
 * The model: IRR, IMR, ISR, rotating priority, specific and non-specific
 * EOI, auto-EOI, poll and register-read commands, edge or level (ELCR)
 * triggering.  Every register is 8 bits and every guest write is taken
 * as is: no state a guest can reach loops or allocates.
 */
#include <string.h>

#include "validate/vmm/vmm.h"

static void chip_reset(struct vmc_pic_chip *c)
{
	uint8_t elcr = c->elcr, mask = c->elcr_mask;

	memset(c, 0, sizeof(*c));
	c->elcr = elcr;
	c->elcr_mask = mask;
}

void vmc_pic_init(struct vmc_pic *p)
{
	memset(p, 0, sizeof(*p));
	p->c[0].elcr_mask = 0xf8;	/* IRQ 0-2 are always edge */
	p->c[1].elcr_mask = 0xde;	/* and IRQ 8 and 13 */
}

/* The highest-priority bit of mask as a priority (0 highest), 8: none. */
static unsigned priority(const struct vmc_pic_chip *c, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->priority_add) & 7)))
			return p;
	return 8;
}

/* The IRQ this chip asks for, or -1. */
static int chip_irq(const struct vmc_pic_chip *c, bool master)
{
	uint8_t isr = c->isr;
	unsigned p = priority(c, c->irr & ~c->imr);

	if (p == 8)
		return -1;
	if (c->special_mask)
		isr &= ~c->imr;
	/* a slave's request is seen while IRQ 2 is in service in the
	 * special fully nested mode */
	if (master && c->sfnm)
		isr &= ~(1u << 2);
	if (p < priority(c, isr))
		return (int)((p + c->priority_add) & 7);
	return -1;
}

static void chip_set(struct vmc_pic_chip *c, unsigned irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->elcr & bit) {
		if (level) {
			c->irr |= bit;
			c->last |= bit;
		} else {
			c->irr &= (uint8_t)~bit;
			c->last &= (uint8_t)~bit;
		}
		return;
	}
	if (level) {
		if (!(c->last & bit))
			c->irr |= bit;
		c->last |= bit;
	} else {
		c->last &= (uint8_t)~bit;
	}
}

/* The slave's output is the master's IRQ 2. */
static void pic_update(struct vmc_pic *p)
{
	chip_set(&p->c[0], 2, chip_irq(&p->c[1], false) >= 0);
}

void vmc_pic_set_irq(struct vmc_pic *p, unsigned irq, int level)
{
	if (irq >= 16)
		return;
	chip_set(&p->c[irq >> 3], irq & 7, level);
	pic_update(p);
}

bool vmc_pic_pending(const struct vmc_pic *p)
{
	return chip_irq(&p->c[0], true) >= 0;
}

static void chip_ack(struct vmc_pic_chip *c, unsigned irq)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->auto_eoi) {
		if (c->rotate_auto_eoi)
			c->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
}

uint8_t vmc_pic_ack(struct vmc_pic *p)
{
	int irq = chip_irq(&p->c[0], true), irq2;
	uint8_t vec;

	if (irq < 0) {
		/* spurious: IRQ 7 without setting ISR */
		return (uint8_t)(p->c[0].base + 7);
	}
	chip_ack(&p->c[0], (unsigned)irq);
	if (irq != 2) {
		vec = (uint8_t)(p->c[0].base + irq);
	} else {
		irq2 = chip_irq(&p->c[1], false);
		if (irq2 >= 0)
			chip_ack(&p->c[1], (unsigned)irq2);
		else
			irq2 = 7;
		vec = (uint8_t)(p->c[1].base + irq2);
	}
	pic_update(p);
	return vec;
}

static void chip_ocw2(struct vmc_pic_chip *c, uint8_t val)
{
	unsigned cmd = val >> 5, irq, pr;

	switch (cmd) {
	case 0:
	case 4:
		c->rotate_auto_eoi = cmd >> 2;
		break;
	case 1:				/* non-specific EOI */
	case 5:				/* and rotate */
		pr = priority(c, c->isr);
		if (pr == 8)
			break;
		irq = (pr + c->priority_add) & 7;
		c->isr &= (uint8_t)~(1u << irq);
		if (cmd == 5)
			c->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	case 3:				/* specific EOI */
		c->isr &= (uint8_t)~(1u << (val & 7));
		break;
	case 6:				/* set priority */
		c->priority_add = (uint8_t)((val + 1) & 7);
		break;
	case 7:				/* specific EOI and rotate */
		irq = val & 7;
		c->isr &= (uint8_t)~(1u << irq);
		c->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	}
}

static void chip_write(struct vmc_pic_chip *c, unsigned addr, uint8_t val)
{
	if (addr == 0) {
		if (val & 0x10) {		/* ICW1 */
			chip_reset(c);
			c->irr &= c->elcr;
			c->init_state = 1;
			c->init4 = val & 1;
			c->single = (val >> 1) & 1;
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				c->poll = 1;
			if (val & 0x02)
				c->read_isr = val & 1;
			if (val & 0x40)
				c->special_mask = (val >> 5) & 1;
		} else {
			chip_ocw2(c, val);
		}
		return;
	}
	switch (c->init_state) {
	case 0:				/* OCW1 */
		c->imr = val;
		break;
	case 1:				/* ICW2: vector base */
		c->base = val & 0xf8;
		c->init_state = c->single ? (c->init4 ? 3 : 0) : 2;
		break;
	case 2:				/* ICW3: cascade wiring */
		c->init_state = c->init4 ? 3 : 0;
		break;
	case 3:				/* ICW4 */
		c->sfnm = (val >> 4) & 1;
		c->auto_eoi = (val >> 1) & 1;
		c->init_state = 0;
		break;
	}
}

/* Poll command: acknowledge the highest request without an INTA. */
static uint8_t pic_poll(struct vmc_pic *p, unsigned chip)
{
	struct vmc_pic_chip *c = &p->c[chip];
	int irq = chip_irq(c, chip == 0);

	c->poll = 0;
	if (irq < 0)
		return 0;
	chip_ack(c, (unsigned)irq);
	if (chip == 1)
		p->c[0].isr &= (uint8_t)~(1u << 2);
	pic_update(p);
	return (uint8_t)(0x80 | irq);
}

void vmc_pic_io(struct vmc_pic *p, uint16_t port, bool write, uint8_t *val)
{
	unsigned chip, addr;

	if (port == 0x4d0 || port == 0x4d1) {
		struct vmc_pic_chip *c = &p->c[port & 1];

		if (write)
			c->elcr = *val & c->elcr_mask;
		else
			*val = c->elcr;
		pic_update(p);
		return;
	}
	chip = port >= 0xa0;
	addr = port & 1;
	if (write) {
		chip_write(&p->c[chip], addr, *val);
		pic_update(p);
	} else if (p->c[chip].poll) {
		*val = pic_poll(p, chip);
	} else if (addr) {
		*val = p->c[chip].imr;
	} else {
		*val = p->c[chip].read_isr ? p->c[chip].isr : p->c[chip].irr;
	}
}
