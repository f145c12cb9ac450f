/* Per-thread objects: a worker thread's own scratch state (a compressor,
 * an igzip stream), made zeroed on the thread's first call and freed by
 * the destructor when the thread ends.  One static struct vmc_tls per
 * kind of object:
 *	static struct vmc_tls tls = VMC_TLS_INIT(sizeof(struct x), free_x);
 *	struct x *x = vmc_tls_get(&tls);	(NULL: out of memory) */
#ifndef VMC_COMMON_TLS_H
#define VMC_COMMON_TLS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct vmc_tls {
	size_t size;
	void (*destroy)(void *);	/* frees the object and what it holds */
	atomic_bool ready;		/* key made */
	pthread_key_t key;
};

#define VMC_TLS_INIT(size, destroy) { (size), (destroy), false, 0 }

void *vmc_tls_get(struct vmc_tls *t);

#endif
