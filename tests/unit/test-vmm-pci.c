/* Unit tests: PCI configuration mechanism 1, the i440FX/PIIX3 identity
 * SeaBIOS checks, BAR sizing and I/O dispatch, PIRQ routing
 * (validate/vmm/pci.c, with virtio-blk's function from the board). */
#include "vmm-test.h"
#include "common/bytes.h"

static struct vmc_machine m;
static char disk_path[64];

static void setup(void)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;

	cfg.disk = test_disk(disk_path, sizeof(disk_path), 64);
	cfg.bus = VMC_BUS_VIRTIO;
	cr_assert_eq(vmc_machine_init(&m, &cfg, 32ULL << 20, &err), 0, "%s",
		     err.msg);
}

static void teardown(void)
{
	struct vmc_image *img = m.disk.img;

	vmc_machine_free(&m);
	vmc_image_close(img);
	unlink(disk_path);
}

static uint32_t cfg_read(unsigned dev, unsigned fn, unsigned off,
			 unsigned size)
{
	uint8_t b[4];

	vmc_put_le32(b, 0x80000000 | dev << 11 | fn << 8 | (off & 0xfc));
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	memset(b, 0, 4);
	vmc_machine_pio(&m, 0xcfc + (off & 3), false, b, size);
	return size == 4 ? vmc_get_le32(b) : size == 2 ? vmc_get_le16(b) :
	       b[0];
}

static void cfg_write(unsigned dev, unsigned fn, unsigned off,
		      unsigned size, uint32_t v)
{
	uint8_t b[4];

	vmc_put_le32(b, 0x80000000 | dev << 11 | fn << 8 | (off & 0xfc));
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_put_le32(b, v);
	vmc_machine_pio(&m, 0xcfc + (off & 3), true, b, size);
}

TestSuite(vmm_pci, .init = setup, .fini = teardown);

Test(vmm_pci, address_register_reads_back)
{
	uint8_t b[4];

	vmc_put_le32(b, 0x80000000);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	memset(b, 0, 4);
	vmc_machine_pio(&m, 0xcf8, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0x80000000);
}

Test(vmm_pci, host_bridge_is_qemu_i440fx)
{
	cr_assert_eq(cfg_read(0, 0, 0, 4), 0x12378086);
	cr_assert_eq(cfg_read(0, 0, 0x0a, 2), 0x0600);
	/* SeaBIOS checks these to know it runs on QEMU's hardware */
	cr_assert_eq(cfg_read(0, 0, 0x2c, 2), 0x1af4);
	cr_assert_eq(cfg_read(0, 0, 0x2e, 2), 0x1100);
}

Test(vmm_pci, piix3_isa_bridge_multifunction)
{
	cr_assert_eq(cfg_read(1, 0, 0, 4), 0x70008086);
	cr_assert_eq(cfg_read(1, 0, 0x0a, 2), 0x0601);
	cr_assert_eq(cfg_read(1, 0, 0x0e, 1) & 0x80, 0x80);
}

Test(vmm_pci, absent_functions_read_all_ones)
{
	cr_assert_eq(cfg_read(7, 0, 0, 4), 0xffffffff);
	cr_assert_eq(cfg_read(0, 3, 0, 2), 0xffff);
	/* bus 1 does not exist */
	uint8_t b[4];
	vmc_put_le32(b, 0x80010000);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_machine_pio(&m, 0xcfc, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0xffffffff);
	/* disabled address register */
	vmc_put_le32(b, 0x00000000);
	vmc_machine_pio(&m, 0xcf8, true, b, 4);
	vmc_machine_pio(&m, 0xcfc, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0xffffffff);
}

Test(vmm_pci, virtio_blk_identity)
{
	cr_assert_eq(cfg_read(3, 0, 0, 4), 0x10011af4);
	cr_assert_eq(cfg_read(3, 0, 0x2e, 2), 2);	/* block */
	cr_assert_eq(cfg_read(3, 0, 0x08, 1), 0);	/* legacy revision */
	cr_assert_eq(cfg_read(3, 0, 0x3d, 1), 1);	/* INTA */
}

Test(vmm_pci, bar_sizing)
{
	cfg_write(3, 0, 0x10, 4, 0xffffffff);
	uint32_t v = cfg_read(3, 0, 0x10, 4);
	cr_assert_eq(v & 1, 1, "I/O BAR");
	/* all 32 bits, as firmware computes ~(v & ~3) + 1 */
	cr_assert_eq(v, 0xffffffc1, "size 0x40: %#x", v);
	/* unimplemented BARs size to zero */
	cfg_write(3, 0, 0x14, 4, 0xffffffff);
	cr_assert_eq(cfg_read(3, 0, 0x14, 4), 0);
	/* read-only identity */
	cfg_write(3, 0, 0x00, 4, 0xffffffff);
	cr_assert_eq(cfg_read(3, 0, 0, 4), 0x10011af4);
}

Test(vmm_pci, bar_io_only_when_enabled)
{
	uint8_t b[4];

	cfg_write(3, 0, 0x10, 4, 0xc040);
	cr_assert_eq(cfg_read(3, 0, 0x10, 4), 0xc041);
	/* I/O decoding off: the port floats */
	vmc_machine_pio(&m, 0xc040, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0xffffffff);
	cfg_write(3, 0, 0x04, 2, 0x0001);
	vmc_machine_pio(&m, 0xc040, false, b, 4);	/* host features */
	cr_assert_neq(vmc_get_le32(b), 0xffffffff);
	cr_assert_eq(vmc_get_le32(b) & (1u << 9), 1u << 9, "FLUSH offered");
	/* the disk's capacity in sectors at config offset 0x14 */
	vmc_machine_pio(&m, 0xc040 + 0x14, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 64);
	/* a dword straddling the end of the BAR is not the device's */
	vmc_machine_pio(&m, 0xc040 + 0x3e, false, b, 4);
	cr_assert_eq(vmc_get_le32(b), 0xffffffff);
}

Test(vmm_pci, pirq_routing_and_firmware_assignment)
{
	/* Routing disabled at reset */
	cr_assert_eq(vmc_pci_route_irq(&m.pci, &m.vblk.dev), -1);
	cfg_write(1, 0, 0x63, 1, 11);
	/* slot 3, INTA: PIRQ (3 + 0) & 3 = PIRQD */
	cr_assert_eq(vmc_pci_route_irq(&m.pci, &m.vblk.dev), 11);
	cfg_write(1, 0, 0x63, 1, 0x80);
	cr_assert_eq(vmc_pci_route_irq(&m.pci, &m.vblk.dev), -1);

	vmc_pci_assign(&m.pci);
	uint32_t bar = cfg_read(3, 0, 0x10, 4);
	cr_assert_eq(bar & 1, 1);
	cr_assert_geq(bar & 0xfffc, 0xc000);
	cr_assert_eq((bar & 0xfffc) % 0x40, 0);
	cr_assert_eq(cfg_read(3, 0, 0x04, 2) & 5, 5);
	cr_assert_eq(cfg_read(3, 0, 0x3c, 1), 11);
}

Test(vmm_pci, reset_control_0xcf9)
{
	uint8_t v = 0x02;

	vmc_machine_pio(&m, 0xcf9, true, &v, 1);
	cr_assert_not(m.vm.stop);
	v = 0x06;
	vmc_machine_pio(&m, 0xcf9, true, &v, 1);
	cr_assert(m.vm.stop);
	cr_assert_eq(m.vm.exit, VMC_VM_RESET);
}
