/* VHD plugin internals (Microsoft "Virtual Hard Disk Image Format
 * Specification" v1.0, 2006: hard disk footer, dynamic disk header, BAT,
 * data blocks with sector bitmaps).  Everything on disk is big-endian. */
#ifndef VMC_PLUGIN_VHD_H
#define VMC_PLUGIN_VHD_H

#include <stdbool.h>
#include <stdint.h>

#include <vmconv/image.h>

#define VHD_FOOTER_SIZE		512
#define VHD_DYN_HEADER_SIZE	1024
#define VHD_TYPE_FIXED		2
#define VHD_TYPE_DYNAMIC	3
#define VHD_TYPE_DIFF		4
#define VHD_UNUSED		0xFFFFFFFFu
#define VHD_DEFAULT_BLOCK	(2u * 1024 * 1024)
/* qemu's limit: 2040 GiB, the largest size a 32-bit sector BAT and the
 * CHS fields describe sensibly. */
#define VHD_MAX_SECTORS		0xff000000ull
#define VHD_MAX_GEOMETRY	(65535ull * 16 * 255)
/* Seconds from the Unix epoch to 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH		946684800u

struct vhd_state {
	int fd;
	const char *path;
	uint64_t file_size;
	uint8_t footer[VHD_FOOTER_SIZE];
	uint32_t type;
	bool size_from_chs;		/* the CHS rule decided the size */
	uint64_t size;

	/* dynamic and differencing */
	uint8_t dyn[VHD_DYN_HEADER_SIZE];
	uint64_t table_off;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t bitmap_size;		/* bytes, a multiple of 512 */
	uint32_t *bat;			/* host order */

	struct vmc_image *parent;
	char *parent_path;
	uint8_t *bm_buf;		/* cached bitmap of one block */
	uint32_t bm_block;
	bool bm_valid;
	bool footer_from_copy;		/* the one at the end was damaged */

	/* writer */
	bool creating;
	uint64_t next_alloc;
};

uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off);
void vhd_chs(uint64_t sectors, uint16_t *cyls, uint8_t *heads,
	     uint8_t *spt);

int vhd_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		struct vmc_measure *m, struct vmc_error *err);
int vhd_create(struct vmc_image *img, const char *filename, uint64_t size,
	       struct vmc_opts *opts, struct vmc_error *err);
int vhd_pwrite(struct vmc_image *img, const void *buf, size_t len,
	       uint64_t off, struct vmc_error *err);
int vhd_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		      struct vmc_error *err);
int vhd_flush(struct vmc_image *img, struct vmc_error *err);

#endif
