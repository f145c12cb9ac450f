/* Direct Linux boot with the 64-bit boot protocol (the kernel's
 * Documentation/arch/x86/boot.rst: "64-bit boot protocol" and "The zero
 * page"): the protected-mode kernel of a bzImage at 1 MiB, a zero page
 * (struct boot_params) holding the bzImage's setup header, the command
 * line, the initrd and an e820 map, identity page tables for the low
 * 4 GiB, a GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18), and entry at
 * load address + 0x200 with %rsi pointing at the zero page.  Every size
 * from the files is checked against guest RAM before anything is copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

#define HDR_SETUP_SECTS	0x1f1
#define HDR_VID_MODE	0x1fa
#define HDR_BOOT_FLAG	0x1fe
#define HDR_MAGIC	0x202
#define HDR_VERSION	0x206
#define HDR_LOADER	0x210
#define HDR_LOADFLAGS	0x211
#define HDR_RAMDISK	0x218
#define HDR_RAMDISK_SZ	0x21c
#define HDR_HEAP_END	0x224
#define HDR_CMDLINE	0x228
#define HDR_INITRD_MAX	0x22c
#define HDR_XLOADFLAGS	0x236
#define HDR_CMDLINE_SZ	0x238
#define HDR_INIT_SIZE	0x260
#define BP_E820_ENTRIES	0x1e8
#define BP_E820_TABLE	0x2d0
#define BP_E820_MAX	128

#define KERNEL_MAX	(256ULL << 20)

static int read_file(const char *path, const char *what, uint64_t max,
		     uint8_t **buf, size_t *len, struct vmc_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*buf = NULL;
	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open the %s",
				       path, what);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vmc_error_set(err, EINVAL, "%s: the %s is not a file",
				     path, what);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return vmc_error_set(err, EFBIG,
				     "%s: the %s (%lld bytes) does not fit in "
				     "guest RAM", path, what,
				     (long long)st.st_size);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return vmc_error_set(err, ENOMEM, "%s: no memory", path);
	}
	if (vmc_pread_full(fd, *buf, *len, 0, path, err) < 0) {
		free(*buf);
		*buf = NULL;
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t len,
		     uint32_t type)
{
	uint8_t n = bp[BP_E820_ENTRIES];
	uint8_t *e = bp + BP_E820_TABLE + 20 * n;

	vmc_put_le64(e, addr);
	vmc_put_le64(e + 8, len);
	vmc_put_le32(e + 16, type);
	bp[BP_E820_ENTRIES] = n + 1;
}

void vmc_boot_page_tables(struct vmc_mem *mem)
{
	uint8_t *pml4 = mem->ram + VMC_BOOT_PML4;
	uint8_t *pdpt = pml4 + 0x1000;
	uint8_t *pd = pml4 + 0x2000;	/* 4 pages: 4 GiB of 2 MiB pages */

	memset(pml4, 0, 0x6000);
	vmc_put_le64(pml4, (VMC_BOOT_PML4 + 0x1000) | 0x3);
	for (uint64_t i = 0; i < 4; i++)
		vmc_put_le64(pdpt + 8 * i,
			     (VMC_BOOT_PML4 + 0x2000 + i * 0x1000) | 0x3);
	for (uint64_t i = 0; i < 2048; i++)
		vmc_put_le64(pd + 8 * i, (i << 21) | 0x83);
}

static void setup_gdt(struct vmc_mem *mem)
{
	uint8_t *gdt = mem->ram + VMC_BOOT_GDT;

	memset(gdt, 0, 32);
	vmc_put_le64(gdt + 0x10, 0x00af9b000000ffffULL);	/* code64 */
	vmc_put_le64(gdt + 0x18, 0x00cf93000000ffffULL);	/* data */
}

int vmc_bzimage_load(struct vmc_mem *mem, const char *kernel,
		     const char *initrd, const char *cmdline,
		     struct vmc_boot_state *bs, struct vmc_error *err)
{
	uint8_t *k = NULL, *rd = NULL;
	size_t klen, rdlen = 0, setup, hdr_end, pm_len, cl_len;
	uint8_t *bp = mem->ram + VMC_BOOT_PARAMS;
	uint64_t init_size, kernel_end, rd_addr = 0, rd_max;
	uint16_t version;

	if (mem->size < (64ULL << 20))
		return vmc_error_set(err, EINVAL,
				     "direct kernel boot needs at least 64 MiB of RAM");
	if (read_file(kernel, "kernel", VMC_MIN(KERNEL_MAX, mem->size), &k,
		      &klen, err) < 0)
		return -1;
	if (klen < 0x300 || vmc_get_le16(k + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(k + HDR_MAGIC, "HdrS", 4)) {
		vmc_error_set(err, EINVAL, "%s: not a Linux bzImage (no HdrS "
			      "setup header at offset 0x202)", kernel);
		goto fail;
	}
	version = vmc_get_le16(k + HDR_VERSION);
	if (version < 0x020c || !(k[HDR_XLOADFLAGS] & 1)) {
		vmc_error_set(err, EINVAL, "%s: the kernel has no 64-bit entry "
			      "point (boot protocol %u.%02u, xloadflags 0x%x)",
			      kernel, version >> 8, version & 0xff,
			      k[HDR_XLOADFLAGS]);
		goto fail;
	}
	setup = (k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4) + 1;
	setup *= 512;
	if (setup >= klen) {
		vmc_error_set(err, EINVAL, "%s: setup sectors (%zu bytes) run "
			      "past the end of the file", kernel, setup);
		goto fail;
	}
	pm_len = klen - setup;
	init_size = vmc_get_le32(k + HDR_INIT_SIZE);
	/* The decompressor runs at 16 MiB (LOAD_PHYSICAL_ADDR) or at the
	 * load address, and needs init_size bytes there. */
	kernel_end = VMC_MAX(VMC_BOOT_KERNEL_ADDR + pm_len,
			     (16ULL << 20) + init_size);
	if (kernel_end > mem->size) {
		vmc_error_set(err, EFBIG, "%s: the kernel needs %llu MiB of "
			      "RAM to unpack, the guest has %llu MiB", kernel,
			      (unsigned long long)(kernel_end >> 20),
			      (unsigned long long)(mem->size >> 20));
		goto fail;
	}

	if (initrd) {
		if (read_file(initrd, "initrd", mem->size, &rd, &rdlen,
			      err) < 0)
			goto fail;
		rd_max = vmc_get_le32(k + HDR_INITRD_MAX);
		if (rd_max == 0)
			rd_max = 0x37ffffff;
		rd_max = VMC_MIN(rd_max + 1, mem->size);
		if (rdlen > rd_max ||
		    VMC_ALIGN_DOWN(rd_max - rdlen, 4096) < kernel_end) {
			vmc_error_set(err, EFBIG, "%s: the initrd (%zu bytes) "
				      "does not fit in guest RAM above the "
				      "kernel", initrd, rdlen);
			goto fail;
		}
		rd_addr = VMC_ALIGN_DOWN(rd_max - rdlen, 4096);
		memcpy(mem->ram + rd_addr, rd, rdlen);
	}

	memcpy(mem->ram + VMC_BOOT_KERNEL_ADDR, k + setup, pm_len);

	/* The zero page: the setup header as the bzImage has it, then what
	 * a boot loader fills in. */
	memset(bp, 0, 4096);
	hdr_end = 0x202 + k[0x201];
	if (hdr_end > 0x290 || hdr_end > klen)
		hdr_end = VMC_MIN(0x290, klen);
	memcpy(bp + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS,
	       hdr_end - HDR_SETUP_SECTS);
	vmc_put_le16(bp + HDR_VID_MODE, 0xffff);
	bp[HDR_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] |= 0x01 | 0x80;	/* LOADED_HIGH, CAN_USE_HEAP */
	vmc_put_le16(bp + HDR_HEAP_END, 0xfe00);
	vmc_put_le32(bp + HDR_RAMDISK, (uint32_t)rd_addr);
	vmc_put_le32(bp + HDR_RAMDISK_SZ, (uint32_t)rdlen);

	cmdline = cmdline ? cmdline : "";
	cl_len = strlen(cmdline);
	if (cl_len >= 0x10000 ||
	    (vmc_get_le32(k + HDR_CMDLINE_SZ) &&
	     cl_len > vmc_get_le32(k + HDR_CMDLINE_SZ))) {
		vmc_error_set(err, E2BIG, "the kernel command line is too long "
			      "(%zu bytes)", cl_len);
		goto fail;
	}
	memcpy(mem->ram + VMC_BOOT_CMDLINE, cmdline, cl_len + 1);
	vmc_put_le32(bp + HDR_CMDLINE, VMC_BOOT_CMDLINE);

	e820_add(bp, 0, 0x9fc00, 1);
	e820_add(bp, 0x9fc00, 0x400, 2);
	e820_add(bp, 0xf0000, 0x10000, 2);
	e820_add(bp, 0x100000, mem->size - 0x100000, 1);

	vmc_boot_page_tables(mem);
	setup_gdt(mem);
	memset(bs, 0, sizeof(*bs));
	bs->rip = VMC_BOOT_KERNEL_ADDR + 0x200;
	bs->rsi = VMC_BOOT_PARAMS;
	bs->rsp = 0x8ff0;
	bs->cr3 = VMC_BOOT_PML4;
	bs->gdt = VMC_BOOT_GDT;
	free(k);
	free(rd);
	return 0;
fail:
	free(k);
	free(rd);
	return -1;
}
