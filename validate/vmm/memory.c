/* Guest RAM and the bounds checks every device goes through.
 *
 * Guest RAM is one anonymous mapping for guest physical [0, size).  A
 * device never computes a host pointer itself: it asks vmc_mem_ptr() for
 * a whole range, which fails unless every byte of it is RAM, so a guest
 * address or length (from a virtqueue, a PIO request, a boot structure)
 * can never reach outside the mapping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

int vmc_mem_init(struct vmc_mem *m, uint64_t size, struct vmc_error *err)
{
	void *p;

	m->ram = NULL;
	m->size = 0;
	if (size == 0 || size > SIZE_MAX)
		return vmc_error_set(err, EINVAL, "guest RAM size %llu",
				     (unsigned long long)size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vmc_error_errno(err, errno, "cannot map %llu MiB of guest RAM",
				       (unsigned long long)(size >> 20));
	madvise(p, size, MADV_MERGEABLE);
	m->ram = p;
	m->size = size;
	return 0;
}

void vmc_mem_free(struct vmc_mem *m)
{
	if (m->ram)
		munmap(m->ram, m->size);
	m->ram = NULL;
	m->size = 0;
}

void *vmc_mem_ptr(const struct vmc_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!m->ram || vmc_add_overflow(gpa, len, &end) || end > m->size)
		return NULL;
	return m->ram + gpa;
}

bool vmc_mem_read(const struct vmc_mem *m, uint64_t gpa, void *buf,
		  size_t len)
{
	void *p = vmc_mem_ptr(m, gpa, len);

	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

bool vmc_mem_write(const struct vmc_mem *m, uint64_t gpa, const void *buf,
		   size_t len)
{
	void *p = vmc_mem_ptr(m, gpa, len);

	if (!p)
		return false;
	memcpy(p, buf, len);
	return true;
}

void vmc_vm_fail(struct vmc_vmctx *vm, enum vmc_vm_exit exit,
		 const char *fmt, ...)
{
	va_list ap;

	if (vm->stop)
		return;
	vm->stop = true;
	vm->exit = exit;
	va_start(ap, fmt);
	vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
}

void vmc_vm_irq(struct vmc_vmctx *vm, unsigned gsi, int level)
{
	if (vm->set_irq)
		vm->set_irq(vm->irq_opaque, gsi, level);
}

void vmc_vm_stats_out(struct vmc_vmctx *vm)
{
	if (!vm->on_stats)
		return;
	if (vm->read_stats)
		vm->read_stats(vm->stats_opaque, &vm->stats);
	vm->on_stats(vm->ctx, &vm->stats);
}
