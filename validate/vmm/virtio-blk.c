/* virtio-blk over PCI with the legacy (transitional) I/O interface:
 * Virtual I/O Device 1.1 sections 4.1.4.8 (legacy PCI interface) and 5.2
 * (block device).  Device 1af4:1001 at 00:03.0 with one I/O BAR, the way
 * QEMU's transitional virtio-blk-pci looks to SeaBIOS and to Linux's
 * virtio_pci legacy driver.  One queue of 256 entries; requests are served
 * synchronously on the queue-notify exit, straight between the overlay and
 * guest RAM (each segment was checked to lie in RAM).  A malformed chain
 * ends the run as the guest's error; a well-formed request the disk cannot
 * serve (past the end, not a multiple of 512) gets VIRTIO_BLK_S_IOERR.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

/* Legacy register offsets in BAR 0 (no MSI-X). */
#define VP_HOST_FEATURES	0x00
#define VP_GUEST_FEATURES	0x04
#define VP_QUEUE_PFN		0x08
#define VP_QUEUE_NUM		0x0c
#define VP_QUEUE_SEL		0x0e
#define VP_QUEUE_NOTIFY		0x10
#define VP_STATUS		0x12
#define VP_ISR			0x13
#define VP_CONFIG		0x14
#define VBLK_BAR_SIZE		0x40

#define HOST_FEATURES ((1u << VIRTIO_BLK_F_SEG_MAX) | \
		       (1u << VIRTIO_BLK_F_BLK_SIZE) | (1u << VIRTIO_BLK_F_FLUSH))

static void vblk_set_irq(struct vmc_vblk *b, bool on)
{
	if (on && b->irq_gsi < 0) {
		int gsi = vmc_pci_route_irq(b->pci, &b->dev);

		if (gsi < 0)
			return;		/* INTx not routed: polling guest */
		b->irq_gsi = gsi;
		vmc_vm_irq(b->vm, (unsigned)gsi, 1);
	} else if (!on && b->irq_gsi >= 0) {
		vmc_vm_irq(b->vm, (unsigned)b->irq_gsi, 0);
		b->irq_gsi = -1;
	}
}

static void vblk_reset(struct vmc_vblk *b)
{
	b->guest_features = 0;
	b->pfn = 0;
	b->queue_sel = 0;
	b->status = 0;
	b->isr = 0;
	memset(&b->vq, 0, sizeof(b->vq));
	vblk_set_irq(b, false);
}

/* Serve one request; returns the bytes written to the guest, with
 * *status set, or -1 when the chain is malformed (the run ends). */
static int64_t vblk_request(struct vmc_vblk *b, struct vmc_vq_seg *segs,
			    unsigned n, uint8_t *status)
{
	struct vmc_vmctx *vm = b->vm;
	uint8_t hdr[16];
	uint32_t type;
	uint64_t sector, off, total = 0, end;
	unsigned first = 1, last;
	uint64_t last_len;
	struct vmc_error err;

	if (n < 2 || segs[0].write || segs[0].len < 16 ||
	    !segs[n - 1].write || segs[n - 1].len < 1) {
		vmc_vm_fail(vm, VMC_VM_GUEST_ERROR,
			    "virtio-blk request without a 16-byte readable "
			    "header and a writable status byte (%u descriptors)",
			    n);
		return -1;
	}
	vmc_mem_read(&vm->mem, segs[0].gpa, hdr, 16);
	type = vmc_get_le32(hdr);
	sector = vmc_get_le64(hdr + 8);
	/* The status byte is the last byte of the last segment. */
	last = n - 1;
	last_len = segs[last].len - 1ULL;
	for (unsigned i = first; i <= last; i++)
		total += i == last ? last_len : segs[i].len;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		break;
	case VIRTIO_BLK_T_FLUSH:
		*status = VIRTIO_BLK_S_OK;
		return 0;
	case VIRTIO_BLK_T_GET_ID: {
		static const char id[20] = "vmconv-validate";
		uint64_t done = 0;

		for (unsigned i = first; i <= last && done < 20; i++) {
			uint64_t l = i == last ? last_len : segs[i].len;

			l = VMC_MIN(l, 20 - done);
			if (!segs[i].write) {
				*status = VIRTIO_BLK_S_IOERR;
				return 0;
			}
			vmc_mem_write(&vm->mem, segs[i].gpa, id + done, l);
			done += l;
		}
		*status = VIRTIO_BLK_S_OK;
		return (int64_t)done;
	}
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return 0;
	}

	*status = VIRTIO_BLK_S_IOERR;
	if (total % 512 || vmc_mul_overflow(sector, 512, &off) ||
	    vmc_add_overflow(off, total, &end) || end > b->disk->size)
		return 0;
	for (unsigned i = first; i <= last; i++) {
		uint64_t l = i == last ? last_len : segs[i].len;
		void *p;
		int r;

		if (!l)
			continue;
		if (segs[i].write != (type == VIRTIO_BLK_T_IN))
			return 0;
		p = vmc_mem_ptr(&vm->mem, segs[i].gpa, l);
		if (type == VIRTIO_BLK_T_IN)
			r = vmc_overlay_read(b->disk, p, l, off, &err);
		else
			r = vmc_overlay_write(b->disk, p, l, off, &err);
		if (r < 0) {
			if (err.code == ENOSPC)
				vmc_vm_fail(vm, VMC_VM_GUEST_ERROR, "%s",
					    err.msg);
			return 0;
		}
		off += l;
	}
	*status = VIRTIO_BLK_S_OK;
	return type == VIRTIO_BLK_T_IN ? (int64_t)total : 0;
}

/* At most one queue's worth of chains per notify: a guest whose buffers
 * overlap the available ring can keep publishing requests from inside the
 * requests themselves, and the rest waits for its next notify, so the VM
 * thread always gets back to KVM_RUN and its timeout. */
void vmc_vblk_notify(struct vmc_vblk *b)
{
	struct vmc_vmctx *vm = b->vm;
	bool done = false;
	char reason[200];

	for (unsigned k = 0; k < b->vq.size && !vm->stop; k++) {
		uint16_t head;
		unsigned n;
		uint8_t status = VIRTIO_BLK_S_IOERR;
		int64_t written;
		int r = vmc_vq_pop(&b->vq, &vm->mem, &head, b->segs, &n,
				   reason, sizeof(reason));

		if (r == 0)
			break;
		if (r < 0) {
			vmc_vm_fail(vm, VMC_VM_GUEST_ERROR, "virtio-blk: %s",
				    reason);
			return;
		}
		written = vblk_request(b, b->segs, n, &status);
		if (written < 0)
			return;
		vmc_mem_write(&vm->mem, b->segs[n - 1].gpa +
			      b->segs[n - 1].len - 1, &status, 1);
		vmc_vq_push(&b->vq, &vm->mem, head, (uint32_t)written + 1);
		b->requests++;
		done = true;
	}
	if (done && vmc_vq_want_irq(&b->vq, &vm->mem)) {
		b->isr |= 1;
		vblk_set_irq(b, true);
	}
}

static void vblk_regs(const struct vmc_vblk *b, uint8_t *r)
{
	uint64_t sectors = b->disk->size / 512;

	memset(r, 0, VBLK_BAR_SIZE);
	vmc_put_le32(r + VP_HOST_FEATURES, HOST_FEATURES);
	vmc_put_le32(r + VP_GUEST_FEATURES, b->guest_features);
	vmc_put_le32(r + VP_QUEUE_PFN, b->queue_sel == 0 ? b->pfn : 0);
	vmc_put_le16(r + VP_QUEUE_NUM,
		     b->queue_sel == 0 ? VMC_VBLK_QUEUE_SIZE : 0);
	vmc_put_le16(r + VP_QUEUE_SEL, b->queue_sel);
	r[VP_STATUS] = b->status;
	r[VP_ISR] = b->isr;
	vmc_put_le64(r + VP_CONFIG, sectors);		/* capacity */
	vmc_put_le32(r + VP_CONFIG + 12, VMC_VBLK_QUEUE_SIZE - 2); /* seg_max */
	vmc_put_le32(r + VP_CONFIG + 20, 512);		/* blk_size */
}

static void vblk_bar_io(struct vmc_pci_dev *d, unsigned bar, uint32_t off,
			bool write, uint8_t *data, unsigned size)
{
	struct vmc_vblk *b = d->opaque;
	char reason[200];

	if (!write) {
		uint8_t r[VBLK_BAR_SIZE];

		vblk_regs(b, r);
		if (off + size > VBLK_BAR_SIZE) {
			memset(data, 0xff, size);
			return;
		}
		memcpy(data, r + off, size);
		/* Reading the ISR acknowledges the interrupt. */
		if (off <= VP_ISR && off + size > VP_ISR) {
			b->isr = 0;
			vblk_set_irq(b, false);
		}
		return;
	}
	switch (off) {
	case VP_GUEST_FEATURES:
		if (size == 4)
			b->guest_features = vmc_get_le32(data) & HOST_FEATURES;
		break;
	case VP_QUEUE_PFN:
		if (size != 4 || b->queue_sel != 0)
			break;
		b->pfn = vmc_get_le32(data);
		if (!b->pfn) {
			memset(&b->vq, 0, sizeof(b->vq));
			break;
		}
		if (!vmc_vq_setup_legacy(&b->vq, &b->vm->mem,
					 VMC_VBLK_QUEUE_SIZE, b->pfn, reason,
					 sizeof(reason)))
			vmc_vm_fail(b->vm, VMC_VM_GUEST_ERROR,
				    "virtio-blk: %s", reason);
		break;
	case VP_QUEUE_SEL:
		if (size == 2)
			b->queue_sel = vmc_get_le16(data);
		break;
	case VP_QUEUE_NOTIFY:
		if (size == 2 && vmc_get_le16(data) == 0)
			vmc_vblk_notify(b);
		break;
	case VP_STATUS:
		if (size != 1)
			break;
		if (data[0] == 0)
			vblk_reset(b);
		else
			b->status = data[0];
		break;
	}
}

int vmc_vblk_init(struct vmc_vblk *b, struct vmc_vmctx *vm,
		  struct vmc_pci *pci, struct vmc_overlay *disk,
		  struct vmc_error *err)
{
	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->pci = pci;
	b->disk = disk;
	b->irq_gsi = -1;
	vmc_pci_dev_init(&b->dev, VMC_VBLK_SLOT << 3, 0x1af4, 0x1001,
			 0x01800000, 0x00);
	vmc_put_le16(b->dev.cfg + 0x2c, 0x1af4);
	vmc_put_le16(b->dev.cfg + 0x2e, 2);	/* virtio device id: block */
	b->dev.cfg[0x3d] = 1;			/* INTA# */
	vmc_pci_dev_add_io_bar(&b->dev, 0, VBLK_BAR_SIZE);
	b->dev.bar_io = vblk_bar_io;
	b->dev.opaque = b;
	if (vmc_pci_register(pci, &b->dev) < 0)
		return vmc_error_set(err, ENOSPC, "no PCI slot for virtio-blk");
	return 0;
}

void vmc_vblk_free(struct vmc_vblk *b)
{
	(void)b;
}
