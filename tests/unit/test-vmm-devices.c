/* Unit tests: guest memory bounds (validate/vmm/memory.c), the
 * copy-on-write overlay (overlay.c), the i8042 and the board's reset and
 * debug ports (i8042.c, machine.c). */
#include "vmm-test.h"
#include "common/bytes.h"

Test(vmm_mem, bounds)
{
	struct vmc_mem mem;
	struct vmc_error err;
	uint8_t b[8];

	cr_assert_eq(vmc_mem_init(&mem, 1 << 20, &err), 0);
	cr_assert_not_null(vmc_mem_ptr(&mem, 0, 1 << 20));
	cr_assert_not_null(vmc_mem_ptr(&mem, 1 << 20, 0));
	cr_assert_null(vmc_mem_ptr(&mem, 1 << 20, 1));
	cr_assert_null(vmc_mem_ptr(&mem, (1 << 20) - 4, 8));
	cr_assert_null(vmc_mem_ptr(&mem, UINT64_MAX, 2));
	cr_assert_null(vmc_mem_ptr(&mem, 8, UINT64_MAX));
	cr_assert(vmc_mem_write(&mem, 100, "abcdefgh", 8));
	cr_assert(vmc_mem_read(&mem, 100, b, 8));
	cr_assert_eq(memcmp(b, "abcdefgh", 8), 0);
	cr_assert_not(vmc_mem_read(&mem, (1 << 20) - 7, b, 8));
	vmc_mem_free(&mem);
}

static char disk_path[64];

Test(vmm_overlay, copy_on_write)
{
	struct vmc_image *img = test_disk(disk_path, sizeof(disk_path), 40);
	struct vmc_overlay o;
	struct vmc_error err;
	uint8_t buf[8192], check[512];
	FILE *f;

	cr_assert_eq(vmc_overlay_init(&o, img, 1 << 20, &err), 0);
	/* a write straddling two chunks, unaligned */
	memset(buf, 0xcc, 100);
	cr_assert_eq(vmc_overlay_write(&o, buf, 100, 4096 - 50, &err), 0);
	cr_assert_eq(vmc_overlay_read(&o, buf, 8192, 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(buf[0], 0);
	cr_assert_eq(buf[512], 1);
	cr_assert_eq(buf[4096 - 51], 7);
	cr_assert_eq(buf[4096 - 50], 0xcc);
	cr_assert_eq(buf[4096 + 49], 0xcc);
	cr_assert_eq(buf[4096 + 50], 8);
	/* the image is untouched */
	f = fopen(disk_path, "rb");
	fseek(f, 4096, SEEK_SET);
	cr_assert_eq(fread(check, 1, 512, f), 512);
	fclose(f);
	cr_assert_eq(check[0], 8);
	/* past the end */
	cr_assert_eq(vmc_overlay_read(&o, buf, 1024, 40 * 512 - 512, &err),
		     -1);
	cr_assert_eq(vmc_overlay_write(&o, buf, 1, UINT64_MAX, &err), -1);
	/* the last, partial chunk (disk is 20 KiB: chunk 4 has 4 KiB) */
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, 39 * 512, &err), 0);
	vmc_overlay_free(&o);
	vmc_image_close(img);
	unlink(disk_path);
}

Test(vmm_overlay, cap)
{
	struct vmc_image *img = test_disk(disk_path, sizeof(disk_path), 64);
	struct vmc_overlay o;
	struct vmc_error err;
	uint8_t buf[512] = { 0 };

	cr_assert_eq(vmc_overlay_init(&o, img, 2 * VMC_OVERLAY_CHUNK, &err),
		     0);
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, 0, &err), 0);
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, 4096, &err), 0);
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, 512, &err), 0);
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, 8192, &err), -1);
	cr_assert(strstr(err.msg, "wrote more than"), "%s", err.msg);
	vmc_overlay_free(&o);
	vmc_image_close(img);
	unlink(disk_path);
}

/* A disk of 8 TiB costs nothing until written (the directory grows with
 * the writes, not with the size), and writes scattered one per 2 MiB
 * span meet the cap on tables. */
Test(vmm_overlay, huge_disk_directory_grows_on_demand)
{
	char p[] = "/tmp/vmconv-vmm-huge-XXXXXX";
	int fd = mkstemp(p);
	struct vmc_image *img;
	struct vmc_overlay o;
	struct vmc_error err;
	uint8_t buf[512] = { 7 }, back[512];
	uint64_t end = 8ULL << 40, off;
	int i;

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)end), 0);
	close(fd);
	img = vmc_image_open(p, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_overlay_init(&o, img, 64 * VMC_OVERLAY_CHUNK, &err),
		     0);
	cr_assert_null(o.dir, "a directory before any write");
	cr_assert_eq(vmc_overlay_write(&o, buf, 512, end - 512, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(vmc_overlay_read(&o, back, 512, end - 512, &err), 0);
	cr_assert_eq(back[0], 7);
	cr_assert_eq(o.ndir, 1);
	for (i = 0, off = 0; i < 1000; i++, off += 2ULL << 20)
		if (vmc_overlay_write(&o, buf, 512, off, &err) < 0)
			break;
	cr_assert_lt(i, 1000, "scattered writes were never capped");
	cr_assert(strstr(err.msg, "wrote more than"), "%s", err.msg);
	cr_assert_leq(o.table_bytes, o.max_bytes);
	vmc_overlay_free(&o);
	vmc_image_close(img);
	unlink(p);
}

static struct vmc_vmctx vm;
static struct irq_log irqs;

static void kbd_setup(void)
{
	vmctx_setup(&vm, &irqs, 1 << 20);
}

static void kbd_teardown(void)
{
	vmc_mem_free(&vm.mem);
}

TestSuite(vmm_i8042, .init = kbd_setup, .fini = kbd_teardown);

static uint8_t kin(struct vmc_i8042 *k, uint16_t port)
{
	uint8_t v;

	vmc_i8042_io(k, port, false, &v);
	return v;
}

static void kout(struct vmc_i8042 *k, uint16_t port, uint8_t v)
{
	vmc_i8042_io(k, port, true, &v);
}

Test(vmm_i8042, self_test_and_keyboard_reset)
{
	struct vmc_i8042 k;

	vmc_i8042_init(&k, &vm);
	cr_assert_eq(kin(&k, 0x64) & 1, 0);
	kout(&k, 0x64, 0xaa);
	cr_assert_eq(kin(&k, 0x64) & 1, 1);
	cr_assert_eq(kin(&k, 0x60), 0x55);
	kout(&k, 0x60, 0xff);
	cr_assert_eq(irqs.level[1], 1);
	cr_assert_eq(kin(&k, 0x60), 0xfa);
	cr_assert_eq(kin(&k, 0x60), 0xaa);
	cr_assert_eq(irqs.level[1], 0);
	cr_assert_eq(irqs.raised[1], 3);
	cr_assert_not(vm.stop);
}

Test(vmm_i8042, command_byte)
{
	struct vmc_i8042 k;

	vmc_i8042_init(&k, &vm);
	kout(&k, 0x64, 0x60);
	kout(&k, 0x60, 0x00);		/* interrupts off */
	kout(&k, 0x64, 0x20);
	cr_assert_eq(kin(&k, 0x60), 0x00);
	cr_assert_eq(irqs.raised[1], 0);
}

Test(vmm_i8042, reset_command_ends_run)
{
	struct vmc_i8042 k;

	vmc_i8042_init(&k, &vm);
	kout(&k, 0x64, 0xfe);
	cr_assert(vm.stop);
	cr_assert_eq(vm.exit, VMC_VM_RESET);
}

Test(vmm_i8042, output_port_reset)
{
	struct vmc_i8042 k;

	vmc_i8042_init(&k, &vm);
	kout(&k, 0x64, 0xd1);
	kout(&k, 0x60, 0x03);
	cr_assert_not(vm.stop);
	kout(&k, 0x64, 0xd1);
	kout(&k, 0x60, 0x02);
	cr_assert_eq(vm.exit, VMC_VM_RESET);
}

static char dbg[256];

static void on_debug(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	strncat(dbg, buf, len);
}

Test(vmm_board, debug_port_port92_and_floating_bus)
{
	struct vmc_machine m;
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;
	uint8_t b[4];

	cfg.on_debug = on_debug;
	cr_assert_eq(vmc_machine_init(&m, &cfg, 1 << 20, &err), 0);
	dbg[0] = 0;
	for (const char *p = "SeaBIOS (version 1.16)\n"; *p; p++) {
		b[0] = (uint8_t)*p;
		vmc_machine_pio(&m, 0x402, true, b, 1);
	}
	cr_assert_str_eq(dbg, "SeaBIOS (version 1.16)\n");
	vmc_machine_pio(&m, 0x2f8, false, b, 1);
	cr_assert_eq(b[0], 0xff);
	vmc_machine_pio(&m, 0x92, false, b, 1);
	cr_assert_eq(b[0] & 2, 2, "A20 on");
	b[0] = 0x02;
	vmc_machine_pio(&m, 0x92, true, b, 1);
	cr_assert_not(m.vm.stop);
	b[0] = 0x03;
	vmc_machine_pio(&m, 0x92, true, b, 1);
	cr_assert_eq(m.vm.exit, VMC_VM_RESET);
	vmc_machine_free(&m);
}

static unsigned screen_calls;
static uint16_t screen_seen[VMC_VGA_CELLS];
static bool screen_final;

static bool on_screen(void *ctx, const uint16_t *cells, bool final)
{
	(void)ctx;
	screen_calls++;
	screen_final = final;
	memcpy(screen_seen, cells, sizeof(screen_seen));
	return false;
}

Test(vmm_board, vga_text_screen_on_change)
{
	struct vmc_machine m;
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;
	uint8_t *vga;

	cfg.on_screen = on_screen;
	cr_assert_eq(vmc_machine_init(&m, &cfg, 1 << 20, &err), 0);
	screen_calls = 0;
	vmc_machine_screen(&m, false);
	cr_assert_eq(screen_calls, 0, "blank screen, nothing new");
	vga = vmc_mem_ptr(&m.vm.mem, VMC_VGA_TEXT, 2 * VMC_VGA_CELLS);
	vga[0] = 'o';
	vga[1] = 0x07;
	vga[2] = 'k';
	vmc_machine_screen(&m, false);
	cr_assert_eq(screen_calls, 1);
	cr_assert_eq(screen_seen[0], 0x0700 | 'o');
	cr_assert_eq(screen_seen[1] & 0xff, 'k');
	vmc_machine_screen(&m, false);
	cr_assert_eq(screen_calls, 1, "unchanged");
	vmc_machine_screen(&m, true);
	cr_assert_eq(screen_calls, 2);
	cr_assert(screen_final);
	vmc_machine_free(&m);
}
