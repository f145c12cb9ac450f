/* Unit tests: the ATA disk on the PIIX3 (validate/vmm/ide.c), driven the
 * way SeaBIOS and libata's PIO paths drive it: IDENTIFY, LBA28 / LBA48 /
 * CHS reads, READ MULTIPLE, writes into the overlay, out-of-range
 * requests aborted, interrupts on IRQ 14, the absent slave. */
#include "vmm-test.h"
#include "common/bytes.h"

static struct vmc_machine m;
static struct irq_log irqs;
static char disk_path[64];

static void setup(void)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;

	cfg.disk = test_disk(disk_path, sizeof(disk_path), 2048);
	cfg.bus = VMC_BUS_IDE;
	cr_assert_eq(vmc_machine_init(&m, &cfg, 4ULL << 20, &err), 0, "%s",
		     err.msg);
	memset(&irqs, 0, sizeof(irqs));
	m.vm.set_irq = irq_record;
	m.vm.irq_opaque = &irqs;
}

static void teardown(void)
{
	struct vmc_image *img = m.disk.img;

	vmc_machine_free(&m);
	vmc_image_close(img);
	unlink(disk_path);
}

static void outb(uint16_t port, uint8_t v)
{
	vmc_machine_pio(&m, port, true, &v, 1);
}

static uint8_t inb(uint16_t port)
{
	uint8_t v;

	vmc_machine_pio(&m, port, false, &v, 1);
	return v;
}

static uint16_t inw(uint16_t port)
{
	uint8_t b[2];

	vmc_machine_pio(&m, port, false, b, 2);
	return vmc_get_le16(b);
}

static void read_data(uint8_t *buf, unsigned len)
{
	for (unsigned i = 0; i < len; i += 2)
		vmc_put_le16(buf + i, inw(0x1f0));
}

static void lba28(uint32_t lba, uint8_t count, uint8_t cmd)
{
	outb(0x1f6, 0xe0 | (lba >> 24));
	outb(0x1f2, count);
	outb(0x1f3, lba & 0xff);
	outb(0x1f4, (lba >> 8) & 0xff);
	outb(0x1f5, (lba >> 16) & 0xff);
	outb(0x1f7, cmd);
}

TestSuite(vmm_ide, .init = setup, .fini = teardown);

Test(vmm_ide, pci_function)
{
	uint8_t b[4];

	vmc_put_le32(b, 0x80000000 | 1 << 11 | 1 << 8);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_machine_pio(&m, 0xcfc, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0x70108086);
	/* BAR4 (bus master DMA) absent: guests fall back to PIO */
	vmc_put_le32(b, 0x80000000 | 1 << 11 | 1 << 8 | 0x20);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_put_le32(b, 0xffffffff);
	vmc_machine_pio(&m, 0xcfc, true, b, 4);
	vmc_machine_pio(&m, 0xcfc, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0);
}

Test(vmm_ide, signature_after_reset)
{
	outb(0x3f6, 0x04);
	cr_assert_eq(inb(0x3f6) & 0x80, 0x80);
	outb(0x3f6, 0x00);
	cr_assert_eq(inb(0x1f2), 1);
	cr_assert_eq(inb(0x1f3), 1);
	cr_assert_eq(inb(0x1f4), 0);
	cr_assert_eq(inb(0x1f5), 0);
	cr_assert_eq(inb(0x1f7), 0x50);
}

Test(vmm_ide, identify)
{
	uint8_t id[512];
	char model[41];

	outb(0x1f6, 0xa0);
	outb(0x1f7, 0xec);
	cr_assert_eq(irqs.level[14], 1);
	cr_assert_eq(inb(0x1f7) & 0x08, 0x08, "DRQ");
	cr_assert_eq(irqs.level[14], 0, "status read acknowledges");
	read_data(id, 512);
	cr_assert_eq(inb(0x1f7), 0x50);
	cr_assert_eq(vmc_get_le16(id + 60 * 2), 2048);
	cr_assert_eq(vmc_get_le16(id + 100 * 2), 2048);
	cr_assert_eq(vmc_get_le16(id + 49 * 2) & 0x0200, 0x0200, "LBA");
	cr_assert_eq(vmc_get_le16(id + 83 * 2) & 0x0400, 0x0400, "LBA48");
	cr_assert_eq(vmc_get_le16(id + 59 * 2), 0x100 | 16, "multiple 16");
	for (int i = 0; i < 40; i++)
		model[i] = (char)id[54 + (i ^ 1)];
	model[40] = 0;
	cr_assert(!strncmp(model, "VMCONV HARDDISK", 15), "%s", model);
}

Test(vmm_ide, read_lba28_two_sectors)
{
	uint8_t buf[512];

	lba28(100, 2, 0x20);
	cr_assert_eq(inb(0x1f7) & 0x08, 0x08);
	read_data(buf, 512);
	cr_assert_eq(buf[0], 100);
	cr_assert_eq(buf[511], 100);
	cr_assert_eq(irqs.raised[14], 2, "an interrupt per sector");
	cr_assert_eq(inb(0x1f7) & 0x08, 0x08);
	read_data(buf, 512);
	cr_assert_eq(buf[0], 101);
	cr_assert_eq(inb(0x1f7), 0x50);
	/* reading past the transfer gives nothing */
	cr_assert_eq(inw(0x1f0), 0xffff);
}

Test(vmm_ide, read_lba48)
{
	uint8_t buf[512];

	outb(0x1f6, 0xe0);
	outb(0x1f2, 0);			/* HOB count */
	outb(0x1f3, 0);
	outb(0x1f4, 0);
	outb(0x1f5, 0);
	outb(0x1f2, 1);
	outb(0x1f3, 0x05);		/* LBA 0x705 = 1797 */
	outb(0x1f4, 0x07);
	outb(0x1f5, 0);
	outb(0x1f7, 0x24);
	read_data(buf, 512);
	cr_assert_eq(buf[0], 1797 & 0xff);
}

Test(vmm_ide, read_chs)
{
	uint8_t buf[512];

	/* cylinder 1, head 2, sector 3: (1 * 16 + 2) * 63 + 2 = 1136 */
	outb(0x1f6, 0xa0 | 2);
	outb(0x1f2, 1);
	outb(0x1f3, 3);
	outb(0x1f4, 1);
	outb(0x1f5, 0);
	outb(0x1f7, 0x20);
	read_data(buf, 512);
	cr_assert_eq(buf[0], 1136 & 0xff);
}

Test(vmm_ide, read_multiple)
{
	uint8_t buf[4 * 512];

	outb(0x1f2, 4);
	outb(0x1f7, 0xc6);		/* SET MULTIPLE 4 */
	cr_assert_eq(inb(0x1f7), 0x50);
	lba28(10, 8, 0xc4);
	read_data(buf, sizeof(buf));
	cr_assert_eq(buf[0], 10);
	cr_assert_eq(buf[3 * 512], 13);
	cr_assert_eq(irqs.raised[14], 2);	/* set multiple... */
	inb(0x1f7);
	read_data(buf, sizeof(buf));
	cr_assert_eq(buf[3 * 512], 17);
	cr_assert_eq(inb(0x1f7), 0x50);
	/* 3 is not a power of two */
	outb(0x1f2, 3);
	outb(0x1f7, 0xc6);
	cr_assert_eq(inb(0x1f7) & 0x01, 0x01);
}

Test(vmm_ide, write_then_read_back)
{
	uint8_t b[2], buf[512];

	lba28(7, 1, 0x30);
	cr_assert_eq(inb(0x1f7) & 0x08, 0x08);
	for (int i = 0; i < 256; i++) {
		vmc_put_le16(b, 0xbeef);
		vmc_machine_pio(&m, 0x1f0, true, b, 2);
	}
	cr_assert_eq(inb(0x1f7), 0x50);
	lba28(7, 1, 0x20);
	read_data(buf, 512);
	cr_assert_eq(vmc_get_le16(buf), 0xbeef);
	cr_assert_eq(vmc_get_le16(buf + 510), 0xbeef);
}

Test(vmm_ide, out_of_range_aborts)
{
	lba28(2047, 2, 0x20);		/* last sector + 1 */
	cr_assert_eq(inb(0x1f7) & 0x09, 0x01, "ERR, no DRQ");
	cr_assert_eq(inb(0x1f1) & 0x10, 0x10, "IDNF");
	lba28(0x0fffffff, 1, 0x20);
	cr_assert_eq(inb(0x1f7) & 0x01, 0x01);
	cr_assert_not(m.vm.stop);
	/* an unknown command, and IDENTIFY PACKET on a disk */
	outb(0x1f7, 0xa1);
	cr_assert_eq(inb(0x1f1) & 0x04, 0x04, "ABRT");
	outb(0x1f7, 0xff);
	cr_assert_eq(inb(0x1f7) & 0x01, 0x01);
}

Test(vmm_ide, absent_slave)
{
	outb(0x1f6, 0xb0);
	cr_assert_eq(inb(0x1f7), 0);
	outb(0x1f7, 0xec);		/* ignored */
	cr_assert_eq(inb(0x1f7), 0);
	cr_assert_eq(irqs.raised[14], 0);
	cr_assert_eq(inb(0x1f6) & 0x10, 0x10);
	/* the secondary channel is not there at all */
	cr_assert_eq(inb(0x177), 0xff);
}

Test(vmm_ide, nien_masks_interrupt)
{
	outb(0x3f6, 0x02);
	outb(0x1f6, 0xa0);
	outb(0x1f7, 0xec);
	cr_assert_eq(irqs.raised[14], 0);
	cr_assert_eq(inb(0x3f6) & 0x08, 0x08);
}
