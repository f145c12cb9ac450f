/* Hostile guests on the real VMM: hand-written real-mode code that drives
 * virtio-blk with malformed virtqueues (addresses outside RAM, descriptor
 * loops, huge lengths, bad indexes, a queue outside RAM), run by
 * vmc_vm_run_code() on /dev/kvm with the whole machine, run loop and
 * seccomp sandbox.  The VMM must end each run as the guest's error with
 * the reason, and serve a well-formed request.  The code is a few dozen
 * instructions, so even this machine's paravirtual KVM (which emulates
 * real mode at about a million instructions a second) runs it at once.
 * The UEFI board (its own PIC, PIT and local APIC) takes a timer storm
 * and HLT with and without interrupts.
 * Skipped where /dev/kvm cannot run a VM. */
#include <fcntl.h>

#include "vmm-test.h"
#include "common/bytes.h"

/*	cli
 *	mov dx, 0xc012 ; mov al, 0 ; out dx, al	(reset)
 *	mov al, 7 ; out dx, al				(ack, driver, ok)
 *	mov dx, 0xc008 ; mov eax, PFN ; out dx, eax	(queue address)
 *	mov dx, 0xc010 ; xor ax, ax ; out dx, ax	(notify)
 *	mov al, [0x9000] ; mov dx, 0x402 ; out dx, al	(status byte)
 *	mov al, [0x8200] ; out dx, al			(first data byte)
 *	mov al, 'S' ; out dx, al ; hlt			(survived) */
static uint8_t code[] = {
	0xfa, 0xba, 0x12, 0xc0, 0xb0, 0x00, 0xee, 0xb0, 0x07, 0xee,
	0xba, 0x08, 0xc0, 0x66, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x66,
	0xef, 0xba, 0x10, 0xc0, 0x31, 0xc0, 0xef, 0xa0, 0x00, 0x90,
	0xba, 0x02, 0x04, 0xee, 0xa0, 0x00, 0x82, 0xee, 0xb0, 0x53,
	0xee, 0xf4,
};
#define PFN_OFFSET 15

static uint8_t desc[3 * 16], avail[6], hdr[16], status = 0xee;
static char dbg[64];
static size_t dbg_len;
static char disk_path[64];

static void on_debug(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (dbg_len + len <= sizeof(dbg)) {
		memcpy(dbg + dbg_len, buf, len);
		dbg_len += len;
	}
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	vmc_put_le64(desc + 16 * i, addr);
	vmc_put_le32(desc + 16 * i + 8, len);
	vmc_put_le16(desc + 16 * i + 12, flags);
	vmc_put_le16(desc + 16 * i + 14, next);
}

static void setup(void)
{
	int fd = open("/dev/kvm", O_RDWR);

	if (fd < 0)
		cr_skip_test("/dev/kvm is not usable here");
	close(fd);
	memset(dbg, 0, sizeof(dbg));
	dbg_len = 0;
	vmc_put_le32(code + PFN_OFFSET, 0x10);
	/* A good request: read sector 1 (bytes of 1) to 0x8200. */
	vmc_put_le32(hdr, 0);
	vmc_put_le64(hdr + 8, 1);
	put_desc(0, 0x8000, 16, 1, 1);
	put_desc(1, 0x8200, 512, 1 | 2, 2);
	put_desc(2, 0x9000, 1, 2, 0);
	vmc_put_le16(avail, 0);
	vmc_put_le16(avail + 2, 1);
	vmc_put_le16(avail + 4, 0);
}

static struct vmc_vm_result run(void)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err;
	const struct vmc_vm_blob blobs[] = {
		{ 0x7c00, code, sizeof(code) },
		{ 0x10000, desc, sizeof(desc) },
		{ 0x11000, avail, sizeof(avail) },
		{ 0x8000, hdr, sizeof(hdr) },
		{ 0x9000, &status, 1 },
	};

	cfg.disk = test_disk(disk_path, sizeof(disk_path), 16);
	cfg.bus = VMC_BUS_VIRTIO;
	cfg.mem_mib = 16;
	cfg.timeout_ms = 30000;
	cfg.on_debug = on_debug;
	cr_assert_eq(vmc_vm_run_code(&cfg, blobs, VMC_ARRAY_SIZE(blobs), &res,
				     &err), 0, "%s", err.msg);
	vmc_image_close(cfg.disk);
	unlink(disk_path);
	return res;
}

TestSuite(vmm_hostile, .init = setup, .timeout = 120);

Test(vmm_hostile, well_formed_request_is_served)
{
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%d: %s", res.exit,
		     res.reason);
	cr_assert_eq(dbg_len, 3, "debug output %zu bytes", dbg_len);
	cr_assert_eq(dbg[0], 0, "status OK");
	cr_assert_eq(dbg[1], 1, "sector 1 read");
	cr_assert_eq(dbg[2], 'S');
}

Test(vmm_hostile, buffer_outside_ram)
{
	put_desc(1, 0x40000000, 512, 1 | 2, 2);	/* 1 GiB, RAM is 16 MiB */
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%d: %s", res.exit,
		     res.reason);
	cr_assert(strstr(res.reason, "outside guest RAM"), "%s", res.reason);
	cr_assert_eq(dbg_len, 0, "the guest ran on");
}

Test(vmm_hostile, buffer_wraps_address_space)
{
	put_desc(1, 0xfffffffffffffe00ULL, 0x400, 1 | 2, 2);
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%s", res.reason);
}

Test(vmm_hostile, huge_length)
{
	put_desc(1, 0x8200, 0xffffffff, 1 | 2, 2);
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%s", res.reason);
	cr_assert(strstr(res.reason, "outside guest RAM"), "%s", res.reason);
}

Test(vmm_hostile, descriptor_loop)
{
	put_desc(2, 0x9000, 1, 1 | 2, 0);	/* 2 -> 0 -> 1 -> 2 ... */
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%s", res.reason);
	cr_assert(strstr(res.reason, "loop"), "%s", res.reason);
}

Test(vmm_hostile, descriptor_index_out_of_range)
{
	vmc_put_le16(avail + 4, 4000);
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%s", res.reason);
	cr_assert(strstr(res.reason, "out of range"), "%s", res.reason);
}

Test(vmm_hostile, queue_outside_ram)
{
	vmc_put_le32(code + PFN_OFFSET, 0xfffff);
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_GUEST_ERROR, "%s", res.reason);
	cr_assert(strstr(res.reason, "outside guest RAM"), "%s", res.reason);
}

Test(vmm_hostile, request_past_end_of_disk_fails_request_only)
{
	vmc_put_le64(hdr + 8, 16);		/* the disk has 16 sectors */
	struct vmc_vm_result res = run();

	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	cr_assert_eq(dbg_len, 3);
	cr_assert_eq(dbg[0], 1, "VIRTIO_BLK_S_IOERR");
	cr_assert_eq(dbg[2], 'S');
}

/* Other ways a guest's run ends, each with its own exit kind. */
static struct vmc_vm_result run_code(const uint8_t *c, size_t len,
				     unsigned timeout_ms)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err;
	const struct vmc_vm_blob blob = { 0x7c00, c, len };

	cfg.mem_mib = 16;
	cfg.timeout_ms = timeout_ms;
	cr_assert_eq(vmc_vm_run_code(&cfg, &blob, 1, &res, &err), 0, "%s",
		     err.msg);
	return res;
}

Test(vmm_hostile, exit_storm_still_times_out)
{
	/* 1: out 0x80, al ; jmp 1b */
	static const uint8_t c[] = { 0xfa, 0xe6, 0x80, 0xeb, 0xfc };
	struct vmc_vm_result res = run_code(c, sizeof(c), 1000);

	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert(strstr(res.reason, "timed out"), "%s", res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, guest_that_never_exits_times_out)
{
	/* cli ; 1: jmp 1b: no exit to the VMM ever */
	static const uint8_t c[] = { 0xfa, 0xeb, 0xfe };
	struct vmc_vm_result res = run_code(c, sizeof(c), 1000);

	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, huge_string_io_is_bounded)
{
	/* cli ; mov cx, 0xffff ; mov dx, 0x1f0 ; rep insw (from the IDE
	 * data port with no command: floating bus) ; jmp $ */
	static const uint8_t c[] = { 0xfa, 0xb9, 0xff, 0xff, 0xba, 0xf0,
				     0x01, 0xbf, 0x00, 0x10, 0xf3, 0x6d,
				     0xeb, 0xfe };
	struct vmc_vm_result res = run_code(c, sizeof(c), 1000);

	cr_assert(res.exit == VMC_VM_TIMEOUT ||
		  res.exit == VMC_VM_GUEST_ERROR, "%d: %s", res.exit,
		  res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, fw_cfg_and_pci_config_abuse)
{
	/* cli ; mov dx, 0x510 ; 1: mov ax, 0xffff ; out dx, ax ; inc dx ;
	 * in al, dx ; dec dx ; mov dx, 0xcf8 ; mov eax, 0x8000fffc ;
	 * out dx, eax ; mov dx, 0xcfc ; out dx, eax ; in eax, dx ;
	 * mov dx, 0x510 ; jmp 1b */
	static const uint8_t c[] = {
		0xfa, 0xba, 0x10, 0x05,
		0xb8, 0xff, 0xff, 0xef, 0x42, 0xec, 0x4a,
		0xba, 0xf8, 0x0c, 0x66, 0xb8, 0xfc, 0xff, 0x00, 0x80,
		0x66, 0xef, 0xba, 0xfc, 0x0c, 0x66, 0xef, 0x66, 0xed,
		0xba, 0x10, 0x05, 0xeb, 0xe2,
	};
	struct vmc_vm_result res = run_code(c, sizeof(c), 1000);

	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, keyboard_controller_reset)
{
	/* mov al, 0xfe ; out 0x64, al ; hlt */
	static const uint8_t c[] = { 0xfa, 0xb0, 0xfe, 0xe6, 0x64, 0xf4 };
	struct vmc_vm_result res = run_code(c, sizeof(c), 10000);

	cr_assert_eq(res.exit, VMC_VM_RESET, "%d: %s", res.exit, res.reason);
}

static char screen_text[8];

static bool on_screen(void *ctx, const uint16_t *cells, bool final)
{
	(void)ctx;
	if (final)
		for (int i = 0; i < 4; i++)
			screen_text[i] = (char)(cells[i] & 0xff);
	return false;
}

Test(vmm_hostile, screen_only_console_is_seen)
{
	/* mov ax, 0xb800 ; mov es, ax ; mov di, 0 ; "OK!" ; cli ; hlt */
	static const uint8_t c[] = {
		0xfa, 0xb8, 0x00, 0xb8, 0x8e, 0xc0,
		0x26, 0xc7, 0x06, 0x00, 0x00, 'O', 0x07,
		0x26, 0xc7, 0x06, 0x02, 0x00, 'K', 0x07,
		0x26, 0xc7, 0x06, 0x04, 0x00, '!', 0x07,
		0xf4,
	};
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err;
	const struct vmc_vm_blob blob = { 0x7c00, c, sizeof(c) };

	cfg.mem_mib = 16;
	cfg.timeout_ms = 10000;
	cfg.on_screen = on_screen;
	memset(screen_text, 0, sizeof(screen_text));
	cr_assert_eq(vmc_vm_run_code(&cfg, &blob, 1, &res, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%d: %s", res.exit,
		     res.reason);
	cr_assert_str_eq(screen_text, "OK!");
}

/* The UEFI board (user-space PIC, PIT and local APIC: kvm-uchip.c) under
 * the same attacks on its timer and HLT. */
static struct vmc_vm_result run_uefi(const uint8_t *c, size_t len,
				     const uint8_t *isr, size_t isr_len,
				     unsigned timeout_ms)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err;
	const struct vmc_vm_blob blobs[] = {
		{ 0x7c00, c, len },
		{ 0x7d00, isr, isr_len },
	};

	cfg.mem_mib = 16;
	cfg.uefi = true;
	cfg.timeout_ms = timeout_ms;
	cr_assert_eq(vmc_vm_run_code(&cfg, blobs, isr_len ? 2 : 1, &res,
				     &err), 0, "%s", err.msg);
	return res;
}

Test(vmm_hostile, uefi_board_timer_storm_times_out)
{
	/*	cli ; xor ax, ax ; mov ds, ax
	 *	mov word [0x20], 0x7d00 ; mov word [0x22], 0	(IRQ 0 vector 8)
	 *	PIC: ICW1 0x11, ICW2 0x08, ICW3 0x04, ICW4 0x01, IMR 0xfe
	 *	PIT: channel 0, mode 2, count 1 (the shortest period)
	 *	sti ; 1: hlt ; jmp 1b
	 * the handler: mov al, 0x20 ; out 0x20, al ; iret */
	static const uint8_t c[] = {
		0xfa, 0x31, 0xc0, 0x8e, 0xd8,
		0xc7, 0x06, 0x20, 0x00, 0x00, 0x7d,
		0xc7, 0x06, 0x22, 0x00, 0x00, 0x00,
		0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x08, 0xe6, 0x21,
		0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21,
		0xb0, 0xfe, 0xe6, 0x21,
		0xb0, 0x34, 0xe6, 0x43, 0xb0, 0x01, 0xe6, 0x40,
		0x30, 0xc0, 0xe6, 0x40,
		0xfb, 0xf4, 0xeb, 0xfd,
	};
	static const uint8_t isr[] = { 0xb0, 0x20, 0xe6, 0x20, 0xcf };
	struct vmc_vm_result res = run_uefi(c, sizeof(c), isr, sizeof(isr),
					    1000);

	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, uefi_board_idle_halt_times_out)
{
	/* sti ; 1: hlt ; jmp 1b: nothing will ever interrupt it */
	static const uint8_t c[] = { 0xfb, 0xf4, 0xeb, 0xfd };
	struct vmc_vm_result res = run_uefi(c, sizeof(c), NULL, 0, 1000);

	cr_assert_eq(res.exit, VMC_VM_TIMEOUT, "%d: %s", res.exit,
		     res.reason);
	cr_assert_lt(res.elapsed_ms, 10000);
}

Test(vmm_hostile, uefi_board_halt_with_interrupts_off_ends_the_run)
{
	static const uint8_t c[] = { 0xfa, 0xf4 };
	struct vmc_vm_result res = run_uefi(c, sizeof(c), NULL, 0, 5000);

	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%d: %s", res.exit,
		     res.reason);
	cr_assert(strstr(res.reason, "interrupts disabled"), "%s",
		  res.reason);
}
