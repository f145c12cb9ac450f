/* vmc_validate: pick the engine, boot the image, save the console log,
 * build the report. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "validate/process.h"
#include "validate/validate.h"

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

static int mkdir_p(const char *path, struct vmc_error *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return vmc_error_set(err, ENAMETOOLONG, "%s: path too long",
				     path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return vmc_error_errno(err, errno, "%s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return vmc_error_errno(err, errno, "%s", buf);
	return 0;
}

/* A cache in a shared folder (/tmp) must be ours alone: a folder there
 * made by someone else could feed us a kernel or an appliance. */
static int private_dir(const char *dir, struct vmc_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vmc_error_errno(err, errno, "%s", dir);
	if (lstat(dir, &st) < 0)
		return vmc_error_errno(err, errno, "%s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077))
		return vmc_error_set(err, EPERM, "%s: cache folder is not a"
				     " folder of this user closed to others"
				     " (refused; set VMCONV_CACHE)", dir);
	return 0;
}

int vmc_cache_dir(char *buf, size_t len, struct vmc_error *err)
{
	const char *c = getenv("VMCONV_CACHE"), *x = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (c && *c)
		snprintf(buf, len, "%s", c);
	else if (x && *x)
		snprintf(buf, len, "%s/vmconv", x);
	else {
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());

			home = pw && pw->pw_dir && *pw->pw_dir ?
			       pw->pw_dir : NULL;
		}
		if (!home) {
			snprintf(buf, len, "/tmp/vmconv-cache-%u",
				 (unsigned)getuid());
			return private_dir(buf, err);
		}
		snprintf(buf, len, "%s/.cache/vmconv", home);
	}
	return mkdir_p(buf, err);
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
	if (mkdir_p(dir, err) < 0)
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

/* Copy the inner (appliance) report's verdict into ours. */
static void merge_inner(json_t *report, json_t *inner)
{
	static const char *const keys[] = { "booted", "stage", "reason",
					    "stages", "vmm_reason" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(inner, keys[i]);

		if (v)
			json_object_set(report, keys[i], v);
	}
}

int vmc_validate(const struct vmc_validate_opts *oin, json_t **report,
		 struct vmc_error *err)
{
	struct vmc_validate_opts o = *oin;
	struct vmc_engine_run r = { 0 };
	char log[PATH_MAX], fwlog[PATH_MAX + 16], why[512], append[4096];
	enum vmc_engine engine = o.engine;
	json_t *rep = NULL, *inner = NULL;
	unsigned long long t0 = vmc_now_ms();
	char kdir[PATH_MAX] = "", gkernel[PATH_MAX + 32], ginitrd[PATH_MAX + 32];
	char gappend[PATH_MAX + 32];
	bool sig = true, kernel_from_guest = false;
	int ret = -1, nfd;

	*report = NULL;
	if (!o.timeout_s)
		o.timeout_s = VMC_VALIDATE_TIMEOUT;
	r.o = &o;
	nfd = count_files();
	r.img = vmc_image_open(o.image, o.format, 0, NULL, err);
	if (!r.img)
		return -1;
	r.img_files = count_files() - nfd;
	if (o.boot == VMC_BOOT_KERNEL && !o.kernel) {
		const char *qf = vmc_qemu_format(r.img->drv->name);
		const char *tmp = getenv("TMPDIR");
		char src[PATH_MAX + 16];

		snprintf(kdir, sizeof(kdir), "%s/vmconv-kernel.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(kdir)) {
			vmc_error_errno(err, errno, "%s", kdir);
			kdir[0] = 0;
			goto out;
		}
		snprintf(src, sizeof(src), "%s", o.image);
		/* libguestfs's QEMU gets a raw file and nothing else: it
		 * never parses the image's own metadata or names */
		if (!qf || strcmp(qf, "raw") || r.img_files > 1 ||
		    strchr(o.image, ':')) {
			snprintf(src, sizeof(src), "%s/disk.raw", kdir);
			if (vmc_export_raw(r.img, src, err) < 0)
				goto out;
			qf = "raw";
		}
		if (vmc_guest_kernel(src, qf, vmc_direct_usable(why,
				     sizeof(why)), kdir, gkernel, ginitrd,
				     gappend, sizeof(gkernel), err) < 0)
			goto out;
		o.kernel = gkernel;
		o.initrd = ginitrd[0] ? ginitrd : NULL;
		if (!o.append)
			o.append = gappend;
		kernel_from_guest = true;
	}
	if (o.boot == VMC_BOOT_KERNEL) {
		/* serial console on this run's command line only, never in
		 * the image */
		snprintf(append, sizeof(append), "%s%s%s",
			 o.append ? o.append : "",
			 o.append && *o.append ? " " : "",
			 o.append && strstr(o.append, "console=") ? "" :
			 "console=ttyS0");
		o.append = append;
	}
	r.watch = vmc_watch_new(o.bus, o.expect, err);
	if (!r.watch)
		goto out;
	if (o.boot == VMC_BOOT_FIRMWARE) {
		if (vmc_bootsector_check(r.img, &sig, err) < 0)
			goto out;
		vmc_watch_set_boot_signature(r.watch, sig);
	}

	switch (engine) {
	case VMC_ENGINE_AUTO:
		if (vmc_direct_usable(why + 26, sizeof(why) - 26)) {
			memmove(why, why + 26, strlen(why + 26) + 1);
			engine = VMC_ENGINE_DIRECT;
		} else {
			memcpy(why, "direct engine not usable: ", 26);
			engine = VMC_ENGINE_NESTED;
		}
		break;
	case VMC_ENGINE_DIRECT:
		if (o.no_selftest) {
			snprintf(why, sizeof(why), "asked for with --engine"
				 " (self-test skipped)");
		} else if (!vmc_direct_usable(why, sizeof(why))) {
			vmc_error_set(err, ENOTSUP, "the direct engine cannot"
				      " run here: %s (use --engine=nested or"
				      " --engine=auto)", why);
			goto out;
		}
		break;
	default:
		snprintf(why, sizeof(why), "asked for with --engine");
	}

	if (o.console_log) {
		snprintf(log, sizeof(log), "%s", o.console_log);
	} else if (default_log(o.image, log, sizeof(log), err) < 0) {
		goto out;
	}
	r.log_path = log;
	r.log = fopen(log, "w");
	if (!r.log) {
		vmc_error_errno(err, errno, "console log %s", log);
		goto out;
	}
	/* a console log on a device (the appliance's serial port) gets no
	 * firmware log beside it */
	if (o.firmware_log) {
		snprintf(fwlog, sizeof(fwlog), "%s", o.firmware_log);
		r.fwlog = fopen(fwlog, "w");
	} else if (strncmp(log, "/dev/", 5)) {
		snprintf(fwlog, sizeof(fwlog), "%s.firmware", log);
		r.fwlog = fopen(fwlog, "w");
	}
	r.echo = o.verbose ? stderr : NULL;
	r.extra = json_object();

	switch (engine) {
	case VMC_ENGINE_DIRECT:
		ret = vmc_engine_direct_run(&r, err);
		break;
	case VMC_ENGINE_QEMU:
		ret = vmc_engine_qemu_run(&r, err);
		break;
	case VMC_ENGINE_NESTED:
		ret = vmc_engine_nested_run(&r, &inner, err);
		break;
	default:
		ret = vmc_error_set(err, EINVAL, "no engine");
	}
	if (ret < 0)
		goto out;

	rep = json_object();
	if (inner) {
		merge_inner(rep, inner);
	} else if (r.use_screen) {
		json_t *v = vmc_verdict_json(vmc_watch_verdict(r.screen));
		char *why2 = NULL;

		json_object_update(rep, v);
		json_decref(v);
		if (asprintf(&why2, "%s (read from the VGA text screen: the"
			     " guest's console is not on its serial port)",
			     json_string_value(json_object_get(rep,
							       "reason"))) > 0)
			json_object_set_new(rep, "reason", json_string(why2));
		free(why2);
		json_object_set_new(rep, "console_source",
				    json_string("screen"));
	} else {
		json_t *v = vmc_verdict_json(vmc_watch_verdict(r.watch));

		json_object_update(rep, v);
		json_decref(v);
	}
	json_object_set_new(rep, "engine", json_string(vmc_engine_name(
		engine)));
	json_object_set_new(rep, "engine_reason", json_string(why));
	json_object_set_new(rep, "bus", json_string(
		o.bus == VMC_BUS_IDE ? "ide" : "virtio"));
	json_object_set_new(rep, "boot", json_string(
		o.boot == VMC_BOOT_KERNEL ? "kernel" : "firmware"));
	json_object_set_new(rep, "console_log", json_string(log));
	if (r.fwlog)
		json_object_set_new(rep, "firmware_log", json_string(fwlog));
	json_object_set_new(rep, "image", json_string(o.image));
	json_object_set_new(rep, "format", json_string(r.img->drv->name));
	json_object_set_new(rep, "boot_signature", json_boolean(sig));
	if (o.boot == VMC_BOOT_KERNEL)
		json_object_set_new(rep, "kernel_source", json_string(
			kernel_from_guest ? "the guest's boot loader"
			" configuration" : "--kernel"));
	json_object_set_new(rep, "seconds", json_real(
		(double)(vmc_now_ms() - t0) / 1000.0));
	json_object_update(rep, r.extra);
	*report = rep;
	ret = 0;
out:
	json_decref(inner);
	json_decref(r.extra);
	if (r.log)
		fclose(r.log);
	if (r.fwlog)
		fclose(r.fwlog);
	vmc_watch_free(r.watch);
	vmc_watch_free(r.screen);
	vmc_image_close(r.img);
	if (kdir[0]) {
		char *rm[] = { "rm", "-rf", kdir, NULL };

		vmc_proc_run(rm, NULL);
	}
	return ret;
}
