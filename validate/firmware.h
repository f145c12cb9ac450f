/* Which firmware a disk boots with, read from its partition tables
 * (validate/firmware.c): a GPT with an EFI system partition and no BIOS
 * boot code is a UEFI disk; an MBR with boot code, or a protective MBR
 * with a BIOS boot partition, is a BIOS disk. */
#ifndef VMC_VALIDATE_FIRMWARE_H
#define VMC_VALIDATE_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmconv/image.h>

enum vmc_firmware {
	VMC_FIRMWARE_AUTO,
	VMC_FIRMWARE_BIOS,
	VMC_FIRMWARE_UEFI,
};

const char *vmc_firmware_name(enum vmc_firmware f);
/* "auto", "bios" or "uefi" (also "efi"); -1 for anything else. */
int vmc_firmware_parse(const char *s, enum vmc_firmware *f);

/* What the first sectors of a disk say about how it boots. */
struct vmc_disk_layout {
	bool mbr_signature;	/* 0x55 0xAA at byte 510 */
	bool boot_code;		/* non-zero bytes in the MBR's code area */
	bool protective;	/* an MBR partition of type 0xEE */
	bool gpt;		/* a valid GPT header and entry array */
	unsigned sector;	/* the GPT's sector size (512 or 4096) */
	int esp;		/* EFI system partition's number, 0: none */
	bool esp_in_mbr;	/* it is an MBR partition of type 0xEF */
	uint64_t esp_offset, esp_size;	/* bytes */
	int bios_boot;		/* GPT BIOS boot partition's number, 0 */
	int partitions;		/* used GPT entries (or MBR partitions) */
	char note[256];		/* why a GPT that is there was not used */
};

/* Read img's MBR and GPT.  A damaged GPT is not an error: l->gpt stays
 * false and l->note names the structure, the offset and what is wrong;
 * -1 only when the image cannot be read. */
int vmc_disk_layout_read(struct vmc_image *img, struct vmc_disk_layout *l,
			 struct vmc_error *err);

/* BIOS or UEFI for this layout, and in why the reason in words. */
enum vmc_firmware vmc_firmware_choose(const struct vmc_disk_layout *l,
				      char *why, size_t len);

#endif
