/* libFuzzer target: the boot-stage console watcher (validate/stages.c)
 * with what a hostile guest prints.  The first byte picks the bus and how
 * the bytes arrive (console, firmware debug port, screen prompts), the
 * rest is cut into chunks at 0xff bytes; the run is then finished with
 * each kind of end and the verdict turned into JSON.  Build with `make
 * fuzz`. */
#include <stdint.h>
#include <string.h>

#include "validate/stages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmc_error err;
	struct vmc_watch *w;
	struct vmc_run_end end = { 0 };
	unsigned ms = 0;
	uint8_t mode;
	size_t i = 1, start;

	if (size < 1)
		return 0;
	mode = data[0];
	w = vmc_watch_new(mode & 1 ? VMC_BUS_IDE : VMC_BUS_VIRTIO,
			  mode & 2 ? "userspace reached" : NULL, &err);
	if (!w)
		return 0;
	if (mode & 4)
		vmc_watch_set_screen(w);
	vmc_watch_set_boot_signature(w, !(mode & 8));
	while (i < size) {
		char chunk[4097];
		size_t n;

		start = i;
		while (i < size && data[i] != 0xff && i - start < 4096)
			i++;
		n = i - start;
		memcpy(chunk, data + start, n);
		chunk[n] = '\0';
		ms += 37;
		switch ((start + mode) % 3) {
		case 0:
			vmc_watch_console(w, chunk, n, ms);
			break;
		case 1:
			vmc_watch_debug(w, chunk, n, ms);
			break;
		default:
			vmc_watch_prompt(w, chunk, ms);
		}
		i++;
	}
	end.exit = (enum vmc_vm_exit)((mode >> 4) % 6);
	end.reason = mode & 0x80 ? "fuzz" : NULL;
	end.elapsed_ms = ms;
	end.timeout_s = 1;
	vmc_watch_finish(w, &end);
	json_decref(vmc_verdict_json(vmc_watch_verdict(w)));
	vmc_watch_free(w);
	return 0;
}
