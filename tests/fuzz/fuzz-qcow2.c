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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static uint8_t buf[1 << 16];
	struct vmc_check_result res = { 0 };
	struct vmc_error err;
	struct vmc_image *img;
	uint64_t off = 0, budget = 16 << 20, steps = 0;
	json_t *info;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vmconv-fuzz-qcow2-%d.qcow2",
			 (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	img = vmc_image_open(path, "qcow2", VMC_OPEN_NO_BACKING, NULL, &err);
	if (!img) {
		unlink(path);
		return 0;
	}
	while (off < img->size && budget > 0 && steps++ < 100000) {
		struct vmc_extent x;
		size_t n;

		if (vmc_image_block_status(img, off, img->size - off, &x,
					   &err) < 0)
			break;
		if (x.kind == VMC_EXTENT_DATA) {
			n = (size_t)(x.length < sizeof(buf) ? x.length :
				     sizeof(buf));
			if (vmc_image_pread(img, buf, n, off, &err) < 0)
				break;
			budget = budget > n ? budget - n : 0;
			off += n;
		} else {
			off += x.length;
		}
	}
	info = json_object();
	if (img->drv->info)
		img->drv->info(img, info, &err);
	json_decref(info);
	vmc_image_check(img, &res, false, &err);
	vmc_check_result_free(&res);
	vmc_image_close(img);
	unlink(path);
	return 0;
}
