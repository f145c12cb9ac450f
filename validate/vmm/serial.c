/* 16550A UART (National Semiconductor PC16550D data sheet): the guest's
 * serial console.  Transmission is instantaneous, so THR is always empty
 * and the only interrupts are "THR empty" and, in loopback mode, "data
 * ready".  There is no input: the validator only watches.
 */
#include <string.h>

#include "validate/vmm/vmm.h"

enum {
	UART_RBR = 0, UART_IER = 1, UART_IIR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0

void vmc_serial_init(struct vmc_serial *s, struct vmc_vmctx *vm,
		     uint16_t base, unsigned irq)
{
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->base = base;
	s->irq = irq;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = 0xb0;			/* DCD, DSR, CTS */
	s->dll = 12;			/* 9600 baud */
}

void vmc_serial_flush(struct vmc_serial *s)
{
	struct vmc_vmctx *vm = s->vm;

	if (!s->out_len)
		return;
	vmc_vm_stats_out(vm);
	if (vm->on_console && vm->on_console(vm->ctx, s->out, s->out_len))
		vmc_vm_fail(vm, VMC_VM_STOPPED, "stopped by the console watcher");
	s->out_len = 0;
}

static uint8_t serial_iir(const struct vmc_serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && (s->lsr & LSR_DR))
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

static void serial_update_irq(struct vmc_serial *s)
{
	int level = !(serial_iir(s) & IIR_NONE);

	if (level != s->irq_level) {
		s->irq_level = level;
		vmc_vm_irq(s->vm, s->irq, level);
	}
}

/* Batched THR writes reach the device late (at the next exit), which is
 * harmless unless the guest waits for the THR-empty interrupt they raise,
 * so batching is on only while that interrupt is disabled: the kernel's
 * console output, which polls LSR, is then one exit per byte, not two. */
static void serial_update_batching(struct vmc_serial *s)
{
	bool want = !(s->ier & IER_THRI);

	if (s->set_batching && want != s->batching) {
		s->batching = want;
		s->set_batching(s->batching_opaque, want);
	}
}

static void serial_tx(struct vmc_serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		s->rbr = c;
		s->lsr |= LSR_DR;
		return;
	}
	s->out[s->out_len++] = (char)c;
	if (c == '\n' || s->out_len == sizeof(s->out))
		vmc_serial_flush(s);
}

static uint8_t serial_msr(const struct vmc_serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return s->msr;
	/* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
	return (uint8_t)(((m & 0x02) << 3) | ((m & 0x01) << 5) |
			 ((m & 0x04) << 4) | ((m & 0x08) << 4));
}

void vmc_serial_io(struct vmc_serial *s, uint16_t off, bool write,
		   uint8_t *val)
{
	bool dlab = s->lcr & LCR_DLAB;

	if (write) {
		uint8_t v = *val;

		switch (off) {
		case UART_RBR:
			if (dlab) {
				s->dll = v;
				break;
			}
			serial_tx(s, v);
			s->thr_ipending = true;
			break;
		case UART_IER:
			if (dlab) {
				s->dlm = v;
				break;
			}
			/* Enabling THRI with THR empty interrupts at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_ipending = true;
			s->ier = v & 0x0f;
			break;
		case UART_IIR:
			s->fcr = v & 0xc9;
			if (v & 0x02) {	/* clear RX FIFO */
				s->lsr &= (uint8_t)~LSR_DR;
			}
			break;
		case UART_LCR:
			s->lcr = v;
			break;
		case UART_MCR:
			s->mcr = v & 0x1f;
			break;
		case UART_LSR:
		case UART_MSR:
			break;
		case UART_SCR:
			s->scr = v;
			break;
		}
		serial_update_irq(s);
		serial_update_batching(s);
		return;
	}

	switch (off) {
	case UART_RBR:
		if (dlab) {
			*val = s->dll;
			break;
		}
		*val = s->rbr;
		s->lsr &= (uint8_t)~LSR_DR;
		break;
	case UART_IER:
		*val = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		*val = serial_iir(s);
		if ((*val & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		break;
	case UART_LCR:
		*val = s->lcr;
		break;
	case UART_MCR:
		*val = s->mcr;
		break;
	case UART_LSR:
		*val = s->lsr;
		break;
	case UART_MSR:
		*val = serial_msr(s);
		break;
	case UART_SCR:
		*val = s->scr;
		break;
	default:
		*val = 0xff;
	}
	serial_update_irq(s);
}
