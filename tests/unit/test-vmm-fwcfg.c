/* Unit tests: fw_cfg (validate/vmm/fw_cfg.c) read the way SeaBIOS reads
 * it: select with a 16-bit write to 0x510, bytes from 0x511. */
#include "vmm-test.h"
#include "common/bytes.h"

static struct vmc_fwcfg f;

static void sel(uint16_t key)
{
	uint8_t b[2];

	vmc_put_le16(b, key);
	vmc_fwcfg_io(&f, VMC_FWCFG_PORT_SEL, true, b, 2);
}

static void rd(void *buf, unsigned len)
{
	uint8_t *p = buf;

	for (unsigned i = 0; i < len; i++)
		vmc_fwcfg_io(&f, VMC_FWCFG_PORT_DATA, false, p + i, 1);
}

/* Find a file in the directory the way SeaBIOS does. */
static int find_file(const char *name, uint16_t *key, uint32_t *size)
{
	uint8_t cnt[4], e[64];
	uint32_t n;

	sel(VMC_FWCFG_FILE_DIR);
	rd(cnt, 4);
	n = vmc_get_be32(cnt);
	for (uint32_t i = 0; i < n; i++) {
		rd(e, 64);
		if (!strcmp((char *)e + 8, name)) {
			*size = vmc_get_be32(e);
			*key = vmc_get_be16(e + 4);
			return 0;
		}
	}
	return -1;
}

static void setup(void)
{
	vmc_fwcfg_init(&f);
	cr_assert_eq(vmc_fwcfg_setup(&f, 512ULL << 20, 1), 0);
}

static void teardown(void)
{
	vmc_fwcfg_free(&f);
}

TestSuite(vmm_fwcfg, .init = setup, .fini = teardown);

Test(vmm_fwcfg, signature_and_id)
{
	char sig[5] = { 0 };
	uint8_t id[4];

	sel(VMC_FWCFG_SIGNATURE);
	rd(sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	sel(VMC_FWCFG_ID);
	rd(id, 4);
	/* Traditional interface only: SeaBIOS must not try DMA. */
	cr_assert_eq(vmc_get_le32(id), 1);
}

Test(vmm_fwcfg, numbers)
{
	uint8_t b[8];

	sel(VMC_FWCFG_NB_CPUS);
	rd(b, 2);
	cr_assert_eq(vmc_get_le16(b), 1);
	sel(VMC_FWCFG_NOGRAPHIC);
	rd(b, 2);
	cr_assert_eq(vmc_get_le16(b), 1);
	sel(VMC_FWCFG_RAM_SIZE);
	rd(b, 8);
	cr_assert_eq(vmc_get_le64(b), 512ULL << 20);
}

Test(vmm_fwcfg, e820_file)
{
	uint16_t key;
	uint32_t size;
	uint8_t e[20];

	cr_assert_eq(find_file("etc/e820", &key, &size), 0);
	cr_assert_eq(size, 20);
	cr_assert_geq(key, VMC_FWCFG_FILE_FIRST);
	sel(key);
	rd(e, 20);
	cr_assert_eq(vmc_get_le64(e), 0);
	cr_assert_eq(vmc_get_le64(e + 8), 512ULL << 20);
	cr_assert_eq(vmc_get_le32(e + 16), 1);
}

Test(vmm_fwcfg, sercon_port_file)
{
	uint16_t key;
	uint32_t size;
	uint8_t b[2];

	cr_assert_eq(find_file("etc/sercon-port", &key, &size), 0);
	cr_assert_eq(size, 2);
	sel(key);
	rd(b, 2);
	cr_assert_eq(vmc_get_le16(b), 0x3f8);
}

Test(vmm_fwcfg, reads_past_end_and_unknown_keys_are_zero)
{
	uint8_t b[8];

	sel(VMC_FWCFG_SIGNATURE);
	rd(b, 8);
	cr_assert_eq(memcmp(b, "QEMU\0\0\0\0", 8), 0);
	sel(0x7fff);
	memset(b, 0x55, sizeof(b));
	rd(b, 4);
	cr_assert_eq(vmc_get_le32(b), 0);
}

Test(vmm_fwcfg, reselect_rewinds_and_writes_ignored)
{
	char sig[5] = { 0 };
	uint8_t junk = 0x41;

	sel(VMC_FWCFG_SIGNATURE);
	rd(sig, 2);
	vmc_fwcfg_io(&f, VMC_FWCFG_PORT_DATA, true, &junk, 1);
	sel(VMC_FWCFG_SIGNATURE);
	rd(sig, 4);
	cr_assert_str_eq(sig, "QEMU");
}

Test(vmm_fwcfg, file_replaced_not_duplicated)
{
	uint16_t key, key2;
	uint32_t size;
	uint8_t b[4] = { 1, 2, 3, 4 };

	cr_assert_eq(vmc_fwcfg_add_file(&f, "bootorder", b, 4), 0);
	cr_assert_eq(find_file("bootorder", &key, &size), 0);
	cr_assert_eq(vmc_fwcfg_add_file(&f, "bootorder", b, 2), 0);
	cr_assert_eq(find_file("bootorder", &key2, &size), 0);
	cr_assert_eq(key, key2);
	cr_assert_eq(size, 2);
}
