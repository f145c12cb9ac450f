/* libFuzzer target: the whole-VM readers (vm/) on untrusted text: the
 * input as an OVF descriptor (files it names are looked up in a folder
 * that does not exist), as a manifest, and as a .vmx file; a descriptor
 * that parses is written back as OVF and must parse again.  Build with
 * `make fuzz`; run build/fuzz/fuzz-ovf CORPUS. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz-common.h"
#include "vm/manifest.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_file(void *ctx, const char *name, struct vmc_digests *d,
		   struct vmc_error *err)
{
	memset(d, '0', sizeof(*d));
	d->sha1[40] = d->sha256[64] = 0;
	return strlen(name) % 2 ? vmc_error_set(err, 2, "absent") : 0;
}

static void ovf(const uint8_t *data, size_t size)
{
	struct vmc_error err;
	struct vmc_vm *vm = vmc_ovf_parse((const char *)data, size, "f.ovf",
					  "/nonexistent-fuzz", NULL, NULL,
					  &err);
	char *doc;

	if (!vm)
		return;
	json_decref(vmc_vm_to_json(vm));
	doc = vmc_ovf_write(vm, &err);
	if (doc) {
		struct vmc_vm *again = vmc_ovf_parse(doc, strlen(doc), "w.ovf",
						     "/nonexistent-fuzz", NULL,
						     NULL, &err);

		if (!again)
			abort();	/* what we write must read back */
		vmc_vm_free(again);
		free(doc);
	}
	vmc_vm_free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct vmc_error err;
	struct vmc_vm *vm;
	size_t n;

	ovf(data, size);
	vmc_manifest_check((const char *)data, size, "f.mf", no_file, NULL,
			   &n, &err);
	snprintf(path, sizeof(path), "/tmp/fuzz-ovf-%d.vmx", (int)getpid());
	if (fuzz_write_file(path, data, size) == 0) {
		vm = vmc_vmx_read(path, &err);
		vmc_vm_free(vm);
		unlink(path);
	}
	return 0;
}
