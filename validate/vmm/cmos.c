/* MC146818 RTC and the PC/AT CMOS RAM at 0x70 (index, bit 7 = NMI mask)
 * and 0x71 (data).  The clock reads the host's UTC time in BCD, 24-hour
 * mode, never "update in progress"; no RTC interrupts.  The RAM holds what
 * SeaBIOS and old loaders read: the memory sizes (0x15-0x18, 0x30-0x31,
 * 0x34-0x35, 0x5b-0x5d), the CPU count (0x5f) and the boot order (hard
 * disk first, 0x3d and 0x38), as QEMU's pc machine fills them.
 */
#include <string.h>
#include <time.h>

#include "validate/vmm/vmm.h"

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

void vmc_cmos_init(struct vmc_cmos *c, uint64_t mem, unsigned ncpus)
{
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->ram[0x0a] = 0x26;		/* 32.768 kHz, 1024 Hz rate */
	c->ram[0x0b] = 0x02;		/* 24 hour, BCD */
	c->ram[0x0d] = 0x80;		/* RAM and time valid */
	c->ram[0x10] = 0x00;		/* no floppy */
	c->ram[0x14] = 0x06;		/* math coprocessor, VGA/EGA display */
	c->ram[0x15] = 640 & 0xff;	/* base memory, KiB */
	c->ram[0x16] = 640 >> 8;
	/* Extended memory above 1 MiB, KiB, capped at 0xffff. */
	v = mem > (1 << 20) ? (mem - (1 << 20)) >> 10 : 0;
	if (v > 0xffff)
		v = 0xffff;
	c->ram[0x17] = c->ram[0x30] = (uint8_t)v;
	c->ram[0x18] = c->ram[0x31] = (uint8_t)(v >> 8);
	/* Memory above 16 MiB (below 4 GiB) in 64 KiB units. */
	v = mem > (16 << 20) ? (mem - (16 << 20)) >> 16 : 0;
	if (v > 0xffff)
		v = 0xffff;
	c->ram[0x34] = (uint8_t)v;
	c->ram[0x35] = (uint8_t)(v >> 8);
	/* Memory above 4 GiB in 64 KiB units (none: RAM ends below 4 GiB) */
	c->ram[0x5b] = c->ram[0x5c] = c->ram[0x5d] = 0;
	c->ram[0x5f] = (uint8_t)(ncpus ? ncpus - 1 : 0);
	c->ram[0x3d] = 0x02;		/* boot: hard disk first */
	c->ram[0x38] = 0x01;		/* no floppy signature check */
}

static uint8_t rtc_read(const struct vmc_cmos *c, uint8_t idx)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (idx) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd((1900 + tm.tm_year) / 100);
	case 0x0a: return c->ram[0x0a] & 0x7f;	/* never update-in-progress */
	case 0x0c: return 0;			/* no interrupt flags */
	default: return c->ram[idx];
	}
}

void vmc_cmos_io(struct vmc_cmos *c, uint16_t port, bool write,
		 uint8_t *val)
{
	if (port == 0x70) {
		if (write)
			c->index = *val & 0x7f;
		else
			*val = 0xff;
		return;
	}
	if (write) {
		/* Status registers C and D are read-only. */
		if (c->index != 0x0c && c->index != 0x0d)
			c->ram[c->index] = *val;
		return;
	}
	*val = rtc_read(c, c->index);
}
