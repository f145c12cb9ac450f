/* igzip level 1 stateless deflate with a per-thread state
 * (common/tls.h): see common/igzip.h. */
#include <stdint.h>
#include <stdlib.h>

#include <isa-l/igzip_lib.h>

#include "common/igzip.h"
#include "common/tls.h"

struct igzip_tls {
	struct isal_zstream st;
	uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
};

static struct vmc_tls tls = VMC_TLS_INIT(sizeof(struct igzip_tls), free);

int vmc_igzip_deflate(enum vmc_igzip_wrap wrap, unsigned hist_bits,
		      const void *in, size_t len, void *out, size_t cap,
		      size_t *out_len)
{
	struct igzip_tls *t = vmc_tls_get(&tls);
	struct isal_zstream *st;
	int r;

	*out_len = 0;
	if (!t || len > UINT32_MAX)
		return -1;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	st = &t->st;
	isal_deflate_stateless_init(st);
	st->level = 1;
	st->level_buf = t->level_buf;
	st->level_buf_size = sizeof(t->level_buf);
	st->hist_bits = hist_bits;
	st->gzip_flag = wrap == VMC_IGZIP_ZLIB ? IGZIP_ZLIB : IGZIP_DEFLATE;
	st->end_of_stream = 1;
	st->flush = NO_FLUSH;
	st->next_in = (uint8_t *)in;
	st->avail_in = (uint32_t)len;
	st->next_out = out;
	st->avail_out = (uint32_t)cap;
	r = isal_deflate_stateless(st);
	if (r == COMP_OK)
		*out_len = st->total_out;
	return r == COMP_OK || r == STATELESS_OVERFLOW ? 0 : -1;
}
