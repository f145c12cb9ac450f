/* The board: QEMU's "pc" machine cut down to what a BIOS guest needs to
 * boot from one disk (and, for a UEFI guest, the PIIX4 power-management
 * function OVMF times itself with), with the port-I/O map that
 * KVM_EXIT_IO lands in.
 * PIC, PIT, I/O APIC and local APIC are KVM's in-kernel models (kvm.c),
 * except in UEFI runs, whose PIC, PIT and local APIC registers are ours
 * (pic.c, pit.c, lapic.c) and which have no I/O APIC.  Everything here
 * runs without /dev/kvm, so the tests build the same machine and drive
 * it through vmc_machine_pio().
 */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

/* Writes are kept in memory up to this much, then the guest's run fails. */
#define OVERLAY_MAX (1ULL << 30)

static void uchip_set_irq(void *opaque, unsigned gsi, int level)
{
	struct vmc_machine *m = opaque;

	vmc_pic_set_irq(&m->pic, gsi, level);
}

/* UEFI runs: the interrupt controllers and the timer in user space. */
static void uchip_init(struct vmc_machine *m)
{
	m->uchip = true;
	vmc_pic_init(&m->pic);
	vmc_pit_init(&m->pit);
	vmc_lapic_init(&m->lapic);
	m->vm.set_irq = uchip_set_irq;
	m->vm.irq_opaque = m;
}

int vmc_machine_init(struct vmc_machine *m, const struct vmc_vm_config *cfg,
		     uint64_t mem, struct vmc_error *err)
{
	memset(m, 0, sizeof(*m));
	if (vmc_mem_init(&m->vm.mem, mem, err) < 0)
		return -1;
	m->vm.on_console = cfg->on_console;
	m->vm.on_debug = cfg->on_debug;
	m->vm.on_screen = cfg->on_screen;
	m->vm.on_stats = cfg->on_stats;
	m->vm.ctx = cfg->ctx;
	vmc_serial_init(&m->serial, &m->vm, VMC_SERIAL_BASE, VMC_SERIAL_IRQ);
	vmc_cmos_init(&m->cmos, mem, 1);
	vmc_fwcfg_init(&m->fwcfg);
	if (vmc_fwcfg_setup(&m->fwcfg, mem, 1) < 0) {
		vmc_error_set(err, ENOMEM, "cannot set up fw_cfg");
		goto fail;
	}
	vmc_pci_init(&m->pci);
	vmc_i8042_init(&m->kbd, &m->vm);
	if (cfg->uefi) {
		vmc_pm_init(&m->pm, &m->vm);
		if (vmc_pci_register(&m->pci, &m->pm.dev) < 0) {
			vmc_error_set(err, ENOSPC, "no PCI slot for PIIX4 PM");
			goto fail;
		}
		m->has_pm = true;
		uchip_init(m);
	}
	if (!cfg->disk)
		return 0;
	if (vmc_overlay_init(&m->disk, cfg->disk, OVERLAY_MAX, err) < 0)
		goto fail;
	m->has_disk = true;
	if (cfg->bus == VMC_BUS_IDE) {
		if (vmc_ide_init(&m->ide, &m->vm, &m->disk, err) < 0 ||
		    vmc_pci_register(&m->pci, &m->ide.dev) < 0)
			goto fail;
		m->has_ide = true;
	} else {
		if (vmc_vblk_init(&m->vblk, &m->vm, &m->pci, &m->disk,
				  err) < 0)
			goto fail;
		m->has_vblk = true;
	}
	return 0;
fail:
	vmc_machine_free(m);
	return -1;
}

void vmc_machine_free(struct vmc_machine *m)
{
	if (m->has_vblk)
		vmc_vblk_free(&m->vblk);
	if (m->has_disk)
		vmc_overlay_free(&m->disk);
	vmc_fwcfg_free(&m->fwcfg);
	vmc_mem_free(&m->vm.mem);
	m->has_vblk = m->has_disk = m->has_ide = m->has_pm = false;
}

static void debug_out(struct vmc_machine *m, uint8_t c)
{
	m->debug[m->debug_len++] = (char)c;
	if (c == '\n' || m->debug_len == sizeof(m->debug)) {
		vmc_vm_stats_out(&m->vm);
		if (m->vm.on_debug)
			m->vm.on_debug(m->vm.ctx, m->debug, m->debug_len);
		m->debug_len = 0;
	}
}

void vmc_machine_flush(struct vmc_machine *m)
{
	vmc_serial_flush(&m->serial);
	if (m->debug_len && m->vm.on_debug) {
		vmc_vm_stats_out(&m->vm);
		m->vm.on_debug(m->vm.ctx, m->debug, m->debug_len);
	}
	m->debug_len = 0;
}

static bool in_bar(const struct vmc_pci_dev *d, unsigned bar, uint16_t port)
{
	uint32_t base = vmc_pci_bar_base(d, bar);

	return base && port >= base && port - base < d->bar_size[bar];
}

enum vmc_vm_stat vmc_machine_port_stat(const struct vmc_machine *m,
				       uint16_t port)
{
	if (port >= VMC_SERIAL_BASE && port < VMC_SERIAL_BASE + 8)
		return VMC_STAT_SERIAL;
	if (port == VMC_IDE_CMD)
		return VMC_STAT_IDE_DATA;
	if ((port > VMC_IDE_CMD && port < VMC_IDE_CMD + 8) ||
	    port == VMC_IDE_CTL)
		return VMC_STAT_IDE_CMD;
	if (port >= 0xcf8 && port < 0xd00)
		return VMC_STAT_PCI_CFG;
	if (port == VMC_FWCFG_PORT_SEL || port == VMC_FWCFG_PORT_DATA)
		return VMC_STAT_FWCFG;
	if (port == 0x70 || port == 0x71)
		return VMC_STAT_CMOS;
	if (port == 0x402)
		return VMC_STAT_DEBUG_PORT;
	if (m->has_ide && in_bar(&m->ide.dev, 4, port))
		return VMC_STAT_IDE_BM;
	if (m->has_vblk && in_bar(&m->vblk.dev, 0, port))
		return port - vmc_pci_bar_base(&m->vblk.dev, 0) == 0x10 ?
		       VMC_STAT_VIRTIO_NOTIFY : VMC_STAT_VIRTIO;
	return VMC_STAT_OTHER_IO;
}

void vmc_machine_screen(struct vmc_machine *m, bool final)
{
	uint16_t cells[VMC_VGA_CELLS];
	const uint8_t *p;

	if (!m->vm.on_screen)
		return;
	p = vmc_mem_ptr(&m->vm.mem, VMC_VGA_TEXT, sizeof(cells));
	if (!p)
		return;
	for (unsigned i = 0; i < VMC_VGA_CELLS; i++)
		cells[i] = vmc_get_le16(p + 2 * i);
	if (!final && !memcmp(cells, m->screen, sizeof(cells)))
		return;
	memcpy(m->screen, cells, sizeof(cells));
	if (m->vm.on_screen(m->vm.ctx, cells, final) && !final)
		vmc_vm_fail(&m->vm, VMC_VM_STOPPED,
			    "stopped by the screen watcher");
}

static bool is_pic_port(uint16_t p)
{
	return p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 ||
	       p == 0x4d0 || p == 0x4d1;
}

static bool is_pit_port(uint16_t p)
{
	return (p >= 0x40 && p <= 0x43) || p == 0x61;
}

static bool uchip_pio(struct vmc_machine *m, uint16_t port, bool write,
		      uint8_t *data, unsigned size)
{
	if (!is_pic_port(port) && !is_pit_port(port))
		return false;
	/* a wider access reaches the next ports as single bytes */
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);

		if (is_pic_port(p))
			vmc_pic_io(&m->pic, p, write, data + i);
		else if (is_pit_port(p))
			vmc_pit_io(&m->pit, p, write, data + i);
		else if (!write)
			data[i] = 0xff;
	}
	return true;
}

void vmc_machine_mmio(struct vmc_machine *m, uint64_t gpa, bool write,
		      uint8_t *data, unsigned len)
{
	if (m->uchip && gpa >= VMC_LAPIC_BASE &&
	    gpa - VMC_LAPIC_BASE < VMC_LAPIC_SIZE) {
		vmc_lapic_mmio(&m->lapic, gpa - VMC_LAPIC_BASE, write, data,
			       len);
		return;
	}
	/* Nothing else is memory-mapped beyond RAM and ROM: reads float
	 * high, writes (also to ROM) vanish. */
	if (!write)
		memset(data, 0xff, len);
}

void vmc_machine_pio(struct vmc_machine *m, uint16_t port, bool write,
		     uint8_t *data, unsigned size)
{
	if (port >= VMC_SERIAL_BASE && port < VMC_SERIAL_BASE + 8) {
		for (unsigned i = 0; i < size; i++)
			vmc_serial_io(&m->serial, port - VMC_SERIAL_BASE + i,
				      write, data + i);
		return;
	}
	if (m->uchip && uchip_pio(m, port, write, data, size))
		return;
	switch (port) {
	case VMC_FWCFG_PORT_SEL:
	case VMC_FWCFG_PORT_DATA:
		vmc_fwcfg_io(&m->fwcfg, port, write, data, size);
		return;
	case 0x70:
	case 0x71:
		vmc_cmos_io(&m->cmos, port, write, data);
		return;
	case 0x60:
	case 0x64:
		vmc_i8042_io(&m->kbd, port, write, data);
		return;
	case 0x92:			/* port A: fast A20 and reset */
		if (!write)
			data[0] = 0x02;
		else if (data[0] & 1)
			vmc_vm_fail(&m->vm, VMC_VM_RESET,
				    "the guest reset the machine (port 0x92)");
		return;
	case 0xcf9:			/* PIIX3 reset control */
		if (size == 1) {
			if (!write)
				data[0] = 0;
			else if (data[0] & 0x04)
				vmc_vm_fail(&m->vm, VMC_VM_RESET,
					    "the guest reset the machine (port 0xcf9)");
			return;
		}
		break;
	case 0x402:			/* SeaBIOS debug output */
		if (write)
			for (unsigned i = 0; i < size; i++)
				debug_out(m, data[i]);
		else
			data[0] = 0xe9;
		return;
	case 0x80:			/* POST codes */
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (port >= 0xcf8 && port < 0xd00) {
		vmc_pci_cfg_io(&m->pci, port, write, data, size);
		return;
	}
	if (m->has_ide && ((port >= VMC_IDE_CMD && port < VMC_IDE_CMD + 8) ||
			   port == VMC_IDE_CTL)) {
		vmc_ide_io(&m->ide, port == VMC_IDE_CTL ? 8 : port - VMC_IDE_CMD,
			   write, data, size);
		return;
	}
	if (m->has_pm && vmc_pm_claims(&m->pm, port, size)) {
		vmc_pm_io(&m->pm, port - vmc_pm_base(&m->pm), write, data,
			  size);
		return;
	}
	if (vmc_pci_bar_io(&m->pci, port, write, data, size))
		return;
	/* Nothing there: the bus floats high, writes vanish. */
	if (!write)
		memset(data, 0xff, size);
}
