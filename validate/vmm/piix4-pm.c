/* The PIIX4 power-management function at 00:01.3, as QEMU's pc machine
 * has it (Intel 82371AB PIIX4 datasheet, section 3.4 "Power management
 * function (PCI function 3) register description": PMBA at 0x40, the I/O
 * base of the 64-byte power-management block, bits 15:6, bit 0 hard-wired
 * to 1; PMREGMISC at 0x80, bit 0 PMIOSE enables that block; and section
 * 7.2 "System I/O registers": PM1 status at +0, PM1 enable at +2, PM1
 * control at +4, the power-management timer at +8).  The timer is the ACPI
 * PM timer (ACPI 6.4, section 4.8.3.3): 3.579545 MHz, 24 bits as QEMU's,
 * counting from the host's monotonic clock.  PM1 control with SLP_EN and
 * sleep type 0 powers the machine off (QEMU's piix4 _S5, what OVMF's
 * ResetSystemLib writes).  OVMF's AcpiTimerLib finds the block through
 * PMBA and times every delay with the timer; only UEFI boots get this
 * function, so SeaBIOS sees the machine it always saw.
 */
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define PIIX4_PMBA		0x40
#define PIIX4_PMREGMISC		0x80
#define PM_BLOCK_SIZE		64

#define PM1_STS			0x00
#define PM1_EN			0x02
#define PM1_CNT			0x04
#define PM_TMR			0x08

#define PM1_CNT_SLP_EN		(1u << 13)
#define PM_TMR_HZ		3579545ULL

void vmc_pm_init(struct vmc_pm *p, struct vmc_vmctx *vm)
{
	memset(p, 0, sizeof(*p));
	p->vm = vm;
	vmc_pci_dev_init(&p->dev, VMC_PM_DEVFN, 0x8086, 0x7113, 0x06800003,
			 0x00);
	vmc_put_le32(p->dev.cfg + PIIX4_PMBA, 0x1);
	vmc_put_le16(p->dev.wmask + PIIX4_PMBA, 0xffc0);
	p->dev.wmask[PIIX4_PMREGMISC] = 0x01;
	p->dev.cfg[0x3d] = 1;			/* SCI on INTA# */
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

uint16_t vmc_pm_base(const struct vmc_pm *p)
{
	if (!(p->dev.cfg[PIIX4_PMREGMISC] & 1))
		return 0;
	return vmc_get_le16(p->dev.cfg + PIIX4_PMBA) & 0xffc0;
}

bool vmc_pm_claims(const struct vmc_pm *p, uint16_t port, unsigned size)
{
	uint16_t base = vmc_pm_base(p);

	return base && port >= base &&
	       (uint32_t)port + size <= (uint32_t)base + PM_BLOCK_SIZE;
}

/* The timer's count: ticks of 3.579545 MHz since the machine was built,
 * in its 24 bits. */
uint32_t vmc_pm_timer(const struct vmc_pm *p)
{
	struct timespec t;
	uint64_t s, ns, ticks;

	clock_gettime(CLOCK_MONOTONIC, &t);
	s = (uint64_t)(t.tv_sec - p->t0.tv_sec);
	if (t.tv_nsec >= p->t0.tv_nsec) {
		ns = (uint64_t)(t.tv_nsec - p->t0.tv_nsec);
	} else {
		s--;
		ns = (uint64_t)(t.tv_nsec + 1000000000L - p->t0.tv_nsec);
	}
	ticks = s * PM_TMR_HZ + ns * PM_TMR_HZ / 1000000000ULL;
	return (uint32_t)(ticks & 0xffffff);
}

static void pm_write_byte(struct vmc_pm *p, unsigned off, uint8_t v)
{
	unsigned sh = (off & 1) * 8;

	switch (off & ~1u) {
	case PM1_STS:			/* write 1 to clear */
		p->sts &= (uint16_t)~(v << sh);
		break;
	case PM1_EN:
		p->en = (uint16_t)((p->en & ~(0xff << sh)) | v << sh);
		break;
	case PM1_CNT:
		p->cnt = (uint16_t)((p->cnt & ~(0xff << sh)) | v << sh);
		break;
	}
}

/* One access at off (from the block's base, all of it inside the block):
 * the registers are laid out and read as bytes, so any width or
 * alignment the guest uses gets what the hardware gives. */
void vmc_pm_io(struct vmc_pm *p, uint16_t off, bool write, uint8_t *data,
	       unsigned size)
{
	uint8_t regs[PM_BLOCK_SIZE];

	if (off >= PM_BLOCK_SIZE || size > (unsigned)(PM_BLOCK_SIZE - off)) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (write) {
		for (unsigned i = 0; i < size; i++)
			pm_write_byte(p, off + i, data[i]);
		if ((p->cnt & PM1_CNT_SLP_EN) && ((p->cnt >> 10) & 7) == 0)
			vmc_vm_fail(p->vm, VMC_VM_POWEROFF,
				    "the guest powered off (ACPI S5)");
		p->cnt &= (uint16_t)~PM1_CNT_SLP_EN;	/* reads as 0 */
		return;
	}
	memset(regs, 0, sizeof(regs));
	vmc_put_le16(regs + PM1_STS, p->sts);
	vmc_put_le16(regs + PM1_EN, p->en);
	vmc_put_le16(regs + PM1_CNT, p->cnt);
	vmc_put_le32(regs + PM_TMR, vmc_pm_timer(p));
	memcpy(data, regs + off, size);
}
