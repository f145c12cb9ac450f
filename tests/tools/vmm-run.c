/* Developer tool: run the built-in VMM by hand (inside the nested
 * appliance, or on a host with hardware KVM) and print the console.
 *   vmm-run [--bios F | --kernel K [--initrd I] [--append A]]
 *           [--disk IMG] [--bus virtio|ide] [--mem MIB] [--timeout S]
 *           [--debug] [--expect TEXT] [--selftest]
 * Built by hand (not part of `make`):
 *   gcc -O2 -Iinclude -I. -o build/vmm-run tests/tools/vmm-run.c \
 *       build/libvmcvalidate.a build/libvmconv.a $(pkg-config --libs
 *       jansson libcrypto zlib libzstd libisal libseccomp) -ldl -pthread
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmconv/vmconv.h>

#include "validate/vm.h"

static const char *expect;
static struct timespec t0;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static bool on_console(void *ctx, const char *buf, size_t len)
{
	static char line[4096];
	static size_t n;

	(void)ctx;
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	for (size_t i = 0; i < len; i++) {
		if (n < sizeof(line) - 1)
			line[n++] = buf[i];
		if (buf[i] == '\n' || i == len - 1) {
			line[n] = 0;
			if (expect && strstr(line, expect)) {
				fprintf(stderr, "vmm-run: marker at %.3f s\n",
					now());
				return true;
			}
			if (buf[i] == '\n')
				n = 0;
		}
	}
	return false;
}

static void on_debug(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	fprintf(stderr, "[%.3f] ", now());
	fwrite(buf, 1, len, stderr);
}

int main(int argc, char **argv)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err;
	const char *disk = NULL;
	bool debug = false, selftest = false;
	static const char *names[] = { "poweroff", "reset", "triple-fault",
		"timeout", "stopped", "guest-error" };

	vmc_plugins_load_all();

	cfg.boot = VMC_BOOT_FIRMWARE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--debug")) { debug = true; continue; }
		if (!strcmp(a, "--selftest")) { selftest = true; continue; }
		if (!v) { fprintf(stderr, "vmm-run: %s needs a value\n", a); return 2; }
		i++;
		if (!strcmp(a, "--bios")) cfg.bios = v;
		else if (!strcmp(a, "--kernel")) { cfg.kernel = v; cfg.boot = VMC_BOOT_KERNEL; }
		else if (!strcmp(a, "--initrd")) cfg.initrd = v;
		else if (!strcmp(a, "--append")) cfg.cmdline = v;
		else if (!strcmp(a, "--disk")) disk = v;
		else if (!strcmp(a, "--bus")) cfg.bus = strcmp(v, "ide") ? VMC_BUS_VIRTIO : VMC_BUS_IDE;
		else if (!strcmp(a, "--mem")) cfg.mem_mib = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--timeout")) cfg.timeout_ms = (unsigned)atoi(v) * 1000;
		else if (!strcmp(a, "--expect")) expect = v;
		else { fprintf(stderr, "vmm-run: unknown option %s\n", a); return 2; }
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (selftest) {
		bool usable;
		char reason[256] = "";

		if (vmc_vm_selftest(&usable, reason, sizeof(reason), &err) < 0) {
			fprintf(stderr, "vmm-run: %s\n", err.msg);
			return 1;
		}
		printf("selftest: %s%s%s (%.3f s)\n", usable ? "usable" : "refused",
		       reason[0] ? ": " : "", reason, now());
		return usable ? 0 : 3;
	}
	if (!cfg.bios && cfg.boot == VMC_BOOT_FIRMWARE)
		cfg.bios = "/usr/share/seabios/bios.bin";
	if (disk) {
		cfg.disk = vmc_image_open(disk, NULL, 0, NULL, &err);
		if (!cfg.disk) {
			fprintf(stderr, "vmm-run: %s\n", err.msg);
			return 1;
		}
	}
	cfg.on_console = on_console;
	if (debug)
		cfg.on_debug = on_debug;
	if (vmc_vm_run(&cfg, &res, &err) < 0) {
		fprintf(stderr, "vmm-run: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr, "vmm-run: exit %s after %u ms: %s\n", names[res.exit],
		res.elapsed_ms, res.reason);
	if (cfg.disk)
		vmc_image_close(cfg.disk);
	return res.exit == VMC_VM_STOPPED ? 0 : 3;
}
