/* CRC-32C through ISA-L.  crc32_iscsi neither pre- nor post-inverts and
 * takes an int length, so invert around it and feed it in chunks. */
#include <limits.h>

#include <isa-l/crc.h>

#include "common/crc32c.h"

uint32_t vmc_crc32c(uint32_t crc, const void *buf, size_t len)
{
	unsigned char *p = (unsigned char *)buf;
	unsigned int c = ~crc;

	while (len > 0) {
		int n = len > (size_t)(INT_MAX & ~4095) ? (INT_MAX & ~4095)
							 : (int)len;

		c = crc32_iscsi(p, n, c);
		p += n;
		len -= (size_t)n;
	}
	return ~c;
}
