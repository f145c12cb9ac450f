/* Shared set-up for the VMM device tests: a machine context over real
 * (mmap'd) guest RAM with an IRQ recorder, and a raw disk image whose
 * sector n is filled with the byte (n & 0xff) so reads can be checked. */
#ifndef VMC_TEST_VMM_H
#define VMC_TEST_VMM_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "validate/vmm/vmm.h"

struct irq_log {
	int level[24];
	unsigned raised[24];
};

static inline void irq_record(void *opaque, unsigned gsi, int level)
{
	struct irq_log *l = opaque;

	if (gsi < 24) {
		if (level && !l->level[gsi])
			l->raised[gsi]++;
		l->level[gsi] = level;
	}
}

static inline void vmctx_setup(struct vmc_vmctx *vm, struct irq_log *log,
			       uint64_t ram)
{
	struct vmc_error err;

	memset(vm, 0, sizeof(*vm));
	memset(log, 0, sizeof(*log));
	cr_assert_eq(vmc_mem_init(&vm->mem, ram, &err), 0, "%s", err.msg);
	vm->set_irq = irq_record;
	vm->irq_opaque = log;
}

/* A raw image of sectors 512-byte sectors, sector n full of (n & 0xff). */
static inline struct vmc_image *test_disk(char *path, size_t plen,
					  uint64_t sectors)
{
	struct vmc_error err;
	struct vmc_image *img;
	uint8_t s[512];
	FILE *f;
	int fd;

	snprintf(path, plen, "/tmp/vmconv-vmm-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	for (uint64_t i = 0; i < sectors; i++) {
		memset(s, (int)(i & 0xff), sizeof(s));
		cr_assert_eq(fwrite(s, 1, 512, f), 512);
	}
	fclose(f);
	img = vmc_image_open(path, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	return img;
}

#endif
