/* The VM on /dev/kvm (the kernel's Documentation/virt/kvm/api.rst): one
 * vCPU, guest RAM at 0, KVM's in-kernel PIC, I/O APIC, local APIC and PIT
 * (UEFI runs: ours, kvm-uchip.c), SeaBIOS, OVMF (ovmf-rom.c) or a
 * bzImage, and the run loop that hands port I/O to the board
 * (machine.c).  The whole run happens in a child process of its own
 * (sandbox.c) under a seccomp allow-list installed before the first
 * KVM_RUN; vmconv, the parent, runs the console callbacks and is the
 * watchdog.  A per-thread POSIX timer kicks KVM_RUN out every 50 ms to
 * check the timeout, whether the guest halted for good (or lost a
 * wake-up, see kvm_check_halt), and the VGA text screen.  Exits are what a nested run
 * pays most for, so the serial port's THR writes are batched through a
 * coalesced PIO ring while nothing waits on their interrupts.
 *
 * Measured in the nested appliance on this machine (QEMU TCG with SVM,
 * kvm_amd inside), the tiny syslinux guest reaches its userspace marker
 * in about 13 s both by direct kernel boot and by SeaBIOS through
 * virtio-blk (tests/tools/vmm-run.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"
#include "validate/vmm/kvm.h"

#define DEFAULT_MEM_MIB 512
#define MAX_MEM_MIB 3072		/* RAM stays below the PCI hole */
#define TICK_NS (50 * 1000 * 1000)
#define TICK_MS (TICK_NS / 1000000)
/* With the PIT in user space the tick is also when IRQ 0 can be raised
 * while the guest runs without exits. */
#define UCHIP_TICK_NS (4 * 1000 * 1000)
/* A tick this late never comes: its timer interrupt was lost (see
 * kvm_tick_due()). */
#define TICK_LATE_MS (4 * TICK_MS)
/* Set-up (firmware, kernel and initramfs loading) plus the run loop's own
 * timeout check: past timeout + this, the parent kills the VM process. */
#define WATCHDOG_GRACE_MS 10000

/* The VM thread's kvm_run and tick flag: the handler makes the current
 * or next KVM_RUN return at once (immediate_exit), so a tick that lands
 * while the thread is serving an exit is not lost and a guest that exits
 * all the time still meets its timeout. */
static __thread struct kvm_run *volatile tick_run;
static __thread volatile sig_atomic_t tick_flag;

static void tick_handler(int sig)
{
	(void)sig;
	tick_flag = 1;
	if (tick_run)
		tick_run->immediate_exit = 1;
}

int vmc_kvm_open(struct vmc_kvm *k, struct vmc_error *err)
{
	return vmc_kvm_open_at(k, 0xfffbd000UL, err);
}

int vmc_kvm_open_at(struct vmc_kvm *k, uint64_t tss, struct vmc_error *err)
{
	int r;

	memset(k, 0, sizeof(*k));
	k->kvm = k->vm = k->vcpu = -1;
	k->stats_fd = -1;
	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		return vmc_error_errno(err, errno, "/dev/kvm");
	r = ioctl(k->kvm, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		vmc_error_set(err, ENOTSUP, "/dev/kvm: API version %d, not %d",
			      r, KVM_API_VERSION);
		goto fail;
	}
	k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (k->vm < 0) {
		vmc_error_errno(err, errno, "/dev/kvm: cannot create a VM");
		goto fail;
	}
	if (ioctl(k->vm, KVM_SET_TSS_ADDR, (unsigned long)tss) < 0) {
		vmc_error_errno(err, errno, "KVM_SET_TSS_ADDR");
		goto fail;
	}
	uint64_t idmap = tss - 0x1000;
	ioctl(k->vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	k->readonly_mem = ioctl(k->kvm, KVM_CHECK_EXTENSION,
				KVM_CAP_READONLY_MEM) > 0;
	return 0;
fail:
	vmc_kvm_close(k);
	return -1;
}

void vmc_kvm_close(struct vmc_kvm *k)
{
	vmc_kvm_stats_close(k);
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->vcpu >= 0)
		close(k->vcpu);
	if (k->vm >= 0)
		close(k->vm);
	if (k->kvm >= 0)
		close(k->kvm);
	k->run = NULL;
	k->kvm = k->vm = k->vcpu = -1;
}

int vmc_kvm_map(struct vmc_kvm *k, unsigned slot, uint64_t gpa, void *host,
		uint64_t size, bool readonly, struct vmc_error *err)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = readonly && k->readonly_mem ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return vmc_error_errno(err, errno,
				       "KVM_SET_USER_MEMORY_REGION (0x%llx, %llu bytes)",
				       (unsigned long long)gpa,
				       (unsigned long long)size);
	return 0;
}

/* No local APIC, x2APIC or TSC deadline timer (leaves 1, 0x80000001). */
static void cpuid_no_apic(struct kvm_cpuid_entry2 *e)
{
	if (e->function == 1) {
		e->edx &= ~(1u << 9);
		e->ecx &= ~(1u << 21 | 1u << 24);
	} else if (e->function == 0x80000001) {
		e->edx &= ~(1u << 9);
	}
}

int vmc_kvm_create_vcpu(struct vmc_kvm *k, struct vmc_error *err)
{
	struct kvm_cpuid2 *cpuid;
	int n = 256;

	k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
	if (k->vcpu < 0)
		return vmc_error_errno(err, errno, "KVM_CREATE_VCPU");
	int sz = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return vmc_error_errno(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	k->run_size = (size_t)sz;
	k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      k->vcpu, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return vmc_error_errno(err, errno, "cannot map kvm_run");
	}
	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return vmc_error_set(err, ENOMEM, "no memory");
	cpuid->nent = n;
	if (ioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
		/* KVM leaves the "running on a hypervisor" bit to the VMM;
		 * without it Linux never looks at the KVM leaves (kvmclock,
		 * paravirtual features) and cannot calibrate its clocks. */
		for (unsigned i = 0; i < cpuid->nent; i++)
			if (cpuid->entries[i].function == 1)
				cpuid->entries[i].ecx |= 1u << 31;
		/* without KVM's local APIC, none is offered (lapic.c) */
		for (unsigned i = 0; k->uchip && i < cpuid->nent; i++)
			cpuid_no_apic(&cpuid->entries[i]);
		/* A paravirtual KVM refuses CPUID changes; the self-test
		 * reports it. */
		if (ioctl(k->vcpu, KVM_SET_CPUID2, cpuid) < 0)
			k->cpuid_fixed = true;
	}
	free(cpuid);
	return 0;
}

/* LINT0 as ExtINT and LINT1 as NMI, as QEMU resets the boot CPU's local
 * APIC, so the PIC's interrupts reach the CPU before the guest programs
 * the APIC. */
static void kvm_lapic_virtual_wire(struct vmc_kvm *k)
{
	struct kvm_lapic_state l;

	if (ioctl(k->vcpu, KVM_GET_LAPIC, &l) < 0)
		return;
	vmc_put_le32(l.regs + 0x350, 0x700);
	vmc_put_le32(l.regs + 0x360, 0x400);
	ioctl(k->vcpu, KVM_SET_LAPIC, &l);
}

#define RING_PAGE 4096
#define RING_MAX ((RING_PAGE - sizeof(struct kvm_coalesced_mmio_ring)) / \
		  sizeof(struct kvm_coalesced_mmio))

/* The serial port's THR as a coalesced PIO zone (KVM_CAP_COALESCED_PIO):
 * KVM queues the writes in a ring shared with us instead of exiting. */
static void kvm_set_batching(void *opaque, bool on)
{
	struct vmc_kvm *k = opaque;
	struct kvm_coalesced_mmio_zone z = {
		.addr = VMC_SERIAL_BASE, .size = 1, .pio = 1,
	};

	if (!k->ring_ok)
		return;
	ioctl(k->vm, on ? KVM_REGISTER_COALESCED_MMIO :
	      KVM_UNREGISTER_COALESCED_MMIO, &z);
}

/* Replay the batched writes, in order, before anything else the guest
 * did after them. */
static void kvm_drain_ring(struct vmc_kvm *k, struct vmc_machine *m)
{
	struct kvm_coalesced_mmio_ring *r = k->ring;

	if (!k->ring_ok)
		return;
	while (r->first != r->last) {
		uint32_t i = r->first;
		struct kvm_coalesced_mmio e;

		if (i >= RING_MAX)
			break;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		e = r->coalesced_mmio[i];
		if (e.pio && e.len >= 1 && e.len <= 4 && e.phys_addr < 0x10000)
			vmc_machine_pio(m, (uint16_t)e.phys_addr, true, e.data,
					e.len);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		r->first = (uint32_t)((i + 1) % RING_MAX);
	}
}

static void kvm_set_irq(void *opaque, unsigned gsi, int level)
{
	struct vmc_kvm *k = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	ioctl(k->vm, KVM_IRQ_LINE, &irq);
}

static int kvm_boot_kernel(struct vmc_kvm *k, const struct vmc_boot_state *bs,
			   struct vmc_error *err)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10,
		.type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1,
		.g = 1,
	};
	struct kvm_segment ds = cs;

	if (ioctl(k->vcpu, KVM_GET_SREGS, &s) < 0)
		return vmc_error_errno(err, errno, "KVM_GET_SREGS");
	ds.selector = 0x18;
	ds.type = 3;
	ds.l = 0;
	ds.db = 1;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = bs->gdt;
	s.gdt.limit = 31;
	s.cr0 = 0x80050033;		/* PG, AM, WP, NE, ET, MP, PE */
	s.cr3 = bs->cr3;
	s.cr4 = 0x20;			/* PAE */
	s.efer = 0x500;			/* LME, LMA */
	if (ioctl(k->vcpu, KVM_SET_SREGS, &s) < 0)
		return vmc_error_errno(err, errno, "KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rip = bs->rip;
	r.rsi = bs->rsi;
	r.rsp = bs->rsp;
	r.rflags = 0x2;
	if (ioctl(k->vcpu, KVM_SET_REGS, &r) < 0)
		return vmc_error_errno(err, errno, "KVM_SET_REGS");
	/* What firmware would have done: MTRRs on, memory write-back by
	 * default (as Firecracker's boot MSRs).  Left at reset, every page
	 * is uncached and the kernel turns PAT off. */
	{
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e[1];
		} m;

		memset(&m, 0, sizeof(m));
		m.h.nmsrs = 1;
		m.e[0].index = 0x2ff;		/* IA32_MTRR_DEF_TYPE */
		m.e[0].data = 1u << 11 | 6;	/* enabled, WB */
		if (ioctl(k->vcpu, KVM_SET_MSRS, &m) != 1)
			return vmc_error_errno(err, errno, "KVM_SET_MSRS"
					       " (IA32_MTRR_DEF_TYPE)");
	}
	return 0;
}

static unsigned elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned)((t.tv_sec - t0->tv_sec) * 1000 +
			  (t.tv_nsec - t0->tv_nsec) / 1000000);
}

int vmc_kvm_start_ticker(struct vmc_kvm *k, struct vmc_error *err)
{
	struct sigaction sa;
	struct sigevent sev;
	long ns = k->tick_ns ? k->tick_ns : TICK_NS;
	struct itimerspec its = {
		.it_interval = { 0, ns },
		.it_value = { 0, ns },
	};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tick_handler;	/* no SA_RESTART: KVM_RUN returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VMC_KVM_TICK_SIGNAL, &sa, NULL) < 0)
		return vmc_error_errno(err, errno, "sigaction");
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = VMC_KVM_TICK_SIGNAL;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &k->timer) < 0)
		return vmc_error_errno(err, errno, "timer_create");
	k->timer_ok = true;
	if (timer_settime(k->timer, 0, &its, NULL) < 0)
		return vmc_error_errno(err, errno, "timer_settime");
	return 0;
}

/* Whether the tick's work is due: its signal came, or it is so late that
 * it never will.  Under QEMU's software SVM (the nested engine) the
 * hostile "pokes" guest sometimes left the appliance busy with no console
 * flush, no timeout and no watchdog kill until the host gave up: most
 * likely a timer interrupt of the appliance's kernel was lost (as wake-ups
 * are, see kvm_check_halt()), and a tickless kernel then never programs
 * its timer again, so neither our tick signal nor the parent's deadline
 * (a timer too) ever comes.  The clock
 * still runs, so every exit looks at it; re-arming our timer (the
 * kernel's next one, which cancelling reprograms) brings the timer
 * interrupts back for everyone. */
static bool kvm_tick_due(struct vmc_kvm *k, const struct timespec *t0)
{
	unsigned now = elapsed_ms(t0);
	long ns = k->tick_ns ? k->tick_ns : TICK_NS;
	struct itimerspec its = {
		.it_interval = { 0, ns },
		.it_value = { 0, ns },
	};

	if (tick_flag) {
		tick_flag = 0;
		k->next_tick_ms = now + TICK_MS;
		return true;
	}
	if (now < k->next_tick_ms + TICK_LATE_MS)
		return false;
	k->late_ticks++;
	k->next_tick_ms = now + TICK_MS;
	if (k->timer_ok)
		timer_settime(k->timer, 0, &its, NULL);
	return true;
}

void vmc_kvm_stop_ticker(struct vmc_kvm *k)
{
	if (k->timer_ok)
		timer_delete(k->timer);
	k->timer_ok = false;
}

/* Whether an interrupt the halted vCPU should take is pending: an
 * unmasked request in a PIC (reaching the CPU through LINT0) or a vector
 * in the local APIC's IRR above the processor priority. */
static bool kvm_irq_pending(struct vmc_kvm *k)
{
	struct kvm_irqchip pic = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_lapic_state l;

	if (ioctl(k->vm, KVM_GET_IRQCHIP, &pic) == 0 &&
	    (pic.chip.pic.irr & ~pic.chip.pic.imr) & ~pic.chip.pic.isr)
		return true;
	if (ioctl(k->vcpu, KVM_GET_LAPIC, &l) < 0)
		return false;
	uint32_t ppr = vmc_get_le32(l.regs + 0xa0) & 0xf0;
	for (int i = 7; i >= 0; i--) {
		uint32_t irr = vmc_get_le32(l.regs + 0x200 + 16 * i);

		if (irr)
			return (uint32_t)(i * 32 + 31 - __builtin_clz(irr)) >
			       ppr + 15;
	}
	return false;
}

/* Called on every tick while the guest runs.  Halted with interrupts off:
 * only an NMI could wake it and none comes: Linux's "System halted" or
 * power-off without ACPI, so the run ends.  Halted with interrupts on and
 * an interrupt pending for several ticks: a wake-up was lost.  That does
 * not happen on hardware KVM, but does with KVM nested on QEMU's software
 * SVM (the nested engine), where the guest would sleep forever; making the
 * vCPU runnable lets KVM inject the interrupt on the next entry (a spurious
 * return from HLT is harmless). */
static void kvm_check_halt(struct vmc_kvm *k, struct vmc_machine *m)
{
	struct kvm_mp_state mp;
	struct kvm_regs r;

	if (ioctl(k->vcpu, KVM_GET_MP_STATE, &mp) < 0 ||
	    mp.mp_state != KVM_MP_STATE_HALTED ||
	    ioctl(k->vcpu, KVM_GET_REGS, &r) < 0) {
		k->stuck_ticks = 0;
		return;
	}
	if (!(r.rflags & 0x200)) {
		vmc_vm_fail(&m->vm, VMC_VM_POWEROFF,
			    "the guest halted with interrupts disabled "
			    "(powered off)");
		return;
	}
	if (!kvm_irq_pending(k)) {
		k->stuck_ticks = 0;
		return;
	}
	if (++k->stuck_ticks < 2)
		return;
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	ioctl(k->vcpu, KVM_SET_MP_STATE, &mp);
	k->stuck_ticks = 0;
	k->wakeups++;
	m->vm.stats.n[VMC_STAT_WAKEUPS]++;
}

static void kvm_exit_io(struct vmc_machine *m, struct vmc_kvm *k)
{
	struct kvm_run *run = k->run;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	if (run->io.data_offset > k->run_size ||
	    bytes > k->run_size - run->io.data_offset ||
	    (run->io.size != 1 && run->io.size != 2 && run->io.size != 4)) {
		vmc_vm_fail(&m->vm, VMC_VM_GUEST_ERROR,
			    "malformed port I/O exit (port 0x%x)",
			    run->io.port);
		return;
	}
	for (uint32_t i = 0; i < run->io.count && !m->vm.stop; i++)
		vmc_machine_pio(m, run->io.port,
				run->io.direction == KVM_EXIT_IO_OUT,
				data + i * run->io.size, run->io.size);
}

static const char *kvm_reason_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_FAIL_ENTRY: return "the CPU refused to enter the guest";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM internal error";
	default: return "unexpected KVM exit";
	}
}

int vmc_kvm_loop(struct vmc_kvm *k, struct vmc_machine *m,
		 unsigned timeout_ms, const struct timespec *t0)
{
	struct kvm_run *run = k->run;

	tick_run = run;
	while (!m->vm.stop) {
		int rc;

		if (k->uchip)
			vmc_kvm_uchip_inject(k, m);
		rc = ioctl(k->vcpu, KVM_RUN, 0);

		if (rc < 0 && errno == EINTR)
			m->vm.stats.n[VMC_STAT_KICKS]++;
		if (rc < 0 && errno != EINTR && errno != EAGAIN) {
			vmc_vm_fail(&m->vm, VMC_VM_GUEST_ERROR,
				    "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		kvm_drain_ring(k, m);
		if (kvm_tick_due(k, t0)) {
			run->immediate_exit = 0;
			vmc_serial_flush(&m->serial);
			if (++k->ticks % 5 == 0)
				vmc_machine_screen(m, false);
			if (timeout_ms && elapsed_ms(t0) >= timeout_ms) {
				vmc_vm_fail(&m->vm, VMC_VM_TIMEOUT,
					    "timed out after %u s",
					    (timeout_ms + 999) / 1000);
				break;
			}
			if (!k->uchip)
				kvm_check_halt(k, m);
		}
		if (rc < 0)
			continue;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			m->vm.stats.n[vmc_machine_port_stat(m,
							    run->io.port)]++;
			kvm_exit_io(m, k);
			break;
		case KVM_EXIT_MMIO:
			m->vm.stats.n[VMC_STAT_MMIO]++;
			vmc_machine_mmio(m, run->mmio.phys_addr,
					 run->mmio.is_write, run->mmio.data,
					 run->mmio.len <= 8 ? run->mmio.len : 8);
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:	/* user-space irqchip: */
		case KVM_EXIT_SET_TPR:		/* nothing to do here */
			if (!k->uchip)
				goto unexpected;
			break;
		case KVM_EXIT_INTR:
			m->vm.stats.n[VMC_STAT_KICKS]++;
			break;
		case KVM_EXIT_HLT:
			if (k->uchip)
				vmc_kvm_uchip_halt(k, m);
			else
				vmc_vm_fail(&m->vm, VMC_VM_POWEROFF,
					    "the guest halted");
			break;
		case KVM_EXIT_SHUTDOWN:
			vmc_vm_fail(&m->vm, VMC_VM_TRIPLE_FAULT,
				    "triple fault (the CPU shut down)");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vmc_vm_fail(&m->vm, VMC_VM_RESET,
					    "the guest reset the machine");
			else
				vmc_vm_fail(&m->vm, VMC_VM_POWEROFF,
					    "the guest powered off");
			break;
		case KVM_EXIT_INTERNAL_ERROR: {
			struct kvm_regs r = { 0 };
			struct kvm_sregs s = { 0 };

			ioctl(k->vcpu, KVM_GET_REGS, &r);
			ioctl(k->vcpu, KVM_GET_SREGS, &s);
			vmc_vm_fail(&m->vm, VMC_VM_GUEST_ERROR,
				    "%s (suberror %u%s) at %04x:%llx "
				    "(cr0 0x%llx, efer 0x%llx)",
				    kvm_reason_name(run->exit_reason),
				    run->internal.suberror,
				    run->internal.suberror ==
				    KVM_INTERNAL_ERROR_EMULATION ?
				    ": an instruction KVM cannot emulate" : "",
				    s.cs.selector, (unsigned long long)r.rip,
				    (unsigned long long)s.cr0,
				    (unsigned long long)s.efer);
			break;
		}
		default:
unexpected:
			vmc_vm_fail(&m->vm, VMC_VM_GUEST_ERROR, "%s (%u)",
				    kvm_reason_name(run->exit_reason),
				    run->exit_reason);
		}
	}
	tick_run = NULL;
	kvm_drain_ring(k, m);
	vmc_machine_flush(m);
	vmc_machine_screen(m, true);
	return 0;
}

struct run_args {
	const struct vmc_vm_blob *blobs;
	unsigned nblobs;
};

static int kvm_boot_code(struct vmc_kvm *k, struct vmc_mem *mem,
			 const struct vmc_vm_blob *blobs, unsigned nblobs,
			 struct vmc_error *err)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	for (unsigned i = 0; i < nblobs; i++)
		if (!vmc_mem_write(mem, blobs[i].gpa, blobs[i].data,
				   blobs[i].len))
			return vmc_error_set(err, EINVAL, "blob %u outside RAM",
					     i);
	if (ioctl(k->vcpu, KVM_GET_SREGS, &s) < 0)
		return vmc_error_errno(err, errno, "KVM_GET_SREGS");
	s.cs.selector = 0;
	s.cs.base = 0;
	if (ioctl(k->vcpu, KVM_SET_SREGS, &s) < 0)
		return vmc_error_errno(err, errno, "KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rip = 0x7c00;
	r.rsp = 0x7000;
	r.rflags = 2;
	if (ioctl(k->vcpu, KVM_SET_REGS, &r) < 0)
		return vmc_error_errno(err, errno, "KVM_SET_REGS");
	return 0;
}

/* Firmware (SeaBIOS or OVMF, mapped read-only below 4 GiB), a kernel, or
 * the tests' code blobs, into the machine before its vCPU exists. */
static int vm_load(struct vmc_kvm *k, struct vmc_machine *m,
		   const struct vmc_vm_config *cfg, bool blobs,
		   struct vmc_boot_state *bs, uint8_t **rom, size_t *rom_len,
		   struct vmc_error *err)
{
	if (blobs) {
		vmc_pci_assign(&m->pci);
		return 0;
	}
	if (cfg->boot == VMC_BOOT_KERNEL) {
		if (vmc_bzimage_load(&m->vm.mem, cfg->kernel, cfg->initrd,
				     cfg->cmdline, bs, err) < 0)
			return -1;
		vmc_pci_assign(&m->pci);
		return 0;
	}
	if (cfg->uefi ? vmc_ovmf_load(&m->vm.mem, cfg->bios, cfg->bios_vars,
				      rom, rom_len, err) :
	    vmc_bios_load(&m->vm.mem, cfg->bios, rom, rom_len, err))
		return -1;
	return vmc_kvm_map(k, 1, (1ULL << 32) - *rom_len, *rom, *rom_len,
			   true, err);
}

/* The serial port's THR writes batched through KVM's coalesced PIO ring,
 * where KVM has one. */
static void vm_batching(struct vmc_kvm *k, struct vmc_machine *m)
{
	if (ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0 ||
	    ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) !=
	    KVM_COALESCED_MMIO_PAGE_OFFSET ||
	    k->run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * RING_PAGE ||
	    sysconf(_SC_PAGESIZE) != RING_PAGE)
		return;
	k->ring = (struct kvm_coalesced_mmio_ring *)
		  ((uint8_t *)k->run + KVM_COALESCED_MMIO_PAGE_OFFSET * RING_PAGE);
	k->ring_ok = true;
	m->serial.set_batching = kvm_set_batching;
	m->serial.batching_opaque = k;
	/* IER is 0 at reset: THR-empty interrupts are off. */
	m->serial.batching = true;
	kvm_set_batching(k, true);
}

/* KVM's PIC, I/O APIC, local APIC and PIT. */
static int vm_irqchip(struct vmc_kvm *k, struct vmc_error *err)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(k->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmc_error_errno(err, errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(k->vm, KVM_CREATE_PIT2, &pit) < 0)
		return vmc_error_errno(err, errno, "KVM_CREATE_PIT2");
	return 0;
}

static int vm_run(const struct vmc_vm_config *cfg,
		  const struct vmc_vm_blob *blobs, unsigned nblobs, int chan,
		  struct vmc_vm_result *res, struct vmc_error *err)
{
	struct vmc_machine *m;
	struct vmc_kvm k;
	struct vmc_boot_state bs;
	uint8_t *rom = NULL;
	size_t rom_len = 0;
	uint64_t mib = cfg->mem_mib ? cfg->mem_mib : DEFAULT_MEM_MIB;
	struct timespec t0;
	int ret = -1;

	if (mib < 16 || mib > MAX_MEM_MIB)
		return vmc_error_set(err, EINVAL,
				     "guest RAM of %llu MiB: between 16 and %u",
				     (unsigned long long)mib, MAX_MEM_MIB);
	if (!blobs && cfg->boot == VMC_BOOT_KERNEL && !cfg->kernel)
		return vmc_error_set(err, EINVAL, "kernel boot without a kernel");
	if (!blobs && cfg->boot == VMC_BOOT_FIRMWARE && !cfg->bios)
		return vmc_error_set(err, EINVAL, "firmware boot without a BIOS");
	m = calloc(1, sizeof(*m));
	if (!m)
		return vmc_error_set(err, ENOMEM, "no memory");
	/* OVMF's image reaches down past SeaBIOS's TSS address */
	if (vmc_kvm_open_at(&k, cfg->uefi ? 0xfeffd000UL : 0xfffbd000UL,
			    err) < 0) {
		free(m);
		return -1;
	}
	if (vmc_machine_init(m, cfg, mib << 20, err) < 0)
		goto out_kvm;
	k.uchip = m->uchip;
	if (!k.uchip) {
		if (vm_irqchip(&k, err) < 0)
			goto out_machine;
		m->vm.set_irq = kvm_set_irq;
		m->vm.irq_opaque = &k;
	}
	if (vmc_kvm_map(&k, 0, 0, m->vm.mem.ram, m->vm.mem.size, false,
			err) < 0 ||
	    vm_load(&k, m, cfg, blobs != NULL, &bs, &rom, &rom_len, err) < 0 ||
	    vmc_kvm_create_vcpu(&k, err) < 0)
		goto out_machine;
	vmc_kvm_stats_open(&k);
	m->vm.read_stats = vmc_kvm_stats_read;
	m->vm.stats_opaque = &k;
	vm_batching(&k, m);
	if (k.uchip) {
		k.tick_ns = UCHIP_TICK_NS;
		if (vmc_kvm_uchip_setup(&k, err) < 0)
			goto out_machine;
	} else {
		kvm_lapic_virtual_wire(&k);
	}
	if (blobs) {
		if (kvm_boot_code(&k, &m->vm.mem, blobs, nblobs, err) < 0)
			goto out_machine;
	} else if (cfg->boot == VMC_BOOT_KERNEL &&
		   kvm_boot_kernel(&k, &bs, err) < 0) {
		goto out_machine;
	}
	if (vmc_kvm_start_ticker(&k, err) < 0)
		goto out_timer;
	if (vmc_seccomp_install(k.vm, k.vcpu, chan, err) < 0)
		goto out_timer;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	vmc_kvm_loop(&k, m, cfg->timeout_ms, &t0);
	res->exit = m->vm.exit;
	snprintf(res->reason, sizeof(res->reason), "%s", m->vm.reason);
	res->elapsed_ms = elapsed_ms(&t0);
	vmc_kvm_stats_read(&k, &m->vm.stats);
	res->stats = m->vm.stats;
	ret = 0;
out_timer:
	vmc_kvm_stop_ticker(&k);
out_machine:
	vmc_machine_free(m);
out_kvm:
	vmc_kvm_close(&k);
	if (rom)
		munmap(rom, rom_len);
	free(m);
	return ret;
}

/* In the VM process (sandbox.c). */
static int run_body(void *arg, int chan, const struct vmc_vm_config *cfg,
		    struct vmc_vm_result *res, struct vmc_error *err)
{
	struct run_args *a = arg;

	return vm_run(cfg, a->blobs, a->nblobs, chan, res, err);
}

static int run_in_child(const struct vmc_vm_config *cfg, struct run_args *a,
			struct vmc_vm_result *res, struct vmc_error *err)
{
	unsigned limit = cfg->timeout_ms ?
			 cfg->timeout_ms + WATCHDOG_GRACE_MS : 0;

	memset(res, 0, sizeof(*res));
	return vmc_sandbox_run(cfg, run_body, a, limit, res, err);
}

int vmc_vm_run_code(const struct vmc_vm_config *cfg,
		    const struct vmc_vm_blob *blobs, unsigned nblobs,
		    struct vmc_vm_result *res, struct vmc_error *err)
{
	struct run_args a = { .blobs = blobs, .nblobs = nblobs };

	if (!nblobs)
		return vmc_error_set(err, EINVAL, "no guest code");
	return run_in_child(cfg, &a, res, err);
}

int vmc_vm_run(const struct vmc_vm_config *cfg, struct vmc_vm_result *res,
	       struct vmc_error *err)
{
	struct run_args a = { 0 };

	return run_in_child(cfg, &a, res, err);
}
