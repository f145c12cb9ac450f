/* Boot stages and the verdict, read from what the guest prints.
 *
 * The watcher sees the serial console (and SeaBIOS's debug port) as it
 * arrives, cleans it (terminal escapes, carriage returns), and matches
 * each line against the words firmware, boot loaders, Linux, initramfs
 * tools and init systems print at each step.  A failure is final as soon
 * as the guest says it (kernel panic, initramfs "ALERT!", emergency mode,
 * a boot-loader error, "No bootable device"), so a run stops in seconds
 * instead of at its timeout; the reason quotes the guest's own words.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/stages.h"

#define LINE_MAX_LEN 1024
#define QUOTE_LEN 200

struct vmc_watch {
	enum vmc_vm_bus bus;
	bool have_expect;
	regex_t expect;
	struct vmc_verdict v;
	bool done;

	char line[LINE_MAX_LEN];	/* console line being assembled */
	size_t len;
	int esc;			/* 0, 1 after ESC, 2 in a CSI */
	char dline[LINE_MAX_LEN];	/* debug-port line */
	size_t dlen;

	bool screen;			/* fed from screen reads */
	bool sig_known, sig_present;
	bool fw_not_bootable;		/* "Boot failed: not a bootable disk" */
	bool fw_read_error;		/* "could not read the boot disk" */
	unsigned fw_banners;
	bool in_initramfs;		/* "Run /init as init process" */
	bool saw_disk;			/* a disk driver found the disk */
	bool gave_up;			/* initramfs-tools gave up on root */
	bool dracut_timeout;
	char missing_dev[QUOTE_LEN];	/* dracut: "Warning: X does not exist" */
	char loader_error[QUOTE_LEN];	/* GRUB "error: ..." */
	char root_ctx[QUOTE_LEN];	/* "VFS: Cannot open root device ..." */
	char failed[QUOTE_LEN];		/* last systemd "Failed to mount ..." */
	char failed_what[QUOTE_LEN];
	char uefi_failed[QUOTE_LEN];	/* first "BdsDxe: failed to load" */
};

static const char *const stage_names[VMC_STAGE_COUNT] = {
	"firmware", "bootloader", "kernel", "root", "userspace",
};

const char *vmc_stage_name(enum vmc_stage s)
{
	return (unsigned)s < VMC_STAGE_COUNT ? stage_names[s] : "none";
}

struct vmc_watch *vmc_watch_new(enum vmc_vm_bus bus, const char *expect,
				struct vmc_error *err)
{
	struct vmc_watch *w = calloc(1, sizeof(*w));

	if (!w) {
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	w->bus = bus;
	w->v.stage = -1;
	if (expect && *expect) {
		int rc = regcomp(&w->expect, expect, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[256];

			regerror(rc, &w->expect, msg, sizeof(msg));
			vmc_error_set(err, EINVAL, "--expect '%s': %s", expect,
				      msg);
			free(w);
			return NULL;
		}
		w->have_expect = true;
	}
	return w;
}

void vmc_watch_free(struct vmc_watch *w)
{
	if (!w)
		return;
	if (w->have_expect)
		regfree(&w->expect);
	free(w);
}

void vmc_watch_set_screen(struct vmc_watch *w)
{
	w->screen = true;
}

void vmc_watch_set_boot_signature(struct vmc_watch *w, bool present)
{
	w->sig_known = true;
	w->sig_present = present;
}

bool vmc_watch_done(const struct vmc_watch *w)
{
	return w->done;
}

const struct vmc_verdict *vmc_watch_verdict(const struct vmc_watch *w)
{
	return &w->v;
}

static void reach(struct vmc_watch *w, enum vmc_stage s, unsigned ms)
{
	if (w->done || w->v.reached[s])
		return;
	w->v.reached[s] = true;
	w->v.stage_ms[s] = ms;
	if ((int)s > w->v.stage)
		w->v.stage = s;
}

static void conclude(struct vmc_watch *w, bool booted, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conclude(struct vmc_watch *w, bool booted, const char *fmt, ...)
{
	va_list ap;

	if (w->done)
		return;
	w->done = true;
	w->v.booted = booted;
	va_start(ap, fmt);
	vsnprintf(w->v.reason, sizeof(w->v.reason), fmt, ap);
	va_end(ap);
}

/* Copy s without its kernel timestamp "[    1.234567] " and without
 * surrounding blanks, cut to cap bytes with the NUL. */
static void quote_cap(char *dst, const char *s, size_t cap)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[') {
		const char *e = strchr(s, ']');

		if (e && e - s < 20 && strspn(s + 1, " 0123456789.") ==
		    (size_t)(e - s - 1))
			s = e + 1;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static void quote(char *dst, const char *s)
{
	quote_cap(dst, s, LINE_MAX_LEN);
}

static const char *bus_driver(enum vmc_vm_bus bus)
{
	return bus == VMC_BUS_IDE ? "IDE (ata_piix)" : "virtio-blk";
}

/* Why the initramfs found no root device, from what the kernel said
 * about the disk. */
static void root_hint(struct vmc_watch *w, char *buf, size_t len)
{
	if (!w->saw_disk)
		snprintf(buf, len, "no storage driver for %s in the initramfs",
			 bus_driver(w->bus));
	else
		snprintf(buf, len, "the %s disk was found, but not the root"
			 " device the kernel command line or fstab names",
			 bus_driver(w->bus));
}

static void fail_no_boot_disk(struct vmc_watch *w, const char *quoted)
{
	if (w->sig_known && !w->sig_present)
		conclude(w, false, "no bootable disk: boot sector has no"
			 " signature (the firmware said \"%s\")", quoted);
	else if (w->fw_read_error)
		conclude(w, false, "no bootable disk: the firmware could not"
			 " read the boot disk (\"%s\")", quoted);
	else
		conclude(w, false, "no bootable disk: the firmware found no"
			 " boot code it could start (\"%s\")", quoted);
}

static void fail_root_device(struct vmc_watch *w, const char *dev,
			     const char *quoted)
{
	char hint[160];

	root_hint(w, hint, sizeof(hint));
	conclude(w, false, "initramfs could not find root device %s (%s):"
		 " \"%s\"", dev, hint, quoted);
}

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* "foo login: " at the end of the text so far. */
static bool login_prompt(const char *s)
{
	const char *p = strstr(s, " login:");
	const char *q;

	if (!p || p == s)
		return false;
	for (q = p + 7; *q; q++)
		if (*q != ' ')
			return false;
	/* the word before it is a host name */
	for (q = p - 1; q >= s && *q != ' '; q--)
		if (!(*q == '-' || *q == '.' || *q == '_' ||
		      (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
		      (*q >= 'A' && *q <= 'Z')))
			return false;
	return true;
}

static void emergency(struct vmc_watch *w, const char *mode,
		      const char *quoted)
{
	char dev[QUOTE_LEN];

	if (!w->v.reached[VMC_STAGE_ROOT] &&
	    (w->dracut_timeout || w->missing_dev[0])) {
		snprintf(dev, sizeof(dev), "%s", w->missing_dev[0] ?
			 w->missing_dev : "(unknown)");
		char hint[160];

		root_hint(w, hint, sizeof(hint));
		conclude(w, false, "initramfs could not find root device %s"
			 " (%s; dracut-initqueue timeout): \"%s\"", dev, hint,
			 quoted);
	} else if (w->failed_what[0]) {
		conclude(w, false, "systemd %s: %s did not mount (\"%s\")",
			 mode, w->failed_what, w->failed);
	} else if (w->failed[0]) {
		conclude(w, false, "systemd %s: \"%s\"", mode, w->failed);
	} else {
		conclude(w, false, "systemd %s: \"%s\"", mode, quoted);
	}
}

/* Remember what systemd said failed, for the emergency-mode reason. */
static void systemd_failure(struct vmc_watch *w, const char *q)
{
	const char *p;

	if ((p = strstr(q, "Failed to mount "))) {
		snprintf(w->failed, sizeof(w->failed), "%s", p);
		snprintf(w->failed_what, sizeof(w->failed_what), "%s",
			 p + strlen("Failed to mount "));
		size_t n = strlen(w->failed_what);

		if (n && w->failed_what[n - 1] == '.')
			w->failed_what[n - 1] = 0;
	} else if ((p = strstr(q, "Timed out waiting for device "))) {
		snprintf(w->failed, sizeof(w->failed), "%s", p);
		snprintf(w->failed_what, sizeof(w->failed_what), "%s",
			 p + strlen("Timed out waiting for device "));
		size_t n = strlen(w->failed_what);

		if (n && w->failed_what[n - 1] == '.')
			w->failed_what[n - 1] = 0;
	} else if (!w->failed[0] && (p = strstr(q, "Dependency failed for "))) {
		snprintf(w->failed, sizeof(w->failed), "%s", p);
	}
}

static void firmware_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	if (strstr(q, "SeaBIOS (version")) {
		w->fw_banners++;
		/* (a screen read again after it was redrawn repeats it) */
		if (w->fw_banners > 1 && !w->screen &&
		    w->v.stage >= VMC_STAGE_BOOTLOADER) {
			conclude(w, false, "the guest rebooted during stage %s"
				 " instead of booting (on the target it would"
				 " keep rebooting)",
				 vmc_stage_name(w->v.stage));
			return;
		}
		reach(w, VMC_STAGE_FIRMWARE, ms);
	} else if (starts(q, "Booting from Hard Disk") ||
		   starts(q, "Booting from ROM")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
	} else if (starts(q, "Booting from 0000:7c00")) {
		/* SeaBIOS jumps into the boot sector it loaded */
		reach(w, VMC_STAGE_FIRMWARE, ms);
		reach(w, VMC_STAGE_BOOTLOADER, ms);
	} else if (strstr(q, "Boot failed: not a bootable disk")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		w->fw_not_bootable = true;
	} else if (strstr(q, "Boot failed: could not read the boot disk")) {
		/* also said of an empty floppy drive: decide at the end */
		reach(w, VMC_STAGE_FIRMWARE, ms);
		if (!w->fw_not_bootable)
			w->fw_read_error = true;
	} else if (strstr(q, "No bootable device")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		fail_no_boot_disk(w, q);
	}
}

/* The firmware failed to start anything from the disk and gave up: the
 * UEFI shell, or OVMF's "No bootable option or device was found". */
static void uefi_gave_up(struct vmc_watch *w, const char *q)
{
	const char *f = w->uefi_failed;
	const char *hint = strstr(f, "Access Denied") ?
		"a Secure Boot violation: the firmware refused the loader's"
		" signature" : "no loader at the removable-media path"
		" \\EFI\\BOOT\\BOOTX64.EFI of the EFI system partition and no"
		" boot entry naming one";

	if (!f[0])
		conclude(w, false, "no bootable UEFI loader: the firmware said"
			 " \"%s\"", q);
	else if (strstr(q, "UEFI Interactive Shell"))
		conclude(w, false, "no bootable UEFI loader (%s): the firmware"
			 " said \"%s\" and started the UEFI shell", hint, f);
	else
		conclude(w, false, "no bootable UEFI loader (%s): the firmware"
			 " said \"%s\", then \"%s\"", hint, f, q);
}

/* OVMF's boot manager (MdeModulePkg's BdsDxe) on the console: what it
 * loads and starts, and what it could not load.  An application from a
 * firmware volume ("from Fv(...)": the built-in UEFI shell) is not the
 * guest's boot loader. */
static void uefi_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	const char *p;

	if (starts(q, "BdsDxe: loading Boot")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
	} else if (starts(q, "BdsDxe: starting Boot")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		if (!strstr(q, " from Fv("))
			reach(w, VMC_STAGE_BOOTLOADER, ms);
	} else if (starts(q, "BdsDxe: failed to load Boot")) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		if (!w->uefi_failed[0] && !strstr(q, " from Fv("))
			quote_cap(w->uefi_failed, q, sizeof(w->uefi_failed));
	} else if (w->v.reached[VMC_STAGE_BOOTLOADER]) {
		return;
	} else if ((p = strstr(q, "UEFI Interactive Shell")) ||
		   (p = strstr(q, "No bootable option or device was found"))) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		uefi_gave_up(w, p);
	}
}

static void loader_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	static const char *const banners[] = {
		"SYSLINUX ", "EXTLINUX ", "ISOLINUX ", "PXELINUX ",
		"GRUB loading", "Welcome to GRUB", "GNU GRUB",
	};
	static const char *const mbr_errors[] = {
		"Missing operating system", "Operating system load error",
		"Multiple active partitions", "Invalid partition table",
		"Error loading operating system", "Operating system not found",
	};
	const char *p;

	for (size_t i = 0; i < sizeof(banners) / sizeof(banners[0]); i++)
		if (strstr(q, banners[i]) && !w->v.reached[VMC_STAGE_KERNEL])
			reach(w, VMC_STAGE_BOOTLOADER, ms);
	if (w->v.reached[VMC_STAGE_KERNEL])
		return;
	for (size_t i = 0; i < sizeof(mbr_errors) / sizeof(mbr_errors[0]);
	     i++)
		if (strstr(q, mbr_errors[i])) {
			reach(w, VMC_STAGE_BOOTLOADER, ms);
			conclude(w, false, "boot loader error: the boot sector"
				 " said \"%s\"", q);
			return;
		}
	if ((p = strstr(q, "Could not find kernel image")) ||
	    (p = strstr(q, "Could not find ramdisk image"))) {
		reach(w, VMC_STAGE_BOOTLOADER, ms);
		conclude(w, false, "boot loader error: \"%s\"", p);
	} else if (w->v.reached[VMC_STAGE_BOOTLOADER] &&
		   (p = strstr(q, "error: "))) {
		/* GRUB goes on after some errors; remember the last one and
		 * fail when it gives up (prompt, "Press any key"). */
		snprintf(w->loader_error, sizeof(w->loader_error), "%s", p);
	} else if (w->loader_error[0] && strstr(q, "Press any key to"
						  " continue")) {
		conclude(w, false, "boot loader error: \"%s\"",
			 w->loader_error);
	}
}

static void kernel_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	const char *p;

	if (starts(q, "Decompressing Linux") || starts(q, "Linux version ") ||
	    starts(q, "Booting the kernel") || starts(q, "Command line: "))
		reach(w, VMC_STAGE_KERNEL, ms);
	if (!w->v.reached[VMC_STAGE_KERNEL])
		return;
	if (starts(q, "Run /init as init process")) {
		w->in_initramfs = true;
		return;
	}
	if (w->bus == VMC_BUS_VIRTIO ?
	    (strstr(q, "virtio_blk") && strstr(q, "[vd")) :
	    ((strstr(q, "ata") && strstr(q, ": ATA-")) ||
	     (starts(q, "sd ") && strstr(q, "[sd"))))
		w->saw_disk = true;
	if ((p = strstr(q, "VFS: Cannot open root device")))
		snprintf(w->root_ctx, sizeof(w->root_ctx), "%s", p);
	if ((p = strstr(q, "Kernel panic - not syncing: "))) {
		p += strlen("Kernel panic - not syncing: ");
		if (w->root_ctx[0] && strstr(p, "Unable to mount root fs"))
			conclude(w, false, "kernel panic: %s (\"%s\")", p,
				 w->root_ctx);
		else
			conclude(w, false, "kernel panic: %s", p);
	}
}

static void root_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	if (!w->v.reached[VMC_STAGE_KERNEL])
		return;
	if (starts(q, "VFS: Mounted root (") ||
	    ((starts(q, "EXT4-fs (") || starts(q, "EXT3-fs (") ||
	      starts(q, "EXT2-fs (")) && strstr(q, "mounted filesystem")) ||
	    (starts(q, "XFS (") && strstr(q, "Ending clean mount")) ||
	    (starts(q, "BTRFS info") && strstr(q, "enabling ssd")) ||
	    strstr(q, "Reached target Switch Root") ||
	    strstr(q, "Reached target switch-root") ||
	    starts(q, "Switching root."))
		reach(w, VMC_STAGE_ROOT, ms);
}

static void userspace_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	if (!w->v.reached[VMC_STAGE_KERNEL])
		return;
	if (starts(q, "Run /sbin/init as init process") ||
	    starts(q, "Run /etc/init as init process") ||
	    starts(q, "Run /bin/init as init process")) {
		/* the kernel mounted the root itself and starts its init */
		reach(w, VMC_STAGE_ROOT, ms);
		reach(w, VMC_STAGE_USERSPACE, ms);
	} else if (strstr(q, "init started: BusyBox") ||
		   starts(q, "INIT: version") ||
		   (strstr(q, "OpenRC") && strstr(q, "is starting up")) ||
		   (starts(q, "Welcome to ") && !strstr(q, "Initramfs") &&
		    !strstr(q, "initrd") && !strstr(q, "dracut"))) {
		if (!w->in_initramfs || w->v.reached[VMC_STAGE_ROOT]) {
			reach(w, VMC_STAGE_ROOT, ms);
			reach(w, VMC_STAGE_USERSPACE, ms);
		}
	} else if (strstr(q, "Reached target") &&
		   (strstr(q, "Multi-User System") ||
		    strstr(q, "Graphical Interface"))) {
		reach(w, VMC_STAGE_ROOT, ms);
		reach(w, VMC_STAGE_USERSPACE, ms);
		conclude(w, true, "reached userspace: \"%s\"", q);
	}
}

static void failure_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	const char *p;

	if (!w->v.reached[VMC_STAGE_KERNEL])
		return;
	if (strstr(q, "Gave up waiting for root")) {
		w->gave_up = true;
	} else if ((p = strstr(q, "ALERT!"))) {
		char dev[QUOTE_LEN];
		const char *e = strstr(p, " does not exist");

		if (e) {
			const char *d = p + strlen("ALERT!");
			size_t n;

			while (*d == ' ')
				d++;
			n = e > d ? (size_t)(e - d) : 0;
			if (n >= sizeof(dev))
				n = sizeof(dev) - 1;
			memcpy(dev, d, n);
			dev[n] = 0;
			fail_root_device(w, dev, p);
		} else {
			conclude(w, false, "initramfs emergency shell: \"%s\"",
				 p);
		}
	} else if (strstr(q, "dracut-initqueue") && strstr(q, "timeout")) {
		w->dracut_timeout = true;
	} else if (starts(q, "Warning: ") && strstr(q, " does not exist") &&
		   !w->v.reached[VMC_STAGE_ROOT]) {
		p = q + strlen("Warning: ");
		size_t n = (size_t)(strstr(q, " does not exist") - p);

		if (n >= sizeof(w->missing_dev))
			n = sizeof(w->missing_dev) - 1;
		memcpy(w->missing_dev, p, n);
		w->missing_dev[n] = 0;
	} else if (strstr(q, "No init found")) {
		conclude(w, false, "the initramfs mounted the root filesystem"
			 " but found no init on it: \"%s\"", q);
	} else if (strstr(q, "Failed to mount ") ||
		   strstr(q, "Timed out waiting for device ") ||
		   strstr(q, "Dependency failed for ")) {
		systemd_failure(w, q);
	} else if (strstr(q, "You are in emergency mode") ||
		   strstr(q, "Entering emergency mode")) {
		emergency(w, "emergency mode", q);
	} else if (strstr(q, "You are in rescue mode") ||
		   strstr(q, "Entering rescue mode")) {
		emergency(w, "rescue mode", q);
	} else if (strstr(q, "Give root password for maintenance") ||
		   strstr(q, "Cannot open access to console, the root"
			  " account is locked")) {
		emergency(w, "emergency mode", q);
	}
	(void)ms;
}

/* Prompts end without a newline: look at the line so far. */
static void partial_line(struct vmc_watch *w, const char *q, unsigned ms)
{
	if (w->done)
		return;
	if (w->v.reached[VMC_STAGE_KERNEL] && login_prompt(q)) {
		reach(w, VMC_STAGE_ROOT, ms);
		reach(w, VMC_STAGE_USERSPACE, ms);
		conclude(w, true, "reached userspace: login prompt \"%s\"", q);
	} else if (starts(q, "(initramfs)")) {
		if (w->gave_up)
			fail_root_device(w, "(unknown)", q);
		else
			conclude(w, false, "initramfs emergency shell: \"%s\"",
				 q);
	} else if (starts(q, "grub rescue>")) {
		conclude(w, false, "boot loader error: GRUB rescue shell%s%s%s",
			 w->loader_error[0] ? " after \"" : "", w->loader_error,
			 w->loader_error[0] ? "\"" : "");
	} else if (starts(q, "grub>") && !w->v.reached[VMC_STAGE_KERNEL]) {
		conclude(w, false, "boot loader error: GRUB stopped at its"
			 " command line%s%s%s", w->loader_error[0] ?
			 " after \"" : " (no configuration found)",
			 w->loader_error, w->loader_error[0] ? "\"" : "");
	} else if (starts(q, "boot:") && w->v.reached[VMC_STAGE_BOOTLOADER] &&
		   !w->v.reached[VMC_STAGE_KERNEL]) {
		conclude(w, false, "boot loader error: SYSLINUX stopped at its"
			 " boot: prompt");
	} else if (starts(q, "Shell>") &&
		   !w->v.reached[VMC_STAGE_BOOTLOADER]) {
		reach(w, VMC_STAGE_FIRMWARE, ms);
		uefi_gave_up(w, "UEFI Interactive Shell");
	} else if (starts(q, "dracut:/#")) {
		if (w->in_initramfs && !w->v.reached[VMC_STAGE_ROOT])
			emergency(w, "emergency mode", q);
	}
}

/* "[    1.234567] ": only the Linux kernel prints that. */
static bool printk_time(const char *s)
{
	const char *e;

	while (*s == ' ')
		s++;
	if (*s != '[' || !(e = strchr(s, ']')) || e - s < 4 || e - s > 20)
		return false;
	return strspn(s + 1, " 0123456789.") == (size_t)(e - s - 1) &&
	       memchr(s, '.', (size_t)(e - s));
}

static void console_line(struct vmc_watch *w, const char *line, unsigned ms)
{
	char q[LINE_MAX_LEN];

	quote(q, line);
	if (w->done || !q[0])
		return;
	/* a screen read now and then may miss "Linux version" */
	if (printk_time(line))
		reach(w, VMC_STAGE_KERNEL, ms);
	firmware_line(w, q, ms);
	uefi_line(w, q, ms);
	loader_line(w, q, ms);
	kernel_line(w, q, ms);
	root_line(w, q, ms);
	userspace_line(w, q, ms);
	failure_line(w, q, ms);
	if (!w->done && w->have_expect && !regexec(&w->expect, q, 0, NULL, 0)) {
		if (!w->v.reached[VMC_STAGE_USERSPACE])
			reach(w, VMC_STAGE_USERSPACE, ms);
		conclude(w, true, "reached userspace: the expected marker"
			 " appeared: \"%s\"", q);
	}
}

bool vmc_watch_console(struct vmc_watch *w, const char *buf, size_t len,
		       unsigned ms)
{
	for (size_t i = 0; i < len && !w->done; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (w->esc == 1) {
			w->esc = c == '[' ? 2 : 0;
			continue;
		}
		if (w->esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				w->esc = 0;
			continue;
		}
		if (c == 0x1b) {
			w->esc = 1;
		} else if (c == '\n') {
			w->line[w->len] = 0;
			console_line(w, w->line, ms);
			w->len = 0;
		} else if (c == '\t' || c >= 0x20) {
			if (w->len + 1 >= sizeof(w->line)) {
				w->line[w->len] = 0;
				console_line(w, w->line, ms);
				w->len = 0;
			}
			w->line[w->len++] = (char)c;
		}
	}
	if (!w->done && w->len) {
		char q[LINE_MAX_LEN];

		w->line[w->len] = 0;
		quote(q, w->line);
		partial_line(w, q, ms);
	}
	return w->done;
}

bool vmc_watch_prompt(struct vmc_watch *w, const char *text, unsigned ms)
{
	char q[LINE_MAX_LEN];

	quote(q, text);
	partial_line(w, q, ms);
	return w->done;
}

bool vmc_watch_debug(struct vmc_watch *w, const char *buf, size_t len,
		     unsigned ms)
{
	/* Any debug-port output means the firmware runs. */
	if (len)
		reach(w, VMC_STAGE_FIRMWARE, ms);
	for (size_t i = 0; i < len && !w->done; i++) {
		char c = buf[i];

		if (c == '\n' || w->dlen + 1 >= sizeof(w->dline)) {
			char q[LINE_MAX_LEN];

			w->dline[w->dlen] = 0;
			quote(q, w->dline);
			w->dlen = 0;
			/* only the firmware's own words: the console copy
			 * of the same text is handled by the console */
			if (strstr(q, "SeaBIOS (version"))
				continue;
			firmware_line(w, q, ms);
			if (c != '\n')
				w->dline[w->dlen++] = c;
		} else if (c != '\r') {
			w->dline[w->dlen++] = c;
		}
	}
	return w->done;
}

void vmc_watch_finish(struct vmc_watch *w, const struct vmc_run_end *end)
{
	const char *st = vmc_stage_name(w->v.stage);
	bool user = w->v.reached[VMC_STAGE_USERSPACE];

	if (w->done)
		return;
	/* a partial line (no newline before the end) still counts */
	if (w->len) {
		w->line[w->len] = 0;
		console_line(w, w->line, end->elapsed_ms);
		w->len = 0;
		if (w->done)
			return;
	}
	switch (end->exit) {
	case VMC_VM_POWEROFF:
		if (user) {
			conclude(w, true, "reached userspace; the guest then"
				 " powered off");
		} else if (w->v.reached[VMC_STAGE_ROOT]) {
			/* only userspace asks for a power-off: the init of
			 * the mounted root did */
			reach(w, VMC_STAGE_USERSPACE, end->elapsed_ms);
			conclude(w, true, "reached userspace: the guest's init"
				 " powered it off after its root filesystem was"
				 " mounted");
		} else if (w->v.stage < 0)
			conclude(w, false, "the guest powered off before"
				 " printing anything");
		else
			conclude(w, false, "the guest powered off during"
				 " stage %s", st);
		return;
	case VMC_VM_RESET:
		if (user)
			conclude(w, true, "reached userspace; the guest then"
				 " rebooted");
		else
			conclude(w, false, "the guest rebooted during stage %s"
				 " instead of booting (on the target it would"
				 " keep rebooting)", st);
		return;
	case VMC_VM_TRIPLE_FAULT:
		conclude(w, false, "triple fault during stage %s (the CPU"
			 " reset itself)", st);
		return;
	case VMC_VM_GUEST_ERROR:
		conclude(w, false, "the guest misbehaved during stage %s: %s",
			 st, end->reason && *end->reason ? end->reason :
			 "(no details)");
		return;
	case VMC_VM_STOPPED:
		conclude(w, false, "stopped in stage %s (the verdict came from"
			 " another console)", st);
		return;
	case VMC_VM_TIMEOUT:
		break;
	}
	if (user) {
		conclude(w, true, "reached userspace (init is running); no"
			 " login prompt or marker within %u s",
			 end->timeout_s);
	} else if (w->loader_error[0] &&
		   !w->v.reached[VMC_STAGE_KERNEL]) {
		conclude(w, false, "boot loader error: \"%s\"",
			 w->loader_error);
	} else if (w->fw_not_bootable && !w->v.reached[VMC_STAGE_BOOTLOADER]) {
		fail_no_boot_disk(w, "Boot failed: not a bootable disk");
	} else if (w->v.stage < 0) {
		conclude(w, false, "timed out after %u s with no output from"
			 " the firmware or the guest", end->timeout_s);
	} else if (w->in_initramfs && !w->v.reached[VMC_STAGE_ROOT]) {
		char hint[160];

		root_hint(w, hint, sizeof(hint));
		conclude(w, false, "timed out after %u s in stage %s: the"
			 " initramfs was still waiting for the root device"
			 " (%s)", end->timeout_s, st, hint);
	} else {
		conclude(w, false, "timed out after %u s in stage %s",
			 end->timeout_s, st);
	}
}

json_t *vmc_verdict_json(const struct vmc_verdict *v)
{
	json_t *o = json_object(), *a = json_array();

	json_object_set_new(o, "booted", json_boolean(v->booted));
	json_object_set_new(o, "stage", json_string(
		v->stage >= 0 ? vmc_stage_name(v->stage) : "none"));
	json_object_set_new(o, "reason", json_string(v->reason));
	for (int s = 0; s < VMC_STAGE_COUNT; s++) {
		json_t *e;

		if (!v->reached[s])
			continue;
		e = json_object();
		json_object_set_new(e, "stage", json_string(stage_names[s]));
		json_object_set_new(e, "ms", json_integer(v->stage_ms[s]));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "stages", a);
	return o;
}
