/* Unit test: the virtio-blk notify loop is bounded (validate/vmm/
 * virtio-blk.c), driven through the board without /dev/kvm.  The guest's
 * request is a read whose data buffer overlaps its own request header and
 * the available ring, and the disk is made so that every sector it reads
 * names the next sector and publishes one more request: without a bound
 * the device would serve requests for ever inside one notify (about 180k
 * a second), the VM thread would never return to KVM_RUN and no timeout
 * could end the run.  With the bound one notify serves one queue's worth
 * and returns. */
#include "vmm-test.h"
#include "common/bytes.h"

#define RAM (4ULL << 20)
#define PFN 0x10
#define DESC 0x10000ULL
#define QS VMC_VBLK_QUEUE_SIZE
#define AVAIL (DESC + 16 * QS)
#define SECTORS 65536		/* the 16-bit available index wraps */

static struct vmc_machine m;
static char disk_path[64];
static uint16_t bar;

static void out(unsigned off, uint32_t v, unsigned size)
{
	uint8_t b[4];

	vmc_put_le32(b, v);
	vmc_machine_pio(&m, (uint16_t)(bar + off), true, b, size);
}

/* Sector s: a request header for sector s + 1 (where the buffer puts
 * the header back), then the available ring's flags and an index one
 * past the request being served. */
static struct vmc_image *hostile_disk(void)
{
	struct vmc_error err;
	struct vmc_image *img;
	static uint8_t s[512];
	FILE *f;
	int fd;

	snprintf(disk_path, sizeof(disk_path), "/tmp/vmconv-vmm-XXXXXX");
	fd = mkstemp(disk_path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	for (uint32_t i = 0; i < SECTORS; i++) {
		memset(s, 0, sizeof(s));
		vmc_put_le64(s + 8, (i + 1) % SECTORS);
		vmc_put_le16(s + 16, 1);		/* no interrupts */
		vmc_put_le16(s + 18, (uint16_t)(i + 2));
		cr_assert_eq(fwrite(s, 1, 512, f), 512);
	}
	fclose(f);
	img = vmc_image_open(disk_path, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	return img;
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = vmc_mem_ptr(&m.vm.mem, DESC + 16 * i, 16);

	vmc_put_le64(d, addr);
	vmc_put_le32(d + 8, len);
	vmc_put_le16(d + 12, flags);
	vmc_put_le16(d + 14, next);
}

static void setup(void)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_error err;

	cfg.disk = hostile_disk();
	cr_assert_eq(vmc_machine_init(&m, &cfg, RAM, &err), 0, "%s", err.msg);
	vmc_pci_assign(&m.pci);
	bar = vmc_get_le32(m.vblk.dev.cfg + 0x10) & 0xfffc;
	out(0x12, 0, 1);
	out(0x12, 1 | 2, 1);
	out(0x0e, 0, 2);
	out(0x08, PFN, 4);
	out(0x12, 1 | 2 | 4, 1);
	cr_assert_not(m.vm.stop, "%s", m.vm.reason);
}

static void teardown(void)
{
	struct vmc_image *img = m.disk.img;

	vmc_machine_free(&m);
	vmc_image_close(img);
	unlink(disk_path);
}

TestSuite(vmm_notify, .init = setup, .fini = teardown, .timeout = 60);

Test(vmm_notify, self_publishing_requests_are_bounded_per_notify)
{
	uint64_t hdr = AVAIL - 16;	/* the last descriptor's slot */
	uint8_t *h = vmc_mem_ptr(&m.vm.mem, hdr, 16 + 4 + 2 * QS);

	/* request 0 reads sector 0 into [hdr, hdr + 512): its own header
	 * and the available ring (flags, index, the first entries) */
	memset(h, 0, 16 + 4 + 2 * QS);
	vmc_put_le64(h + 8, 0);
	vmc_put_le16(h + 18, 1);
	put_desc(0, hdr, 16, 1, 1);
	put_desc(1, hdr, 512, 1 | 2, 2);
	put_desc(2, 0x30000, 1, 2, 0);

	out(0x10, 0, 2);
	cr_assert_not(m.vm.stop, "%s", m.vm.reason);
	cr_assert_eq(m.vblk.requests, QS, "one notify served %llu requests",
		     (unsigned long long)m.vblk.requests);
	/* the guest is still "publishing": the next notify serves the next
	 * queue's worth, and so on, each returning */
	out(0x10, 0, 2);
	cr_assert_eq(m.vblk.requests, 2 * QS);
	cr_assert_eq(vmc_get_le16(h + 18), (uint16_t)(2 * QS + 1),
		     "the guest's index kept running ahead");
}
