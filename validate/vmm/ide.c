/* An ATA disk on the PIIX3 IDE controller's primary channel, in legacy
 * ("compatibility") mode: command block 0x1f0-0x1f7, control 0x3f6,
 * IRQ 14 (ATA/ATAPI-6, T13/1410D: sections 6 (register set), 8 (the
 * commands below), 9 (PIO data-in / data-out and DMA protocols)).  PIO,
 * and multiword DMA through the function's bus master (BAR4, ide-dma.c),
 * which Linux's ata_piix uses when the BAR is there: a few exits per
 * request instead of several per sector.  The slave and the secondary
 * channel are empty.  Every transfer's LBA and count are checked against
 * the disk before any data moves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define ST_ERR	0x01
#define ST_DRQ	0x08
#define ST_DSC	0x10
#define ST_DRDY	0x40
#define ST_BSY	0x80
#define ER_ABRT	0x04
#define ER_IDNF	0x10
#define ER_UNC	0x40
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB	0x80

#define HEADS 16
#define SPT 63
#define MAX_MULTIPLE 16

static void ide_update_irq(struct vmc_ide *d)
{
	int level = d->irq_pending && !(d->ctl & CTL_NIEN);

	if (level != d->irq_level) {
		d->irq_level = level;
		vmc_vm_irq(d->vm, VMC_IDE_IRQ, level);
	}
}

static void ide_irq(struct vmc_ide *d)
{
	d->irq_pending = true;
	ide_update_irq(d);
}

static void ide_signature(struct vmc_ide *d)
{
	d->nsect = 1;
	d->lbal = 1;
	d->lbam = 0;
	d->lbah = 0;
	d->error = 1;
	d->status = ST_DRDY | ST_DSC;
	d->buf_len = d->buf_pos = 0;
	d->xfer_left = 0;
	d->dma_pending = false;
}

static void ide_abort(struct vmc_ide *d, uint8_t error)
{
	d->error = error;
	d->status = ST_DRDY | ST_DSC | ST_ERR;
	d->buf_len = d->buf_pos = 0;
	d->xfer_left = 0;
	ide_irq(d);
}

static void ide_done(struct vmc_ide *d)
{
	d->error = 0;
	d->status = ST_DRDY | ST_DSC;
	d->buf_len = d->buf_pos = 0;
	ide_irq(d);
}

void vmc_ide_finish(struct vmc_ide *d, uint8_t error)
{
	if (error)
		ide_abort(d, error);
	else
		ide_done(d);
}

static void put_string(uint8_t *w, const char *s, unsigned words)
{
	for (unsigned i = 0; i < words * 2; i++) {
		char c = *s ? *s++ : ' ';

		w[i ^ 1] = (uint8_t)c;
	}
}

static void ide_identify(struct vmc_ide *d)
{
	uint8_t *b = d->buf;
	uint64_t cyls = d->sectors / (HEADS * SPT);
	uint32_t lba28 = d->sectors > 0x0fffffff ? 0x0fffffff :
			 (uint32_t)d->sectors;
	uint32_t chs;

	if (cyls > 16383)
		cyls = 16383;
	chs = (uint32_t)cyls * HEADS * SPT;
	memset(b, 0, 512);
#define W(n, v) vmc_put_le16(b + 2 * (n), (uint16_t)(v))
	W(0, 0x0040);
	W(1, cyls);
	W(3, HEADS);
	W(6, SPT);
	put_string(b + 20, "VMCONV0001", 10);
	put_string(b + 46, "1.0", 4);
	put_string(b + 54, "VMCONV HARDDISK", 20);
	W(47, 0x8000 | MAX_MULTIPLE);
	W(49, 0x0300);			/* LBA, DMA */
	W(50, 0x4000);
	W(51, 0x0200);
	W(53, 0x0003);
	W(54, cyls);
	W(55, HEADS);
	W(56, SPT);
	W(57, chs & 0xffff);
	W(58, chs >> 16);
	W(59, d->multiple ? 0x100 | d->multiple : 0);
	W(60, lba28 & 0xffff);
	W(61, lba28 >> 16);
	W(63, 0x0407);			/* multiword DMA 0-2, 2 selected */
	W(64, 0x0003);			/* PIO 3 and 4 */
	W(65, 120);
	W(66, 120);
	W(67, 120);
	W(68, 120);
	W(80, 0x00f0);			/* ATA-4 to ATA-7 */
	W(82, 0x4000);
	W(83, 0x7400);			/* LBA48, FLUSH CACHE (EXT) */
	W(84, 0x4000);
	W(85, 0x4000);
	W(86, 0x3400);
	W(87, 0x4000);
	W(100, d->sectors & 0xffff);
	W(101, (d->sectors >> 16) & 0xffff);
	W(102, (d->sectors >> 32) & 0xffff);
	W(103, (d->sectors >> 48) & 0xffff);
#undef W
	d->buf_len = 512;
	d->buf_pos = 0;
	d->xfer_left = 0;
	d->xfer_write = false;
	d->error = 0;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	ide_irq(d);
}

/* Load the next DRQ block of a read; false if the disk read failed. */
static bool ide_read_block(struct vmc_ide *d)
{
	unsigned blk = (d->cmd == 0xc4 || d->cmd == 0x29) ? d->multiple : 1;
	unsigned n = VMC_MIN(d->xfer_left, blk);
	struct vmc_error err;

	if (vmc_overlay_read(d->disk, d->buf, n * 512ULL, d->xfer_lba * 512,
			     &err) < 0) {
		ide_abort(d, ER_UNC | ER_ABRT);
		return false;
	}
	d->xfer_lba += n;
	d->xfer_left -= n;
	d->buf_len = n * 512;
	d->buf_pos = 0;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	ide_irq(d);
	return true;
}

static void ide_write_prep(struct vmc_ide *d)
{
	unsigned blk = (d->cmd == 0xc5 || d->cmd == 0x39) ? d->multiple : 1;

	d->buf_len = VMC_MIN(d->xfer_left, blk) * 512;
	d->buf_pos = 0;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
}

/* Decode the address and count of a read/write command; false (and the
 * command aborted) when they are invalid or outside the disk. */
bool vmc_ide_lba(struct vmc_ide *d, bool ext, uint64_t *lba,
		 uint32_t *count)
{
	if (ext) {
		*lba = ((uint64_t)d->hob_lbah << 40) |
		       ((uint64_t)d->hob_lbam << 32) |
		       ((uint64_t)d->hob_lbal << 24) |
		       ((uint64_t)d->lbah << 16) | ((uint64_t)d->lbam << 8) |
		       d->lbal;
		*count = ((uint32_t)d->hob_nsect << 8) | d->nsect;
		if (!*count)
			*count = 65536;
	} else {
		if (d->select & 0x40) {
			*lba = ((uint64_t)(d->select & 0x0f) << 24) |
			       ((uint64_t)d->lbah << 16) |
			       ((uint64_t)d->lbam << 8) | d->lbal;
		} else {
			uint64_t cyl = ((uint64_t)d->lbah << 8) | d->lbam;

			if (d->lbal == 0 || d->lbal > SPT) {
				ide_abort(d, ER_IDNF | ER_ABRT);
				return false;
			}
			*lba = (cyl * HEADS + (d->select & 0x0f)) * SPT +
			       d->lbal - 1;
		}
		*count = d->nsect ? d->nsect : 256;
	}
	if (*lba > d->sectors || *count > d->sectors - *lba) {
		ide_abort(d, ER_IDNF | ER_ABRT);
		return false;
	}
	return true;
}

/* READ/WRITE SECTORS and their MULTIPLE variants: MULTIPLE needs SET
 * MULTIPLE MODE first; then the range is checked and the PIO transfer
 * starts. */
static void ide_start_pio(struct vmc_ide *d, bool multiple, bool ext,
			  bool write)
{
	uint64_t lba;
	uint32_t count;

	if (multiple && !d->multiple) {
		ide_abort(d, ER_ABRT);
		return;
	}
	if (!vmc_ide_lba(d, ext, &lba, &count))
		return;
	d->xfer_lba = lba;
	d->xfer_left = count;
	d->xfer_write = write;
	if (write)
		ide_write_prep(d);
	else
		ide_read_block(d);
}

static void ide_command(struct vmc_ide *d, uint8_t cmd)
{
	uint64_t lba;
	uint32_t count;
	bool ext = false;

	d->cmd = cmd;
	d->irq_pending = false;
	ide_update_irq(d);
	switch (cmd) {
	case 0xec:			/* IDENTIFY DEVICE */
		ide_identify(d);
		return;
	case 0x24: case 0x29:		/* READ SECTORS / MULTIPLE EXT */
		ext = true;
		/* fall through */
	case 0x20: case 0x21: case 0xc4: /* READ SECTORS / MULTIPLE */
		ide_start_pio(d, cmd == 0xc4 || cmd == 0x29, ext, false);
		return;
	case 0x34: case 0x39:		/* WRITE SECTORS / MULTIPLE EXT */
		ext = true;
		/* fall through */
	case 0x30: case 0x31: case 0xc5: /* WRITE SECTORS / MULTIPLE */
		ide_start_pio(d, cmd == 0xc5 || cmd == 0x39, ext, true);
		return;
	case 0x25:			/* READ DMA EXT */
		ext = true;
		/* fall through */
	case 0xc8: case 0xc9:		/* READ DMA */
		vmc_ide_dma_command(d, ext, false);
		return;
	case 0x35:			/* WRITE DMA EXT */
		ext = true;
		/* fall through */
	case 0xca: case 0xcb:		/* WRITE DMA */
		vmc_ide_dma_command(d, ext, true);
		return;
	case 0x42:			/* READ VERIFY EXT */
		ext = true;
		/* fall through */
	case 0x40: case 0x41:		/* READ VERIFY */
		if (vmc_ide_lba(d, ext, &lba, &count))
			ide_done(d);
		return;
	case 0xc6:			/* SET MULTIPLE MODE */
		if (d->nsect > MAX_MULTIPLE ||
		    (d->nsect && !VMC_IS_POWER_OF_2(d->nsect))) {
			ide_abort(d, ER_ABRT);
			return;
		}
		d->multiple = d->nsect;
		ide_done(d);
		return;
	case 0xe5:			/* CHECK POWER MODE: active */
		d->nsect = 0xff;
		ide_done(d);
		return;
	case 0x90:			/* EXECUTE DEVICE DIAGNOSTIC */
		ide_signature(d);
		ide_irq(d);
		return;
	case 0xef: case 0x91: case 0xe7: case 0xea: case 0x70:
	case 0xe0: case 0xe1: case 0xe2: case 0xe3:
		ide_done(d);		/* accepted, nothing to do */
		return;
	default:
		if (cmd >= 0x10 && cmd <= 0x1f) {	/* RECALIBRATE */
			ide_done(d);
			return;
		}
		ide_abort(d, ER_ABRT);	/* incl. IDENTIFY PACKET DEVICE */
	}
}

static void ide_data(struct vmc_ide *d, bool write, uint8_t *data,
		     unsigned size)
{
	struct vmc_error err;

	if (!(d->status & ST_DRQ) || d->buf_pos + size > d->buf_len) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (write != d->xfer_write) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (write)
		memcpy(d->buf + d->buf_pos, data, size);
	else
		memcpy(data, d->buf + d->buf_pos, size);
	d->buf_pos += size;
	if (d->buf_pos < d->buf_len)
		return;

	if (!write) {
		if (d->xfer_left)
			ide_read_block(d);
		else {
			d->status = ST_DRDY | ST_DSC;
			d->buf_len = d->buf_pos = 0;
		}
		return;
	}
	if (vmc_overlay_write(d->disk, d->buf, d->buf_len, d->xfer_lba * 512,
			      &err) < 0) {
		ide_abort(d, ER_ABRT);
		if (err.code == ENOSPC)
			vmc_vm_fail(d->vm, VMC_VM_GUEST_ERROR, "%s", err.msg);
		return;
	}
	d->xfer_lba += d->buf_len / 512;
	d->xfer_left -= d->buf_len / 512;
	if (d->xfer_left) {
		ide_write_prep(d);
		ide_irq(d);
	} else {
		ide_done(d);
	}
}

void vmc_ide_io(struct vmc_ide *d, unsigned off, bool write, uint8_t *data,
		unsigned size)
{
	bool slave = d->select & 0x10;
	bool hob = d->ctl & CTL_HOB;

	if (off == 0) {
		if (slave) {
			if (!write)
				memset(data, 0xff, size);
			return;
		}
		ide_data(d, write, data, size);
		return;
	}
	if (write) {
		uint8_t v = data[0];

		switch (off) {
		case 1: d->feature = v; break;
		case 2: d->hob_nsect = d->nsect; d->nsect = v; break;
		case 3: d->hob_lbal = d->lbal; d->lbal = v; break;
		case 4: d->hob_lbam = d->lbam; d->lbam = v; break;
		case 5: d->hob_lbah = d->lbah; d->lbah = v; break;
		case 6: d->select = v | 0xa0; break;
		case 7:
			if (!slave)
				ide_command(d, v);
			break;
		case 8:
			if ((d->ctl & CTL_SRST) && !(v & CTL_SRST))
				ide_signature(d);
			else if (v & CTL_SRST)
				d->status = ST_BSY;
			d->ctl = v;
			ide_update_irq(d);
			break;
		}
		if (off >= 1 && off <= 5)
			d->ctl &= (uint8_t)~CTL_HOB;
		return;
	}
	if (slave && off != 6) {
		data[0] = 0;
		return;
	}
	switch (off) {
	case 1: data[0] = d->error; break;
	case 2: data[0] = hob ? d->hob_nsect : d->nsect; break;
	case 3: data[0] = hob ? d->hob_lbal : d->lbal; break;
	case 4: data[0] = hob ? d->hob_lbam : d->lbam; break;
	case 5: data[0] = hob ? d->hob_lbah : d->lbah; break;
	case 6: data[0] = d->select; break;
	case 7:
		data[0] = d->status;
		d->irq_pending = false;
		ide_update_irq(d);
		break;
	case 8: data[0] = d->status; break;
	default: data[0] = 0xff;
	}
	for (unsigned i = 1; i < size; i++)
		data[i] = 0xff;
}

int vmc_ide_init(struct vmc_ide *d, struct vmc_vmctx *vm,
		 struct vmc_overlay *disk, struct vmc_error *err)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->disk = disk;
	d->sectors = disk->size / 512;
	d->select = 0xa0;
	/* Power up with READ/WRITE MULTIPLE set to 16 sectors (word 59),
	 * as many drives do: libata then takes one interrupt per 8 KiB
	 * instead of per sector, which counts when every exit is costly. */
	d->multiple = MAX_MULTIPLE;
	ide_signature(d);
	vmc_pci_dev_init(&d->dev, 0x09, 0x8086, 0x7010, 0x01018000, 0x00);
	/* IDETIM: both channels' decode enabled, as firmware leaves them;
	 * the timing registers are the guest's to program. */
	vmc_put_le16(d->dev.cfg + 0x40, 0x8000);
	vmc_put_le16(d->dev.cfg + 0x42, 0x8000);
	memset(d->dev.wmask + 0x40, 0xff, 0x0c);
	vmc_ide_dma_init(d);
	(void)err;
	return 0;
}
