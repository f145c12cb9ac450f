/* A minimal 8042 keyboard controller at 0x60 (data) and 0x64 (status and
 * commands): enough for firmware and Linux to find a controller with a
 * keyboard that answers but never types, no mouse, and for a guest to
 * reset the machine the PC/AT way (command 0xfe, or the output port with
 * bit 0 clear), which ends the run as VMC_VM_RESET.
 */
#include <string.h>

#include "validate/vmm/vmm.h"

#define ST_OBF		0x01
#define ST_SYS		0x04
#define ST_CMD		0x08
#define ST_UNLOCKED	0x10
#define CB_KBD_INT	0x01
#define CB_KBD_OFF	0x10
#define CB_AUX_OFF	0x20
#define CB_XLATE	0x40

void vmc_i8042_init(struct vmc_i8042 *k, struct vmc_vmctx *vm)
{
	memset(k, 0, sizeof(*k));
	k->vm = vm;
	k->cmdbyte = CB_KBD_INT | CB_XLATE | CB_AUX_OFF | 0x04;
}

static void kbd_update_irq(struct vmc_i8042 *k)
{
	int level = k->qlen && (k->cmdbyte & CB_KBD_INT);

	if (level != k->irq_level) {
		k->irq_level = level;
		vmc_vm_irq(k->vm, 1, level);
	}
}

static void kbd_queue(struct vmc_i8042 *k, uint8_t v)
{
	if (k->qlen == sizeof(k->queue))
		return;
	k->queue[(k->qhead + k->qlen++) % sizeof(k->queue)] = v;
	kbd_update_irq(k);
}

static void kbd_reset_machine(struct vmc_i8042 *k)
{
	vmc_vm_fail(k->vm, VMC_VM_RESET,
		    "the guest reset the machine (keyboard controller)");
}

static void kbd_command(struct vmc_i8042 *k, uint8_t c)
{
	switch (c) {
	case 0x20:
		kbd_queue(k, k->cmdbyte);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		k->pending_cmd = c;	/* a data byte follows */
		break;
	case 0xa7: k->cmdbyte |= CB_AUX_OFF; break;
	case 0xa8: k->cmdbyte &= (uint8_t)~CB_AUX_OFF; break;
	case 0xa9: kbd_queue(k, 0xff); break;	/* no aux port */
	case 0xaa: kbd_queue(k, 0x55); break;	/* self test passed */
	case 0xab: kbd_queue(k, 0x00); break;	/* keyboard port ok */
	case 0xad: k->cmdbyte |= CB_KBD_OFF; break;
	case 0xae: k->cmdbyte &= (uint8_t)~CB_KBD_OFF; break;
	case 0xc0: kbd_queue(k, 0x80); break;	/* input port */
	case 0xd0: kbd_queue(k, 0x03); break;	/* output port: A20, !reset */
	case 0xfe:
		kbd_reset_machine(k);
		break;
	default:
		break;
	}
	kbd_update_irq(k);
}

static void kbd_data(struct vmc_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->cmdbyte = v;
		kbd_update_irq(k);
		return;
	case 0xd1:
		if (!(v & 1))
			kbd_reset_machine(k);
		return;
	case 0xd2:
		kbd_queue(k, v);
		return;
	case 0xd3: case 0xd4:
		return;			/* no mouse */
	}
	/* A byte for the keyboard itself. */
	if (k->kbd_param) {
		k->kbd_param = false;
		kbd_queue(k, 0xfa);
		return;
	}
	switch (v) {
	case 0xff:			/* reset: ack, self test passed */
		kbd_queue(k, 0xfa);
		kbd_queue(k, 0xaa);
		break;
	case 0xf2:			/* identify: MF2 keyboard */
		kbd_queue(k, 0xfa);
		kbd_queue(k, 0xab);
		kbd_queue(k, 0x83);
		break;
	case 0xee:			/* echo */
		kbd_queue(k, 0xee);
		break;
	case 0xed: case 0xf0: case 0xf3:	/* commands with a parameter */
		k->kbd_param = true;
		kbd_queue(k, 0xfa);
		break;
	default:
		kbd_queue(k, 0xfa);
	}
}

void vmc_i8042_io(struct vmc_i8042 *k, uint16_t port, bool write,
		  uint8_t *val)
{
	if (port == 0x64) {
		if (write)
			kbd_command(k, *val);
		else
			*val = (uint8_t)((k->qlen ? ST_OBF : 0) | ST_SYS |
					 ST_UNLOCKED |
					 (k->pending_cmd ? ST_CMD : 0));
		return;
	}
	if (write) {
		kbd_data(k, *val);
		return;
	}
	if (!k->qlen) {
		*val = 0;
		return;
	}
	*val = k->queue[k->qhead];
	k->qhead = (k->qhead + 1) % sizeof(k->queue);
	k->qlen--;
	/* Pulse: drop the line so the next byte is a new edge. */
	if (k->irq_level) {
		k->irq_level = 0;
		vmc_vm_irq(k->vm, 1, 0);
	}
	kbd_update_irq(k);
}
