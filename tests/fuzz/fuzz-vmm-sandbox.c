/* libFuzzer target: what a VM process its guest took over may send to
 * vmconv (validate/vmm/sandbox.c).  The input is cut into records (a
 * 16-bit little-endian length, then that many bytes, each sent as one
 * SOCK_SEQPACKET record by the child, with the first byte of each record's
 * header overwritten by a valid message type half of the time so the
 * parser gets past its type check); the child then exits, dies of a
 * signal or stays until killed, as the input's first byte says.  The
 * parent runs the real boot-stage watcher on the console and debug
 * messages and the report is built.  One fork per input: slow, but it is
 * the parent's parsing that is fuzzed.  Build with `make fuzz`. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "validate/stages.h"
#include "validate/validate.h"
#include "validate/vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size;
};

static bool on_console(void *ctx, const char *buf, size_t len)
{
	return vmc_watch_console(ctx, buf, len, 10);
}

static void on_debug(void *ctx, const char *buf, size_t len)
{
	vmc_watch_debug(ctx, buf, len, 10);
}

static bool on_screen(void *ctx, const uint16_t *cells, bool final)
{
	char text[81];

	for (int i = 0; i < 80; i++)
		text[i] = (char)(cells[i] & 0x7f) ? (char)(cells[i] & 0x7f) : ' ';
	text[80] = 0;
	return vmc_watch_prompt(ctx, text, 10) && !final;
}

static void send_records(int chan, const uint8_t *d, size_t n)
{
	uint8_t rec[8 + VMC_SANDBOX_PAYLOAD];
	size_t i = 1;

	while (i + 2 <= n) {
		size_t len = d[i] | (size_t)d[i + 1] << 8;

		i += 2;
		if (len > n - i)
			len = n - i;
		if (len > sizeof(rec))
			len = sizeof(rec);
		memcpy(rec, d + i, len);
		if (len >= 8 && (d[i] & 0x80))
			rec[0] = (uint8_t)(1 + d[i] % 5);
		i += len;
		if (write(chan, rec, len) < 0)
			return;
	}
}

static int body(void *arg, int chan, const struct vmc_vm_config *cfg,
		struct vmc_vm_result *res, struct vmc_error *err)
{
	const struct input *in = arg;
	uint8_t how = in->size ? in->data[0] : 0;

	(void)cfg;
	(void)res;
	(void)err;
	send_records(chan, in->data, in->size);
	switch (how % 4) {
	case 0:
		_exit(0);
	case 1:
		raise(SIGSYS);
		_exit(1);
	case 2:
		_exit(3);
	default:
		return 0;	/* the sandbox sends the real result */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_run_end end = { 0 };
	struct vmc_error err;
	struct vmc_watch *w = vmc_watch_new(VMC_BUS_VIRTIO, NULL, &err);

	if (!w)
		return 0;
	cfg.on_console = on_console;
	cfg.on_debug = on_debug;
	cfg.on_screen = on_screen;
	cfg.ctx = w;
	if (vmc_sandbox_run(&cfg, body, &in, 5000, &res, &err) == 0) {
		end.exit = res.exit;
		end.reason = res.reason;
		end.elapsed_ms = res.elapsed_ms;
		end.timeout_s = 5;
		vmc_watch_finish(w, &end);
		json_decref(vmc_verdict_json(vmc_watch_verdict(w)));
	}
	vmc_watch_free(w);
	return 0;
}
