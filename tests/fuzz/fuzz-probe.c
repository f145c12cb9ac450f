/* libFuzzer target: arbitrary bytes opened as an image through the probe
 * path (every built-in format), then read end to end by extents, as
 * `vmconv convert` and `vmconv info` would.  Build with `make fuzz`; run
 * build/fuzz/fuzz-probe CORPUS_DIR. */
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
	/* Walk at most 64 MiB of the disk. */
	static const struct fuzz_walk walk = {
		.budget = 64 << 20, .max_steps = UINT64_MAX,
	};
	static char path[64];
	struct vmc_error err;
	struct vmc_image *img;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vmconv-fuzz-%d.img",
			 (int)getpid());
	if (fuzz_write_file(path, data, size) < 0)
		return 0;
	img = vmc_image_open(path, NULL, 0, NULL, &err);
	if (!img)
		return 0;
	fuzz_walk_extents(img, &walk);
	fuzz_info(img);
	vmc_image_close(img);
	return 0;
}
