/* libFuzzer target: the VMM's device models (validate/vmm/) driven as a
 * hostile guest drives them, without /dev/kvm: the board over 1 MiB..
 * 4 MiB of real guest RAM with a small raw disk, and the input read as a
 * list of 8-byte operations: port writes and reads of 1, 2 or 4 bytes to
 * the ports the board decodes (serial, fw_cfg, i8042, CMOS, PCI config,
 * IDE, the virtio-blk BAR, the debug and reset ports, or any
 * port), and 4-byte stores anywhere in the first MiB of RAM (where the
 * virtqueues, descriptors and request headers go).  A crash, a sanitizer
 * report, an access outside RAM or a hang is a finding.  Build with
 * `make fuzz`. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (4ULL << 20)

static struct vmc_image *disk;

static void open_disk(void)
{
	char p[64];
	struct vmc_error err;
	FILE *f;

	snprintf(p, sizeof(p), "/tmp/vmconv-fuzz-vmm-%d.raw", (int)getpid());
	f = fopen(p, "w");
	if (!f)
		abort();
	for (int i = 0; i < 2048; i++) {
		uint8_t s[512];

		memset(s, i & 0xff, sizeof(s));
		fwrite(s, 1, sizeof(s), f);
	}
	fclose(f);
	disk = vmc_image_open(p, "raw", 0, NULL, &err);
	if (!disk)
		abort();
}

static uint16_t pick_port(const struct vmc_machine *m, uint8_t sel,
			  uint8_t extra)
{
	static const uint16_t fixed[] = {
		0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x510, 0x511,
		0x60, 0x64, 0x70, 0x71, 0xcf8, 0xcfc, 0xcfd, 0xcfe, 0xcff,
		0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7,
		0x3f6, 0x402, 0x92, 0xcf9, 0x80,
	};
	const size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	uint16_t bar;

	if (sel < nf)
		return fixed[sel];
	if (sel < 0xc0 && m->has_vblk) {
		bar = vmc_get_le32(m->vblk.dev.cfg + 0x10) & 0xfffc;
		return (uint16_t)(bar + (extra & 0x1f));
	}
	return (uint16_t)(sel << 8 | extra);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_machine *m;
	struct vmc_error err;

	if (!disk)
		open_disk();
	if (size < 1)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return 0;
	cfg.disk = disk;
	cfg.bus = data[0] & 1 ? VMC_BUS_IDE : VMC_BUS_VIRTIO;
	if (vmc_machine_init(m, &cfg, RAM, &err) < 0) {
		free(m);
		return 0;
	}
	vmc_pci_assign(&m->pci);
	for (size_t i = 1; i + 8 <= size && !m->vm.stop; i += 8) {
		const uint8_t *op = data + i;
		unsigned sz = 1u << (op[2] % 3);
		uint8_t v[4];

		memcpy(v, op + 3, 4);
		switch (op[0] % 3) {
		case 0:
			vmc_machine_pio(m, pick_port(m, op[1], op[7]), true,
					v, sz);
			break;
		case 1:
			vmc_machine_pio(m, pick_port(m, op[1], op[7]), false,
					v, sz);
			break;
		default:
			vmc_mem_write(&m->vm.mem,
				      ((uint64_t)op[1] << 12 | op[7] << 4 |
				       (op[2] & 0xc)), v, 4);
		}
	}
	vmc_machine_free(m);
	free(m);
	return 0;
}
