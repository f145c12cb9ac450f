/* The VM thread's watchdog: the thread that started a run waits for it
 * with a deadline; past it, the run is stopped with a reason and the VM
 * thread is kicked out of KVM_RUN (a signal, immediate_exit), so a run
 * stuck anywhere but KVM_RUN itself (a device loop, a slow disk) still
 * ends.  The run loop's own timeout, checked on its 50 ms tick, comes
 * first; the watchdog is the outer bound (Firecracker's lesson: something
 * outside the VM thread must always be able to end it). */
#ifndef VMC_VMM_WATCHDOG_H
#define VMC_VMM_WATCHDOG_H

#include <pthread.h>
#include <stdbool.h>

#include "validate/vmm/vmm.h"

struct vmc_watchdog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct vmc_vmctx *vm;	/* while the machine exists */
};

void vmc_watchdog_init(struct vmc_watchdog *w);
void vmc_watchdog_destroy(struct vmc_watchdog *w);

/* From the VM thread: the machine the watchdog may stop (NULL before it
 * is freed), and the end of the run. */
void vmc_watchdog_attach(struct vmc_watchdog *w, struct vmc_vmctx *vm);
void vmc_watchdog_done(struct vmc_watchdog *w);

/* From the starting thread: waits until done; when limit_ms (0: none)
 * passes first, stops the VM as a timeout with a reason saying the
 * watchdog ended it, sends sig to thread t, then waits on.  Returns true
 * if the watchdog fired. */
bool vmc_watchdog_wait(struct vmc_watchdog *w, pthread_t t, int sig,
		       unsigned limit_ms);

#endif
