/* The disk's boot sector, checked before booting it: a BIOS boots only
 * a first sector that ends with the 0x55 0xAA signature (the MBR layout
 * of the IBM PC; UEFI's GPT keeps it in the protective MBR). */
#include <errno.h>

#include "validate/stages.h"

int vmc_bootsector_check(struct vmc_image *img, bool *signature,
			 struct vmc_error *err)
{
	unsigned char s[512];

	if (img->size < sizeof(s)) {
		*signature = false;
		return 0;
	}
	if (vmc_image_pread(img, s, sizeof(s), 0, err) < 0) {
		vmc_error_prefix(err, "boot sector");
		return -1;
	}
	*signature = s[510] == 0x55 && s[511] == 0xaa;
	return 0;
}
