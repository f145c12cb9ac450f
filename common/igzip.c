/* igzip level 1 stateless deflate with a per-thread state: see
 * common/igzip.h.  A pthread key (not _Thread_local) so the state is
 * freed when a worker thread ends. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <isa-l/igzip_lib.h>

#include "common/igzip.h"

struct igzip_tls {
	struct isal_zstream st;
	uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_make_key(void)
{
	pthread_key_create(&tls_key, free);
}

static struct igzip_tls *tls_get(void)
{
	struct igzip_tls *t;

	pthread_once(&tls_once, tls_make_key);
	t = pthread_getspecific(tls_key);
	if (!t) {
		t = malloc(sizeof(*t));
		if (!t || pthread_setspecific(tls_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	return t;
}

int vmc_igzip_deflate(enum vmc_igzip_wrap wrap, unsigned hist_bits,
		      const void *in, size_t len, void *out, size_t cap,
		      size_t *out_len)
{
	struct igzip_tls *t = tls_get();
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
