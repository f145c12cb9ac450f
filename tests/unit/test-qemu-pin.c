/* Unit tests: what QEMU is handed (validate/engine-qemu.c).  A qcow2
 * whose header names "nbd:127.0.0.1:1" (and a same-named local file) is
 * read by qemu-img through vmconv's pinned json: name without connecting
 * anywhere or reading the local file; raw is pinned to the file protocol;
 * formats QEMU would parse further (VMDK, qcow2 with more files) get no
 * pinned name, so the engine exports them raw. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"
#include "validate/qemu.h"
#include "validate/validate.h"

TestSuite(qemu_pin, .init = scratch_setup, .fini = scratch_teardown);

static void sh(const char *fmt, const char *arg)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, scratch_dir, arg ? arg : "");
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static struct vmc_image *open_img(const char *name, unsigned flags)
{
	char p[256];
	struct vmc_error err;
	struct vmc_image *img;

	snprintf(p, sizeof(p), "%s/%s", scratch_dir, name);
	img = vmc_image_open(p, NULL, flags, NULL, &err);
	cr_assert_not_null(img, "%s", err.msg);
	return img;
}

Test(qemu_pin, qcow2_backing_name_never_followed)
{
	struct vmc_image *img;
	char *pin, cmd[4096];
	FILE *f;

	/* the local decoy is marked: reading it would show 0x58 bytes */
	sh("cd %s && head -c 1048576 /dev/zero | tr '\\0' X >"
	   " 'nbd:127.0.0.1:1'", NULL);
	sh("cd %s && qemu-img create -q -f qcow2 -F raw -u"
	   " -b 'nbd:127.0.0.1:1' evil.qcow2 1M", NULL);
	/* vmconv itself refuses the name ... */
	{
		struct vmc_error err;
		char p[256];

		snprintf(p, sizeof(p), "%s/evil.qcow2", scratch_dir);
		cr_assert_null(vmc_image_open(p, NULL, 0, NULL, &err));
		cr_assert(strstr(err.msg, "protocol"), "%s", err.msg);
	}
	/* ... and the name QEMU gets leaves nothing to follow */
	img = open_img("evil.qcow2", VMC_OPEN_NO_BACKING);
	pin = vmc_qemu_pinned_name(img, 1);
	cr_assert_not_null(pin);
	cr_assert(!strncmp(pin, "json:", 5), "%s", pin);
	cr_assert(strstr(pin, "\"backing\":null"), "%s", pin);
	cr_assert(strstr(pin, "\"driver\":\"file\""), "%s", pin);
	snprintf(cmd, sizeof(cmd), "cd %s && timeout 60 qemu-img convert"
		 " -O raw '%s' out.raw && cmp -s out.raw /dev/zero -n 1048576",
		 scratch_dir, pin);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	/* with more files than the image's own, no pinned name */
	cr_assert_null(vmc_qemu_pinned_name(img, 2));
	free(pin);
	vmc_image_close(img);
	snprintf(cmd, sizeof(cmd), "%s/out.raw", scratch_dir);
	f = fopen(cmd, "rb");
	cr_assert_not_null(f);
	cr_assert_neq(fgetc(f), 'X');
	fclose(f);
}

Test(qemu_pin, raw_pinned_vmdk_exported)
{
	struct vmc_image *img;
	char *pin;

	sh("cd %s && qemu-img create -q -f raw a.raw 1M && "
	   "qemu-img create -q -f vmdk b.vmdk 1M", NULL);
	img = open_img("a.raw", 0);
	pin = vmc_qemu_pinned_name(img, 1);
	cr_assert_not_null(pin);
	cr_assert(strstr(pin, "\"driver\":\"raw\""), "%s", pin);
	cr_assert(!strstr(pin, "backing"), "%s", pin);
	free(pin);
	vmc_image_close(img);
	img = open_img("b.vmdk", 0);
	cr_assert_null(vmc_qemu_pinned_name(img, 1));
	vmc_image_close(img);
}

/* The VM's vCPU count: -smp N on the qemu engine (capped), one on the
 * built-in VMM's engines; the machine's start says -smp as asked. */
Test(qemu_pin, vcpus_per_engine)
{
	struct vmc_validate_opts o = { .vcpus = 4 };
	const char *argv[32];
	int n, i;

	cr_assert_eq(vmc_validate_vcpus(&o, VMC_ENGINE_QEMU), 4);
	cr_assert_eq(vmc_validate_vcpus(&o, VMC_ENGINE_NESTED), 1);
	cr_assert_eq(vmc_validate_vcpus(&o, VMC_ENGINE_DIRECT), 1);
	o.vcpus = 0;
	cr_assert_eq(vmc_validate_vcpus(&o, VMC_ENGINE_QEMU), 1);
	o.vcpus = 1000;
	cr_assert_eq(vmc_validate_vcpus(&o, VMC_ENGINE_QEMU),
		     VMC_VALIDATE_MAX_VCPUS);
	n = vmc_qemu_machine_args(argv, false, NULL, "512", "4");
	for (i = 0; i < n - 1 && strcmp(argv[i], "-smp"); i++)
		;
	cr_assert_str_eq(argv[i + 1], "4");
	n = vmc_qemu_machine_args(argv, false, NULL, "512", NULL);
	for (i = 0; i < n - 1 && strcmp(argv[i], "-smp"); i++)
		;
	cr_assert_str_eq(argv[i + 1], "1");
}
