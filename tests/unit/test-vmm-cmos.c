/* Unit tests: RTC/CMOS (validate/vmm/cmos.c): the memory-size bytes that
 * SeaBIOS reads, the BCD clock, read-only status registers. */
#include "vmm-test.h"

static uint8_t cmos_read(struct vmc_cmos *c, uint8_t idx)
{
	uint8_t v = idx;

	vmc_cmos_io(c, 0x70, true, &v);
	vmc_cmos_io(c, 0x71, false, &v);
	return v;
}

Test(vmm_cmos, memory_size_512m)
{
	struct vmc_cmos c;
	uint64_t mem = 512ULL << 20;

	vmc_cmos_init(&c, mem, 1);
	/* 640 KiB base memory */
	cr_assert_eq(cmos_read(&c, 0x15) | cmos_read(&c, 0x16) << 8, 640);
	/* extended memory in KiB above 1 MiB, capped at 0xffff */
	cr_assert_eq(cmos_read(&c, 0x17) | cmos_read(&c, 0x18) << 8, 0xffff);
	cr_assert_eq(cmos_read(&c, 0x30) | cmos_read(&c, 0x31) << 8, 0xffff);
	/* 64 KiB units above 16 MiB: what SeaBIOS turns into RamSize */
	uint32_t above16 = cmos_read(&c, 0x34) | cmos_read(&c, 0x35) << 8;
	cr_assert_eq(((uint64_t)above16 << 16) + (16 << 20), mem);
	cr_assert_eq(cmos_read(&c, 0x5b), 0);
	cr_assert_eq(cmos_read(&c, 0x5f), 0);	/* one CPU */
}

Test(vmm_cmos, memory_size_small)
{
	struct vmc_cmos c;

	vmc_cmos_init(&c, 8ULL << 20, 2);
	cr_assert_eq(cmos_read(&c, 0x17) | cmos_read(&c, 0x18) << 8, 7 * 1024);
	cr_assert_eq(cmos_read(&c, 0x34) | cmos_read(&c, 0x35) << 8, 0);
	cr_assert_eq(cmos_read(&c, 0x5f), 1);
}

static int unbcd(uint8_t v)
{
	cr_assert_leq(v & 0x0f, 9);
	return (v >> 4) * 10 + (v & 0x0f);
}

Test(vmm_cmos, clock_is_bcd_and_valid)
{
	struct vmc_cmos c;

	vmc_cmos_init(&c, 64ULL << 20, 1);
	cr_assert_leq(unbcd(cmos_read(&c, 0x00)), 60);
	cr_assert_leq(unbcd(cmos_read(&c, 0x02)), 59);
	cr_assert_leq(unbcd(cmos_read(&c, 0x04)), 23);
	int mday = unbcd(cmos_read(&c, 0x07));
	cr_assert(mday >= 1 && mday <= 31);
	int mon = unbcd(cmos_read(&c, 0x08));
	cr_assert(mon >= 1 && mon <= 12);
	cr_assert_geq(unbcd(cmos_read(&c, 0x32)), 20);
	/* never "update in progress", 24-hour BCD, valid RAM */
	cr_assert_eq(cmos_read(&c, 0x0a) & 0x80, 0);
	cr_assert_eq(cmos_read(&c, 0x0b) & 0x06, 0x02);
	cr_assert_eq(cmos_read(&c, 0x0d), 0x80);
}

Test(vmm_cmos, ram_read_write_and_readonly_status)
{
	struct vmc_cmos c;
	uint8_t v;

	vmc_cmos_init(&c, 64ULL << 20, 1);
	v = 0x40 | 0x80;		/* NMI-mask bit ignored */
	vmc_cmos_io(&c, 0x70, true, &v);
	v = 0x5a;
	vmc_cmos_io(&c, 0x71, true, &v);
	cr_assert_eq(cmos_read(&c, 0x40), 0x5a);
	v = 0x0d;
	vmc_cmos_io(&c, 0x70, true, &v);
	v = 0;
	vmc_cmos_io(&c, 0x71, true, &v);
	cr_assert_eq(cmos_read(&c, 0x0d), 0x80);
	/* boot order: hard disk first */
	cr_assert_eq(cmos_read(&c, 0x3d) & 0x0f, 0x02);
}
