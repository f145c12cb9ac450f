/* /dev/kvm plumbing shared by the VM run (kvm.c) and the self-test
 * (selftest.c). */
#ifndef VMC_VALIDATE_VMM_KVM_H
#define VMC_VALIDATE_VMM_KVM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vmconv/error.h>

#include "validate/vm.h"

#define VMC_KVM_TICK_SIGNAL (SIGRTMIN + 4)

struct vmc_machine;
struct kvm_coalesced_mmio_ring;

struct vmc_kvm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	bool readonly_mem;
	bool cpuid_fixed;		/* KVM refused our CPUID */
	bool uchip;			/* no in-kernel irqchip (kvm-uchip.c) */
	long tick_ns;			/* the tick's period */
	struct kvm_coalesced_mmio_ring *ring;	/* batched port writes */
	bool ring_ok;
	unsigned ticks;
	unsigned stuck_ticks;		/* halted with an interrupt pending */
	unsigned wakeups;		/* lost wake-ups repaired */
	unsigned next_tick_ms;		/* since the run's start */
	unsigned late_ticks;		/* ticks whose signal never came */
	timer_t timer;
	bool timer_ok;
	/* KVM's counters (kvm-stats.c): offsets in the data block of the
	 * statistics file, -1 for the ones this kernel lacks */
	int stats_fd;
	uint64_t stats_data;
	size_t stats_len;
	int64_t stat_off[VMC_STAT_COUNT];
};

int vmc_kvm_open(struct vmc_kvm *k, struct vmc_error *err);
/* The same with KVM's three-page TSS (and its identity map in the page
 * below) at tss, which must lie outside RAM and ROM (QEMU's 0xfeffd000 for
 * a firmware image larger than 256 KiB). */
int vmc_kvm_open_at(struct vmc_kvm *k, uint64_t tss, struct vmc_error *err);
void vmc_kvm_close(struct vmc_kvm *k);
int vmc_kvm_map(struct vmc_kvm *k, unsigned slot, uint64_t gpa, void *host,
		uint64_t size, bool readonly, struct vmc_error *err);
int vmc_kvm_create_vcpu(struct vmc_kvm *k, struct vmc_error *err);
int vmc_kvm_start_ticker(struct vmc_kvm *k, struct vmc_error *err);
void vmc_kvm_stop_ticker(struct vmc_kvm *k);
/* Open the vCPU's statistics file (stats_fd -1 where there is none);
 * read_stats for struct vmc_vmctx. */
void vmc_kvm_stats_open(struct vmc_kvm *k);
void vmc_kvm_stats_close(struct vmc_kvm *k);
void vmc_kvm_stats_read(void *opaque, struct vmc_vm_stats *s);
/* kvm-uchip.c: the APIC base MSR; before each KVM_RUN, IRQ 0 and the
 * PIC's vector; on KVM_EXIT_HLT, the wait for an interrupt. */
int vmc_kvm_uchip_setup(struct vmc_kvm *k, struct vmc_error *err);
void vmc_kvm_uchip_inject(struct vmc_kvm *k, struct vmc_machine *m);
void vmc_kvm_uchip_halt(struct vmc_kvm *k, struct vmc_machine *m);
int vmc_kvm_loop(struct vmc_kvm *k, struct vmc_machine *m,
		 unsigned timeout_ms, const struct timespec *t0);

#endif
