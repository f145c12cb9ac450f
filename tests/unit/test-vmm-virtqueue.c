/* Unit tests: split virtqueue parsing (validate/vmm/virtqueue.c) with
 * hostile input, and virtio-blk requests end to end through the legacy
 * PCI interface (validate/vmm/virtio-blk.c): a guest's bad addresses,
 * loops, huge lengths and bad queue layouts fail its run or its request,
 * never read or write outside guest RAM. */
#include <sys/stat.h>

#include "vmm-test.h"
#include "common/bytes.h"

#define RAM (4ULL << 20)
#define PFN 0x10
#define DESC 0x10000ULL
#define AVAIL (DESC + 16 * VMC_VBLK_QUEUE_SIZE)
#define USED 0x12000ULL

static struct vmc_mem mem;

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = vmc_mem_ptr(&mem, DESC + 16 * i, 16);

	vmc_put_le64(d, addr);
	vmc_put_le32(d + 8, len);
	vmc_put_le16(d + 12, flags);
	vmc_put_le16(d + 14, next);
}

/* Make head the next available entry. */
static void publish(uint16_t head)
{
	uint8_t *a = vmc_mem_ptr(&mem, AVAIL, 4 + 2 * VMC_VBLK_QUEUE_SIZE);
	uint16_t idx = vmc_get_le16(a + 2);

	vmc_put_le16(a + 4 + 2 * (idx % VMC_VBLK_QUEUE_SIZE), head);
	vmc_put_le16(a + 2, idx + 1);
}

static uint16_t used_idx(void)
{
	return vmc_get_le16(vmc_mem_ptr(&mem, USED + 2, 2));
}

/* ---- the parser alone ---- */

static struct vmc_vq q;
static struct vmc_vq_seg segs[VMC_VQ_MAX_SIZE];
static char reason[256];

static void vq_setup(void)
{
	struct vmc_error err;

	cr_assert_eq(vmc_mem_init(&mem, RAM, &err), 0);
	cr_assert(vmc_vq_setup_legacy(&q, &mem, VMC_VBLK_QUEUE_SIZE, PFN,
				      reason, sizeof(reason)), "%s", reason);
	cr_assert_eq(q.used, USED);
}

static void vq_teardown(void)
{
	vmc_mem_free(&mem);
}

TestSuite(vmm_vq, .init = vq_setup, .fini = vq_teardown);

Test(vmm_vq, layout_checks)
{
	struct vmc_vq t;

	cr_assert_not(vmc_vq_setup(&t, &mem, 100, DESC, AVAIL, USED, reason,
				   sizeof(reason)));
	cr_assert(strstr(reason, "power of two"), "%s", reason);
	cr_assert_not(vmc_vq_setup(&t, &mem, 0, DESC, AVAIL, USED, reason,
				   sizeof(reason)));
	cr_assert_not(vmc_vq_setup(&t, &mem, 2048, DESC, AVAIL, USED, reason,
				   sizeof(reason)));
	cr_assert_not(vmc_vq_setup(&t, &mem, 256, DESC + 8, AVAIL, USED,
				   reason, sizeof(reason)));
	cr_assert(strstr(reason, "misaligned"), "%s", reason);
	cr_assert_not(vmc_vq_setup(&t, &mem, 256, DESC, AVAIL + 1, USED,
				   reason, sizeof(reason)));
	cr_assert_not(vmc_vq_setup(&t, &mem, 256, DESC, AVAIL, USED + 2,
				   reason, sizeof(reason)));
	/* rings running off the end of RAM, or wrapping the address space */
	cr_assert_not(vmc_vq_setup(&t, &mem, 256, RAM - 2048, AVAIL, USED,
				   reason, sizeof(reason)));
	cr_assert(strstr(reason, "outside guest RAM"), "%s", reason);
	cr_assert_not(vmc_vq_setup(&t, &mem, 256, 0xfffffffffffff000ULL,
				   AVAIL, USED, reason, sizeof(reason)));
	cr_assert_not(vmc_vq_setup_legacy(&t, &mem, 256, 0xfffff, reason,
					  sizeof(reason)));
	cr_assert(vmc_vq_setup(&t, &mem, 8, DESC, AVAIL, USED, reason,
			       sizeof(reason)));
}

Test(vmm_vq, empty_queue)
{
	uint16_t head;
	unsigned n;

	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), 0);
}

Test(vmm_vq, good_chain)
{
	uint16_t head;
	unsigned n;

	put_desc(7, 0x20000, 16, 1, 9);
	put_desc(9, 0x21000, 512, 1 | 2, 2);
	put_desc(2, 0x22000, 1, 2, 0);
	publish(7);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), 1, "%s", reason);
	cr_assert_eq(head, 7);
	cr_assert_eq(n, 3);
	cr_assert_eq(segs[1].gpa, 0x21000);
	cr_assert_eq(segs[1].len, 512);
	cr_assert(segs[1].write);
	cr_assert_not(segs[0].write);
	cr_assert(vmc_vq_push(&q, &mem, head, 513));
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(vmc_get_le32(vmc_mem_ptr(&mem, USED + 4, 4)), 7);
	cr_assert_eq(vmc_get_le32(vmc_mem_ptr(&mem, USED + 8, 4)), 513);
}

Test(vmm_vq, descriptor_loop)
{
	uint16_t head;
	unsigned n;

	put_desc(0, 0x20000, 16, 1, 1);
	put_desc(1, 0x21000, 16, 1, 0);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
	cr_assert(strstr(reason, "loop"), "%s", reason);
}

Test(vmm_vq, self_loop)
{
	uint16_t head;
	unsigned n;

	put_desc(5, 0x20000, 16, 1, 5);
	publish(5);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
}

Test(vmm_vq, index_out_of_range)
{
	uint16_t head;
	unsigned n;

	publish(300);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
	cr_assert(strstr(reason, "out of range"), "%s", reason);

	put_desc(0, 0x20000, 16, 1, 999);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
}

Test(vmm_vq, address_outside_ram)
{
	uint16_t head;
	unsigned n;

	put_desc(0, RAM - 8, 16, 0, 0);		/* straddles the end */
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
	cr_assert(strstr(reason, "outside guest RAM"), "%s", reason);
}

Test(vmm_vq, huge_length)
{
	uint16_t head;
	unsigned n;

	put_desc(0, 0x1000, 0xffffffff, 2, 0);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
}

Test(vmm_vq, address_wraps)
{
	uint16_t head;
	unsigned n;

	put_desc(0, 0xfffffffffffffff0ULL, 0x20, 2, 0);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
}

Test(vmm_vq, indirect_refused)
{
	uint16_t head;
	unsigned n;

	put_desc(0, 0x20000, 32, 4, 0);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
	cr_assert(strstr(reason, "indirect"), "%s", reason);
}

Test(vmm_vq, avail_index_runs_ahead)
{
	uint16_t head;
	unsigned n;

	vmc_put_le16(vmc_mem_ptr(&mem, AVAIL + 2, 2), 1000);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), -1);
	cr_assert(strstr(reason, "ahead"), "%s", reason);
}

Test(vmm_vq, full_length_chain_is_accepted)
{
	uint16_t head;
	unsigned n;

	for (unsigned i = 0; i < VMC_VBLK_QUEUE_SIZE; i++)
		put_desc(i, 0x20000, 16, i + 1 < VMC_VBLK_QUEUE_SIZE, i + 1);
	publish(0);
	cr_assert_eq(vmc_vq_pop(&q, &mem, &head, segs, &n, reason,
				sizeof(reason)), 1, "%s", reason);
	cr_assert_eq(n, VMC_VBLK_QUEUE_SIZE);
}

/* ---- virtio-blk through the board ---- */

static struct vmc_machine m;
static struct irq_log irqs;
static char disk_path[64];
static uint16_t bar;

static void out(unsigned off, uint32_t v, unsigned size)
{
	uint8_t b[4];

	vmc_put_le32(b, v);
	vmc_machine_pio(&m, (uint16_t)(bar + off), true, b, size);
}

static uint32_t in(unsigned off, unsigned size)
{
	uint8_t b[4] = { 0 };

	vmc_machine_pio(&m, (uint16_t)(bar + off), false, b, size);
	return vmc_get_le32(b);
}

static void blk_setup(void)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;

	cfg.disk = test_disk(disk_path, sizeof(disk_path), 64);
	cr_assert_eq(vmc_machine_init(&m, &cfg, RAM, &err), 0, "%s", err.msg);
	memset(&irqs, 0, sizeof(irqs));
	m.vm.set_irq = irq_record;
	m.vm.irq_opaque = &irqs;
	mem = m.vm.mem;
	vmc_pci_assign(&m.pci);
	bar = vmc_get_le32(m.vblk.dev.cfg + 0x10) & 0xfffc;
	/* the Linux legacy driver's sequence */
	out(0x12, 0, 1);
	out(0x12, 1 | 2, 1);
	cr_assert_eq(in(0x0c, 2), VMC_VBLK_QUEUE_SIZE);
	out(0x04, in(0x00, 4), 4);
	out(0x0e, 0, 2);
	out(0x08, PFN, 4);
	out(0x12, 1 | 2 | 4, 1);
	cr_assert_not(m.vm.stop, "%s", m.vm.reason);
}

static void blk_teardown(void)
{
	struct vmc_image *img = m.disk.img;

	vmc_machine_free(&m);
	vmc_image_close(img);
	unlink(disk_path);
}

/* header at 0x20000, data at 0x21000, status at 0x22000 */
static void request(uint16_t head, uint32_t type, uint64_t sector,
		    uint32_t len, bool in_dir)
{
	uint8_t *h = vmc_mem_ptr(&mem, 0x20000, 16);

	vmc_put_le32(h, type);
	vmc_put_le32(h + 4, 0);
	vmc_put_le64(h + 8, sector);
	*(uint8_t *)vmc_mem_ptr(&mem, 0x22000, 1) = 0xee;
	put_desc(head, 0x20000, 16, 1, head + 1);
	put_desc(head + 1, 0x21000, len, 1 | (in_dir ? 2 : 0), head + 2);
	put_desc(head + 2, 0x22000, 1, 2, 0);
	publish(head);
	out(0x10, 0, 2);
}

static uint8_t status(void)
{
	return *(uint8_t *)vmc_mem_ptr(&mem, 0x22000, 1);
}

TestSuite(vmm_vblk, .init = blk_setup, .fini = blk_teardown);

Test(vmm_vblk, read_sectors)
{
	uint8_t *d = vmc_mem_ptr(&mem, 0x21000, 1024);

	request(0, 0, 5, 1024, true);
	cr_assert_not(m.vm.stop, "%s", m.vm.reason);
	cr_assert_eq(status(), 0);
	cr_assert_eq(d[0], 5);
	cr_assert_eq(d[511], 5);
	cr_assert_eq(d[512], 6);
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(vmc_get_le32(vmc_mem_ptr(&mem, USED + 8, 4)), 1025);
	/* INTA routed by the "firmware" to IRQ 11; ISR read acknowledges */
	cr_assert_eq(irqs.level[11], 1);
	cr_assert_eq(in(0x13, 1), 1);
	cr_assert_eq(irqs.level[11], 0);
	cr_assert_eq(in(0x13, 1), 0);
}

Test(vmm_vblk, write_goes_to_overlay_not_image)
{
	uint8_t *d = vmc_mem_ptr(&mem, 0x21000, 512);
	struct stat before, after;
	uint8_t disk[512];
	FILE *f;

	cr_assert_eq(stat(disk_path, &before), 0);
	memset(d, 0xab, 512);
	request(0, 1, 3, 512, false);
	cr_assert_eq(status(), 0);
	memset(d, 0, 512);
	request(3, 0, 3, 512, true);
	cr_assert_eq(status(), 0);
	cr_assert_eq(d[0], 0xab);
	cr_assert_eq(d[511], 0xab);
	/* the image file still holds the original sector */
	f = fopen(disk_path, "rb");
	cr_assert_not_null(f);
	fseek(f, 3 * 512, SEEK_SET);
	cr_assert_eq(fread(disk, 1, 512, f), 512);
	fclose(f);
	cr_assert_eq(disk[0], 3);
	cr_assert_eq(stat(disk_path, &after), 0);
	cr_assert_eq(before.st_mtime, after.st_mtime);
}

Test(vmm_vblk, past_end_of_disk_fails_request_only)
{
	request(0, 0, 63, 1024, true);	/* sectors 63 and 64 of 64 */
	cr_assert_not(m.vm.stop);
	cr_assert_eq(status(), 1);
	request(3, 0, 0x00ffffffffffffffULL, 512, true); /* offset overflow */
	cr_assert_eq(status(), 1);
	request(6, 0, 0, 100, true);	/* not a multiple of 512 */
	cr_assert_eq(status(), 1);
	request(9, 0x77, 0, 512, true);	/* unknown type */
	cr_assert_eq(status(), 2);
	request(12, 4, 0, 0, true);	/* flush */
	cr_assert_eq(status(), 0);
	cr_assert_not(m.vm.stop);
	cr_assert_eq(used_idx(), 5);
}

/* A request whose first buffer is the disk's last sector and whose
 * second lies past the end fails whole: nothing read into the first
 * buffer, nothing written to the last sector (the overlay alone would
 * serve the first buffer and fail only the second). */
static void split_request(uint32_t type, bool in_dir)
{
	uint8_t *h = vmc_mem_ptr(&mem, 0x20000, 16);

	vmc_put_le32(h, type);
	vmc_put_le32(h + 4, 0);
	vmc_put_le64(h + 8, 63);
	*(uint8_t *)vmc_mem_ptr(&mem, 0x22000, 1) = 0xee;
	put_desc(0, 0x20000, 16, 1, 1);
	put_desc(1, 0x21000, 512, 1 | (in_dir ? 2 : 0), 2);
	put_desc(2, 0x21200, 512, 1 | (in_dir ? 2 : 0), 3);
	put_desc(3, 0x22000, 1, 2, 0);
	publish(0);
	out(0x10, 0, 2);
}

Test(vmm_vblk, straddling_buffers_fail_whole)
{
	uint8_t *d = vmc_mem_ptr(&mem, 0x21000, 1024);

	memset(d, 0x5a, 1024);
	split_request(0, true);
	cr_assert_not(m.vm.stop, "%s", m.vm.reason);
	cr_assert_eq(status(), 1);
	for (unsigned i = 0; i < 1024; i++)
		cr_assert_eq(d[i], 0x5a, "byte %u read in", i);
	split_request(1, false);
	cr_assert_eq(status(), 1);
	memset(d, 0, 1024);
	request(4, 0, 63, 512, true);
	cr_assert_eq(status(), 0);
	cr_assert_eq(d[0], 63, "the last sector was written");
	cr_assert_eq(d[511], 63);
	cr_assert_eq(used_idx(), 3);
}

Test(vmm_vblk, wrong_direction_fails_request)
{
	request(0, 0, 0, 512, false);	/* read into a read-only buffer */
	cr_assert_eq(status(), 1);
	cr_assert_not(m.vm.stop);
}

Test(vmm_vblk, get_id)
{
	request(0, 8, 0, 20, true);
	cr_assert_eq(status(), 0);
	cr_assert_eq(memcmp(vmc_mem_ptr(&mem, 0x21000, 6), "vmconv", 6), 0);
}

Test(vmm_vblk, hostile_chain_ends_the_run)
{
	put_desc(0, 0x20000, 16, 1, 1);
	put_desc(1, RAM + 0x1000, 512, 1 | 2, 2);
	put_desc(2, 0x22000, 1, 2, 0);
	publish(0);
	out(0x10, 0, 2);
	cr_assert(m.vm.stop);
	cr_assert_eq(m.vm.exit, VMC_VM_GUEST_ERROR);
	cr_assert(strstr(m.vm.reason, "virtio-blk"), "%s", m.vm.reason);
	cr_assert(strstr(m.vm.reason, "outside guest RAM"), "%s",
		  m.vm.reason);
	cr_assert_eq(used_idx(), 0);
}

Test(vmm_vblk, loop_ends_the_run)
{
	put_desc(0, 0x20000, 16, 1, 1);
	put_desc(1, 0x21000, 512, 1 | 2, 0);
	publish(0);
	out(0x10, 0, 2);
	cr_assert_eq(m.vm.exit, VMC_VM_GUEST_ERROR);
	cr_assert(strstr(m.vm.reason, "loop"), "%s", m.vm.reason);
}

Test(vmm_vblk, missing_status_ends_the_run)
{
	put_desc(0, 0x20000, 16, 1, 0);
	publish(0);
	out(0x10, 0, 2);
	cr_assert_eq(m.vm.exit, VMC_VM_GUEST_ERROR);
}

Test(vmm_vblk, queue_pfn_outside_ram)
{
	out(0x08, (uint32_t)(RAM >> 12) - 1, 4);
	cr_assert(m.vm.stop);
	cr_assert_eq(m.vm.exit, VMC_VM_GUEST_ERROR);
	cr_assert(strstr(m.vm.reason, "outside guest RAM"), "%s",
		  m.vm.reason);
}

Test(vmm_vblk, reset_clears_queue)
{
	out(0x12, 0, 1);
	cr_assert_eq(in(0x08, 4), 0);
	cr_assert_eq(in(0x12, 1), 0);
	/* a notify on a reset queue does nothing */
	publish(0);
	out(0x10, 0, 2);
	cr_assert_not(m.vm.stop);
}
