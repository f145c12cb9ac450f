/* The built-in VMM's interface, between the VM (validate/vmm/, the machine
 * and its devices) and the validator (the other validate/ files: engines,
 * stages, verdicts, the `vmconv validate` command).
 *
 * vmc_vm_run() boots one guest on /dev/kvm and returns when it powers off,
 * resets, triple-faults, the console callback asks it to stop, the guest
 * misbehaves, or the timeout passes.  Guest misbehaviour is the guest's
 * failure (VMC_VM_GUEST_ERROR with a reason), never a crash of the VMM.
 *
 * The run happens in a child process (validate/vmm/sandbox.c) under a
 * seccomp allow-list (validate/vmm/seccomp.c) for the whole process; the
 * callbacks below run in the calling process, unconfined, as the child's
 * messages arrive.  A child still running 10 s past the timeout is killed;
 * one that breaks its allow-list dies and the run is the guest's error
 * ("guest-facing VMM violated its sandbox: syscall N (name)").
 */
#ifndef VMC_VALIDATE_VM_H
#define VMC_VALIDATE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmconv/image.h>

enum vmc_vm_bus { VMC_BUS_VIRTIO, VMC_BUS_IDE };

/* What the run's exits cost, counted since the VM started: the exits that
 * reach the VMM, by the device they are for (a string instruction that
 * moves a whole sector is one exit), and KVM's own per-vCPU counters
 * (KVM_GET_STATS_FD), which include the exits the kernel handles itself
 * (its PIC, PIT and local APIC, page faults, interrupt windows).  Under
 * the nested engine every one of them is a world switch emulated by QEMU,
 * the main cost of a boot there. */
enum vmc_vm_stat {
	VMC_STAT_SERIAL,		/* 0x3f8-0x3ff */
	VMC_STAT_IDE_DATA,		/* 0x1f0 */
	VMC_STAT_IDE_CMD,		/* 0x1f1-0x1f7, 0x3f6 */
	VMC_STAT_IDE_BM,		/* the bus-master (DMA) registers */
	VMC_STAT_VIRTIO_NOTIFY,		/* virtio-blk queue notify */
	VMC_STAT_VIRTIO,		/* its other registers */
	VMC_STAT_PCI_CFG,		/* 0xcf8-0xcff */
	VMC_STAT_FWCFG,			/* 0x510-0x511 */
	VMC_STAT_CMOS,			/* 0x70-0x71 */
	VMC_STAT_DEBUG_PORT,		/* 0x402 */
	VMC_STAT_OTHER_IO,
	VMC_STAT_MMIO,
	VMC_STAT_KICKS,			/* KVM_RUN stopped by our tick */
	VMC_STAT_WAKEUPS,		/* lost wake-ups repaired (kvm.c) */
	VMC_STAT_KVM_EXITS,		/* all of them, the kernel's too */
	VMC_STAT_KVM_IO,
	VMC_STAT_KVM_MMIO,
	VMC_STAT_KVM_HALT,
	VMC_STAT_KVM_IRQ_EXITS,		/* host interrupts */
	VMC_STAT_KVM_IRQ_WINDOW,
	VMC_STAT_KVM_IRQ_INJECTIONS,
	VMC_STAT_KVM_EMULATED,		/* instructions KVM emulated */
	VMC_STAT_KVM_PAGE_FAULTS,
	VMC_STAT_KVM_HALT_NS,		/* time halted, waiting (ns) */
	VMC_STAT_COUNT
};

struct vmc_vm_stats {
	uint64_t n[VMC_STAT_COUNT];
	bool kvm;			/* the VMC_STAT_KVM_* ones are known */
};

/* The report's name of a counter ("serial", "ide_data", "kvm_exits"). */
const char *vmc_vm_stat_name(enum vmc_vm_stat s);
enum vmc_vm_boot { VMC_BOOT_FIRMWARE, VMC_BOOT_KERNEL };

struct vmc_vm_config {
	/* The disk, read through vmconv's format drivers; guest writes go
	 * to a copy-on-write overlay in memory that is thrown away. */
	struct vmc_image *disk;
	enum vmc_vm_bus bus;
	enum vmc_vm_boot boot;
	const char *bios;		/* SeaBIOS bios.bin (firmware boot) */
	/* UEFI firmware boot: bios is OVMF's code image (or the single
	 * OVMF.fd), bios_vars its variable store template or NULL; the
	 * machine gets the PIIX4 power-management function OVMF needs. */
	bool uefi;
	const char *bios_vars;
	const char *kernel;		/* bzImage (kernel boot) */
	const char *initrd;		/* optional */
	const char *cmdline;		/* optional */
	uint64_t mem_mib;		/* guest RAM; 0 = 512 */
	unsigned timeout_ms;		/* 0 = no limit */
	/* Serial (and VGA text, if modelled) output as it arrives; return
	 * true to stop the VM (the validator has seen enough). */
	bool (*on_console)(void *ctx, const char *buf, size_t len);
	void *ctx;
	/* SeaBIOS debug port 0x402 output, or NULL. */
	void (*on_debug)(void *ctx, const char *buf, size_t len);
	/* Optional: the VGA text screen (80x25 character/attribute cells at
	 * 0xb8000, low byte the character) whenever it changed, checked
	 * every 250 ms, and once more with final set when the VM stopped;
	 * return true to stop the VM.  For guests whose console is only on
	 * the screen. */
	bool (*on_screen)(void *ctx, const uint16_t *cells, bool final);
	/* Optional: the exit counts so far, given just before each
	 * on_console and on_debug call (so a watcher can split them by
	 * boot stage). */
	void (*on_stats)(void *ctx, const struct vmc_vm_stats *s);
};

enum vmc_vm_exit {
	VMC_VM_POWEROFF,	/* guest powered off or halted for good */
	VMC_VM_RESET,		/* i8042 / port 0x92 / 0xcf9 reset */
	VMC_VM_TRIPLE_FAULT,	/* KVM_EXIT_SHUTDOWN */
	VMC_VM_TIMEOUT,
	VMC_VM_STOPPED,		/* on_console returned true */
	VMC_VM_GUEST_ERROR,	/* hostile or broken guest; see reason */
};

struct vmc_vm_result {
	enum vmc_vm_exit exit;
	char reason[256];	/* words for a sysadmin */
	unsigned elapsed_ms;
	struct vmc_vm_stats stats;	/* at the end of the run */
};

/* Returns 0 with *res filled whatever the guest did; -1 only when the VM
 * could not be set up (no /dev/kvm, bad bios file, ...). */
int vmc_vm_run(const struct vmc_vm_config *cfg, struct vmc_vm_result *res,
	       struct vmc_error *err);

/* The direct engine's self-test: a tiny guest that switches modes, runs a
 * timed loop in kernel mode and the instructions a stock kernel uses.
 * 0 with *usable set (and a reason when false), -1 if /dev/kvm is absent
 * or unusable. */
int vmc_vm_selftest(bool *usable, char *reason, size_t reason_len,
		    struct vmc_error *err);

#endif
