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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static uint8_t buf[1 << 16];
	struct vmc_error err;
	struct vmc_image *img;
	uint64_t off = 0, budget = 64 << 20;
	unsigned steps = 0;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vmconv-fuzz-vmdk-%d.vmdk",
			 (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	img = vmc_image_open(path, "vmdk", 0, NULL, &err);
	if (!img)
		return 0;
	/* Bounded walk: a huge virtual size must not make a slow input. */
	while (off < img->size && budget > 0 && steps++ < 4096) {
		struct vmc_extent x;
		size_t n;

		if (vmc_image_block_status(img, off, sizeof(buf), &x,
					   &err) < 0)
			break;
		n = (size_t)x.length;
		if (x.kind == VMC_EXTENT_DATA &&
		    vmc_image_pread(img, buf, n, off, &err) < 0)
			break;
		off += n;
		budget = budget > n ? budget - n : 0;
	}
	/* and a read near the end, where partial grains live */
	if (img->size >= 4096)
		vmc_image_pread(img, buf, 4096, img->size - 4096, &err);
	if (img->drv->info) {
		json_t *o = json_object();

		img->drv->info(img, o, &err);
		json_decref(o);
	}
	vmc_image_close(img);
	return 0;
}
