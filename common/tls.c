/* Per-thread objects under a pthread key (not _Thread_local: the key's
 * destructor frees a thread's object when the thread ends).  The key is
 * made on the first call from any thread, under a lock. */
#include <stdlib.h>

#include "common/tls.h"

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static int make_key(struct vmc_tls *t)
{
	int r = 0;

	pthread_mutex_lock(&key_lock);
	if (!atomic_load(&t->ready)) {
		r = pthread_key_create(&t->key, t->destroy);
		if (r == 0)
			atomic_store(&t->ready, true);
	}
	pthread_mutex_unlock(&key_lock);
	return r == 0 ? 0 : -1;
}

void *vmc_tls_get(struct vmc_tls *t)
{
	void *p;

	if (!atomic_load(&t->ready) && make_key(t) < 0)
		return NULL;
	p = pthread_getspecific(t->key);
	if (!p) {
		p = calloc(1, t->size);
		if (p && pthread_setspecific(t->key, p) != 0) {
			free(p);
			p = NULL;
		}
	}
	return p;
}
