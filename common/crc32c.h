/* CRC-32C (Castagnoli), as VHDX uses it: standard init ~0 and final
 * inversion, so vmc_crc32c(0, "123456789", 9) == 0xE3069283.  A thin
 * wrapper over ISA-L's crc32_iscsi. */
#ifndef VMC_COMMON_CRC32C_H
#define VMC_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: pass 0 to start, the previous result to extend. */
uint32_t vmc_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
