/* Unit tests: the user-space irqchip of UEFI runs (validate/vmm/pic.c,
 * pit.c, lapic.c and their place on the board in machine.c): the 8259
 * pair programmed as OVMF and Linux do it, edges and levels, priority,
 * EOI and the cascade; the 8254's counts, IRQ 0 period and read-back;
 * the local APIC registers OVMF touches; a UEFI board routing the ports
 * and a device's IRQ to the PIC, a BIOS board without any of it; and a
 * hostile guest's random writes, after which every call still returns. */
#include <time.h>

#include "vmm-test.h"
#include "common/bytes.h"

static void outb(struct vmc_pic *p, uint16_t port, uint8_t v)
{
	vmc_pic_io(p, port, true, &v);
}

static uint8_t inb(struct vmc_pic *p, uint16_t port)
{
	uint8_t v = 0;

	vmc_pic_io(p, port, false, &v);
	return v;
}

/* Linux's init_8259A(): vectors 0x30 and 0x38, master IRQ 2 cascade. */
static void pic_setup(struct vmc_pic *p)
{
	vmc_pic_init(p);
	outb(p, 0x20, 0x11);
	outb(p, 0x21, 0x30);
	outb(p, 0x21, 0x04);
	outb(p, 0x21, 0x01);
	outb(p, 0xa0, 0x11);
	outb(p, 0xa1, 0x38);
	outb(p, 0xa1, 0x02);
	outb(p, 0xa1, 0x01);
	outb(p, 0x21, 0x00);
	outb(p, 0xa1, 0x00);
}

Test(vmm_irqchip, pic_edge_eoi_and_priority)
{
	struct vmc_pic p;

	pic_setup(&p);
	cr_assert(!vmc_pic_pending(&p));
	vmc_pic_set_irq(&p, 4, 1);
	vmc_pic_set_irq(&p, 1, 1);
	cr_assert(vmc_pic_pending(&p));
	cr_assert_eq(vmc_pic_ack(&p), 0x31, "IRQ 1 outranks IRQ 4");
	/* IRQ 4 waits behind IRQ 1 in service */
	cr_assert(!vmc_pic_pending(&p));
	outb(&p, 0x20, 0x0b);		/* read ISR */
	cr_assert_eq(inb(&p, 0x20), 0x02);
	outb(&p, 0x20, 0x20);		/* EOI */
	cr_assert(vmc_pic_pending(&p));
	cr_assert_eq(vmc_pic_ack(&p), 0x34);
	outb(&p, 0x20, 0x20);
	/* an edge held high is one interrupt */
	cr_assert(!vmc_pic_pending(&p));
	vmc_pic_set_irq(&p, 1, 1);
	cr_assert(!vmc_pic_pending(&p));
	vmc_pic_set_irq(&p, 1, 0);
	vmc_pic_set_irq(&p, 1, 1);
	cr_assert(vmc_pic_pending(&p));
	/* masked, it waits in IRR */
	outb(&p, 0x21, 0x02);
	cr_assert(!vmc_pic_pending(&p));
	outb(&p, 0x20, 0x0a);		/* read IRR */
	cr_assert_eq(inb(&p, 0x20) & 0x02, 0x02);
	outb(&p, 0x21, 0x00);
	cr_assert_eq(vmc_pic_ack(&p), 0x31);
}

Test(vmm_irqchip, pic_cascade_level_elcr)
{
	struct vmc_pic p;

	pic_setup(&p);
	outb(&p, 0x4d1, 0xff);		/* level on the slave */
	cr_assert_eq(inb(&p, 0x4d1), 0xde, "IRQ 8 and 13 stay edge");
	vmc_pic_set_irq(&p, 10, 1);
	cr_assert(vmc_pic_pending(&p));
	cr_assert_eq(vmc_pic_ack(&p), 0x3a);
	outb(&p, 0xa0, 0x20);
	outb(&p, 0x20, 0x20);
	/* still asserted: asks again */
	cr_assert(vmc_pic_pending(&p));
	/* gone before the INTA: the master's IRQ 2 edge is latched, the
	 * slave answers with its spurious IRQ 15, as an 8259 pair does */
	vmc_pic_set_irq(&p, 10, 0);
	cr_assert(vmc_pic_pending(&p));
	cr_assert_eq(vmc_pic_ack(&p), 0x3f);
	outb(&p, 0x20, 0x20);
	cr_assert(!vmc_pic_pending(&p));
	/* nothing pending: the master's spurious IRQ 7 */
	cr_assert_eq(vmc_pic_ack(&p), 0x37);
	/* poll mode */
	vmc_pic_set_irq(&p, 3, 1);
	outb(&p, 0x20, 0x0c);
	cr_assert_eq(inb(&p, 0x20), 0x83);
	cr_assert(!vmc_pic_pending(&p));
}

static void pit_out(struct vmc_pit *p, uint16_t port, uint8_t v)
{
	vmc_pit_io(p, port, true, &v);
}

static uint8_t pit_in(struct vmc_pit *p, uint16_t port)
{
	uint8_t v = 0;

	vmc_pit_io(p, port, false, &v);
	return v;
}

Test(vmm_irqchip, pit_period_counts_and_readback)
{
	struct vmc_pit p;
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	uint64_t t;
	unsigned c1, c2;

	vmc_pit_init(&p);
	cr_assert_eq(vmc_pit_next(&p), 0, "no IRQ 0 before programming");
	/* OVMF's 8254TimerDxe: mode 3, 10 ms */
	pit_out(&p, 0x43, 0x36);
	pit_out(&p, 0x40, 11932 & 0xff);
	pit_out(&p, 0x40, 11932 >> 8);
	t = vmc_pit_now();
	cr_assert(!vmc_pit_poll(&p, t));
	cr_assert(vmc_pit_next(&p) > t + 9 * 1000 * 1000);
	cr_assert(vmc_pit_next(&p) < t + 11 * 1000 * 1000);
	cr_assert(vmc_pit_poll(&p, t + 25 * 1000 * 1000));
	/* late: one edge, and the next a period on */
	cr_assert(!vmc_pit_poll(&p, t + 25 * 1000 * 1000));
	cr_assert(vmc_pit_next(&p) > t + 25 * 1000 * 1000);
	/* latched counts fall */
	pit_out(&p, 0x43, 0x00);
	c1 = pit_in(&p, 0x40);
	c1 |= (unsigned)pit_in(&p, 0x40) << 8;
	nanosleep(&ts, NULL);
	pit_out(&p, 0x43, 0x00);
	c2 = pit_in(&p, 0x40);
	c2 |= (unsigned)pit_in(&p, 0x40) << 8;
	cr_assert(c1 <= 11932 && c2 <= 11932, "%u %u", c1, c2);
	/* read-back status: mode 3, LSB then MSB */
	pit_out(&p, 0x43, 0xe2);
	cr_assert_eq(pit_in(&p, 0x40) & 0x3f, 0x36);
	/* one-shot (Linux's mode 0): one edge, then none */
	pit_out(&p, 0x43, 0x30);
	pit_out(&p, 0x40, 100);
	pit_out(&p, 0x40, 0);
	t = vmc_pit_now();
	cr_assert(vmc_pit_poll(&p, t + 1000 * 1000));
	cr_assert_eq(vmc_pit_next(&p), 0);
}

Test(vmm_irqchip, pit_channel2_gate_and_output)
{
	struct vmc_pit p;
	struct timespec ts = { 0, 1000 * 1000 };

	vmc_pit_init(&p);
	/* Linux's PIT calibration: gate on, mode 0, a short count */
	pit_out(&p, 0x61, 0x01);
	pit_out(&p, 0x43, 0xb0);
	pit_out(&p, 0x42, 50);
	pit_out(&p, 0x42, 0);
	nanosleep(&ts, NULL);
	cr_assert(pit_in(&p, 0x61) & 0x20, "OUT2 high after the count");
	cr_assert_eq(pit_in(&p, 0x61) & 0x01, 0x01);
}

Test(vmm_irqchip, lapic_registers)
{
	struct vmc_lapic a;
	uint8_t d[4];

	vmc_lapic_init(&a);
	vmc_lapic_mmio(&a, 0x30, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0x00050014);
	vmc_lapic_mmio(&a, 0x350, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0x10000, "LINT0 masked at reset");
	vmc_put_le32(d, 0x1ff);
	vmc_lapic_mmio(&a, 0xf0, true, d, 4);
	vmc_lapic_mmio(&a, 0xf0, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0x1ff);
	/* INIT to all others: accepted, delivered at once */
	vmc_put_le32(d, 0x000c4500);
	vmc_lapic_mmio(&a, 0x300, true, d, 4);
	vmc_lapic_mmio(&a, 0x300, false, d, 4);
	cr_assert_eq(vmc_get_le32(d) & (1u << 12), 0);
	cr_assert_eq(a.ipis, 1);
	/* the timer counts down from its initial count */
	vmc_put_le32(d, 0xb);		/* divide by 1 */
	vmc_lapic_mmio(&a, 0x3e0, true, d, 4);
	vmc_put_le32(d, 0xffffffff);
	vmc_lapic_mmio(&a, 0x380, true, d, 4);
	vmc_lapic_mmio(&a, 0x390, false, d, 4);
	cr_assert(vmc_get_le32(d) < 0xffffffff && vmc_get_le32(d) > 0);
	/* odd accesses read 0 and change nothing */
	memset(d, 0xaa, 4);
	vmc_lapic_mmio(&a, 0x31, false, d, 1);
	cr_assert_eq(d[0], 0);
	vmc_lapic_mmio(&a, 0x4000, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0);
}

static void machine(struct vmc_machine *m, bool uefi)
{
	struct vmc_vm_config cfg = { .uefi = uefi };
	struct vmc_error err;

	cr_assert_eq(vmc_machine_init(m, &cfg, 32 << 20, &err), 0, "%s",
		     err.msg);
}

Test(vmm_irqchip, uefi_board_routes_to_the_pic)
{
	static struct vmc_machine m;
	uint8_t v, d[4];

	machine(&m, true);
	cr_assert(m.uchip);
	v = 0x11; vmc_machine_pio(&m, 0x20, true, &v, 1);
	v = 0x68; vmc_machine_pio(&m, 0x21, true, &v, 1);
	v = 0x04; vmc_machine_pio(&m, 0x21, true, &v, 1);
	v = 0x01; vmc_machine_pio(&m, 0x21, true, &v, 1);
	v = 0xef; vmc_machine_pio(&m, 0x21, true, &v, 1);	/* IRQ 4 */
	vmc_vm_irq(&m.vm, 4, 1);
	cr_assert(vmc_pic_pending(&m.pic));
	cr_assert_eq(vmc_pic_ack(&m.pic), 0x6c);
	vmc_machine_mmio(&m, VMC_LAPIC_BASE + 0x30, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0x00050014);
	vmc_machine_mmio(&m, 0xfec00000, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0xffffffff, "no I/O APIC");
	vmc_machine_free(&m);

	machine(&m, false);
	cr_assert(!m.uchip, "BIOS runs keep KVM's irqchip");
	vmc_machine_pio(&m, 0x21, false, &v, 1);
	cr_assert_eq(v, 0xff);
	vmc_machine_mmio(&m, VMC_LAPIC_BASE + 0x30, false, d, 4);
	cr_assert_eq(vmc_get_le32(d), 0xffffffff);
	vmc_machine_free(&m);
}

Test(vmm_irqchip, hostile_writes_leave_it_answering)
{
	static const uint16_t ports[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42,
		0x43, 0x61,
	};
	struct vmc_pic pic;
	struct vmc_pit pit;
	struct vmc_lapic a;
	uint32_t x = 12345;
	uint8_t v, d[8];

	vmc_pic_init(&pic);
	vmc_pit_init(&pit);
	vmc_lapic_init(&a);
	for (unsigned i = 0; i < 200000; i++) {
		x = x * 1103515245 + 12345;
		uint16_t port = ports[(x >> 8) % 11];
		bool wr = x & 1;

		v = (uint8_t)(x >> 16);
		if (port == 0x20 || port == 0x21 || port == 0xa0 ||
		    port == 0xa1 || port == 0x4d0 || port == 0x4d1)
			vmc_pic_io(&pic, port, wr, &v);
		else
			vmc_pit_io(&pit, port, wr, &v);
		vmc_pic_set_irq(&pic, (x >> 4) % 20, (int)((x >> 3) & 1));
		if (vmc_pic_pending(&pic))
			(void)vmc_pic_ack(&pic);
		vmc_put_le32(d, x);
		vmc_lapic_mmio(&a, (x >> 5) % 0x1100, wr, d,
			       1u << ((x >> 2) % 4));
		(void)vmc_pit_poll(&pit, vmc_pit_now() + (x % 1000000000));
	}
	cr_assert(pit.ch[0].count >= 1 && pit.ch[0].count <= 0x10000);
}
