/* The VM thread's watchdog: see validate/vmm/watchdog.h. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "validate/vmm/watchdog.h"

void vmc_watchdog_init(struct vmc_watchdog *w)
{
	pthread_condattr_t a;

	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &a);
	pthread_condattr_destroy(&a);
	w->done = false;
	w->vm = NULL;
}

void vmc_watchdog_destroy(struct vmc_watchdog *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

void vmc_watchdog_attach(struct vmc_watchdog *w, struct vmc_vmctx *vm)
{
	pthread_mutex_lock(&w->lock);
	w->vm = vm;
	pthread_mutex_unlock(&w->lock);
}

void vmc_watchdog_done(struct vmc_watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->vm = NULL;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void fire(struct vmc_watchdog *w, pthread_t t, int sig,
		 unsigned limit_ms)
{
	if (w->vm) {
		vmc_vm_fail(w->vm, VMC_VM_TIMEOUT, "timed out after %u s: the "
			    "watchdog stopped a VM thread that had not "
			    "returned to KVM_RUN", (limit_ms + 999) / 1000);
		__atomic_store_n(&w->vm->stop, true, __ATOMIC_SEQ_CST);
	}
	pthread_kill(t, sig);
}

static void deadline(struct timespec *dl, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

bool vmc_watchdog_wait(struct vmc_watchdog *w, pthread_t t, int sig,
		       unsigned limit_ms)
{
	struct timespec dl;
	bool fired = false;

	deadline(&dl, limit_ms);
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		int r = limit_ms ?
			pthread_cond_timedwait(&w->cond, &w->lock, &dl) :
			pthread_cond_wait(&w->cond, &w->lock);

		if (r != ETIMEDOUT || w->done)
			continue;
		if (!fired)
			fire(w, t, sig, limit_ms);
		else
			pthread_kill(t, sig);
		fired = true;
		/* kick again every 100 ms until the thread is back */
		deadline(&dl, 100);
	}
	pthread_mutex_unlock(&w->lock);
	return fired;
}
