/* vmc_validate: pick the engine, boot the image, save the console log,
 * build the report. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "common/bytes.h"
#include "validate/cache.h"
#include "validate/process.h"
#include "validate/qemu.h"
#include "validate/engine.h"
#include "validate/exits.h"
#include "validate/guest-kernel.h"

static const char *const engine_names[] = {
	"auto", "direct", "nested", "qemu",
};

const char *vmc_engine_name(enum vmc_engine e)
{
	return (unsigned)e < 4 ? engine_names[e] : "?";
}

int vmc_engine_parse(const char *s, enum vmc_engine *e)
{
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(s, engine_names[i])) {
			*e = (enum vmc_engine)i;
			return 0;
		}
	return -1;
}

/* <cache>/logs/<image name>-<date>-<pid>.console.log */
static int default_log(const char *image, char *buf, size_t len,
		       struct vmc_error *err)
{
	char dir[PATH_MAX], base[256], stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	const char *b = strrchr(image, '/');

	if (vmc_cache_dir(dir, sizeof(dir), err) < 0)
		return -1;
	strncat(dir, "/logs", sizeof(dir) - strlen(dir) - 1);
	if (vmc_mkdir_p(dir, err) < 0)
		return -1;
	snprintf(base, sizeof(base), "%s", b ? b + 1 : image);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if ((size_t)snprintf(buf, len, "%s/%s-%s-%d.console.log", dir, base,
			     stamp, (int)getpid()) >= len)
		return vmc_error_set(err, ENAMETOOLONG, "%s: path too long",
				     dir);
	return 0;
}

/* Open regular files of this process: an image made of several files
 * (a backing chain, VMDK extents, a VHDX parent) opens several. */
static int count_files(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) &&
		    fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			n++;
	}
	closedir(d);
	return n;
}

static const struct vmc_engine_ops engines[] = {
	{ VMC_ENGINE_DIRECT, true, vmc_direct_usable, vmc_engine_direct_run },
	{ VMC_ENGINE_NESTED, true, vmc_qemu_usable, vmc_engine_nested_run },
	{ VMC_ENGINE_QEMU, false, vmc_qemu_usable, vmc_engine_qemu_run },
};

const struct vmc_engine_ops *vmc_engine_ops(enum vmc_engine e)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (engines[i].id == e)
			return &engines[i];
	return NULL;
}

/* One validation, from the options to the report. */
struct validation {
	struct vmc_validate_opts o;
	struct vmc_engine_run r;
	const struct vmc_engine_ops *engine;
	char log[PATH_MAX], fwlog[PATH_MAX + 16], why[512], append[4096];
	char kdir[PATH_MAX], gkernel[PATH_MAX + 32], ginitrd[PATH_MAX + 32];
	char gappend[PATH_MAX + 32], fwwhy[640];
	bool sig, kernel_from_guest;
	unsigned long long t0;
};

/* --boot=kernel without --kernel: the kernel the guest's own boot loader
 * configuration names, copied out of the image. */
static int guest_kernel(struct validation *v, struct vmc_error *err)
{
	struct vmc_validate_opts *o = &v->o;
	const char *qf = vmc_qemu_format(v->r.img->drv->name);
	const char *tmp = getenv("TMPDIR");
	char src[PATH_MAX + 16], why[512];

	snprintf(v->kdir, sizeof(v->kdir), "%s/vmconv-kernel.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(v->kdir)) {
		vmc_error_errno(err, errno, "%s", v->kdir);
		v->kdir[0] = 0;
		return -1;
	}
	snprintf(src, sizeof(src), "%s", o->image);
	/* libguestfs's QEMU gets a raw file and nothing else: it never
	 * parses the image's own metadata or names */
	if (!qf || strcmp(qf, "raw") || v->r.img_files > 1 ||
	    strchr(o->image, ':')) {
		snprintf(src, sizeof(src), "%s/disk.raw", v->kdir);
		if (vmc_export_raw(v->r.img, src, err) < 0)
			return -1;
		qf = "raw";
	}
	if (vmc_guest_kernel(src, qf, vmc_direct_usable(why, sizeof(why)),
			     v->kdir, v->gkernel, v->ginitrd, v->gappend,
			     sizeof(v->gkernel), err) < 0)
		return -1;
	o->kernel = v->gkernel;
	o->initrd = v->ginitrd[0] ? v->ginitrd : NULL;
	if (!o->append)
		o->append = v->gappend;
	v->kernel_from_guest = true;
	return 0;
}

/* --boot=firmware: BIOS or UEFI, as asked or as the disk says. */
static int firmware(struct validation *v, struct vmc_error *err)
{
	struct vmc_validate_opts *o = &v->o;
	struct vmc_disk_layout l;
	enum vmc_firmware f;

	if (o->boot == VMC_BOOT_KERNEL) {
		if (o->firmware == VMC_FIRMWARE_UEFI)
			return vmc_error_set(err, EINVAL, "--firmware=uefi"
					     " goes with --boot=firmware");
		o->firmware = VMC_FIRMWARE_BIOS;
		return 0;
	}
	if (vmc_disk_layout_read(v->r.img, &l, err) < 0) {
		vmc_error_prefix(err, "%s", o->image);
		return -1;
	}
	f = vmc_firmware_choose(&l, v->fwwhy, sizeof(v->fwwhy));
	if (o->firmware == VMC_FIRMWARE_AUTO) {
		o->firmware = f;
		return 0;
	}
	if (o->firmware != f) {
		char disk[sizeof(v->fwwhy)];

		snprintf(disk, sizeof(disk), "%s", v->fwwhy);
		snprintf(v->fwwhy, sizeof(v->fwwhy), "asked for with"
			 " --firmware (the disk says %s: %.560s)",
			 vmc_firmware_name(f), disk);
	} else {
		snprintf(v->fwwhy, sizeof(v->fwwhy), "asked for with"
			 " --firmware");
	}
	return 0;
}

/* Open the image, find the kernel to boot, set up the watcher. */
static int prepare(struct validation *v, struct vmc_error *err)
{
	struct vmc_validate_opts *o = &v->o;
	int nfd;

	if (!o->timeout_s)
		o->timeout_s = VMC_VALIDATE_TIMEOUT;
	v->r.o = o;
	nfd = count_files();
	v->r.img = vmc_image_open(o->image, o->format, 0, NULL, err);
	if (!v->r.img)
		return -1;
	v->r.img_files = count_files() - nfd;
	if (firmware(v, err) < 0)
		return -1;
	if (o->boot == VMC_BOOT_KERNEL && !o->kernel &&
	    guest_kernel(v, err) < 0)
		return -1;
	if (o->boot == VMC_BOOT_KERNEL) {
		/* serial console on this run's command line only, never in
		 * the image */
		snprintf(v->append, sizeof(v->append), "%s%s%s",
			 o->append ? o->append : "",
			 o->append && *o->append ? " " : "",
			 o->append && strstr(o->append, "console=") ? "" :
			 "console=ttyS0");
		o->append = v->append;
	}
	v->r.watch = vmc_watch_new(o->bus, o->expect, err);
	if (!v->r.watch)
		return -1;
	if (o->boot == VMC_BOOT_FIRMWARE) {
		if (vmc_bootsector_check(v->r.img, &v->sig, err) < 0)
			return -1;
		/* a GPT's protective MBR has one whatever the ESP holds */
		if (o->firmware == VMC_FIRMWARE_BIOS)
			vmc_watch_set_boot_signature(v->r.watch, v->sig);
	}
	return 0;
}

/* With auto, the first engine of the table that can run here; v->why
 * says why the ones before it could not. */
static int choose_auto(struct validation *v, struct vmc_error *err)
{
	char why[512], tried[1024] = "";
	size_t tl = 0;

	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		const struct vmc_engine_ops *e = &engines[i];

		if (!e->in_auto)
			continue;
		if (e->usable(why, sizeof(why))) {
			v->engine = e;
			snprintf(v->why, sizeof(v->why), "%s%s", tried,
				 tl ? "" : why);
			return 0;
		}
		tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl,
				       "%s engine not usable: %s",
				       vmc_engine_name(e->id), why);
		tl = VMC_MIN(tl, sizeof(tried) - 1);
	}
	return vmc_error_set(err, ENOTSUP, "no engine can run here: %s",
			     tried);
}

/* The engine asked for, or with auto the first that can run here. */
static int choose(struct validation *v, struct vmc_error *err)
{
	enum vmc_engine e = v->o.engine;

	if (e == VMC_ENGINE_AUTO)
		return choose_auto(v, err);
	v->engine = vmc_engine_ops(e);
	if (!v->engine)
		return vmc_error_set(err, EINVAL, "no engine");
	if (e == VMC_ENGINE_DIRECT && v->o.no_selftest) {
		snprintf(v->why, sizeof(v->why), "asked for with --engine"
			 " (self-test skipped)");
		return 0;
	}
	if (!v->engine->usable(v->why, sizeof(v->why)))
		return vmc_error_set(err, ENOTSUP, "the %s engine cannot run"
			" here: %s (use --engine=%s)", vmc_engine_name(e),
			v->why, e == VMC_ENGINE_DIRECT ? "nested or"
			" --engine=auto" : "direct or --engine=auto");
	if (e != VMC_ENGINE_DIRECT)
		snprintf(v->why, sizeof(v->why), "asked for with --engine");
	return 0;
}

/* The console log (and the firmware log beside it). */
static int open_logs(struct validation *v, struct vmc_error *err)
{
	const struct vmc_validate_opts *o = &v->o;

	if (o->console_log)
		snprintf(v->log, sizeof(v->log), "%s", o->console_log);
	else if (default_log(o->image, v->log, sizeof(v->log), err) < 0)
		return -1;
	v->r.log_path = v->log;
	v->r.log = fopen(v->log, "w");
	if (!v->r.log)
		return vmc_error_errno(err, errno, "console log %s", v->log);
	/* a console log on a device (the appliance's serial port) gets no
	 * firmware log beside it */
	if (o->firmware_log) {
		snprintf(v->fwlog, sizeof(v->fwlog), "%s", o->firmware_log);
		v->r.fwlog = fopen(v->fwlog, "w");
	} else if (strncmp(v->log, "/dev/", 5)) {
		snprintf(v->fwlog, sizeof(v->fwlog), "%s.firmware", v->log);
		v->r.fwlog = fopen(v->fwlog, "w");
	}
	v->r.echo = o->verbose ? stderr : NULL;
	v->r.extra = json_object();
	return 0;
}

/* The verdict keys: the engine's own, or the screen's, or the serial
 * console watcher's. */
static void add_verdict(struct validation *v, json_t *rep)
{
	static const char *const keys[] = { "booted", "stage", "reason",
					    "stages", "vmm_reason",
					    "vmm_exits" };
	json_t *j;
	char *why2 = NULL;

	if (v->r.verdict) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			j = json_object_get(v->r.verdict, keys[i]);
			if (j)
				json_object_set(rep, keys[i], j);
		}
		return;
	}
	j = vmc_verdict_json(vmc_watch_verdict(v->r.use_screen ? v->r.screen :
					       v->r.watch));
	json_object_update(rep, j);
	json_decref(j);
	if (!v->r.use_screen)
		return;
	if (asprintf(&why2, "%s (read from the VGA text screen: the guest's"
		     " console is not on its serial port)",
		     json_string_value(json_object_get(rep, "reason"))) > 0)
		json_object_set_new(rep, "reason", json_string(why2));
	free(why2);
	json_object_set_new(rep, "console_source", json_string("screen"));
}

unsigned vmc_validate_vcpus(const struct vmc_validate_opts *o,
			    enum vmc_engine e)
{
	unsigned n = o->vcpus ? o->vcpus : 1;

	if (e != VMC_ENGINE_QEMU)
		return 1;	/* the built-in VMM runs one vCPU */
	return n > VMC_VALIDATE_MAX_VCPUS ? VMC_VALIDATE_MAX_VCPUS : n;
}

/* The vCPUs booted, and why not the VM's own count when they differ. */
static void report_vcpus(struct validation *v, json_t *rep)
{
	unsigned want = v->o.vcpus ? v->o.vcpus : 1;
	unsigned got = vmc_validate_vcpus(&v->o, v->engine->id);

	json_object_set_new(rep, "vcpus", json_integer(got));
	if (got == want)
		return;
	if (got == 1)
		json_object_set_new(rep, "vcpus_note", json_sprintf(
			"the VM has %u vCPUs; the %s engine's VMM runs one"
			" (--validate=qemu boots them all)", want,
			vmc_engine_name(v->engine->id)));
	else
		json_object_set_new(rep, "vcpus_note", json_sprintf(
			"the VM has %u vCPUs; the qemu engine boots at most"
			" %u", want, got));
}

static json_t *report(struct validation *v)
{
	const struct vmc_validate_opts *o = &v->o;
	json_t *rep = json_object();

	add_verdict(v, rep);
	json_object_set_new(rep, "engine", json_string(vmc_engine_name(
		v->engine->id)));
	json_object_set_new(rep, "engine_reason", json_string(v->why));
	json_object_set_new(rep, "bus", json_string(
		o->bus == VMC_BUS_IDE ? "ide" : "virtio"));
	json_object_set_new(rep, "boot", json_string(
		o->boot == VMC_BOOT_KERNEL ? "kernel" : "firmware"));
	if (o->boot == VMC_BOOT_FIRMWARE) {
		json_object_set_new(rep, "firmware", json_string(
			vmc_firmware_name(o->firmware)));
		json_object_set_new(rep, "firmware_reason",
				    json_string(v->fwwhy));
	}
	json_object_set_new(rep, "console_log", json_string(v->log));
	if (v->r.fwlog)
		json_object_set_new(rep, "firmware_log",
				    json_string(v->fwlog));
	json_object_set_new(rep, "image", json_string(o->image));
	json_object_set_new(rep, "format", json_string(v->r.img->drv->name));
	json_object_set_new(rep, "boot_signature", json_boolean(v->sig));
	if (o->boot == VMC_BOOT_KERNEL)
		json_object_set_new(rep, "kernel_source", json_string(
			v->kernel_from_guest ? "the guest's boot loader"
			" configuration" : "--kernel"));
	report_vcpus(v, rep);
	json_object_set_new(rep, "seconds", json_real(
		(double)(vmc_now_ms() - v->t0) / 1000.0));
	json_object_update(rep, v->r.extra);
	return rep;
}

static void validation_free(struct validation *v)
{
	json_decref(v->r.verdict);
	json_decref(v->r.extra);
	if (v->r.log)
		fclose(v->r.log);
	if (v->r.fwlog)
		fclose(v->r.fwlog);
	vmc_watch_free(v->r.watch);
	vmc_watch_free(v->r.screen);
	vmc_image_close(v->r.img);
	if (v->kdir[0]) {
		char *rm[] = { "rm", "-rf", v->kdir, NULL };

		vmc_proc_run(rm, NULL);
	}
	free(v);
}

int vmc_validate(const struct vmc_validate_opts *o, json_t **rep,
		 struct vmc_error *err)
{
	struct validation *v = calloc(1, sizeof(*v));
	int ret = -1;

	*rep = NULL;
	if (!v)
		return vmc_error_set(err, ENOMEM, "out of memory");
	v->o = *o;
	v->sig = true;
	v->t0 = vmc_now_ms();
	if (prepare(v, err) < 0 || choose(v, err) < 0 ||
	    open_logs(v, err) < 0 || v->engine->run(&v->r, err) < 0)
		goto out;
	/* the nested engine's inner run printed its own table inside */
	if (v->r.echo && v->r.verdict)
		vmc_exits_print(v->r.echo, json_object_get(v->r.verdict,
							   "vmm_exits"));
	*rep = report(v);
	ret = 0;
out:
	validation_free(v);
	return ret;
}
