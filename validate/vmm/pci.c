/* PCI configuration mechanism 1 (PCI Local Bus Specification 3.0,
 * section 3.2.2.3.2): address at 0xcf8, data at 0xcfc-0xcff, bus 0 only.
 * The board is QEMU's "pc": an i440FX host bridge at 00:00.0 (with the
 * Red Hat subsystem id SeaBIOS looks for to know it runs on QEMU's
 * hardware) and a PIIX3 PCI-to-ISA bridge at 00:01.0 whose PIRQ route
 * registers (0x60-0x63) say which ISA IRQ each INTx line reaches.  Device
 * BARs are I/O BARs only; sizing works by the write mask: writing all ones
 * reads back ~(size - 1) with the I/O bit set.
 */
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define PCI_COMMAND		0x04
#define PCI_BAR0		0x10
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PIIX_PIRQC		0x60

void vmc_pci_dev_init(struct vmc_pci_dev *d, uint8_t devfn, uint16_t vendor,
		      uint16_t device, uint32_t class_rev, uint8_t header)
{
	memset(d, 0, sizeof(*d));
	d->devfn = devfn;
	vmc_put_le16(d->cfg + 0x00, vendor);
	vmc_put_le16(d->cfg + 0x02, device);
	vmc_put_le32(d->cfg + 0x08, class_rev);
	d->cfg[0x0e] = header;
	/* Command: I/O, memory, bus master, INTx disable. */
	vmc_put_le16(d->wmask + PCI_COMMAND, 0x0407);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->wmask[0x0c] = 0xff;		/* cache line size */
	d->wmask[0x0d] = 0xff;		/* latency timer */
}

void vmc_pci_dev_add_io_bar(struct vmc_pci_dev *d, unsigned bar,
			    uint32_t size)
{
	if (bar >= 6 || !VMC_IS_POWER_OF_2(size) || size < 4)
		return;
	d->bar_size[bar] = size;
	vmc_put_le32(d->cfg + PCI_BAR0 + 4 * bar, 0x1);
	vmc_put_le32(d->wmask + PCI_BAR0 + 4 * bar, ~(size - 1));
}

void vmc_pci_init(struct vmc_pci *p)
{
	memset(p, 0, sizeof(*p));
	vmc_pci_dev_init(&p->host, 0x00, 0x8086, 0x1237, 0x06000002, 0x00);
	vmc_put_le16(p->host.cfg + 0x2c, 0x1af4);	/* Red Hat */
	vmc_put_le16(p->host.cfg + 0x2e, 0x1100);	/* QEMU VM */
	/* PAM0-6 (shadow RAM control) and SMRAM: RAM is always RAM here,
	 * the registers only keep what firmware writes. */
	memset(p->host.wmask + 0x59, 0xff, 7);
	p->host.wmask[0x72] = 0xff;
	p->host.cfg[0x72] = 0x02;
	vmc_pci_register(p, &p->host);

	vmc_pci_dev_init(&p->isa, 0x08, 0x8086, 0x7000, 0x06010000, 0x80);
	vmc_put_le16(p->isa.cfg + 0x2c, 0x1af4);
	vmc_put_le16(p->isa.cfg + 0x2e, 0x1100);
	memset(p->isa.cfg + PIIX_PIRQC, 0x80, 4);	/* routing disabled */
	memset(p->isa.wmask + PIIX_PIRQC, 0x8f, 4);
	vmc_pci_register(p, &p->isa);
}

int vmc_pci_register(struct vmc_pci *p, struct vmc_pci_dev *d)
{
	if (p->n == VMC_PCI_MAX_DEVS)
		return -1;
	p->devs[p->n++] = d;
	return 0;
}

static struct vmc_pci_dev *pci_find(struct vmc_pci *p, uint8_t devfn)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->devs[i]->devfn == devfn)
			return p->devs[i];
	return NULL;
}

static void pci_cfg_write(struct vmc_pci_dev *d, unsigned off,
			  const uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size && off + i < 256; i++) {
		uint8_t m = d->wmask[off + i];

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) |
					    (data[i] & m));
	}
}

void vmc_pci_cfg_io(struct vmc_pci *p, uint16_t port, bool write,
		    uint8_t *data, unsigned size)
{
	if (port >= 0xcf8 && port < 0xcfc) {
		/* Only dword accesses reach CONFIG_ADDRESS; 0xcf9 is the
		 * reset control register, handled by the board. */
		if (port == 0xcf8 && size == 4) {
			if (write)
				p->addr = vmc_get_le32(data) & 0x80fffffc;
			else
				vmc_put_le32(data, p->addr);
		} else if (!write) {
			memset(data, 0xff, size);
		}
		return;
	}

	unsigned off = (p->addr & 0xfc) + (port & 3);
	struct vmc_pci_dev *d = NULL;

	if ((p->addr & 0x80000000) && ((p->addr >> 16) & 0xff) == 0)
		d = pci_find(p, (uint8_t)(p->addr >> 8));
	if (off + size > 256)
		d = NULL;
	if (write) {
		if (d)
			pci_cfg_write(d, off, data, size);
		return;
	}
	if (!d) {
		memset(data, 0xff, size);
		return;
	}
	memcpy(data, d->cfg + off, size);
}

uint32_t vmc_pci_bar_base(const struct vmc_pci_dev *d, unsigned bar)
{
	if (bar >= 6 || !d->bar_size[bar] || !(d->cfg[PCI_COMMAND] & 1))
		return 0;
	return vmc_get_le32(d->cfg + PCI_BAR0 + 4 * bar) & 0xfffc;
}

bool vmc_pci_bar_io(struct vmc_pci *p, uint16_t port, bool write,
		    uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct vmc_pci_dev *d = p->devs[i];

		if (!(d->cfg[PCI_COMMAND] & 1) || !d->bar_io)
			continue;
		for (unsigned b = 0; b < 6; b++) {
			uint32_t sz = d->bar_size[b], base;

			if (!sz)
				continue;
			base = vmc_get_le32(d->cfg + PCI_BAR0 + 4 * b) &
			       0xfffc;
			if (base == 0 || port < base ||
			    (uint32_t)port + size > base + sz)
				continue;
			d->bar_io(d, b, port - base, write, data, size);
			return true;
		}
	}
	return false;
}

int vmc_pci_route_irq(const struct vmc_pci *p, const struct vmc_pci_dev *d)
{
	unsigned pin = d->cfg[PCI_INTERRUPT_PIN];
	uint8_t r;

	if (pin < 1 || pin > 4)
		return -1;
	/* QEMU's piix3 swizzle: PIRQ = (slot + pin - 1) mod 4 */
	r = p->isa.cfg[PIIX_PIRQC + (((d->devfn >> 3) + pin - 1) & 3)];
	if (r & 0x80 || r == 0 || r > 15)
		return -1;
	return r;
}

void vmc_pci_assign(struct vmc_pci *p)
{
	static const uint8_t irqs[4] = { 10, 10, 11, 11 };
	uint32_t io = 0xc000;

	memcpy(p->isa.cfg + PIIX_PIRQC, irqs, 4);
	for (unsigned i = 0; i < p->n; i++) {
		struct vmc_pci_dev *d = p->devs[i];
		int irq;

		for (unsigned b = 0; b < 6; b++) {
			uint32_t sz = d->bar_size[b];

			if (!sz)
				continue;
			io = (uint32_t)VMC_ALIGN_UP(io, sz);
			vmc_put_le32(d->cfg + PCI_BAR0 + 4 * b, io | 1);
			io += sz;
		}
		d->cfg[PCI_COMMAND] |= 0x05;
		irq = vmc_pci_route_irq(p, d);
		if (irq > 0)
			d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)irq;
	}
}
