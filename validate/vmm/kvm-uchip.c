/* The run loop's side of the user-space irqchip (UEFI runs: pic.c says
 * why): the vCPU's APIC base MSR at the default base but disabled (and
 * so no APIC in its CPUID), the PIC's vector injected with KVM_INTERRUPT when
 * KVM says the vCPU can take it (else an interrupt window is asked for),
 * IRQ 0 raised when the PIT's period is up, and HLT, which without an
 * in-kernel irqchip comes back to us, waited out until the next timer
 * edge or tick.  A guest that halts with interrupts on and nothing
 * pending returns from HLT at the next tick, which guests' idle loops
 * take as the spurious wake-up it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/kvm.h>

#include "validate/vmm/vmm.h"
#include "validate/vmm/kvm.h"

#define HALT_MAX_NS (50ULL * 1000 * 1000)

int vmc_kvm_uchip_setup(struct vmc_kvm *k, struct vmc_error *err)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = { .h.nmsrs = 1 };

	/* IA32_APIC_BASE: the BSP's, at the default base, but globally
	 * disabled, so KVM clears the APIC bit in the vCPU's CPUID (it keeps
	 * that bit in step with this MSR) and the guest's kernel does not
	 * count on this APIC's timer or vectors; OVMF finds its registers
	 * at the base all the same. */
	m.e[0].index = 0x1b;
	m.e[0].data = VMC_LAPIC_BASE | 1u << 8;
	if (ioctl(k->vcpu, KVM_SET_MSRS, &m) != 1)
		return vmc_error_errno(err, errno,
				       "KVM_SET_MSRS (IA32_APIC_BASE)");
	return 0;
}

static void uchip_timer(struct vmc_machine *m, uint64_t now)
{
	if (vmc_pit_poll(&m->pit, now)) {
		vmc_pic_set_irq(&m->pic, 0, 1);
		vmc_pic_set_irq(&m->pic, 0, 0);
	}
}

void vmc_kvm_uchip_inject(struct vmc_kvm *k, struct vmc_machine *m)
{
	struct kvm_run *run = k->run;
	struct kvm_interrupt irq;

	uchip_timer(m, vmc_pit_now());
	run->request_interrupt_window = 0;
	if (!vmc_pic_pending(&m->pic))
		return;
	if (!run->ready_for_interrupt_injection || !run->if_flag) {
		run->request_interrupt_window = 1;
		return;
	}
	irq.irq = vmc_pic_ack(&m->pic);
	if (ioctl(k->vcpu, KVM_INTERRUPT, &irq) < 0) {
		vmc_vm_fail(&m->vm, VMC_VM_GUEST_ERROR,
			    "KVM_INTERRUPT (vector 0x%x) failed", irq.irq);
		return;
	}
	if (vmc_pic_pending(&m->pic))
		run->request_interrupt_window = 1;
}

void vmc_kvm_uchip_halt(struct vmc_kvm *k, struct vmc_machine *m)
{
	uint64_t now = vmc_pit_now(), until = now + HALT_MAX_NS;
	uint64_t next = vmc_pit_next(&m->pit);
	struct timespec ts;

	if (!k->run->if_flag) {
		vmc_vm_fail(&m->vm, VMC_VM_POWEROFF,
			    "the guest halted with interrupts disabled "
			    "(powered off)");
		return;
	}
	uchip_timer(m, now);
	if (vmc_pic_pending(&m->pic))
		return;
	if (next && next < until)
		until = next;
	ts.tv_sec = (time_t)(until / 1000000000ULL);
	ts.tv_nsec = (long)(until % 1000000000ULL);
	/* the tick's signal ends it early; the loop looks at the time */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	uchip_timer(m, vmc_pit_now());
}
