/* libFuzzer target for the VHD plugin.  The plugin's sources are built
 * into the fuzzer and its driver registered as the loader would.  The
 * input is the file; a first byte with bit 0 set asks for the footer and
 * dynamic header checksums to be made right, so that mutations reach the
 * BAT, the bitmaps and the parent locators. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmconv/check.h>
#include <vmconv/image.h>

#include "formats/registry.h"
#include "tests/fuzz/fuzz-common.h"
#include "plugins/vhd/vhd.c"
#include "plugins/vhd/vhd-create.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	static uint8_t buf[1 << 20];
	struct vmc_error err;
	struct vmc_image *img;
	char path[64];
	uint8_t *f;
	int fd;

	if (!registered) {
		const struct vmc_driver *d = VMC_PLUGIN_ENTRY();

		if (vmc_registry_add(d, d->struct_size, "fuzz", &err) < 0)
			abort();
		registered = true;
	}
	if (size < 2)
		return 0;
	f = malloc(size - 1);
	memcpy(f, data + 1, size - 1);
	size--;
	if ((data[0] & 1) && size >= 512) {
		vmc_put_be32(f + size - 512 + 64,
			     vhd_checksum(f + size - 512, 512, 64));
		if (size >= 1536) {
			vmc_put_be32(f + 64, vhd_checksum(f, 512, 64));
			vmc_put_be32(f + 512 + 36,
				     vhd_checksum(f + 512, 1024, 36));
		}
	}
	fd = memfd_create("fuzz-vhd", 0);
	if (fd < 0 || write(fd, f, size) != (ssize_t)size)
		abort();
	free(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	img = vmc_image_open(path, "vpc", 0, NULL, &err);
	if (img) {
		fuzz_read_all(img, buf, sizeof(buf));
		fuzz_info(img);
		fuzz_check(img, false);
		vmc_image_close(img);
	}
	close(fd);
	return 0;
}
