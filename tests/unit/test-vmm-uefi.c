/* Unit tests: what the built-in VMM gives OVMF (validate/vmm/piix4-pm.c,
 * ovmf-rom.c, and the board's UEFI variant in machine.c): the PIIX4
 * power-management function found and enabled the way OVMF's PlatformPei
 * and AcpiTimerLib do it, the ACPI PM timer's rate and width, S5 power-off,
 * a BIOS machine left without that function, and the firmware image laid
 * out as QEMU's flash chips are. */
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>

#include "vmm-test.h"
#include "common/bytes.h"

static uint32_t cfg_read(struct vmc_machine *m, unsigned devfn, unsigned off,
			 unsigned size)
{
	uint8_t a[4], d[4] = { 0 };

	vmc_put_le32(a, 0x80000000u | devfn << 8 | (off & 0xfc));
	vmc_machine_pio(m, 0xcf8, true, a, 4);
	vmc_machine_pio(m, (uint16_t)(0xcfc + (off & 3)), false, d, size);
	return size == 1 ? d[0] : size == 2 ? vmc_get_le16(d) :
	       vmc_get_le32(d);
}

static void cfg_write(struct vmc_machine *m, unsigned devfn, unsigned off,
		      uint32_t v, unsigned size)
{
	uint8_t a[4], d[4];

	vmc_put_le32(a, 0x80000000u | devfn << 8 | (off & 0xfc));
	vmc_machine_pio(m, 0xcf8, true, a, 4);
	vmc_put_le32(d, v);
	vmc_machine_pio(m, (uint16_t)(0xcfc + (off & 3)), true, d, size);
}

static uint32_t pio_read32(struct vmc_machine *m, uint16_t port)
{
	uint8_t d[4];

	vmc_machine_pio(m, port, false, d, 4);
	return vmc_get_le32(d);
}

static void machine(struct vmc_machine *m, bool uefi)
{
	struct vmc_vm_config cfg = { .uefi = uefi };
	struct vmc_error err;

	cr_assert_eq(vmc_machine_init(m, &cfg, 32 << 20, &err), 0, "%s",
		     err.msg);
}

Test(vmm_uefi, piix4_pm_found_enabled_and_timed)
{
	static struct vmc_machine m;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint32_t t1, t2, d;
	uint8_t b[2];

	machine(&m, true);
	/* 00:01.3 as QEMU's: 8086:7113, class 0x0680 */
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0, 4), 0x71138086);
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0x0b, 1), 0x06);
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0x0a, 1), 0x80);
	/* the ISA bridge says it has more functions */
	cr_assert_eq(cfg_read(&m, 0x08, 0x0e, 1) & 0x80, 0x80);
	/* PMBA: bit 0 reads 1, bits 15:6 take the base */
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0x40, 4), 1);
	cfg_write(&m, VMC_PM_DEVFN, 0x40, 0x0000063f, 4);
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0x40, 4), 0x601);
	/* nothing at 0x608 until PMREGMISC.PMIOSE */
	cr_assert_eq(pio_read32(&m, 0x608), 0xffffffff);
	cfg_write(&m, VMC_PM_DEVFN, 0x80, 0xff, 1);
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0x80, 1), 1);
	/* 3.579545 MHz in 24 bits: 50 ms is about 179000 ticks */
	t1 = pio_read32(&m, 0x608);
	nanosleep(&ts, NULL);
	t2 = pio_read32(&m, 0x608);
	cr_assert_eq(t1 >> 24, 0);
	cr_assert_eq(t2 >> 24, 0);
	d = (t2 - t1) & 0xffffff;
	cr_assert(d >= 170000 && d < 3579545, "%u ticks in 50 ms", d);
	/* PM1 enable keeps what is written, byte by byte */
	vmc_put_le16(b, 0x0121);
	vmc_machine_pio(&m, 0x602, true, b, 2);
	vmc_machine_pio(&m, 0x603, false, b, 1);
	cr_assert_eq(b[0], 0x01);
	/* past the 64-byte block: not the PM's */
	cr_assert_eq(pio_read32(&m, 0x640), 0xffffffff);
	cr_assert_not(m.vm.stop);
	vmc_machine_free(&m);
}

Test(vmm_uefi, s5_powers_off)
{
	static struct vmc_machine m;
	uint8_t b[2];

	machine(&m, true);
	cfg_write(&m, VMC_PM_DEVFN, 0x40, 0xb000, 4);
	cfg_write(&m, VMC_PM_DEVFN, 0x80, 1, 1);
	/* SCI_EN alone and a sleep type other than S5: still running */
	vmc_put_le16(b, 0x0001);
	vmc_machine_pio(&m, 0xb004, true, b, 2);
	vmc_put_le16(b, 1u << 10 | 1u << 13);
	vmc_machine_pio(&m, 0xb004, true, b, 2);
	cr_assert_not(m.vm.stop);
	vmc_put_le16(b, 1u << 13);
	vmc_machine_pio(&m, 0xb004, true, b, 2);
	cr_assert(m.vm.stop);
	cr_assert_eq(m.vm.exit, VMC_VM_POWEROFF);
	cr_assert_str_eq(m.vm.reason, "the guest powered off (ACPI S5)");
	vmc_machine_free(&m);
}

Test(vmm_uefi, bios_machine_has_no_pm_function)
{
	static struct vmc_machine m;

	machine(&m, false);
	cr_assert_eq(cfg_read(&m, VMC_PM_DEVFN, 0, 4), 0xffffffff);
	cr_assert_not(m.has_pm);
	vmc_machine_free(&m);
}

static void file_of(char *path, size_t plen, size_t len, uint8_t fill,
		    uint8_t last)
{
	uint8_t *b = malloc(len);
	int fd;

	snprintf(path, plen, "/tmp/vmconv-ovmf-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0 && b);
	memset(b, fill, len);
	b[len - 1] = last;
	cr_assert_eq(write(fd, b, len), (ssize_t)len);
	close(fd);
	free(b);
}

Test(vmm_uefi, image_is_vars_then_code_ending_at_4g)
{
	char code[64], vars[64], odd[64];
	struct vmc_mem mem;
	struct vmc_error err;
	uint8_t *rom;
	size_t len;

	cr_assert_eq(vmc_mem_init(&mem, 2 << 20, &err), 0);
	file_of(code, sizeof(code), 256 << 10, 'C', 'E');
	file_of(vars, sizeof(vars), 128 << 10, 'V', 'W');
	cr_assert_eq(vmc_ovmf_load(&mem, code, vars, &rom, &len, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(len, 384 << 10);
	cr_assert_eq(rom[0], 'V');
	cr_assert_eq(rom[(128 << 10) - 1], 'W');
	cr_assert_eq(rom[128 << 10], 'C');
	cr_assert_eq(rom[len - 1], 'E');
	/* the last 128 KiB also below 1 MiB */
	cr_assert_eq(mem.ram[0xe0000], 'C');
	cr_assert_eq(mem.ram[0xfffff], 'E');
	munmap(rom, len);
	/* a single image */
	cr_assert_eq(vmc_ovmf_load(&mem, code, NULL, &rom, &len, &err), 0);
	cr_assert_eq(len, 256 << 10);
	munmap(rom, len);
	/* not a whole number of 4 KiB pages: refused, named */
	file_of(odd, sizeof(odd), (128 << 10) + 512, 'X', 'X');
	cr_assert_eq(vmc_ovmf_load(&mem, code, odd, &rom, &len, &err), -1);
	cr_assert(strstr(err.msg, odd) && strstr(err.msg, "variable store"),
		  "%s", err.msg);
	cr_assert_null(rom);
	cr_assert_eq(vmc_ovmf_load(&mem, "/nonexistent/OVMF.fd", NULL, &rom,
				   &len, &err), -1);
	unlink(code);
	unlink(vars);
	unlink(odd);
	vmc_mem_free(&mem);
}
