/* Unit tests: the ATA disk on the PIIX3 (validate/vmm/ide.c), driven the
 * way SeaBIOS and libata's PIO paths drive it: IDENTIFY, LBA28 / LBA48 /
 * CHS reads, READ MULTIPLE, writes into the overlay, out-of-range
 * requests aborted, interrupts on IRQ 14, the absent slave; and its
 * bus-master DMA (validate/vmm/ide-dma.c) the way libata's BMDMA path
 * drives it, hostile PRD tables included. */
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
	/* BAR4 (bus master DMA): 16 bytes of I/O */
	vmc_put_le32(b, 0x80000000 | 1 << 11 | 1 << 8 | 0x20);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_put_le32(b, 0xffffffff);
	vmc_machine_pio(&m, 0xcfc, true, b, 4);
	vmc_machine_pio(&m, 0xcfc, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0xfffffff1);
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
	cr_assert_eq(vmc_get_le16(id + 49 * 2) & 0x0300, 0x0300, "LBA, DMA");
	cr_assert_eq(vmc_get_le16(id + 63 * 2) & 0x0007, 0x0007, "MWDMA 0-2");
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

/* ---- bus-master DMA ---- */

static uint16_t bm;			/* BAR4's base */

static void dma_setup(void)
{
	setup();
	vmc_pci_assign(&m.pci);
	bm = (uint16_t)vmc_pci_bar_base(&m.ide.dev, 4);
	cr_assert_neq(bm, 0);
}

static void outl(uint16_t port, uint32_t v)
{
	uint8_t b[4];

	vmc_put_le32(b, v);
	vmc_machine_pio(&m, port, true, b, 4);
}

/* PRD entry i of the table at gpa */
static void prd(uint64_t table, unsigned i, uint32_t addr, uint32_t len,
		bool eot)
{
	uint8_t e[8];

	vmc_put_le32(e, addr);
	vmc_put_le32(e + 4, (len & 0xffff) | (eot ? 0x80000000u : 0));
	cr_assert(vmc_mem_write(&m.vm.mem, table + 8 * i, e, 8));
}

static bool filled(uint64_t gpa, uint32_t len, uint8_t v)
{
	const uint8_t *p = vmc_mem_ptr(&m.vm.mem, gpa, len);

	for (uint32_t i = 0; p && i < len; i++)
		if (p[i] != v)
			return false;
	return p != NULL;
}

/* What libata's ata_bmdma_setup/start do, then its interrupt handler's
 * reads; returns the BM status seen in the handler. */
static uint8_t dma(uint32_t lba, uint8_t count, uint8_t cmd, bool to_mem)
{
	uint8_t st;

	outl(bm + 4, 0x1000);
	outb(bm, to_mem ? 0x08 : 0x00);
	outb(bm + 2, 0x06);		/* clear interrupt and error */
	lba28(lba, count, cmd);
	outb(bm, (to_mem ? 0x08 : 0x00) | 1);
	st = inb(bm + 2);
	outb(bm, to_mem ? 0x08 : 0x00);	/* stop */
	return st;
}

TestSuite(vmm_ide_dma, .init = dma_setup, .fini = teardown);

Test(vmm_ide_dma, read_dma_scatters_into_ram)
{
	uint8_t st;

	prd(0x1000, 0, 0x10000, 512, false);
	prd(0x1000, 1, 0x20000, 1024, true);
	st = dma(100, 3, 0xc8, true);
	cr_assert_eq(st & 0x07, 0x04, "interrupt, not active, no error");
	cr_assert_eq(irqs.level[14], 1);
	cr_assert_eq(inb(0x1f7), 0x50);
	cr_assert_eq(irqs.level[14], 0);
	cr_assert(filled(0x10000, 512, 100));
	cr_assert(filled(0x20000, 512, 101));
	cr_assert(filled(0x20200, 512, 102));
	cr_assert_eq(m.ide.dma_commands, 1);
}

Test(vmm_ide_dma, start_before_command_and_odd_regions)
{
	/* the bus master started first; regions split a sector */
	prd(0x1000, 0, 0x10000, 100, false);
	prd(0x1000, 1, 0x30000, 412, true);
	outl(bm + 4, 0x1000);
	outb(bm, 0x09);
	lba28(7, 1, 0xc8);
	cr_assert_eq(inb(bm + 2) & 0x07, 0x04);
	cr_assert(filled(0x10000, 100, 7));
	cr_assert(filled(0x30000, 412, 7));
	cr_assert_eq(inb(0x1f7), 0x50);
}

Test(vmm_ide_dma, write_dma_then_read_back)
{
	uint8_t buf[512];

	memset(vmc_mem_ptr(&m.vm.mem, 0x40000, 1024), 0xab, 1024);
	prd(0x1000, 0, 0x40000, 1024, true);
	cr_assert_eq(dma(300, 2, 0xca, false) & 0x07, 0x04);
	cr_assert_eq(inb(0x1f7), 0x50);
	lba28(301, 1, 0x20);
	inb(0x1f7);
	read_data(buf, 512);
	for (int i = 0; i < 512; i++)
		cr_assert_eq(buf[i], 0xab);
}

Test(vmm_ide_dma, region_outside_ram_aborts)
{
	prd(0x1000, 0, 0xfffe0000, 0, true);	/* 64 KiB at the ROM */
	cr_assert_eq(dma(0, 1, 0xc8, true) & 0x07, 0x06, "error");
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01, "ERR");
	cr_assert_eq(inb(0x1f1) & 0x04, 0x04, "ABRT");
	/* a region that starts in RAM and runs past its end */
	prd(0x1000, 0, (4u << 20) - 256, 512, true);
	cr_assert_eq(dma(0, 1, 0xc8, true) & 0x07, 0x06);
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01);
	cr_assert(!m.vm.stop, "the guest runs on");
}

Test(vmm_ide_dma, table_outside_ram_or_short_aborts)
{
	uint8_t st;

	outl(bm + 4, 0xfffffff0);
	outb(bm, 0x08);
	lba28(0, 1, 0xc8);
	outb(bm, 0x09);
	st = inb(bm + 2);
	cr_assert_eq(st & 0x07, 0x06);
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01);
	/* the table ends (EOT) before the command's bytes do */
	prd(0x1000, 0, 0x10000, 512, true);
	cr_assert_eq(dma(0, 2, 0xc8, true) & 0x07, 0x06);
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01);
	cr_assert(!m.vm.stop);
}

Test(vmm_ide_dma, endless_table_is_bounded)
{
	/* 2-byte regions and no end: 255 sectors need 65280 entries, the
	 * engine reads 8192 and gives up */
	for (unsigned i = 0; i < 8192 + 16; i++)
		prd(0x100000, i, 0x10000, 2, false);
	outl(bm + 4, 0x100000);
	outb(bm, 0x08);
	lba28(0, 255, 0xc8);
	outb(bm, 0x09);
	cr_assert_eq(inb(bm + 2) & 0x07, 0x06);
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01);
}

Test(vmm_ide_dma, out_of_range_moves_nothing)
{
	memset(vmc_mem_ptr(&m.vm.mem, 0x10000, 512), 0x5a, 512);
	prd(0x1000, 0, 0x10000, 512, true);
	dma(2048, 1, 0xc8, true);
	cr_assert_eq(inb(0x1f7) & 0x89, 0x01);
	cr_assert_eq(inb(0x1f1) & 0x10, 0x10, "IDNF");
	cr_assert(filled(0x10000, 512, 0x5a));
	cr_assert_eq(m.ide.dma_commands, 0);
}

Test(vmm_ide_dma, exits_are_counted_by_device)
{
	cr_assert_eq(vmc_machine_port_stat(&m, bm + 2), VMC_STAT_IDE_BM);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x1f0), VMC_STAT_IDE_DATA);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x1f7), VMC_STAT_IDE_CMD);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x3f6), VMC_STAT_IDE_CMD);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x3f8), VMC_STAT_SERIAL);
	cr_assert_eq(vmc_machine_port_stat(&m, 0xcfc), VMC_STAT_PCI_CFG);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x511), VMC_STAT_FWCFG);
	cr_assert_eq(vmc_machine_port_stat(&m, 0x61), VMC_STAT_OTHER_IO);
}
