/* The built-in VMM's machine: guest memory, the devices and the board
 * that wires them together.
 *
 * Every device is a plain struct with port-I/O handlers that are ordinary
 * functions, so the unit tests drive them without /dev/kvm: a test builds
 * a struct vmc_vmctx over a malloc'd "guest RAM", an IRQ callback that
 * records levels, and calls the handlers the way KVM_EXIT_IO would.
 *
 * The guest is hostile.  Devices touch guest memory only through
 * vmc_mem_ptr()/vmc_mem_read()/vmc_mem_write(), which check every
 * [address, address + length) against RAM, and report misbehaviour with
 * vmc_vm_fail(), which stops the run with VMC_VM_GUEST_ERROR and a reason.
 */
#ifndef VMC_VALIDATE_VMM_H
#define VMC_VALIDATE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vmconv/image.h>

#include "validate/vm.h"

/* ---- guest memory (memory.c) ---- */

struct vmc_mem {
	uint8_t *ram;			/* host mapping of guest [0, size) */
	uint64_t size;
};

/* Map size bytes of anonymous, zeroed guest RAM. */
int vmc_mem_init(struct vmc_mem *m, uint64_t size, struct vmc_error *err);
void vmc_mem_free(struct vmc_mem *m);
/* Host pointer to guest [gpa, gpa + len), or NULL unless all of it is RAM
 * (overflow-safe; len 0 is allowed anywhere up to the end). */
void *vmc_mem_ptr(const struct vmc_mem *m, uint64_t gpa, uint64_t len);
bool vmc_mem_read(const struct vmc_mem *m, uint64_t gpa, void *buf,
		  size_t len);
bool vmc_mem_write(const struct vmc_mem *m, uint64_t gpa, const void *buf,
		   size_t len);

/* ---- the run's shared state ---- */

struct vmc_vmctx {
	struct vmc_mem mem;
	/* Set a (GSI) interrupt line's level. */
	void (*set_irq)(void *opaque, unsigned gsi, int level);
	void *irq_opaque;
	/* Console and debug-port sinks (from struct vmc_vm_config). */
	bool (*on_console)(void *ctx, const char *buf, size_t len);
	void (*on_debug)(void *ctx, const char *buf, size_t len);
	bool (*on_screen)(void *ctx, const uint16_t *cells, bool final);
	void (*on_stats)(void *ctx, const struct vmc_vm_stats *s);
	void *ctx;
	/* Exit counts (kvm.c counts, and reads KVM's own through
	 * read_stats); handed to on_stats before each console or debug
	 * line by vmc_vm_stats_out(). */
	struct vmc_vm_stats stats;
	void (*read_stats)(void *opaque, struct vmc_vm_stats *s);
	void *stats_opaque;
	/* Set once, by the first reason to stop. */
	bool stop;
	enum vmc_vm_exit exit;
	char reason[256];
};

/* Stop the run (the first call wins) with an exit kind and a reason. */
void vmc_vm_fail(struct vmc_vmctx *vm, enum vmc_vm_exit exit,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vmc_vm_irq(struct vmc_vmctx *vm, unsigned gsi, int level);
/* Refresh the exit counts and hand them to on_stats, if any. */
void vmc_vm_stats_out(struct vmc_vmctx *vm);

/* ---- 16550 UART (serial.c) ---- */

#define VMC_SERIAL_BASE 0x3f8
#define VMC_SERIAL_IRQ 4

struct vmc_serial {
	struct vmc_vmctx *vm;
	uint16_t base;
	unsigned irq;
	uint8_t rbr, ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
	bool thr_ipending;
	int irq_level;
	char out[512];			/* line buffer for on_console */
	size_t out_len;
	/* Asked to batch THR writes (no exit per byte) while nothing
	 * depends on their timing: THR-empty interrupts off. */
	void (*set_batching)(void *opaque, bool on);
	void *batching_opaque;
	bool batching;
};

void vmc_serial_init(struct vmc_serial *s, struct vmc_vmctx *vm,
		     uint16_t base, unsigned irq);
void vmc_serial_io(struct vmc_serial *s, uint16_t off, bool write,
		   uint8_t *val);
/* Hand what is buffered to on_console. */
void vmc_serial_flush(struct vmc_serial *s);

/* ---- QEMU fw_cfg, traditional I/O interface (fw_cfg.c) ---- */

#define VMC_FWCFG_PORT_SEL 0x510
#define VMC_FWCFG_PORT_DATA 0x511

#define VMC_FWCFG_SIGNATURE	0x00
#define VMC_FWCFG_ID		0x01
#define VMC_FWCFG_UUID		0x02
#define VMC_FWCFG_RAM_SIZE	0x03
#define VMC_FWCFG_NOGRAPHIC	0x04
#define VMC_FWCFG_NB_CPUS	0x05
#define VMC_FWCFG_BOOT_MENU	0x0e
#define VMC_FWCFG_MAX_CPUS	0x0f
#define VMC_FWCFG_FILE_DIR	0x19
#define VMC_FWCFG_FILE_FIRST	0x20
#define VMC_FWCFG_MAX_ITEMS	48
#define VMC_FWCFG_NAME_MAX	56

struct vmc_fwcfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
	char name[VMC_FWCFG_NAME_MAX];	/* files only */
};

struct vmc_fwcfg {
	struct vmc_fwcfg_item items[VMC_FWCFG_MAX_ITEMS];
	unsigned n;
	unsigned nfiles;
	uint16_t sel;
	uint32_t off;
};

void vmc_fwcfg_init(struct vmc_fwcfg *f);
void vmc_fwcfg_free(struct vmc_fwcfg *f);
/* Add a numbered item or a named file (copied); rebuilds the directory. */
int vmc_fwcfg_add(struct vmc_fwcfg *f, uint16_t key, const void *data,
		  uint32_t len);
int vmc_fwcfg_add_file(struct vmc_fwcfg *f, const char *name,
		       const void *data, uint32_t len);
/* The items SeaBIOS needs on a machine with mem bytes of RAM: signature,
 * id, RAM size, nographic, CPU counts, etc/e820, boot order. */
int vmc_fwcfg_setup(struct vmc_fwcfg *f, uint64_t mem, unsigned ncpus);
void vmc_fwcfg_io(struct vmc_fwcfg *f, uint16_t port, bool write,
		  uint8_t *data, unsigned size);

/* ---- RTC and CMOS (cmos.c) ---- */

struct vmc_cmos {
	uint8_t index;
	uint8_t ram[128];
};

void vmc_cmos_init(struct vmc_cmos *c, uint64_t mem, unsigned ncpus);
void vmc_cmos_io(struct vmc_cmos *c, uint16_t port, bool write,
		 uint8_t *val);

/* ---- PCI (pci.c) ---- */

#define VMC_PCI_MAX_DEVS 8

struct vmc_pci_dev;
/* I/O to an enabled I/O BAR: off is relative to the BAR's base. */
typedef void (*vmc_pci_bar_io_fn)(struct vmc_pci_dev *d, unsigned bar,
				  uint32_t off, bool write, uint8_t *data,
				  unsigned size);

struct vmc_pci_dev {
	uint8_t devfn;			/* slot << 3 | function */
	uint8_t cfg[256];
	uint8_t wmask[256];		/* bits the guest may change */
	uint32_t bar_size[6];		/* 0: no BAR; I/O BARs only */
	vmc_pci_bar_io_fn bar_io;
	void *opaque;
};

struct vmc_pci {
	uint32_t addr;			/* 0xcf8 */
	struct vmc_pci_dev *devs[VMC_PCI_MAX_DEVS];
	unsigned n;
	struct vmc_pci_dev host, isa;	/* i440FX, PIIX3 */
};

void vmc_pci_init(struct vmc_pci *p);
/* Fill a function's identity; the caller adds BARs and registers it. */
void vmc_pci_dev_init(struct vmc_pci_dev *d, uint8_t devfn, uint16_t vendor,
		      uint16_t device, uint32_t class_rev, uint8_t header);
void vmc_pci_dev_add_io_bar(struct vmc_pci_dev *d, unsigned bar,
			    uint32_t size);
int vmc_pci_register(struct vmc_pci *p, struct vmc_pci_dev *d);
/* 0xcf8-0xcff. */
void vmc_pci_cfg_io(struct vmc_pci *p, uint16_t port, bool write,
		    uint8_t *data, unsigned size);
/* Where an enabled I/O BAR is, or 0 (none, or I/O decoding off). */
uint32_t vmc_pci_bar_base(const struct vmc_pci_dev *d, unsigned bar);
/* Offer an I/O port access to the devices' BARs; false if none has it. */
bool vmc_pci_bar_io(struct vmc_pci *p, uint16_t port, bool write,
		    uint8_t *data, unsigned size);
/* The ISA IRQ the PIIX3 routes a slot's INTx pin to (1-based pin), or -1
 * when that PIRQ is disabled. */
int vmc_pci_route_irq(const struct vmc_pci *p, const struct vmc_pci_dev *d);
/* What firmware would do, for direct kernel boot: route PIRQs to IRQs
 * 10/11, assign I/O BARs from 0xc000, enable I/O and bus mastering. */
void vmc_pci_assign(struct vmc_pci *p);

/* ---- copy-on-write disk overlay (overlay.c) ---- */

#define VMC_OVERLAY_CHUNK 4096

struct vmc_overlay {
	struct vmc_image *img;
	uint64_t size;
	/* 2 MiB spans the guest wrote to, sorted by gib (the span's
	 * number): each a table of pointers to 4 KiB copies.  Grown on
	 * demand, so its size follows the guest's writes (tables and copies
	 * each capped by max_bytes), not the disk's size. */
	struct vmc_overlay_gib {
		uint64_t gib;
		uint8_t **chunk;
	} *dir;
	uint64_t ndir, dir_cap;
	uint64_t bytes;			/* memory held by copies */
	uint64_t table_bytes;		/* and by tables */
	uint64_t max_bytes;
};

int vmc_overlay_init(struct vmc_overlay *o, struct vmc_image *img,
		     uint64_t max_bytes, struct vmc_error *err);
void vmc_overlay_free(struct vmc_overlay *o);
/* off + len <= size is checked; -1 with err on failure. */
int vmc_overlay_read(struct vmc_overlay *o, void *buf, size_t len,
		     uint64_t off, struct vmc_error *err);
int vmc_overlay_write(struct vmc_overlay *o, const void *buf, size_t len,
		      uint64_t off, struct vmc_error *err);

/* ---- split virtqueue (virtqueue.c), virtio 1.x section 2.7 ---- */

#define VMC_VQ_MAX_SIZE 1024

struct vmc_vq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device writes it */
};

struct vmc_vq {
	uint16_t size;			/* 0: not set up */
	uint64_t desc, avail, used;	/* guest addresses */
	uint16_t last_avail;
	uint16_t used_idx;
};

/* Validate and set up a queue; false with reason if the guest's layout is
 * bad (size not a power of two, misaligned or out-of-RAM rings). */
bool vmc_vq_setup(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t size,
		  uint64_t desc, uint64_t avail, uint64_t used, char *reason,
		  size_t rlen);
/* The legacy layout from one page frame number (virtio 0.9.5, 4 KiB
 * alignment). */
bool vmc_vq_setup_legacy(struct vmc_vq *q, const struct vmc_mem *mem,
			 uint16_t size, uint32_t pfn, char *reason,
			 size_t rlen);
/* Next available chain: 1 with *head and segs filled (every segment
 * inside RAM), 0 when none is pending, -1 with reason when the chain is
 * malformed (loop, too long, bad index, out of RAM, ...). */
int vmc_vq_pop(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t *head,
	       struct vmc_vq_seg *segs, unsigned *nsegs, char *reason,
	       size_t rlen);
/* Put a chain on the used ring. */
bool vmc_vq_push(struct vmc_vq *q, const struct vmc_mem *mem, uint16_t head,
		 uint32_t written);
/* Whether the driver wants an interrupt (VRING_AVAIL_F_NO_INTERRUPT). */
bool vmc_vq_want_irq(const struct vmc_vq *q, const struct vmc_mem *mem);

/* ---- virtio-blk on PCI, legacy I/O interface (virtio-blk.c) ---- */

#define VMC_VBLK_QUEUE_SIZE 256
#define VMC_VBLK_SLOT 3

struct vmc_vblk {
	struct vmc_vmctx *vm;
	struct vmc_pci *pci;
	struct vmc_pci_dev dev;
	struct vmc_overlay *disk;
	uint32_t guest_features;
	uint32_t pfn;
	uint16_t queue_sel;
	uint8_t status;
	uint8_t isr;
	struct vmc_vq vq;
	int irq_gsi;			/* the line raised, or -1 */
	struct vmc_vq_seg segs[VMC_VBLK_QUEUE_SIZE];
	uint64_t requests;		/* completed, for the tests */
};

int vmc_vblk_init(struct vmc_vblk *b, struct vmc_vmctx *vm,
		  struct vmc_pci *pci, struct vmc_overlay *disk,
		  struct vmc_error *err);
void vmc_vblk_free(struct vmc_vblk *b);
/* Process every pending request (the queue-notify path). */
void vmc_vblk_notify(struct vmc_vblk *b);

/* ---- IDE/ATA disk on the PIIX3 (ide.c) ---- */

#define VMC_IDE_CMD 0x1f0
#define VMC_IDE_CTL 0x3f6
#define VMC_IDE_IRQ 14

struct vmc_ide {
	struct vmc_vmctx *vm;
	struct vmc_pci_dev dev;		/* PIIX3 IDE, 00:01.1 */
	struct vmc_overlay *disk;
	uint64_t sectors;
	/* task file (the "previous" bytes for LBA48 HOB reads) */
	uint8_t feature, nsect, lbal, lbam, lbah, select, status, error;
	uint8_t hob_nsect, hob_lbal, hob_lbam, hob_lbah;
	uint8_t ctl;
	uint8_t cmd;
	int irq_level;
	bool irq_pending;
	unsigned multiple;		/* sectors per DRQ block (READ MULTIPLE) */
	/* PIO transfer */
	uint8_t buf[512 * 16];
	unsigned buf_pos, buf_len;
	uint64_t xfer_lba;
	uint32_t xfer_left;		/* sectors still to move after buf */
	bool xfer_write;
	/* bus-master DMA (ide-dma.c): the primary channel's registers and
	 * the READ/WRITE DMA command waiting for the start bit */
	uint8_t bm_cmd, bm_status;
	uint32_t bm_prd;
	bool dma_pending;
	uint64_t dma_lba;
	uint32_t dma_count;		/* sectors */
	bool dma_write;
	uint64_t dma_commands;		/* completed, for the tests */
};

int vmc_ide_init(struct vmc_ide *d, struct vmc_vmctx *vm,
		 struct vmc_overlay *disk, struct vmc_error *err);
/* For ide-dma.c: decode a command's LBA and count (false: aborted, out
 * of range), and end a command (error 0: done, else aborted with it). */
bool vmc_ide_lba(struct vmc_ide *d, bool ext, uint64_t *lba,
		 uint32_t *count);
void vmc_ide_finish(struct vmc_ide *d, uint8_t error);
/* The bus-master BAR (BAR4) on the IDE function. */
void vmc_ide_dma_init(struct vmc_ide *d);
/* READ DMA (EXT) / WRITE DMA (EXT): runs now if the bus master is
 * started, else when it is. */
void vmc_ide_dma_command(struct vmc_ide *d, bool ext, bool write);
/* 0x1f0-0x1f7 (off 0-7) and 0x3f6 (off 8). */
void vmc_ide_io(struct vmc_ide *d, unsigned off, bool write, uint8_t *data,
		unsigned size);

/* ---- i8042 keyboard controller (i8042.c) ---- */

struct vmc_i8042 {
	struct vmc_vmctx *vm;
	uint8_t cmdbyte;
	uint8_t pending_cmd;		/* controller command awaiting data */
	bool kbd_param;			/* keyboard command awaiting a byte */
	uint8_t queue[16];
	unsigned qhead, qlen;
	int irq_level;
};

void vmc_i8042_init(struct vmc_i8042 *k, struct vmc_vmctx *vm);
void vmc_i8042_io(struct vmc_i8042 *k, uint16_t port, bool write,
		  uint8_t *val);

/* ---- PIIX4 power management, 00:01.3, UEFI boots only (piix4-pm.c) ---- */

#define VMC_PM_DEVFN ((1 << 3) | 3)

struct vmc_pm {
	struct vmc_vmctx *vm;
	struct vmc_pci_dev dev;
	uint16_t sts, en, cnt;		/* PM1 status, enable, control */
	struct timespec t0;		/* the PM timer's zero */
};

void vmc_pm_init(struct vmc_pm *p, struct vmc_vmctx *vm);
/* The PM I/O block's base (PMBA) while PMREGMISC enables it, else 0. */
uint16_t vmc_pm_base(const struct vmc_pm *p);
/* Whether [port, port + size) lies in the enabled PM I/O block. */
bool vmc_pm_claims(const struct vmc_pm *p, uint16_t port, unsigned size);
/* The ACPI PM timer's 24-bit count. */
uint32_t vmc_pm_timer(const struct vmc_pm *p);
/* An access at off from the block's base. */
void vmc_pm_io(struct vmc_pm *p, uint16_t off, bool write, uint8_t *data,
	       unsigned size);

/* ---- user-space irqchip for UEFI runs: 8259 pair (pic.c), 8254 and
 * port 0x61 (pit.c), local APIC registers (lapic.c) ---- */

struct vmc_pic_chip {
	uint8_t irr, imr, isr, elcr, elcr_mask;
	uint8_t last;			/* input levels, for edges */
	uint8_t base;			/* vector of IRQ 0 (ICW2) */
	uint8_t priority_add;		/* rotation */
	uint8_t init_state, init4, single, sfnm, auto_eoi, rotate_auto_eoi;
	uint8_t read_isr, poll, special_mask;
};

struct vmc_pic {
	struct vmc_pic_chip c[2];	/* master, slave */
};

void vmc_pic_init(struct vmc_pic *p);
/* ISA IRQ 0-15's input level (edge or level per ELCR). */
void vmc_pic_set_irq(struct vmc_pic *p, unsigned irq, int level);
/* Whether the master's INTR output is raised. */
bool vmc_pic_pending(const struct vmc_pic *p);
/* The interrupt acknowledge cycle: the vector to inject. */
uint8_t vmc_pic_ack(struct vmc_pic *p);
/* 0x20-0x21, 0xa0-0xa1, ELCR 0x4d0-0x4d1. */
void vmc_pic_io(struct vmc_pic *p, uint16_t port, bool write, uint8_t *val);

struct vmc_pit_channel {
	uint32_t count;			/* 1..0x10000 */
	uint64_t load_ns;
	uint16_t latched;
	uint8_t count_latched, status_latched, status;
	uint8_t read_state, write_state, write_latch, rw_mode, mode, bcd;
	uint8_t gate;
};

struct vmc_pit {
	struct vmc_pit_channel ch[3];
	uint8_t speaker;
	bool periodic;			/* channel 0 in mode 2 or 3 */
	uint64_t next_ns;		/* channel 0's next IRQ 0 edge, or 0 */
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vmc_pit_now(void);
void vmc_pit_init(struct vmc_pit *p);
/* 0x40-0x43 and 0x61. */
void vmc_pit_io(struct vmc_pit *p, uint16_t port, bool write, uint8_t *val);
/* Whether channel 0 raised IRQ 0 by now (then schedules the next). */
bool vmc_pit_poll(struct vmc_pit *p, uint64_t now);
/* When it next will, or 0 for never. */
uint64_t vmc_pit_next(const struct vmc_pit *p);

#define VMC_LAPIC_BASE 0xfee00000ULL
#define VMC_LAPIC_SIZE 0x1000

struct vmc_lapic {
	uint32_t reg[VMC_LAPIC_SIZE / 16];
	uint64_t timer_ns;		/* initial count written */
	uint64_t ipis;			/* ICR writes (no other CPU) */
};

void vmc_lapic_init(struct vmc_lapic *a);
/* An access at off into the register page. */
void vmc_lapic_mmio(struct vmc_lapic *a, uint64_t off, bool write,
		    uint8_t *data, unsigned len);

/* ---- the board (machine.c) ---- */

#define VMC_VGA_TEXT 0xb8000
#define VMC_VGA_CELLS (80 * 25)

struct vmc_machine {
	struct vmc_vmctx vm;
	struct vmc_serial serial;
	struct vmc_fwcfg fwcfg;
	struct vmc_cmos cmos;
	struct vmc_pci pci;
	struct vmc_i8042 kbd;
	struct vmc_overlay disk;
	bool has_disk;
	struct vmc_vblk vblk;
	bool has_vblk;
	struct vmc_ide ide;
	bool has_ide;
	struct vmc_pm pm;		/* UEFI boots */
	bool has_pm;
	/* UEFI boots: PIC, PIT and local APIC in user space */
	bool uchip;
	struct vmc_pic pic;
	struct vmc_pit pit;
	struct vmc_lapic lapic;
	char debug[256];		/* port 0x402 line buffer */
	size_t debug_len;
	uint16_t screen[VMC_VGA_CELLS];	/* last VGA text seen */
};

/* Build the machine over guest RAM of mem bytes (without KVM). */
int vmc_machine_init(struct vmc_machine *m, const struct vmc_vm_config *cfg,
		     uint64_t mem, struct vmc_error *err);
void vmc_machine_free(struct vmc_machine *m);
/* One port access of size 1, 2 or 4 bytes (data little-endian). */
void vmc_machine_pio(struct vmc_machine *m, uint16_t port, bool write,
		     uint8_t *data, unsigned size);
/* One KVM_EXIT_MMIO access outside RAM (len up to 8). */
void vmc_machine_mmio(struct vmc_machine *m, uint64_t gpa, bool write,
		      uint8_t *data, unsigned len);
void vmc_machine_flush(struct vmc_machine *m);
/* Which exit counter a port access belongs to (VMC_STAT_*). */
enum vmc_vm_stat vmc_machine_port_stat(const struct vmc_machine *m,
				       uint16_t port);
/* Hand the VGA text screen to on_screen if it changed (or final). */
void vmc_machine_screen(struct vmc_machine *m, bool final);

/* ---- firmware and kernel loading (bios.c, bzimage.c) ---- */

#define VMC_BIOS_MAX (256 * 1024)

/* Read bios.bin (64..256 KiB, a multiple of 64 KiB) into *rom and copy
 * its last 128 KiB to 0xe0000 in RAM. */
int vmc_bios_load(struct vmc_mem *mem, const char *path, uint8_t **rom,
		  size_t *rom_len, struct vmc_error *err);

#define VMC_OVMF_MAX (16 * 1024 * 1024)

/* Read OVMF's code image (and, if vars is not NULL or empty, its variable
 * store, placed before the code as QEMU's second flash chip is) into one
 * image *rom for a read-only mapping ending at 4 GiB, and copy its last
 * 128 KiB to 0xe0000 in RAM. */
int vmc_ovmf_load(struct vmc_mem *mem, const char *code, const char *vars,
		  uint8_t **rom, size_t *rom_len, struct vmc_error *err);

struct vmc_boot_state {
	uint64_t rip, rsi, rsp;
	uint64_t cr3;
	uint64_t gdt;
};

#define VMC_BOOT_GDT	0x500
#define VMC_BOOT_PARAMS	0x7000
#define VMC_BOOT_PML4	0x9000
#define VMC_BOOT_CMDLINE 0x20000
#define VMC_BOOT_KERNEL_ADDR 0x100000

/* Load a bzImage (and initrd, cmdline) for the 64-bit boot protocol:
 * kernel at 1 MiB, zero page with e820, identity page tables, GDT. */
int vmc_bzimage_load(struct vmc_mem *mem, const char *kernel,
		     const char *initrd, const char *cmdline,
		     struct vmc_boot_state *bs, struct vmc_error *err);

/* Identity-map the low 4 GiB with 2 MiB pages at VMC_BOOT_PML4. */
void vmc_boot_page_tables(struct vmc_mem *mem);

/* ---- test guests (kvm.c) ---- */

struct vmc_vm_blob {
	uint64_t gpa;
	const void *data;
	size_t len;
};

/* Run hand-written code instead of firmware or a kernel: the blobs are
 * copied into RAM, PCI resources assigned as for direct kernel boot, and
 * the vCPU starts in real mode at 0000:7c00, on the same machine, loop and
 * sandbox as vmc_vm_run().  For the hostile-guest tests. */
int vmc_vm_run_code(const struct vmc_vm_config *cfg,
		    const struct vmc_vm_blob *blobs, unsigned nblobs,
		    struct vmc_vm_result *res, struct vmc_error *err);

/* ---- the VM's process (sandbox.c) and its allow-list (seccomp.c) ---- */

/* The code run in the child: chan is its end of the socket to the parent
 * (the only file it may write to); cfg's callbacks send to the parent.
 * Returns what vmc_vm_run() would. */
typedef int (*vmc_sandbox_body)(void *arg, int chan,
				const struct vmc_vm_config *cfg,
				struct vmc_vm_result *res,
				struct vmc_error *err);

/* The child's messages (one SOCK_SEQPACKET record each): u32 type, u32
 * payload length, payload; console, debug and screen messages (1 byte
 * "final", then the cells) get a 1-byte answer, nonzero to stop. */
enum {
	VMC_SANDBOX_CONSOLE = 1, VMC_SANDBOX_DEBUG, VMC_SANDBOX_SCREEN,
	VMC_SANDBOX_RESULT, VMC_SANDBOX_VIOLATION,	/* int: syscall */
	VMC_SANDBOX_STATS,		/* struct vmc_vm_stats, no answer */
};
#define VMC_SANDBOX_PAYLOAD 8192
struct vmc_sandbox_result {
	int ret;
	struct vmc_vm_result res;
	struct vmc_error err;
};

/* Run body in a child process and wait for it, running cfg's callbacks
 * here as its messages arrive.  Past limit_ms (0: none) the child is
 * killed (VMC_VM_TIMEOUT); killed by its allow-list, the run is the
 * guest's error naming the system call.  0 with *res, or -1 with err
 * when body failed (set-up) or the child ended without a result. */
int vmc_sandbox_run(const struct vmc_vm_config *cfg, vmc_sandbox_body body,
		    void *arg, unsigned limit_ms, struct vmc_vm_result *res,
		    struct vmc_error *err);

/* Install the allow-list for the whole (single-threaded) calling process:
 * KVM ioctls on vm_fd and vcpu_fd only, writes to chan_fd only, no
 * executable mappings; anything else raises SIGSYS. */
int vmc_seccomp_install(int vm_fd, int vcpu_fd, int chan_fd,
			struct vmc_error *err);

#endif
