/* libFuzzer target: arbitrary bytes opened as a VMDK (sparse, stream,
 * COWD, seSparse or descriptor, whichever the bytes look like), then
 * block status and reads over the whole disk and info, as `vmconv
 * convert` would.  A descriptor may name extents: only names inside the
 * scratch folder are opened, and any that exist there are this target's
 * own files.  Build with `make fuzz`; run build/fuzz/fuzz-vmdk CORPUS. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "tests/fuzz/fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Bounded walk: a huge virtual size must not make a slow input. */
	static const struct fuzz_walk walk = {
		.budget = 64 << 20, .max_steps = 4096,
	};
	static char path[64];
	struct vmc_error err;
	struct vmc_image *img;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vmconv-fuzz-vmdk-%d.vmdk",
			 (int)getpid());
	if (fuzz_write_file(path, data, size) < 0)
		return 0;
	img = vmc_image_open(path, "vmdk", 0, NULL, &err);
	if (!img)
		return 0;
	fuzz_walk_extents(img, &walk);
	/* and a read near the end, where partial grains live */
	if (img->size >= 4096)
		vmc_image_pread(img, fuzz_buf, 4096, img->size - 4096, &err);
	fuzz_info(img);
	vmc_image_close(img);
	return 0;
}
