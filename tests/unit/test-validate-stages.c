/* Unit tests: boot stages and verdicts (validate/stages.c) over console
 * texts recorded from real boots (SeaBIOS, syslinux, Debian's kernel and
 * initramfs-tools under QEMU) and over the words dracut, systemd and GRUB
 * print when a boot fails. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "validate/stages.h"
#include "validate/guest-kernel.h"

/* SeaBIOS's debug port, recorded (cut). */
static const char dbg_good[] =
	"SeaBIOS (version 1.16.2-debian-1.16.2-1)\n"
	"BUILD: gcc: (Debian 12.2.0-14) 12.2.0 binutils: (GNU Binutils for"
	" Debian) 2.40\n"
	"Running on QEMU (i440fx)\n"
	"enter handle_19:\n  NULL\n"
	"Booting from Hard Disk...\n"
	"Booting from 0000:7c00\n";

static const char dbg_nosig[] =
	"SeaBIOS (version 1.16.2-debian-1.16.2-1)\n"
	"enter handle_19:\n  NULL\n"
	"Booting from Hard Disk...\n"
	"Boot failed: not a bootable disk\n\n"
	"enter handle_18:\n  NULL\n"
	"Booting from Floppy...\n"
	"Boot failed: could not read the boot disk\n\n"
	"enter handle_18:\n  NULL\n"
	"No bootable device.  Retrying in 60 seconds.\n";

/* The serial console, recorded (cut), with its terminal escapes. */
static const char con_loader[] =
	"\033c\033[?7l\033[2J\033[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)"
	"\r\n\r\n"
	"Booting from Hard Disk...\r\n\r\n"
	"SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et"
	" al\r\n"
	"Loading vmlinuz... ok\r\n"
	"Loading initrd.img...ok\r\n"
	"Probing EDD (edd=off to disable)... o\033c\033[?7l\033[2J"
	"[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists."
	"debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP"
	" PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\r\n"
	"[    0.000000] Command line: BOOT_IMAGE=vmlinuz root=LABEL=vmcroot"
	" ro console=ttyS0 initrd=initrd.img\r\n";

static const char con_virtio_disk[] =
	"[    2.005085] Run /init as init process\r\n"
	"Loading, please wait...\r\n"
	"Starting systemd-udevd version 252.39-1~deb12u2\r\n"
	"[    3.578264] virtio_blk virtio0: 1/0/0 default/read/poll queues\r\n"
	"[    3.600454] virtio_blk virtio0: [vda] 147456 512-byte logical"
	" blocks (75.5 MB/72.0 MiB)\r\n"
	"[    3.610602]  vda: vda1 vda2\r\n";

static const char con_good_tail[] =
	"Begin: Mounting root file system ... Begin: Running /scripts/"
	"local-top ... done.\r\n"
	"Warning: fsck not present, so skipping root file system\r\n"
	"[    5.398807] EXT4-fs (vda2): mounted filesystem with ordered data"
	" mode. Quota mode: none.\r\n"
	"done.\r\n"
	"Begin: Running /scripts/init-bottom ... done.\r\n"
	"vmconv-guest: userspace reached\r\n"
	"\r\nDebian GNU/Linux 12 vmconv-guest /dev/ttyS0\r\n\r\n"
	"vmconv-guest login: ";

static const char con_novirtio_tail[] =
	"[    2.005085] Run /init as init process\r\n"
	"Loading, please wait...\r\n"
	"Begin: Running /scripts/local-block ... mdadm: No devices listed in"
	" conf file were found.\r\n"
	"done.\r\n"
	"Gave up waiting for root file system device.  Common problems:\r\n"
	" - Boot args (cat /proc/cmdline)\r\n"
	"   - Check rootdelay= (did the system wait long enough?)\r\n"
	" - Missing modules (cat /proc/modules; ls /dev)\r\n"
	"ALERT!  /dev/sda2 does not exist.  Dropping to a shell!\r\n"
	"\r\n\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)\r\n"
	"(initramfs) ";

static const char con_panic_tail[] =
	"[    1.046419] List of all partitions:\r\n"
	"[    1.046860] No filesystem could mount root, tried: \r\n"
	"[    1.046871] \r\n"
	"[    1.047421] Kernel panic - not syncing: VFS: Unable to mount root"
	" fs on unknown-block(0,0)\r\n"
	"[    1.048012] CPU: 0 PID: 1 Comm: swapper/0 Not tainted\r\n";

static struct vmc_watch *watch(enum vmc_vm_bus bus, const char *expect)
{
	struct vmc_error err;
	struct vmc_watch *w = vmc_watch_new(bus, expect, &err);

	cr_assert_not_null(w, "%s", err.msg);
	return w;
}

static bool feed(struct vmc_watch *w, const char *s, unsigned ms)
{
	return vmc_watch_console(w, s, strlen(s), ms);
}

static void finish(struct vmc_watch *w, enum vmc_vm_exit e, unsigned ms)
{
	struct vmc_run_end end = { .exit = e, .elapsed_ms = ms,
				   .timeout_s = 60 };

	vmc_watch_finish(w, &end);
}

static void assert_stages(const struct vmc_verdict *v, int n)
{
	cr_assert_eq(v->stage, n - 1, "stage %d, wanted %d (%s)", v->stage,
		     n - 1, v->reason);
	for (int s = 0; s < VMC_STAGE_COUNT; s++)
		cr_assert_eq(v->reached[s], s < n, "stage %s", vmc_stage_name(s));
	for (int s = 1; s < n; s++)
		cr_assert_geq(v->stage_ms[s], v->stage_ms[s - 1]);
}

Test(stages, good_guest_reaches_a_login_prompt)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	cr_assert_not(vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40));
	cr_assert_not(feed(w, con_loader, 2900));
	cr_assert_not(feed(w, con_virtio_disk, 4000));
	cr_assert(feed(w, con_good_tail, 8300), "the login prompt ends it");
	cr_assert(v->booted);
	assert_stages(v, 5);
	cr_assert_eq(v->stage_ms[VMC_STAGE_FIRMWARE], 40);
	cr_assert_eq(v->stage_ms[VMC_STAGE_BOOTLOADER], 40);
	cr_assert_eq(v->stage_ms[VMC_STAGE_KERNEL], 2900);
	cr_assert_eq(v->stage_ms[VMC_STAGE_USERSPACE], 8300);
	cr_assert(strstr(v->reason, "vmconv-guest login:"), "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, byte_by_byte_gives_the_same_verdict)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	char all[4096];
	size_t n;

	n = (size_t)snprintf(all, sizeof(all), "%s%s%s", con_loader,
			     con_virtio_disk, con_good_tail);
	for (size_t i = 0; i < n; i++)
		vmc_watch_console(w, all + i, 1, (unsigned)i);
	cr_assert(vmc_watch_verdict(w)->booted);
	cr_assert_eq(vmc_watch_verdict(w)->stage, VMC_STAGE_USERSPACE);
	vmc_watch_free(w);
}

Test(stages, missing_virtio_driver_is_a_root_device_failure)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	feed(w, con_loader, 2700);
	cr_assert(feed(w, con_novirtio_tail, 12000));
	cr_assert_not(v->booted);
	assert_stages(v, 3);
	cr_assert(strstr(v->reason, "initramfs could not find root device"
			 " /dev/sda2 (no storage driver for virtio-blk in the"
			 " initramfs)"), "%s", v->reason);
	cr_assert(strstr(v->reason, "\"ALERT!  /dev/sda2 does not exist."),
		  "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, root_device_missing_although_the_disk_was_found)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	feed(w, con_loader, 2700);
	feed(w, con_virtio_disk, 3000);
	cr_assert(feed(w, con_novirtio_tail, 12000));
	cr_assert(strstr(v->reason, "the virtio-blk disk was found, but not"
			 " the root device"), "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, ide_disk_seen_on_ide)
{
	struct vmc_watch *w = watch(VMC_BUS_IDE, NULL);

	feed(w, con_loader, 2700);
	/* virtio lines mean nothing on IDE */
	feed(w, con_virtio_disk, 3000);
	cr_assert(feed(w, con_novirtio_tail, 12000));
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "no storage driver"
			 " for IDE (ata_piix)"), "%s",
		  vmc_watch_verdict(w)->reason);
	vmc_watch_free(w);
}

Test(stages, kernel_panic_quotes_the_kernel)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	feed(w, con_loader, 2700);
	cr_assert(feed(w, con_panic_tail, 3900));
	cr_assert_not(v->booted);
	assert_stages(v, 3);
	cr_assert_str_eq(v->reason, "kernel panic: VFS: Unable to mount root"
			 " fs on unknown-block(0,0)");
	vmc_watch_free(w);
}

Test(stages, wiped_boot_sector_is_no_bootable_disk)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	vmc_watch_set_boot_signature(w, false);
	cr_assert(vmc_watch_debug(w, dbg_nosig, sizeof(dbg_nosig) - 1, 50));
	cr_assert_not(v->booted);
	assert_stages(v, 1);
	cr_assert(!strncmp(v->reason, "no bootable disk: boot sector has no"
			   " signature", 44), "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, firmware_without_boot_code_but_a_signature)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	vmc_watch_set_boot_signature(w, true);
	vmc_watch_debug(w, dbg_nosig, sizeof(dbg_nosig) - 1, 50);
	cr_assert(vmc_watch_done(w));
	cr_assert(!strncmp(vmc_watch_verdict(w)->reason, "no bootable disk:"
			   " the firmware", 30), "%s",
		  vmc_watch_verdict(w)->reason);
	vmc_watch_free(w);
}

Test(stages, dracut_initqueue_timeout)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	feed(w, "[    0.000000] Linux version 5.14.0-362.el9.x86_64\n", 1000);
	feed(w, "[    1.200000] Run /init as init process\n", 1200);
	feed(w, "[    1.900000] systemd[1]: Detected virtualization kvm.\n"
		"Welcome to CentOS Stream 9 dracut-057-44.git20230822.el9"
		" (Initramfs)!\n", 1900);
	cr_assert_not(v->reached[VMC_STAGE_USERSPACE]);
	feed(w, "[  137.060000] dracut-initqueue[341]: Warning: dracut-initqueue:"
		" timeout, still waiting for following initqueue hooks:\n"
		"[  137.061000] dracut-initqueue[341]: Warning: /lib/dracut/"
		"hooks/initqueue/finished/devexists-\\x2fdev\\x2fmapper\\x2f"
		"cs-root.sh: \"[ -e \"/dev/mapper/cs-root\" ]\"\n"
		"[  137.070000] dracut-initqueue[341]: Warning: dracut-initqueue:"
		" starting timeout scripts\n"
		"Warning: /dev/mapper/cs-root does not exist\n"
		"\n"
		"Generating \"/run/initramfs/rdsosreport.txt\"\n", 137000);
	cr_assert(feed(w, "\n\nEntering emergency mode. Exit the shell to"
		       " continue.\n", 137100));
	cr_assert_not(v->booted);
	cr_assert_eq(v->stage, VMC_STAGE_KERNEL);
	cr_assert(strstr(v->reason, "initramfs could not find root device"
			 " /dev/mapper/cs-root"), "%s", v->reason);
	cr_assert(strstr(v->reason, "dracut-initqueue timeout"), "%s",
		  v->reason);
	vmc_watch_free(w);
}

Test(stages, systemd_emergency_mode_names_the_mount)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	feed(w, "[    0.000000] Linux version 6.1.0-13-amd64\n"
		"[    1.500000] EXT4-fs (vda1): mounted filesystem with ordered"
		" data mode. Quota mode: none.\n"
		"[    2.100000] systemd[1]: systemd 252.17-1~deb12u1 running in"
		" system mode\n"
		"\nWelcome to Debian GNU/Linux 12 (bookworm)!\n\n", 2100);
	cr_assert(v->reached[VMC_STAGE_USERSPACE]);
	feed(w, "[ TIME ] Timed out waiting for device dev-sdb1.device - "
		"/dev/sdb1.\n"
		"[DEPEND] Dependency failed for data.mount - /data.\n"
		"[FAILED] Failed to mount data.mount - /data.\n", 93000);
	cr_assert(feed(w, "You are in emergency mode. After logging in, type"
		       " \"journalctl -xb\" to view\n", 93100));
	cr_assert_not(v->booted, "emergency mode is not a boot");
	cr_assert_eq(v->stage, VMC_STAGE_USERSPACE);
	cr_assert(!strncmp(v->reason, "systemd emergency mode: data.mount -"
			   " /data did not mount", 54), "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, systemd_multi_user_is_booted)
{
	struct vmc_watch *w = watch(VMC_BUS_IDE, NULL);

	feed(w, "[    0.000000] Linux version 6.1.0-13-amd64\n"
		"[    1.5] VFS: Mounted root (ext4 filesystem) readonly on"
		" device 8:1.\n"
		"Welcome to Debian GNU/Linux 12 (bookworm)!\n", 2000);
	cr_assert(feed(w, "[  OK  ] Reached target multi-user.target - "
		       "Multi-User System.\n", 45000));
	cr_assert(vmc_watch_verdict(w)->booted);
	cr_assert_eq(vmc_watch_verdict(w)->stage, VMC_STAGE_USERSPACE);
	cr_assert_not(vmc_watch_verdict(w)->reached[VMC_STAGE_FIRMWARE]);
	cr_assert(vmc_watch_verdict(w)->reached[VMC_STAGE_ROOT]);
	cr_assert_eq(vmc_watch_verdict(w)->stage_ms[VMC_STAGE_ROOT], 2000);
	vmc_watch_free(w);
}

Test(stages, grub_error_is_a_boot_loader_failure)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v = vmc_watch_verdict(w);

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	feed(w, "GRUB loading.\nWelcome to GRUB!\n\n", 300);
	feed(w, "error: file `/boot/vmlinuz-6.1.0-13-amd64' not found.\n",
	     900);
	cr_assert_not(vmc_watch_done(w));
	cr_assert(feed(w, "\nPress any key to continue...", 950) ||
		  feed(w, "\n", 960));
	cr_assert_not(v->booted);
	cr_assert_eq(v->stage, VMC_STAGE_BOOTLOADER);
	cr_assert(strstr(v->reason, "boot loader error: \"error: file"
			 " `/boot/vmlinuz-6.1.0-13-amd64' not found."),
		  "%s", v->reason);
	vmc_watch_free(w);
}

Test(stages, grub_rescue_prompt)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	feed(w, "error: unknown filesystem.\nEntering rescue mode...\n", 200);
	cr_assert(feed(w, "grub rescue> ", 210));
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "GRUB rescue shell"
			 " after \"error: unknown filesystem.\""), "%s",
		  vmc_watch_verdict(w)->reason);
	vmc_watch_free(w);
}

Test(stages, syslinux_missing_kernel)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	cr_assert(feed(w, "SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015"
		       " H. Peter Anvin et al\r\nCould not find kernel image:"
		       " vmlinuz\r\n", 400));
	cr_assert_str_eq(vmc_watch_verdict(w)->reason, "boot loader error:"
			 " \"Could not find kernel image: vmlinuz\"");
	vmc_watch_free(w);
}

Test(stages, reboot_after_the_kernel_started)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	feed(w, con_loader, 2700);
	cr_assert(feed(w, "\033c\033[?7l\033[2J\033[0mSeaBIOS (version"
		       " 1.16.2-debian-1.16.2-1)\r\n", 4000));
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "rebooted during stage"
			 " kernel"), "%s", vmc_watch_verdict(w)->reason);
	vmc_watch_free(w);
}

Test(stages, vm_reset_triple_fault_and_timeout)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	feed(w, con_loader, 2700);
	finish(w, VMC_VM_RESET, 3000);
	cr_assert_not(vmc_watch_verdict(w)->booted);
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "rebooted during stage"
			 " kernel"));
	vmc_watch_free(w);

	w = watch(VMC_BUS_VIRTIO, NULL);
	feed(w, con_loader, 2700);
	finish(w, VMC_VM_TRIPLE_FAULT, 3000);
	cr_assert(!strncmp(vmc_watch_verdict(w)->reason, "triple fault during"
			   " stage kernel", 32), "%s",
		  vmc_watch_verdict(w)->reason);
	vmc_watch_free(w);

	w = watch(VMC_BUS_VIRTIO, NULL);
	feed(w, con_loader, 2700);
	finish(w, VMC_VM_TIMEOUT, 60000);
	cr_assert_str_eq(vmc_watch_verdict(w)->reason,
			 "timed out after 60 s in stage kernel");
	vmc_watch_free(w);

	w = watch(VMC_BUS_VIRTIO, NULL);
	finish(w, VMC_VM_TIMEOUT, 60000);
	cr_assert_eq(vmc_watch_verdict(w)->stage, -1);
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "no output"));
	vmc_watch_free(w);
}

Test(stages, poweroff_before_and_after_the_root)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	feed(w, con_loader, 2700);
	finish(w, VMC_VM_POWEROFF, 3000);
	cr_assert_not(vmc_watch_verdict(w)->booted);
	cr_assert_str_eq(vmc_watch_verdict(w)->reason,
			 "the guest powered off during stage kernel");
	vmc_watch_free(w);

	w = watch(VMC_BUS_VIRTIO, NULL);
	feed(w, con_loader, 2700);
	feed(w, "[    5.3] EXT4-fs (vda2): mounted filesystem with ordered"
		" data mode.\n", 5300);
	finish(w, VMC_VM_POWEROFF, 5500);
	cr_assert(vmc_watch_verdict(w)->booted, "%s",
		  vmc_watch_verdict(w)->reason);
	cr_assert_eq(vmc_watch_verdict(w)->stage, VMC_STAGE_USERSPACE);
	vmc_watch_free(w);
}

Test(stages, expect_marker)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, "USERSPACE-O[K]$");

	feed(w, con_loader, 2700);
	cr_assert_not(feed(w, "echo VMCONV-GUEST-USERSPACE-OK > x\n", 5000));
	cr_assert(feed(w, "VMCONV-GUEST-USERSPACE-OK\r\n", 5200));
	cr_assert(vmc_watch_verdict(w)->booted);
	cr_assert_eq(vmc_watch_verdict(w)->stage_ms[VMC_STAGE_USERSPACE],
		     5200);
	vmc_watch_free(w);
}

Test(stages, bad_expect_is_an_error)
{
	struct vmc_error err = { 0 };

	cr_assert_null(vmc_watch_new(VMC_BUS_VIRTIO, "([a-", &err));
	cr_assert(strstr(err.msg, "--expect"), "%s", err.msg);
}

Test(stages, garbage_never_crashes_or_boots)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	size_t n = 1 << 20;
	char *junk = malloc(n);

	cr_assert_not_null(junk);
	srand(7);
	for (size_t i = 0; i < n; i++)
		junk[i] = (char)(rand() & 0xff);
	vmc_watch_debug(w, junk, n, 10);
	vmc_watch_console(w, junk, n, 20);
	memset(junk, 'A', n);
	vmc_watch_console(w, junk, n, 30);
	finish(w, VMC_VM_TIMEOUT, 60000);
	cr_assert_not(vmc_watch_verdict(w)->booted);
	free(junk);
	vmc_watch_free(w);
}

Test(stages, json_report)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	json_t *j, *st;

	vmc_watch_debug(w, dbg_good, sizeof(dbg_good) - 1, 40);
	feed(w, con_loader, 2900);
	feed(w, con_panic_tail, 3900);
	j = vmc_verdict_json(vmc_watch_verdict(w));
	cr_assert(json_is_false(json_object_get(j, "booted")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "stage")),
			 "kernel");
	st = json_object_get(j, "stages");
	cr_assert_eq(json_array_size(st), 3);
	cr_assert_str_eq(json_string_value(json_object_get(
		json_array_get(st, 2), "stage")), "kernel");
	cr_assert_eq(json_integer_value(json_object_get(
		json_array_get(st, 2), "ms")), 2900);
	json_decref(j);
	vmc_watch_free(w);
}

Test(bootsector, signature_read_through_the_driver)
{
	char dir[] = "/tmp/vmconv-unit-XXXXXX", p[64];
	unsigned char s[512] = { 0 };
	struct vmc_error err;
	struct vmc_image *img;
	bool sig = true;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/disk.raw", dir);
	f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(s, 1, 512, f), 512);
	cr_assert_eq(fwrite(s, 1, 512, f), 512);
	fclose(f);
	img = vmc_image_open(p, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_bootsector_check(img, &sig, &err), 0);
	cr_assert_not(sig);
	vmc_image_close(img);

	f = fopen(p, "r+b");
	s[510] = 0x55;
	s[511] = 0xaa;
	cr_assert_eq(fwrite(s, 1, 512, f), 512);
	fclose(f);
	img = vmc_image_open(p, "raw", 0, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	cr_assert_eq(vmc_bootsector_check(img, &sig, &err), 0);
	cr_assert(sig);
	vmc_image_close(img);
	unlink(p);
	rmdir(dir);
}

/* ---- boot loader configurations (validate/guest-kernel.c) ---- */

Test(bootcfg, syslinux_default_label)
{
	char cfg[] = "SERIAL 0 115200\nDEFAULT second\nPROMPT 0\n"
		     "LABEL first\n  KERNEL /old/vmlinuz\n  APPEND root=/dev/x\n"
		     "LABEL second\n  LINUX vmlinuz-6.1\n"
		     "  APPEND root=LABEL=r ro initrd=initrd-6.1 quiet\n";
	char k[256], i[256], a[256];

	cr_assert_eq(vmc_bootcfg_parse("/syslinux/syslinux.cfg", cfg, k, i, a,
				       sizeof(k)), 0);
	cr_assert_str_eq(k, "/syslinux/vmlinuz-6.1");
	cr_assert_str_eq(i, "/syslinux/initrd-6.1");
	cr_assert_str_eq(a, "root=LABEL=r ro quiet");
}

Test(bootcfg, syslinux_first_label_without_default)
{
	char cfg[] = "LABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.img\n"
		     "  APPEND root=LABEL=vmcroot ro\nLABEL other\n"
		     "  KERNEL x\n";
	char k[256], i[256], a[256];

	cr_assert_eq(vmc_bootcfg_parse("/syslinux.cfg", cfg, k, i, a,
				       sizeof(k)), 0);
	cr_assert_str_eq(k, "/vmlinuz");
	cr_assert_str_eq(i, "/initrd.img");
	cr_assert_str_eq(a, "root=LABEL=vmcroot ro");
}

Test(bootcfg, grub_first_menuentry)
{
	char cfg[] =
		"set default=\"0\"\n"
		"menuentry 'Debian GNU/Linux' --class debian {\n"
		"\tload_video\n"
		"\tinsmod ext2\n"
		"\tsearch --no-floppy --fs-uuid --set=root 1234-abcd\n"
		"\techo\t'Loading Linux 6.1.0-13-amd64 ...'\n"
		"\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=1234-abcd ro"
		"  quiet\n"
		"\tinitrd\t/boot/initrd.img-6.1.0-13-amd64\n"
		"}\n"
		"menuentry 'older' {\n\tlinux /boot/vmlinuz-old root=/dev/sda1\n}\n";
	char k[256], i[256], a[256];

	cr_assert_eq(vmc_bootcfg_parse("/boot/grub/grub.cfg", cfg, k, i, a,
				       sizeof(k)), 0);
	cr_assert_str_eq(k, "/boot/vmlinuz-6.1.0-13-amd64");
	cr_assert_str_eq(i, "/boot/initrd.img-6.1.0-13-amd64");
	cr_assert_str_eq(a, "root=UUID=1234-abcd ro quiet");
}

Test(bootcfg, nothing_to_boot)
{
	char cfg[] = "# empty\nset timeout=5\n";
	char cfg2[] = "PROMPT 1\nTIMEOUT 50\n";
	char k[256], i[256], a[256];

	cr_assert_eq(vmc_bootcfg_parse("/boot/grub/grub.cfg", cfg, k, i, a,
				       sizeof(k)), -1);
	cr_assert_eq(vmc_bootcfg_parse("/extlinux.conf", cfg2, k, i, a,
				       sizeof(k)), -1);
}

/* OVMF (Debian's ovmf 2022.11) on the serial console, recorded from the
 * UEFI test guests under QEMU (cut): a fresh variable store, so the boot
 * manager tries the disk's removable-media path, then its built-in shell. */
static const char ovmf_clear[] =
	"\033[2J\033[01;01H\033[=3h\033[2J\033[01;01H\033[2J\033[01;01H";
static const char ovmf_notfound[] =
	"BdsDxe: failed to load Boot0001 \"UEFI Misc Device\" from"
	" PciRoot(0x0)/Pci(0x3,0x0): Not Found\r\n"
	"BdsDxe: loading Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9-F8EB"
	"-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)"
	"\r\n"
	"BdsDxe: starting Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9-F8EB"
	"-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)"
	"\r\n";
static const char ovmf_shell[] =
	"\033[2J\033[01;01H\033[01;01HUEFI Interactive Shell v2.2\r\n";
static const char ovmf_grub[] =
	"BdsDxe: loading Boot0001 \"UEFI Misc Device\" from"
	" PciRoot(0x0)/Pci(0x3,0x0)\r\n"
	"BdsDxe: starting Boot0001 \"UEFI Misc Device\" from"
	" PciRoot(0x0)/Pci(0x3,0x0)\r\n"
	"\033[0m\033[30m\033[47mWelcome to GRUB!\n";

Test(uefi, no_fallback_loader_stops_at_the_shell)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);
	const struct vmc_verdict *v;

	cr_assert(!feed(w, ovmf_clear, 100));
	cr_assert(!feed(w, ovmf_notfound, 200));
	cr_assert(feed(w, ovmf_shell, 300));
	v = vmc_watch_verdict(w);
	assert_stages(v, 1);
	cr_assert(!v->booted);
	cr_assert_str_eq(v->reason, "no bootable UEFI loader (no loader at the"
		" removable-media path \\EFI\\BOOT\\BOOTX64.EFI of the EFI system"
		" partition and no boot entry naming one): the firmware said"
		" \"BdsDxe: failed to load Boot0001 \"UEFI Misc Device\" from"
		" PciRoot(0x0)/Pci(0x3,0x0): Not Found\" and started the UEFI"
		" shell");
	vmc_watch_free(w);
}

Test(uefi, shell_prompt_alone_is_final)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	cr_assert(!feed(w, ovmf_notfound, 200));
	cr_assert(feed(w, "\033[11;01HShell> ", 300));
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "Not Found\" and"
			 " started the UEFI shell"));
	vmc_watch_free(w);
}

Test(uefi, no_bootable_option_and_secure_boot_refusal)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	cr_assert(!feed(w, "BdsDxe: failed to load Boot0001 \"UEFI Misc"
			" Device\" from PciRoot(0x0)/Pci(0x3,0x0): Access"
			" Denied\r\n", 200));
	cr_assert(feed(w, "BdsDxe: No bootable option or device was"
		       " found.\r\n", 300));
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "Secure Boot"
			 " violation"), "%s", vmc_watch_verdict(w)->reason);
	cr_assert(strstr(vmc_watch_verdict(w)->reason, "then \"No bootable"
			 " option or device was found.\""), "%s",
		  vmc_watch_verdict(w)->reason);
	assert_stages(vmc_watch_verdict(w), 1);
	vmc_watch_free(w);
}

Test(uefi, loader_started_then_grub)
{
	struct vmc_watch *w = watch(VMC_BUS_VIRTIO, NULL);

	cr_assert(!feed(w, ovmf_clear, 100));
	cr_assert(!feed(w, ovmf_grub, 200));
	/* the shell after a loader ran is not the firmware giving up */
	cr_assert(!feed(w, ovmf_shell, 300));
	assert_stages(vmc_watch_verdict(w), 2);
	vmc_watch_free(w);
}
