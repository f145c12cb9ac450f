/* Unit tests: the VM thread's watchdog (validate/vmm/watchdog.c), without
 * /dev/kvm: a "VM thread" stuck in a device loop that only looks at the
 * stop flag, and one blocked in a system call that only a signal ends,
 * are both ended past the limit with the watchdog's reason; a run that
 * ends by itself is left alone. */
#include <signal.h>
#include <time.h>

#include "vmm-test.h"
#include "validate/vmm/watchdog.h"

#define SIG (SIGRTMIN + 4)

static struct vmc_watchdog wd;
static struct vmc_vmctx vm;

static void on_sig(int s)
{
	(void)s;
}

static unsigned long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *spin(void *p)
{
	(void)p;
	vmc_watchdog_attach(&wd, &vm);
	while (!__atomic_load_n(&vm.stop, __ATOMIC_SEQ_CST))
		;
	vmc_watchdog_attach(&wd, NULL);
	vmc_watchdog_done(&wd);
	return NULL;
}

static void *block(void *p)
{
	(void)p;
	vmc_watchdog_attach(&wd, &vm);
	pause();		/* only a signal gets it out */
	vmc_watchdog_attach(&wd, NULL);
	vmc_watchdog_done(&wd);
	return NULL;
}

static void *quick(void *p)
{
	(void)p;
	vmc_watchdog_attach(&wd, &vm);
	vmc_watchdog_attach(&wd, NULL);
	vmc_watchdog_done(&wd);
	return NULL;
}

static void setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIG, &sa, NULL);
	memset(&vm, 0, sizeof(vm));
	vmc_watchdog_init(&wd);
}

static bool run(void *(*fn)(void *), unsigned limit, unsigned long long *ms)
{
	pthread_t t;
	unsigned long long t0 = now_ms();
	bool fired;

	cr_assert_eq(pthread_create(&t, NULL, fn, NULL), 0);
	fired = vmc_watchdog_wait(&wd, t, SIG, limit);
	pthread_join(t, NULL);
	*ms = now_ms() - t0;
	vmc_watchdog_destroy(&wd);
	return fired;
}

TestSuite(vmm_watchdog, .init = setup, .timeout = 30);

Test(vmm_watchdog, device_loop_is_stopped)
{
	unsigned long long ms;

	cr_assert(run(spin, 300, &ms));
	cr_assert(vm.stop);
	cr_assert_eq(vm.exit, VMC_VM_TIMEOUT);
	cr_assert(strstr(vm.reason, "watchdog"), "%s", vm.reason);
	cr_assert_geq(ms, 300);
	cr_assert_lt(ms, 5000);
}

Test(vmm_watchdog, blocked_thread_is_kicked)
{
	unsigned long long ms;

	cr_assert(run(block, 300, &ms));
	cr_assert(strstr(vm.reason, "KVM_RUN"), "%s", vm.reason);
	cr_assert_lt(ms, 5000);
}

Test(vmm_watchdog, run_that_ends_is_left_alone)
{
	unsigned long long ms;

	cr_assert_not(run(quick, 5000, &ms));
	cr_assert_not(vm.stop);
	cr_assert_lt(ms, 4000);
}
