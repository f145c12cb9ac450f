/* SeaBIOS as QEMU's pc machine loads it: the whole bios.bin as ROM ending
 * at 4 GiB (where the reset vector 0xfffffff0 is), and its last 128 KiB
 * also at 0xe0000-0xfffff, here plain RAM (QEMU's PAM registers make that
 * range RAM once SeaBIOS has copied itself; starting from RAM that holds
 * the same copy is equivalent, and the option-ROM area 0xc0000-0xdffff is
 * RAM too).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

int vmc_bios_load(struct vmc_mem *mem, const char *path, uint8_t **rom,
		  size_t *rom_len, struct vmc_error *err)
{
	struct stat st;
	size_t len, low;
	void *p;
	int fd;

	*rom = NULL;
	*rom_len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open the BIOS",
				       path);
	if (fstat(fd, &st) < 0) {
		vmc_error_errno(err, errno, "%s", path);
		goto fail;
	}
	if (st.st_size < 65536 || st.st_size > VMC_BIOS_MAX ||
	    st.st_size % 65536) {
		vmc_error_set(err, EINVAL,
			      "%s: a BIOS image is 64, 128, 192 or 256 KiB, "
			      "this file has %lld bytes", path,
			      (long long)st.st_size);
		goto fail;
	}
	len = (size_t)st.st_size;
	if (mem->size < (1 << 20)) {
		vmc_error_set(err, EINVAL, "guest RAM below 1 MiB");
		goto fail;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		vmc_error_errno(err, errno, "cannot map the BIOS");
		goto fail;
	}
	if (vmc_pread_full(fd, p, len, 0, path, err) < 0) {
		munmap(p, len);
		goto fail;
	}
	close(fd);
	low = VMC_MIN(len, 128 * 1024);
	memcpy(mem->ram + 0x100000 - low, (uint8_t *)p + len - low, low);
	*rom = p;
	*rom_len = len;
	return 0;
fail:
	close(fd);
	return -1;
}
