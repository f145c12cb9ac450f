/* Unit tests: firmware detection from the partition tables
 * (validate/firmware.c).  Disks laid out by sfdisk (util-linux, the
 * independent writer: GPT with an EFI system partition, with a BIOS boot
 * partition, both, MBR with and without boot code, MBR type 0xEF), and
 * GPTs damaged on purpose (header CRC, entry array CRC, entry array past
 * the end of the disk), which are reported and not trusted; the nested
 * engine's request carries the firmware chosen. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"
#include "validate/firmware.h"
#include "validate/request.h"

TestSuite(firmware, .init = scratch_setup, .fini = scratch_teardown);

#define ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define BIOSBOOT "21686148-6449-6E6F-744E-656564454649"
#define LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

/* disk.img, 8 MiB, laid out by sfdisk from script */
static void sfdisk(const char *script)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cd %s && rm -f disk.img && truncate -s 8M"
		 " disk.img && printf '%s' | sfdisk -q disk.img >/dev/null",
		 scratch_dir, script);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void sh(const char *fmt)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cd %s && %s", scratch_dir, fmt);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static enum vmc_firmware detect(struct vmc_disk_layout *l, char *why,
				size_t len)
{
	char p[256];
	struct vmc_error err = { 0 };
	struct vmc_image *img;

	snprintf(p, sizeof(p), "%s/disk.img", scratch_dir);
	img = vmc_image_open(p, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_disk_layout_read(img, l, &err), 0, "%s", err.msg);
	vmc_image_close(img);
	return vmc_firmware_choose(l, why, len);
}

/* Some boot code in the MBR's first 440 bytes (what boot.img does). */
static void boot_code(void)
{
	sh("printf '\\xeb\\x63\\x90' | dd of=disk.img conv=notrunc"
	   " status=none");
}

Test(firmware, names)
{
	enum vmc_firmware f;

	cr_assert_eq(vmc_firmware_parse("uefi", &f), 0);
	cr_assert_eq(f, VMC_FIRMWARE_UEFI);
	cr_assert_eq(vmc_firmware_parse("efi", &f), 0);
	cr_assert_eq(f, VMC_FIRMWARE_UEFI);
	cr_assert_eq(vmc_firmware_parse("bios", &f), 0);
	cr_assert_eq(f, VMC_FIRMWARE_BIOS);
	cr_assert_eq(vmc_firmware_parse("auto", &f), 0);
	cr_assert_eq(f, VMC_FIRMWARE_AUTO);
	cr_assert_eq(vmc_firmware_parse("UEFI2", &f), -1);
	cr_assert_str_eq(vmc_firmware_name(VMC_FIRMWARE_UEFI), "uefi");
}

Test(firmware, gpt_with_esp_is_uefi)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" ESP "\\n"
	       "start=6144, size=8192, type=" LINUX "\\n");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_UEFI, "%s",
		     why);
	cr_assert(l.gpt && l.protective && !l.boot_code);
	cr_assert_eq(l.esp, 1);
	cr_assert_eq(l.esp_offset, 2048 * 512ull);
	cr_assert_eq(l.esp_size, 4096 * 512ull);
	cr_assert_eq(l.partitions, 2);
	cr_assert_str_eq(why, "GPT with an EFI system partition (partition 1)"
			 " and no BIOS boot code");
}

Test(firmware, gpt_esp_second_partition)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" LINUX "\\n"
	       "start=6144, size=4096, type=" ESP "\\n");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_UEFI);
	cr_assert_eq(l.esp, 2);
	cr_assert_eq(l.esp_offset, 6144 * 512ull);
}

Test(firmware, gpt_with_bios_boot_partition_is_bios)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=2048, type=" BIOSBOOT "\\n"
	       "start=4096, size=8192, type=" LINUX "\\n");
	boot_code();
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert_eq(l.bios_boot, 1);
	cr_assert_eq(l.esp, 0);
	cr_assert_str_eq(why, "GPT with BIOS boot code in the protective MBR"
			 " and a BIOS boot partition (partition 1) and no EFI"
			 " system partition");
}

Test(firmware, gpt_both_says_which_and_why)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=2048, type=" BIOSBOOT "\\n"
	       "start=4096, size=4096, type=" ESP "\\n"
	       "start=8192, size=4096, type=" LINUX "\\n");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert_eq(l.esp, 2);
	cr_assert_eq(l.bios_boot, 1);
	cr_assert(strstr(why, "the disk boots either way"), "%s", why);
	cr_assert(strstr(why, "EFI system partition (partition 2)"), "%s",
		  why);
	cr_assert(strstr(why, "a BIOS boot partition (partition 1)"), "%s",
		  why);
	cr_assert(strstr(why, "chose BIOS"), "%s", why);
	cr_assert(strstr(why, "--firmware=uefi"), "%s", why);
}

Test(firmware, gpt_esp_and_boot_code_only)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" ESP "\\n");
	boot_code();
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(strstr(why, "BIOS boot code in the protective MBR"), "%s",
		  why);
}

Test(firmware, gpt_without_esp_or_boot_code)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" LINUX "\\n");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(strstr(why, "neither"), "%s", why);
}

Test(firmware, mbr_with_boot_code_is_bios)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: dos\\nstart=2048, size=4096, type=83, bootable\\n");
	boot_code();
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(!l.gpt && !l.protective && l.boot_code);
	cr_assert_str_eq(why, "MBR disk with boot code");
}

Test(firmware, mbr_esp_without_boot_code_is_uefi)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: dos\\nstart=2048, size=4096, type=83\\n"
	       "start=6144, size=4096, type=ef\\n");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_UEFI);
	cr_assert(l.esp_in_mbr);
	cr_assert_eq(l.esp, 2);
	cr_assert_eq(l.esp_offset, 6144 * 512ull);
}

Test(firmware, blank_disk_is_bios)
{
	struct vmc_disk_layout l;
	char why[512];

	sh("truncate -s 1M disk.img");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(!l.mbr_signature);
	cr_assert(strstr(why, "no partition table"), "%s", why);
}

Test(firmware, tiny_disk_is_bios)
{
	struct vmc_disk_layout l;
	char why[512];

	sh("printf x > disk.img");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
}

/* A damaged GPT is reported (structure and offset) and not trusted. */
Test(firmware, gpt_header_crc_damaged)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" ESP "\\n");
	/* the disk GUID, inside the header's CRC */
	sh("printf 'XXXX' | dd of=disk.img bs=1 seek=$((512 + 56))"
	   " conv=notrunc status=none");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(!l.gpt);
	cr_assert(strstr(l.note, "GPT header at offset 0x200: CRC-32"), "%s",
		  l.note);
	cr_assert(strstr(why, "a damaged GPT"), "%s", why);
}

Test(firmware, gpt_entry_array_crc_damaged)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" ESP "\\n");
	/* the first entry's name, at LBA 2 */
	sh("printf 'Z' | dd of=disk.img bs=1 seek=$((1024 + 60))"
	   " conv=notrunc status=none");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(strstr(l.note, "GPT partition entry array at offset 0x400"),
		  "%s", l.note);
}

/* A header whose entry array lies past the disk (CRC fixed up, as a
 * hostile image would): no read outside the image, a clear note. */
Test(firmware, gpt_entry_array_outside_disk)
{
	struct vmc_disk_layout l;
	char why[512];

	sfdisk("label: gpt\\nstart=2048, size=4096, type=" ESP "\\n");
	sh("python3 -c \"import zlib,struct\n"
	   "f=open('disk.img','r+b'); f.seek(512); h=bytearray(f.read(92))\n"
	   "h[72:80]=struct.pack('<Q',1<<40); h[16:20]=b'\\\\0'*4\n"
	   "h[16:20]=struct.pack('<I',zlib.crc32(bytes(h)))\n"
	   "f.seek(512); f.write(h)\"");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_BIOS);
	cr_assert(strstr(l.note, "is not inside the disk"), "%s", l.note);
}

/* 4096-byte sectors (sfdisk lays out a file with 512 only): the
 * protective MBR, the header at 4096, the entries at 8192, written by
 * python with zlib's CRC-32. */
Test(firmware, gpt_4k_sectors)
{
	struct vmc_disk_layout l;
	char why[512];

	sh("truncate -s 64M disk.img && python3 -c \"import zlib,struct,uuid\n"
	   "f=open('disk.img','r+b')\n"
	   "m=bytearray(512); m[446+4]=0xee; m[446+8:446+16]="
	   "struct.pack('<II',1,16383); m[510:512]=b'\\x55\\xaa'\n"
	   "e=bytearray(128*128)\n"
	   "e[0:16]=uuid.UUID('" ESP "').bytes_le\n"
	   "e[16:32]=uuid.uuid4().bytes_le; e[32:48]=struct.pack('<QQ',256,2303)\n"
	   "h=bytearray(92); h[0:8]=b'EFI PART'\n"
	   "h[8:16]=struct.pack('<II',0x10000,92)\n"
	   "h[24:56]=struct.pack('<QQQQ',1,16383,6,16378)\n"
	   "h[72:92]=struct.pack('<QIII',2,128,128,zlib.crc32(bytes(e)))\n"
	   "h[16:20]=struct.pack('<I',zlib.crc32(bytes(h)))\n"
	   "f.write(m); f.seek(4096); f.write(h); f.seek(8192); f.write(e)\"");
	cr_assert_eq(detect(&l, why, sizeof(why)), VMC_FIRMWARE_UEFI, "%s %s",
		     why, l.note);
	cr_assert_eq(l.sector, 4096);
	cr_assert_eq(l.esp, 1);
	cr_assert_eq(l.esp_offset, 256 * 4096ull);
	cr_assert_eq(l.esp_size, 2048 * 4096ull);
}

/* The firmware chosen outside goes to the vmconv in the appliance, which
 * must not choose again. */
Test(firmware, request_carries_the_firmware)
{
	struct vmc_validate_opts o = { .boot = VMC_BOOT_FIRMWARE,
				       .firmware = VMC_FIRMWARE_BIOS,
				       .timeout_s = 60 };
	json_t *j = vmc_request_new(&o, "/img/disk.raw", "raw"), *holder;
	struct vmc_error err = { 0 };
	char p[256];

	cr_assert_str_eq(json_string_value(json_object_get(j, "firmware")),
			 "bios");
	snprintf(p, sizeof(p), "%s/req.json", scratch_dir);
	json_object_set_new(j, "firmware", json_string("uefi"));
	cr_assert_eq(json_dump_file(j, p, 0), 0);
	json_decref(j);
	memset(&o, 0, sizeof(o));
	cr_assert_eq(vmc_request_load(p, &o, &holder, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(o.firmware, VMC_FIRMWARE_UEFI);
	json_decref(holder);
	sh("printf '{\"image\": \"x\", \"firmware\": \"pc\"}' > req.json");
	cr_assert_eq(vmc_request_load(p, &o, &holder, &err), -1);
	cr_assert(strstr(err.msg, "firmware must be auto, bios or uefi, not"
			 " 'pc'"), "%s", err.msg);
	json_decref(holder);
}
