/* vmconv byte-order access to unaligned on-disk fields, and checked
 * arithmetic for numbers read from files (header-only, for drivers). */
#ifndef VMCONV_BYTES_H
#define VMCONV_BYTES_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t vmc_get_le16(const void *p)
{ uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static inline uint32_t vmc_get_le32(const void *p)
{ uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static inline uint64_t vmc_get_le64(const void *p)
{ uint64_t v; memcpy(&v, p, 8); return le64toh(v); }
static inline uint16_t vmc_get_be16(const void *p)
{ uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static inline uint32_t vmc_get_be32(const void *p)
{ uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static inline uint64_t vmc_get_be64(const void *p)
{ uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

static inline void vmc_put_le16(void *p, uint16_t v)
{ v = htole16(v); memcpy(p, &v, 2); }
static inline void vmc_put_le32(void *p, uint32_t v)
{ v = htole32(v); memcpy(p, &v, 4); }
static inline void vmc_put_le64(void *p, uint64_t v)
{ v = htole64(v); memcpy(p, &v, 8); }
static inline void vmc_put_be16(void *p, uint16_t v)
{ v = htobe16(v); memcpy(p, &v, 2); }
static inline void vmc_put_be32(void *p, uint32_t v)
{ v = htobe32(v); memcpy(p, &v, 4); }
static inline void vmc_put_be64(void *p, uint64_t v)
{ v = htobe64(v); memcpy(p, &v, 8); }

/* true on overflow, like the builtins they wrap. */
static inline bool vmc_add_overflow(uint64_t a, uint64_t b, uint64_t *r)
{ return __builtin_add_overflow(a, b, r); }
static inline bool vmc_mul_overflow(uint64_t a, uint64_t b, uint64_t *r)
{ return __builtin_mul_overflow(a, b, r); }

#define VMC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VMC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VMC_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define VMC_ALIGN_UP(n, a) (((n) + (a) - 1) & ~((uint64_t)(a) - 1))
#define VMC_ALIGN_DOWN(n, a) ((n) & ~((uint64_t)(a) - 1))
#define VMC_IS_POWER_OF_2(n) ((n) != 0 && ((n) & ((n) - 1)) == 0)
#define VMC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
