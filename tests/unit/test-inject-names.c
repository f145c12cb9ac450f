/* inject/names.c: which device names a controller change breaks, and the
 * rewriting of fstab, crypttab and kernel command lines (only the device
 * field changes; every change is listed). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "inject/names.h"

static int fake_uuid(void *ctx, const char *dev, char *out, size_t len)
{
	(void)ctx;
	if (!strcmp(dev, "/dev/sda1") || !strcmp(dev, "/dev/hda1") ||
	    !strcmp(dev, "/dev/xvda1")) {
		snprintf(out, len, "UUID=1111-aaaa");
		return 0;
	}
	if (!strcmp(dev, "/dev/sda2")) {
		snprintf(out, len, "UUID=2222-bbbb");
		return 0;
	}
	return -1;
}

Test(names, unstable)
{
	cr_assert(vmc_name_unstable("/dev/sda1"));
	cr_assert(vmc_name_unstable("/dev/sda"));
	cr_assert(vmc_name_unstable("/dev/hdb3"));
	cr_assert(vmc_name_unstable("/dev/xvda1"));
	cr_assert(vmc_name_unstable("/dev/sdaa12"));
	cr_assert_not(vmc_name_unstable("/dev/vda1"));
	cr_assert_not(vmc_name_unstable("UUID=1234"));
	cr_assert_not(vmc_name_unstable("/dev/mapper/vg0-root"));
	cr_assert_not(vmc_name_unstable("/dev/sda1x"));
	cr_assert_not(vmc_name_unstable("/dev/sd"));
	cr_assert_not(vmc_name_unstable("/dev/disk/by-uuid/x"));
}

Test(names, fstab)
{
	const char *in =
		"# /etc/fstab\n"
		"/dev/sda1\t/\text4\terrors=remount-ro\t0\t1\n"
		"  /dev/sda2   /home  ext4 defaults 0 2\n"
		"/dev/sdb1 /data ext4 defaults 0 2\n"
		"UUID=x /boot ext4 defaults 0 2\n"
		"proc /proc proc defaults 0 0";
	struct vmc_plan p = { 0 };
	char *out = vmc_names_rewrite(in, VMC_NAMES_FSTAB, "/etc/fstab",
				      fake_uuid, NULL, &p);

	cr_assert_not_null(out);
	cr_assert_str_eq(out,
		"# /etc/fstab\n"
		"UUID=1111-aaaa\t/\text4\terrors=remount-ro\t0\t1\n"
		"  UUID=2222-bbbb   /home  ext4 defaults 0 2\n"
		"/dev/sdb1 /data ext4 defaults 0 2\n"
		"UUID=x /boot ext4 defaults 0 2\n"
		"proc /proc proc defaults 0 0");
	cr_assert_eq(p.n, 2);
	cr_assert_str_eq(p.c[0].file, "/etc/fstab");
	cr_assert_str_eq(p.c[0].before, "/dev/sda1\t/\text4\terrors=remount-ro\t0\t1");
	cr_assert_str_eq(p.c[0].after, "UUID=1111-aaaa\t/\text4\terrors=remount-ro\t0\t1");
	cr_assert_eq(p.nnotes, 1);
	cr_assert(strstr(p.notes[0], "/dev/sdb1"));
	free(out);
	vmc_plan_free(&p);
}

Test(names, crypttab)
{
	const char *in = "cryptroot /dev/sda2 none luks\n"
			 "#swap /dev/sda1 /dev/urandom swap\n";
	struct vmc_plan p = { 0 };
	char *out = vmc_names_rewrite(in, VMC_NAMES_CRYPTTAB, "/etc/crypttab",
				      fake_uuid, NULL, &p);

	cr_assert_str_eq(out, "cryptroot UUID=2222-bbbb none luks\n"
			      "#swap /dev/sda1 /dev/urandom swap\n");
	cr_assert_eq(p.n, 1);
	free(out);
	vmc_plan_free(&p);
}

Test(names, cmdline)
{
	const char *in =
		"menuentry 'Debian' {\n"
		"\tlinux /boot/vmlinuz-6.1 root=/dev/sda1 ro console=ttyS0 resume=/dev/sda2\n"
		"\tinitrd /boot/initrd.img-6.1\n"
		"}\n"
		"GRUB_CMDLINE_LINUX=\"root=/dev/hda1 quiet\"\n"
		"linux /vmlinuz myroot=/dev/sda1 root=/dev/vda1\n";
	struct vmc_plan p = { 0 };
	char *out = vmc_names_rewrite(in, VMC_NAMES_CMDLINE, "grub.cfg",
				      fake_uuid, NULL, &p);

	cr_assert_str_eq(out,
		"menuentry 'Debian' {\n"
		"\tlinux /boot/vmlinuz-6.1 root=UUID=1111-aaaa ro console=ttyS0 resume=UUID=2222-bbbb\n"
		"\tinitrd /boot/initrd.img-6.1\n"
		"}\n"
		"GRUB_CMDLINE_LINUX=\"root=UUID=1111-aaaa quiet\"\n"
		"linux /vmlinuz myroot=/dev/sda1 root=/dev/vda1\n");
	cr_assert_eq(p.n, 2);
	free(out);
	vmc_plan_free(&p);
}

static unsigned seen;
static void count(void *ctx, const char *dev, unsigned line)
{
	(void)ctx;
	(void)dev;
	seen += line;
}

Test(names, scan)
{
	seen = 0;
	vmc_names_scan("a root=/dev/sda1\nb\nc root=/dev/sdb2 resume=/dev/vda\n",
		       VMC_NAMES_CMDLINE, count, NULL);
	cr_assert_eq(seen, 1 + 3);
}

/* GRUB's device.map names whole disks: on virtio they are /dev/vdX */
Test(names, devmap)
{
	const char *map = "# generated\n(hd0)\t/dev/sda\n(hd1) /dev/hdb\n"
			  "(hd2)\t/dev/disk/by-id/ata-x\n(fd0)\t/dev/fd0\n";
	struct vmc_plan plan = { 0 };
	char out[32];
	char *nt = vmc_names_rewrite(map, VMC_NAMES_DEVMAP,
				     "/boot/grub/device.map",
				     vmc_name_on_virtio, NULL, &plan);

	cr_assert_not_null(nt);
	cr_assert_str_eq(nt, "# generated\n(hd0)\t/dev/vda\n(hd1) /dev/vdb\n"
			 "(hd2)\t/dev/disk/by-id/ata-x\n(fd0)\t/dev/fd0\n");
	cr_assert_eq(plan.n, 2);
	free(nt);
	vmc_plan_free(&plan);
	cr_assert_eq(vmc_name_on_virtio(NULL, "/dev/xvdc3", out,
					sizeof(out)), 0);
	cr_assert_str_eq(out, "/dev/vdc3");
	cr_assert_eq(vmc_name_on_virtio(NULL, "/dev/vda", out, sizeof(out)),
		     -1);
	cr_assert_eq(vmc_name_on_virtio(NULL, "/dev/sda1", out, 4), -1);
}
