/* Firmware detection from the disk's partition tables.
 *
 * UEFI 2.10, section 5.2 (the legacy MBR and the protective MBR: boot
 * code in bytes 0..439, four 16-byte partition records at 446, 0x55 0xAA
 * at 510, type 0xEE covering the disk for GPT, 0xEF for an EFI system
 * partition) and 5.3 (the GPT header at LBA 1: "EFI PART", header size,
 * CRC-32 of the header with its CRC field zero, the partition entry
 * array's LBA, count, entry size and CRC-32; entries with the type GUID
 * first and the first and last LBA at 32 and 40).  The EFI system
 * partition type is C12A7328-F81F-11D2-BA4B-00A0C93EC93B; GRUB's BIOS
 * boot partition is 21686148-6449-6E6F-744E-656564454649.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/bytes.h"
#include "validate/firmware.h"

/* GUIDs as stored on disk (the first three fields little-endian) */
static const uint8_t esp_guid[16] = {
	0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
	0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
};
static const uint8_t bios_boot_guid[16] = {
	'H', 'a', 'h', '!', 'I', 'd', 'o', 'n',
	't', 'N', 'e', 'e', 'd', 'E', 'F', 'I',
};

#define GPT_ENTRIES_MAX (1u << 20)	/* bytes of entry array read */

static const char *const fw_names[] = { "auto", "bios", "uefi" };

const char *vmc_firmware_name(enum vmc_firmware f)
{
	return (unsigned)f < 3 ? fw_names[f] : "?";
}

int vmc_firmware_parse(const char *s, enum vmc_firmware *f)
{
	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(s, fw_names[i])) {
			*f = (enum vmc_firmware)i;
			return 0;
		}
	if (!strcmp(s, "efi")) {
		*f = VMC_FIRMWARE_UEFI;
		return 0;
	}
	return -1;
}

static void read_mbr(const uint8_t *s, struct vmc_disk_layout *l)
{
	l->mbr_signature = s[510] == 0x55 && s[511] == 0xaa;
	if (!l->mbr_signature)
		return;
	for (int i = 0; i < 440; i++)
		if (s[i]) {
			l->boot_code = true;
			break;
		}
	for (int i = 0; i < 4; i++) {
		const uint8_t *p = s + 446 + 16 * i;
		uint64_t lba = vmc_get_le32(p + 8), n = vmc_get_le32(p + 12);

		if (p[4] == 0xee)
			l->protective = true;
		if (p[4])
			l->partitions++;
		if (p[4] == 0xef && !l->esp) {
			l->esp = i + 1;
			l->esp_in_mbr = true;
			l->esp_offset = lba * 512;
			l->esp_size = n * 512;
		}
	}
}

/* The GPT header at LBA 1 for sector size ss; 1 when there is none, 0
 * when it is valid, -1 on a read error; a damaged one fills l->note. */
static int gpt_header(struct vmc_image *img, unsigned ss, uint8_t *h,
		      struct vmc_disk_layout *l, struct vmc_error *err)
{
	uint32_t hsize, crc;

	if (img->size < 2ull * ss)
		return 1;
	if (vmc_image_pread(img, h, ss, ss, err) < 0)
		return -1;
	if (memcmp(h, "EFI PART", 8))
		return 1;
	hsize = vmc_get_le32(h + 12);
	if (hsize < 92 || hsize > ss) {
		snprintf(l->note, sizeof(l->note), "GPT header at offset"
			 " 0x%x: header size %u is not 92..%u", ss, hsize, ss);
		return 1;
	}
	crc = vmc_get_le32(h + 16);
	memset(h + 16, 0, 4);
	if ((uint32_t)crc32(0, h, hsize) != crc) {
		snprintf(l->note, sizeof(l->note), "GPT header at offset"
			 " 0x%x: CRC-32 0x%08x does not match its contents"
			 " (0x%08lx)", ss, crc, crc32(0, h, hsize));
		return 1;
	}
	return 0;
}

static void gpt_entry(const uint8_t *e, int num, unsigned ss,
		      struct vmc_disk_layout *l)
{
	static const uint8_t zero[16];
	uint64_t first = vmc_get_le64(e + 32), last = vmc_get_le64(e + 40);

	if (!memcmp(e, zero, 16))
		return;
	l->partitions++;
	if (!memcmp(e, esp_guid, 16) && !l->esp && last >= first &&
	    last < UINT64_MAX / ss) {
		l->esp = num;
		l->esp_offset = first * ss;
		l->esp_size = (last - first + 1) * ss;
	} else if (!memcmp(e, bios_boot_guid, 16) && !l->bios_boot) {
		l->bios_boot = num;
	}
}

/* The entry array the header h names, bounds-checked and CRC-checked. */
static int gpt_entries(struct vmc_image *img, unsigned ss, const uint8_t *h,
		       struct vmc_disk_layout *l, struct vmc_error *err)
{
	uint64_t lba = vmc_get_le64(h + 72), off, total, end;
	uint32_t n = vmc_get_le32(h + 80), esz = vmc_get_le32(h + 84);
	uint8_t *a;

	if (esz < 128 || esz > 4096 || !VMC_IS_POWER_OF_2(esz) ||
	    vmc_mul_overflow(n, esz, &total) || total > GPT_ENTRIES_MAX ||
	    vmc_mul_overflow(lba, ss, &off) ||
	    vmc_add_overflow(off, total, &end) || end > img->size ||
	    lba < 2) {
		snprintf(l->note, sizeof(l->note), "GPT header at offset 0x%x:"
			 " partition entry array (LBA %llu, %u entries of %u"
			 " bytes) is not inside the disk or too large", ss,
			 (unsigned long long)lba, n, esz);
		return 0;
	}
	a = malloc(total ? total : 1);
	if (!a)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (vmc_image_pread(img, a, total, off, err) < 0) {
		free(a);
		return -1;
	}
	if ((uint32_t)crc32(0, a, (uInt)total) != vmc_get_le32(h + 88)) {
		snprintf(l->note, sizeof(l->note), "GPT partition entry array"
			 " at offset 0x%llx: CRC-32 does not match the header's"
			 " 0x%08x", (unsigned long long)off,
			 vmc_get_le32(h + 88));
		free(a);
		return 0;
	}
	l->gpt = true;
	l->sector = ss;
	l->partitions = 0;
	for (uint32_t i = 0; i < n; i++)
		gpt_entry(a + (size_t)i * esz, (int)i + 1, ss, l);
	free(a);
	return 0;
}

static int read_gpt(struct vmc_image *img, struct vmc_disk_layout *l,
		    struct vmc_error *err)
{
	static const unsigned sizes[] = { 512, 4096 };
	uint8_t *h = malloc(4096);
	int ret = 0;

	if (!h)
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < VMC_ARRAY_SIZE(sizes); i++) {
		int rc = gpt_header(img, sizes[i], h, l, err);

		if (rc < 0 || (rc == 0 &&
			       gpt_entries(img, sizes[i], h, l, err) < 0)) {
			ret = -1;
			break;
		}
		if (rc == 0 || l->note[0])
			break;
	}
	free(h);
	return ret;
}

int vmc_disk_layout_read(struct vmc_image *img, struct vmc_disk_layout *l,
			 struct vmc_error *err)
{
	uint8_t s[512];

	memset(l, 0, sizeof(*l));
	if (img->size < sizeof(s))
		return 0;
	if (vmc_image_pread(img, s, sizeof(s), 0, err) < 0) {
		vmc_error_prefix(err, "partition table");
		return -1;
	}
	read_mbr(s, l);
	if (!l->mbr_signature || !l->protective)
		return 0;
	/* a GPT replaces the MBR's partitions and its EFI partition */
	l->esp = 0;
	l->esp_in_mbr = false;
	if (read_gpt(img, l, err) < 0) {
		vmc_error_prefix(err, "GPT");
		return -1;
	}
	return 0;
}

/* A GPT disk: UEFI when it has an EFI system partition and no BIOS boot
 * code; BIOS when it can boot only that way, or either way. */
static enum vmc_firmware choose_gpt(const struct vmc_disk_layout *l,
				    char *why, size_t len)
{
	char bios[160];
	bool b = l->boot_code || l->bios_boot;
	size_t n = 0;

	bios[0] = 0;
	if (l->boot_code)
		n = (size_t)snprintf(bios, sizeof(bios), "BIOS boot code in"
				     " the protective MBR%s", l->bios_boot ?
				     " and " : "");
	if (l->bios_boot)
		snprintf(bios + n, sizeof(bios) - n, "a BIOS boot partition"
			 " (partition %d)", l->bios_boot);
	if (l->esp && !b) {
		snprintf(why, len, "GPT with an EFI system partition"
			 " (partition %d) and no BIOS boot code", l->esp);
		return VMC_FIRMWARE_UEFI;
	}
	if (l->esp)
		snprintf(why, len, "the disk boots either way: GPT with an EFI"
			 " system partition (partition %d) and %s; chose BIOS,"
			 " the default firmware of KVM machines"
			 " (--firmware=uefi validates the UEFI path)", l->esp,
			 bios);
	else if (b)
		snprintf(why, len, "GPT with %s and no EFI system partition",
			 bios);
	else
		snprintf(why, len, "GPT with neither an EFI system partition"
			 " nor BIOS boot code (BIOS, the default)");
	return VMC_FIRMWARE_BIOS;
}

enum vmc_firmware vmc_firmware_choose(const struct vmc_disk_layout *l,
				      char *why, size_t len)
{
	if (l->gpt)
		return choose_gpt(l, why, len);
	if (l->esp_in_mbr && !l->boot_code) {
		snprintf(why, len, "MBR with an EFI system partition (type"
			 " 0xEF, partition %d) and no boot code", l->esp);
		return VMC_FIRMWARE_UEFI;
	}
	if (l->note[0])
		snprintf(why, len, "a damaged GPT (%s): BIOS, the default",
			 l->note);
	else if (!l->mbr_signature)
		snprintf(why, len, "no partition table or boot sector"
			 " signature: BIOS, the default");
	else if (l->esp_in_mbr)
		snprintf(why, len, "the disk boots either way: MBR with boot"
			 " code and an EFI system partition (type 0xEF,"
			 " partition %d); chose BIOS, the default firmware of"
			 " KVM machines (--firmware=uefi validates the UEFI"
			 " path)", l->esp);
	else
		snprintf(why, len, "MBR disk%s", l->boot_code ?
			 " with boot code" : " (no boot code)");
	return VMC_FIRMWARE_BIOS;
}
