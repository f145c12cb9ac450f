/* One-shot deflate with ISA-L's igzip at its level 1, the fast path of
 * -c at compression_level=1 (qcow2 clusters: raw deflate in QEMU's 4 KiB
 * window) and of stream-optimized VMDK grains (zlib streams, 32 KiB).
 * The igzip state (some 360 KiB with its level buffer) is made once per
 * calling thread and freed when the thread ends. */
#ifndef VMC_COMMON_IGZIP_H
#define VMC_COMMON_IGZIP_H

#include <stddef.h>

enum vmc_igzip_wrap {
	VMC_IGZIP_RAW,		/* bare deflate (RFC 1951) */
	VMC_IGZIP_ZLIB,		/* zlib header and Adler-32 (RFC 1950) */
};

/* Deflate len bytes of in into at most cap bytes of out, with a window
 * of 1 << hist_bits bytes (9..15; 0: igzip's default, 32 KiB).  0 with
 * *out_len the compressed length, or *out_len 0 when the result does
 * not fit in cap (the caller stores the data another way); -1 when
 * memory runs out, len is 4 GiB or more, or igzip fails. */
int vmc_igzip_deflate(enum vmc_igzip_wrap wrap, unsigned hist_bits,
		      const void *in, size_t len, void *out, size_t cap,
		      size_t *out_len);

#endif
