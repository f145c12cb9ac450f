/* OVMF as QEMU's pc machine maps it with KVM and -bios: the whole image
 * as read-only memory ending at 4 GiB (the reset vector at 0xfffffff0),
 * and its last 128 KiB also at 0xe0000-0xfffff as for any BIOS ROM.  The
 * split build (OVMF_CODE and OVMF_VARS, two flash chips on QEMU, the
 * variable store just below the code) is mapped the same way, the store
 * first: both files become one read-only image, so OVMF's flash probe
 * (QemuFlashFvbServicesRuntimeDxe: a write that does not stick is ROM,
 * not CFI flash) finds no flash and OVMF keeps its variables in memory
 * (EmuVariableFvbRuntimeDxe), as it does under QEMU with -bios OVMF.fd.
 * Nothing a guest writes to its variables outlives the run, and the
 * files are only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define LOW_COPY (128 * 1024)

/* The size of path, checked: a positive multiple of 4 KiB up to max. */
static int part_size(const char *path, const char *what, size_t max,
		     int *fdp, size_t *len, struct vmc_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*fdp = -1;
	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open the UEFI"
				       " firmware's %s", path, what);
	if (fstat(fd, &st) < 0) {
		vmc_error_errno(err, errno, "%s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < LOW_COPY ||
	    (uint64_t)st.st_size > max || st.st_size % 4096) {
		vmc_error_set(err, EINVAL, "%s: the UEFI firmware's %s is a"
			      " file of 128 KiB to %zu MiB in 4 KiB units,"
			      " this one has %lld bytes", path, what,
			      max >> 20, (long long)st.st_size);
		close(fd);
		return -1;
	}
	*fdp = fd;
	*len = (size_t)st.st_size;
	return 0;
}

int vmc_ovmf_load(struct vmc_mem *mem, const char *code, const char *vars,
		  uint8_t **rom, size_t *rom_len, struct vmc_error *err)
{
	int cfd = -1, vfd = -1;
	size_t clen = 0, vlen = 0, len;
	uint8_t *p;
	int ret = -1;

	*rom = NULL;
	*rom_len = 0;
	if (mem->size < (1 << 20))
		return vmc_error_set(err, EINVAL, "guest RAM below 1 MiB");
	if (part_size(code, "code", VMC_OVMF_MAX, &cfd, &clen, err) < 0)
		return -1;
	if (vars && *vars &&
	    part_size(vars, "variable store", VMC_OVMF_MAX - clen, &vfd,
		      &vlen, err) < 0)
		goto out;
	len = vlen + clen;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		vmc_error_errno(err, errno, "cannot map the UEFI firmware");
		goto out;
	}
	if ((vlen && vmc_pread_full(vfd, p, vlen, 0, vars, err) < 0) ||
	    vmc_pread_full(cfd, p + vlen, clen, 0, code, err) < 0) {
		munmap(p, len);
		goto out;
	}
	memcpy(mem->ram + 0x100000 - LOW_COPY, p + len - LOW_COPY, LOW_COPY);
	*rom = p;
	*rom_len = len;
	ret = 0;
out:
	if (vfd >= 0)
		close(vfd);
	close(cfd);
	return ret;
}
