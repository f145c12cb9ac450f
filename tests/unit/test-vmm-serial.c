/* Unit tests: the 16550 UART (validate/vmm/serial.c): console output by
 * line, divisor latch, scratch, FIFO identification, THR-empty
 * interrupts, loopback. */
#include "vmm-test.h"

static struct vmc_vmctx vm;
static struct irq_log irqs;
static struct vmc_serial s;
static char console[4096];
static size_t console_len;
static unsigned console_calls;
static bool stop_on_call;

static bool on_console(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	memcpy(console + console_len, buf, len);
	console_len += len;
	console_calls++;
	return stop_on_call;
}

static void setup(void)
{
	vmctx_setup(&vm, &irqs, 1 << 20);
	vm.on_console = on_console;
	console_len = 0;
	console_calls = 0;
	stop_on_call = false;
	memset(console, 0, sizeof(console));
	vmc_serial_init(&s, &vm, 0x3f8, 4);
}

static void teardown(void)
{
	vmc_mem_free(&vm.mem);
}

static void out(unsigned reg, uint8_t v)
{
	vmc_serial_io(&s, (uint16_t)reg, true, &v);
}

static uint8_t in(unsigned reg)
{
	uint8_t v;

	vmc_serial_io(&s, (uint16_t)reg, false, &v);
	return v;
}

TestSuite(vmm_serial, .init = setup, .fini = teardown);

Test(vmm_serial, output_by_line)
{
	for (const char *p = "Linux version 6.1\nmore"; *p; p++)
		out(0, (uint8_t)*p);
	cr_assert_eq(console_calls, 1);
	cr_assert_str_eq(console, "Linux version 6.1\n");
	vmc_serial_flush(&s);
	cr_assert_str_eq(console, "Linux version 6.1\nmore");
	cr_assert_eq(in(5) & 0x60, 0x60, "THR and transmitter empty");
}

Test(vmm_serial, console_watcher_stops_the_run)
{
	stop_on_call = true;
	out(0, 'x');
	out(0, '\n');
	cr_assert(vm.stop);
	cr_assert_eq(vm.exit, VMC_VM_STOPPED);
}

Test(vmm_serial, divisor_latch_and_scratch)
{
	out(3, 0x83);			/* DLAB, 8N1 */
	out(0, 0x01);
	out(1, 0x00);
	cr_assert_eq(in(0), 0x01);
	cr_assert_eq(in(1), 0x00);
	out(3, 0x03);
	cr_assert_eq(console_len, 0, "divisor bytes are not output");
	cr_assert_eq(in(1), 0, "IER untouched by divisor writes");
	out(7, 0xa5);
	cr_assert_eq(in(7), 0xa5);
}

Test(vmm_serial, fifo_identifies_as_16550a)
{
	out(2, 0x07);
	cr_assert_eq(in(2) & 0xc0, 0xc0);
	out(2, 0x00);
	cr_assert_eq(in(2) & 0xc0, 0x00);
}

Test(vmm_serial, thr_empty_interrupt)
{
	cr_assert_eq(in(2) & 0x0f, 0x01, "nothing pending");
	out(1, 0x02);			/* enable THRI */
	cr_assert_eq(irqs.level[4], 1);
	cr_assert_eq(in(2) & 0x0f, 0x02);
	/* reading IIR acknowledges it */
	cr_assert_eq(irqs.level[4], 0);
	cr_assert_eq(in(2) & 0x0f, 0x01);
	out(0, 'a');
	cr_assert_eq(irqs.level[4], 1);
	cr_assert_eq(irqs.raised[4], 2);
	out(1, 0x00);
	cr_assert_eq(irqs.level[4], 0);
}

Test(vmm_serial, loopback)
{
	out(4, 0x10 | 0x0a);		/* loop, RTS, OUT2 */
	cr_assert_eq(in(6) & 0xf0, 0x90);
	out(0, 'Z');
	cr_assert_eq(console_len, 0);
	cr_assert_eq(in(5) & 1, 1);
	out(1, 0x01);
	cr_assert_eq(irqs.level[4], 1);
	cr_assert_eq(in(0), 'Z');
	cr_assert_eq(in(5) & 1, 0);
	cr_assert_eq(irqs.level[4], 0);
	out(4, 0x00);
	cr_assert_eq(in(6), 0xb0);
}
