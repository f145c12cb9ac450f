/* The PIIX3 IDE function's bus-master DMA (Intel 82371SB PIIX3 datasheet,
 * section 2.7 "Bus Master IDE I/O Registers" and 3.4 "Bus Master IDE";
 * SFF-8038i): BAR4 holds, per channel, a command register (bit 0 start,
 * bit 3 direction), a status register (bit 0 active, 1 error, 2
 * interrupt, write 1 to clear; 5-6 drive DMA capable) and the physical
 * address of a table of physical region descriptors (PRDs: a 32-bit
 * address, a 16-bit byte count where 0 means 64 KiB, bit 31 of the second
 * dword ends the table).  Only the primary channel has a disk.
 *
 * A READ DMA or WRITE DMA (and their EXT forms) moves its sectors
 * synchronously when both the command and the start bit are there, in
 * one exit, straight between the overlay and guest RAM: what makes the
 * disk cost a few exits per request instead of several per sector under
 * PIO.  The guest is hostile: the command's range is checked against the
 * disk first (vmc_ide_lba); the table is read at most PRD_MAX entries
 * deep, each entry and each region checked to lie in RAM; the bytes moved
 * never exceed the command's (at most 65536 sectors).  A region outside
 * RAM or a table that ends short aborts the command with the bus master's
 * error bit, the way a master abort would, and the guest runs on.
 */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define BM_CMD_START	0x01
#define BM_ST_ACTIVE	0x01
#define BM_ST_ERROR	0x02
#define BM_ST_INTR	0x04
#define BM_ST_CAPABLE	0x60		/* drives 0 and 1 can do DMA */
#define BM_BAR_SIZE	16
/* A 64 KiB table (the most one can span without crossing the 64 KiB
 * boundary the datasheet forbids it to cross). */
#define PRD_MAX		8192
#define ER_ABRT		0x04
#define ER_UNC		0x40

/* One region of the transfer; false when it is not all in RAM or the
 * disk failed (*fatal when the run must end: the overlay is full). */
static bool dma_region(struct vmc_ide *d, uint32_t addr, uint32_t len,
		       uint64_t off, bool *fatal)
{
	void *p = vmc_mem_ptr(&d->vm->mem, addr, len);
	struct vmc_error err;

	if (!p)
		return false;
	if (!d->dma_write)
		return vmc_overlay_read(d->disk, p, len, off, &err) == 0;
	if (vmc_overlay_write(d->disk, p, len, off, &err) == 0)
		return true;
	if (err.code == ENOSPC) {
		vmc_vm_fail(d->vm, VMC_VM_GUEST_ERROR, "%s", err.msg);
		*fatal = true;
	}
	return false;
}

/* Walk the PRD table for the pending command's bytes: 0 when all moved,
 * else the ATA error to abort with. */
static uint8_t dma_transfer(struct vmc_ide *d, bool *fatal)
{
	uint64_t left = (uint64_t)d->dma_count * 512;
	uint64_t off = d->dma_lba * 512;
	uint64_t prd = d->bm_prd;
	bool eot = false;

	for (unsigned n = 0; left && !eot && n < PRD_MAX; n++, prd += 8) {
		uint8_t e[8];
		uint32_t addr, len;

		if (!vmc_mem_read(&d->vm->mem, prd, e, sizeof(e)))
			return ER_ABRT;
		addr = vmc_get_le32(e) & ~1u;
		len = vmc_get_le16(e + 4) & ~1u;
		if (!len)
			len = 65536;
		eot = e[7] & 0x80;
		if (len > left)
			len = (uint32_t)left;
		if (!dma_region(d, addr, len, off, fatal))
			return *fatal || d->dma_write ? ER_ABRT :
			       ER_UNC | ER_ABRT;
		off += len;
		left -= len;
	}
	return left ? ER_ABRT : 0;
}

static void dma_run(struct vmc_ide *d)
{
	bool fatal = false;
	uint8_t error;

	d->dma_pending = false;
	error = dma_transfer(d, &fatal);
	if (fatal)
		return;
	d->bm_status &= (uint8_t)~BM_ST_ACTIVE;
	d->bm_status |= BM_ST_INTR | (error ? BM_ST_ERROR : 0);
	d->dma_commands++;
	vmc_ide_finish(d, error);
}

void vmc_ide_dma_command(struct vmc_ide *d, bool ext, bool write)
{
	uint64_t lba;
	uint32_t count;

	if (!vmc_ide_lba(d, ext, &lba, &count))
		return;
	d->dma_lba = lba;
	d->dma_count = count;
	d->dma_write = write;
	d->dma_pending = true;
	d->status = 0x58;		/* DRDY, DSC, DRQ: waiting for it */
	if (d->bm_cmd & BM_CMD_START)
		dma_run(d);
}

static void bm_write(struct vmc_ide *d, uint32_t off, uint8_t v)
{
	switch (off) {
	case 0:
		if ((v & BM_CMD_START) && !(d->bm_cmd & BM_CMD_START)) {
			d->bm_status |= BM_ST_ACTIVE;
			d->bm_cmd = v & 0x09;
			if (d->dma_pending)
				dma_run(d);
			return;
		}
		if (!(v & BM_CMD_START))
			d->bm_status &= (uint8_t)~BM_ST_ACTIVE;
		d->bm_cmd = v & 0x09;
		return;
	case 2:
		d->bm_status = (uint8_t)((d->bm_status & BM_ST_ACTIVE) |
					 (d->bm_status & ~v &
					  (BM_ST_ERROR | BM_ST_INTR)) |
					 (v & BM_ST_CAPABLE));
		return;
	case 4: case 5: case 6: case 7: {
		unsigned sh = (off - 4) * 8;

		d->bm_prd = (d->bm_prd & ~(0xffu << sh)) | ((uint32_t)v << sh);
		d->bm_prd &= ~3u;
		return;
	}
	}
}

static uint8_t bm_read(const struct vmc_ide *d, uint32_t off)
{
	switch (off) {
	case 0: return d->bm_cmd;
	case 2: return d->bm_status;
	case 4: case 5: case 6: case 7:
		return (uint8_t)(d->bm_prd >> ((off - 4) * 8));
	}
	return off < 8 ? 0 : 0xff;	/* the secondary channel: empty */
}

static void bm_io(struct vmc_pci_dev *dev, unsigned bar, uint32_t off,
		  bool write, uint8_t *data, unsigned size)
{
	struct vmc_ide *d = dev->opaque;

	(void)bar;
	for (unsigned i = 0; i < size; i++) {
		if (write)
			bm_write(d, off + i, data[i]);
		else
			data[i] = bm_read(d, off + i);
	}
}

void vmc_ide_dma_init(struct vmc_ide *d)
{
	vmc_pci_dev_add_io_bar(&d->dev, 4, BM_BAR_SIZE);
	d->dev.bar_io = bm_io;
	d->dev.opaque = d;
	d->bm_status = 0x20;		/* drive 0 DMA capable */
}
