/* libFuzzer target for the qcow2 driver: arbitrary bytes written to a
 * temporary file, opened with format "qcow2" (backing files not
 * followed), read by extents, its info built and its metadata checked.
 * Seeds: tests/integration/qcow2-fuzz-seeds.sh writes them to
 * build/fuzz/corpus/fuzz-qcow2/.  Run:
 *   build/fuzz/fuzz-qcow2 build/fuzz/corpus/fuzz-qcow2 */
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
	/* 16 MiB of data read at most; holes cost only a query. */
	static const struct fuzz_walk walk = {
		.budget = 16 << 20, .max_steps = 100000, .ask_rest = true,
		.budget_data_only = true,
	};
	static char path[64];
	struct vmc_error err;
	struct vmc_image *img;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vmconv-fuzz-qcow2-%d.qcow2",
			 (int)getpid());
	if (fuzz_write_file(path, data, size) < 0)
		return 0;
	img = vmc_image_open(path, "qcow2", VMC_OPEN_NO_BACKING, NULL, &err);
	if (!img) {
		unlink(path);
		return 0;
	}
	fuzz_walk_extents(img, &walk);
	fuzz_info(img);
	fuzz_check(img, false);
	vmc_image_close(img);
	unlink(path);
	return 0;
}
