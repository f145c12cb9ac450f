/* The nested engine: the built-in VMM run inside a hypervisor appliance
 * (validate/appliance.c) that qemu-system-x86_64 boots.  Where the host's
 * KVM passes the VMM's self-test QEMU uses it; elsewhere QEMU emulates an
 * AMD CPU with SVM and nested paging (-accel tcg -cpu qemu64,+svm,+npt)
 * and kvm_amd loads inside the appliance, so the guest is validated on a
 * real KVM either way.
 *
 * The image's folder is shared with the appliance read-only (virtio 9p),
 * so vmconv's own format drivers open the image there as a file, with the
 * backing files and extents beside it; an image made of files elsewhere is
 * exported to one raw file first.  The appliance runs the inner vmconv
 * on a JSON request in its initramfs (/run/request.json: the direct
 * engine, the image as the appliance sees it) and talks back over its serial port
 * and three virtio-serial ports:
 *   ttyS0         its own console (kernel messages, errors)
 *   vmc.console   the guest's console, as the inner VMM sees it
 *   vmc.report    "VMCONV-START" when vmconv starts, then its report
 *                 (JSON), "VMCONV-RC=N" (its exit status), "VMCONV-END"
 *   vmc.firmware  the firmware's debug port, as the inner VMM sees it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "validate/process.h"
#include "validate/qemu.h"
#include "validate/request.h"
#include "validate/engine.h"
#include "validate/echo.h"
#include "validate/appliance.h"

/* the appliance's own boot and shutdown, on top of the guest's timeout */
#define APPLIANCE_SLACK_S 240
/* an appliance that has not started vmconv by then has hung in its own
 * boot (seen on heavily loaded hosts under TCG): it is started once more */
#ifndef APPLIANCE_START_LIMIT_S
#define APPLIANCE_START_LIMIT_S 120
#endif
#define REPORT_MAX (1u << 20)
/* The emulated CPU where the host's KVM is not usable: SVM with nested
 * paging (QEMU's TCG implements NPT since 6.2; Debian 12 has 7.2).  Without
 * NPT the appliance's KVM shadows the guest's page tables, and every
 * guest page fault, page-table write and address-space switch is an exit
 * emulated by TCG: the guest's memory management then costs more than
 * all of its devices together. */
#define TCG_CPU "qemu64,+svm,+npt"


static int add_file(struct archive *a, const char *name, const char *src,
		    const char *data, size_t len, struct vmc_error *err)
{
	struct archive_entry *e = archive_entry_new();
	char buf[1 << 16];
	FILE *f = NULL;
	struct stat st;
	int ret = -1;

	if (src) {
		f = fopen(src, "rb");
		if (!f || fstat(fileno(f), &st) < 0) {
			vmc_error_errno(err, errno, "%s", src);
			goto out;
		}
		len = (size_t)st.st_size;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_nlink(e, 1);
	archive_entry_set_ino(e, 100000 + (unsigned)len % 100000);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		goto out_arc;
	if (f) {
		size_t k;

		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			if (archive_write_data(a, buf, k) != (la_ssize_t)k)
				goto out_arc;
	} else if (len && archive_write_data(a, data, len) !=
		   (la_ssize_t)len) {
		goto out_arc;
	}
	ret = 0;
	goto out;
out_arc:
	vmc_error_set(err, EIO, "appliance run archive: %s",
		      archive_error_string(a));
out:
	if (f)
		fclose(f);
	archive_entry_free(e);
	return ret;
}

/* This run's initramfs: the cached appliance followed by a second cpio
 * with the request (validate/request.h; and the kernel and initrd of
 * --boot=kernel); Linux unpacks concatenated archives in order.  The
 * request lives on the appliance's side, never in the image's folder. */
static int run_initrd(const struct vmc_appliance *ap,
		      const struct vmc_validate_opts *o, const char *fmt,
		      const char *name, const char *path,
		      struct vmc_error *err)
{
	json_t *req = vmc_request_new(o, name, fmt);
	char *args = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t alen = args ? strlen(args) : 0;
	struct archive *a = NULL;
	FILE *in = NULL, *out = NULL;
	char buf[1 << 16];
	size_t k;
	int ret = -1;

	json_decref(req);
	if (!args)
		return vmc_error_set(err, ENOMEM, "out of memory");
	out = fopen(path, "wb");
	in = fopen(ap->initrd, "rb");
	if (!out || !in) {
		vmc_error_errno(err, errno, "%s", !out ? path : ap->initrd);
		goto out;
	}
	while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, k, out) != k) {
			vmc_error_errno(err, errno, "%s", path);
			goto out;
		}
	fclose(in);
	in = NULL;
	if (fclose(out) != 0) {
		out = NULL;
		vmc_error_errno(err, errno, "%s", path);
		goto out;
	}
	out = NULL;

	a = archive_write_new();
	archive_write_set_format_cpio_newc(a);
	/* appended: open for append through a FILE */
	out = fopen(path, "ab");
	if (!out || archive_write_open_FILE(a, out) != ARCHIVE_OK) {
		vmc_error_errno(err, errno, "%s", path);
		goto out;
	}
	if (add_file(a, "run/request.json", NULL, args, alen, err) < 0)
		goto out;
	if (o->boot == VMC_BOOT_KERNEL &&
	    (add_file(a, "run/kernel", o->kernel, NULL, 0, err) < 0 ||
	     (o->initrd && add_file(a, "run/initrd", o->initrd, NULL, 0,
				    err) < 0)))
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s", path,
			      archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	if (a)
		archive_write_free(a);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	free(args);
	return ret;
}

/* "local,...,path=DIR,..." with QEMU's comma escaping. */
static char *fsdev_arg(const char *dir)
{
	size_t n = strlen(dir);
	char *s = malloc(2 * n + 128), *p;

	if (!s)
		return NULL;
	p = s + sprintf(s, "local,id=imgfs,security_model=none,readonly=on,"
			"path=");
	for (const char *c = dir; *c; c++) {
		*p++ = *c;
		if (*c == ',')
			*p++ = ',';
	}
	*p = 0;
	return s;
}

/* the last "VMCONV-RC=" of the report channel: after the JSON */
static char *report_rc(char *report)
{
	char *c = strstr(report, "VMCONV-RC="), *next;

	while (c && (next = strstr(c + 1, "VMCONV-RC=")))
		c = next;
	return c;
}

/* One nested run: the appliance, its files and its channels. */
struct nested {
	struct vmc_engine_run *r;
	struct vmc_appliance ap;
	char dir[PATH_MAX], initrd[PATH_MAX + 32], mem[32], why[512];
	char applog[PATH_MAX + 16], *drive, *report;
	char raw[PATH_MAX + 16], share[PATH_MAX], name[PATH_MAX + 8];
	const char *argv[56];
	size_t rlen;
	unsigned long long start, inner_start, built_ms;
	unsigned timeout_s;
	int rc, attempt;
	bool kvm, timed_out, ended, no_start;
	struct vmc_proc p;
	struct vmc_pump pu;
	FILE *alog;
};

/* The folder the appliance shares (the image's, or the raw export's) and
 * the image's name inside it. */
static int share_image(struct nested *n, struct vmc_error *err)
{
	const char *img = n->raw[0] ? n->raw : n->r->o->image;
	char *copy = strdup(img), *copy2 = strdup(img);
	int ret = 0;

	if (!copy || !copy2 || !realpath(dirname(copy), n->share))
		ret = vmc_error_errno(err, copy ? errno : ENOMEM, "%s", img);
	else
		snprintf(n->name, sizeof(n->name), "/img/%s", basename(copy2));
	free(copy);
	free(copy2);
	return ret;
}

/* The appliance, a folder for this run, the disk it shares, the
 * initramfs with the inner run's arguments. */
static int nested_prepare(struct nested *n, struct vmc_error *err)
{
	struct vmc_engine_run *r = n->r;
	const char *tmp = getenv("TMPDIR");
	unsigned long long t0 = vmc_now_ms();

	if (r->o->boot == VMC_BOOT_FIRMWARE &&
	    r->o->firmware == VMC_FIRMWARE_UEFI) {
		struct vmc_ovmf f;

		/* the appliance carries the same files (appliance.c) */
		if (vmc_ovmf_find(&f, err) < 0)
			return -1;
		json_object_set_new(r->extra, "firmware_image",
				    json_string(f.code));
	}
	if (vmc_appliance_get(&n->ap, err) < 0)
		return -1;
	n->built_ms = vmc_now_ms() - t0;
	snprintf(n->dir, sizeof(n->dir), "%s/vmconv-nested.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(n->dir)) {
		vmc_error_errno(err, errno, "%s", n->dir);
		n->dir[0] = 0;
		return -1;
	}
	snprintf(n->initrd, sizeof(n->initrd), "%s/initrd.cpio", n->dir);
	if (r->img_files > 1) {
		/* the appliance sees one disk: the whole chain as raw */
		snprintf(n->raw, sizeof(n->raw), "%s/disk.raw", n->dir);
		if (vmc_export_raw(r->img, n->raw, err) < 0) {
			vmc_error_prefix(err, "exporting %s for the appliance",
					 r->o->image);
			return -1;
		}
		json_object_set_new(r->extra, "appliance_disk", json_string(
			"raw export (the image is made of several files)"));
	}
	if (share_image(n, err) < 0 ||
	    run_initrd(&n->ap, r->o, n->raw[0] ? "raw" : r->img->drv->name,
		       n->name, n->initrd, err) < 0)
		return -1;
	n->drive = fsdev_arg(n->share);
	n->report = malloc(REPORT_MAX + 1);
	if (!n->drive || !n->report)
		return vmc_error_set(err, ENOMEM, "out of memory");
	n->report[0] = 0;
	return 0;
}

/* QEMU's command line for the appliance and its channels. */
static void nested_argv(struct nested *n)
{
	const char **argv = n->argv;
	int k;

	n->kvm = vmc_direct_usable(n->why, sizeof(n->why));
	snprintf(n->mem, sizeof(n->mem), "%u",
		 (n->r->o->mem_mib ? n->r->o->mem_mib : 512) + 512);
	k = vmc_qemu_machine_args(argv, n->kvm,
				  n->kvm ? "host" : TCG_CPU, n->mem,
				  NULL);
	argv[k++] = "-no-reboot";
	argv[k++] = "-kernel";
	argv[k++] = n->ap.kernel;
	argv[k++] = "-initrd";
	argv[k++] = n->initrd;
	argv[k++] = "-append";
	argv[k++] = "console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init";
	argv[k++] = "-chardev";
	argv[k++] = "file,id=s0,path=/dev/fd/3";
	argv[k++] = "-serial";
	argv[k++] = "chardev:s0";
	/* the side channels are virtio-serial ports, not more ISA UARTs:
	 * ttyS2 and ttyS3 would share IRQs 4 and 3 with ttyS0 and ttyS1,
	 * and QEMU's ISA interrupt lines are not wired-OR, so an interrupt
	 * of one port could be lost for good and its output stall */
	argv[k++] = "-device";
	argv[k++] = "virtio-serial-pci";
	argv[k++] = "-chardev";
	argv[k++] = "file,id=s1,path=/dev/fd/4";
	argv[k++] = "-device";
	argv[k++] = "virtserialport,chardev=s1,name=vmc.console";
	argv[k++] = "-chardev";
	argv[k++] = "file,id=s2,path=/dev/fd/5";
	argv[k++] = "-device";
	argv[k++] = "virtserialport,chardev=s2,name=vmc.report";
	argv[k++] = "-chardev";
	argv[k++] = "file,id=s3,path=/dev/fd/6";
	argv[k++] = "-device";
	argv[k++] = "virtserialport,chardev=s3,name=vmc.firmware";
	argv[k++] = "-fsdev";
	argv[k++] = n->drive;
	argv[k++] = "-device";
	argv[k++] = "virtio-9p-pci,fsdev=imgfs,mount_tag=vmcimg";
	argv[k] = NULL;
}

/* The pump's channels, in the order vmc_pump_add gives them numbers. */
enum { CH_APPLIANCE, CH_CONSOLE, CH_REPORT, CH_QEMU_OUT, CH_QEMU_ERR,
       CH_FIRMWARE };

static int nested_spawn(struct nested *n, struct vmc_error *err)
{
	struct vmc_engine_run *r = n->r;

	if (vmc_proc_spawn(&n->p, (char *const *)n->argv, 4, err) < 0)
		return -1;
	close(n->p.in);
	n->p.in = -1;
	/* the appliance's own console, kept beside the guest's */
	if (strncmp(r->log_path, "/dev/", 5))
		snprintf(n->applog, sizeof(n->applog), "%s.appliance",
			 r->log_path);
	else
		snprintf(n->applog, sizeof(n->applog), "%s/appliance.log",
			 n->dir);
	n->alog = fopen(n->applog, "w+");
	if (n->alog && strncmp(r->log_path, "/dev/", 5))
		json_object_set_new(r->extra, "appliance_log",
				    json_string(n->applog));
	n->start = vmc_now_ms();
	n->pu.n = 0;
	vmc_pump_add(&n->pu, &n->p.extra[0]);	/* CH_APPLIANCE: ttyS0 */
	vmc_pump_add(&n->pu, &n->p.extra[1]);	/* CH_CONSOLE */
	vmc_pump_add(&n->pu, &n->p.extra[2]);	/* CH_REPORT */
	vmc_pump_add(&n->pu, &n->p.out);	/* CH_QEMU_OUT */
	vmc_pump_add(&n->pu, &n->p.errfd);	/* CH_QEMU_ERR */
	vmc_pump_add(&n->pu, &n->p.extra[3]);	/* CH_FIRMWARE */
	return 0;
}

static void take_report(struct nested *n, const char *buf, size_t k)
{
	size_t room = REPORT_MAX - n->rlen;

	if (k > room)
		k = room;
	memcpy(n->report + n->rlen, buf, k);
	n->rlen += k;
	n->report[n->rlen] = 0;
	if (!n->inner_start && strstr(n->report, "VMCONV-START\n"))
		n->inner_start = vmc_now_ms();
	if (strstr(n->report, "VMCONV-END")) {
		char *c = report_rc(n->report);

		n->ended = true;
		n->rc = c ? atoi(c + 10) : -1;
	}
}

static void take(struct nested *n, int ch, const char *buf, size_t k)
{
	struct vmc_engine_run *r = n->r;

	switch (ch) {
	case CH_APPLIANCE:
		if (n->alog)
			fwrite(buf, 1, k, n->alog);
		break;
	case CH_CONSOLE:
		vmc_console_out(r, buf, k);
		break;
	case CH_REPORT:
		take_report(n, buf, k);
		break;
	case CH_QEMU_ERR:
		vmc_proc_take_stderr(&n->p, buf, k);
		break;
	case CH_FIRMWARE:
		vmc_firmware_out(r, buf, k);
		break;
	}
}

/* Copy the channels until the report ends, QEMU goes away, the time is up
 * or the appliance never started vmconv. */
static void nested_pump(struct nested *n)
{
	for (;;) {
		char buf[8192];
		ssize_t k;

		if (!vmc_pump_open(&n->pu))
			break;
		if (vmc_now_ms() - n->start >= n->timeout_s * 1000ull) {
			n->timed_out = true;
			break;
		}
		if (!n->inner_start && !n->attempt &&
		    vmc_now_ms() - n->start >=
		    APPLIANCE_START_LIMIT_S * 1000ull) {
			n->no_start = true;
			break;
		}
		if (vmc_pump_wait(&n->pu, 200) < 0)
			break;
		for (int i = 0; i < n->pu.n; i++) {
			k = vmc_pump_read(&n->pu, i, buf, sizeof(buf));
			if (k > 0)
				take(n, i, buf, (size_t)k);
		}
		if (n->ended)
			break;
	}
	vmc_proc_end(&n->p, true);
	fflush(n->r->log);
}

static void appliance_report(struct nested *n)
{
	json_t *j = json_object();

	json_object_set_new(n->r->extra, "inner_engine",
			    json_string("direct"));
	json_object_set_new(j, "kernel", json_string(n->ap.kernel));
	json_object_set_new(j, "initrd", json_string(n->ap.initrd));
	json_object_set_new(j, "accel", json_string(n->kvm ? "kvm" :
						"tcg -cpu " TCG_CPU));
	json_object_set_new(j, "built", json_boolean(n->ap.built));
	json_object_set_new(j, "restarted", json_boolean(n->attempt > 0));
	json_object_set_new(j, "prepare_ms", json_integer(
		(json_int_t)n->built_ms));
	if (n->inner_start)
		json_object_set_new(j, "boot_ms", json_integer(
			(json_int_t)(n->inner_start - n->start)));
	json_object_set_new(j, "wall_ms", json_integer(
		(json_int_t)(vmc_now_ms() - n->start)));
	json_object_set_new(n->r->extra, "appliance", j);
}

/* The end of the appliance's console, or the inner vmconv's own error
 * when it gave one. */
static void console_tail(struct nested *n, char *tail, size_t len)
{
	long sz;
	size_t got;
	char *v, *nl;

	tail[0] = 0;
	if (!n->alog)
		return;
	fflush(n->alog);
	sz = ftell(n->alog);
	fseek(n->alog, sz > 1000 ? sz - 1000 : 0, SEEK_SET);
	got = fread(tail, 1, len - 1, n->alog);
	tail[got] = 0;
	for (char *c = tail; *c; c++)
		if (*c == '\r' || *c == '\033')
			*c = ' ';
	v = strstr(tail, "vmconv: ");
	while (v && strstr(v + 1, "vmconv: "))
		v = strstr(v + 1, "vmconv: ");
	if (v) {
		nl = strchr(v, '\n');
		if (nl)
			*nl = 0;
		memmove(tail, v + 8, strlen(v + 8) + 1);
	}
}

/* The inner run's verdict into r->verdict, or why there is none. */
static int nested_collect(struct nested *n, struct vmc_error *err)
{
	char tail[1024];

	appliance_report(n);
	if (n->ended && n->rc >= 0 && n->rc <= 1) {
		char *js = strstr(n->report, "VMCONV-START\n");
		json_error_t je;

		*report_rc(n->report) = 0;
		js = js ? js + 13 : n->report;
		n->r->verdict = json_loads(js, 0, &je);
		if (!n->r->verdict)
			return vmc_error_set(err, EIO, "the appliance's report"
					     " is not JSON: %s", je.text);
		return 0;
	}
	console_tail(n, tail, sizeof(tail));
	if (n->timed_out)
		return vmc_error_set(err, ETIMEDOUT, "the nested engine's"
			" appliance gave no verdict within %u s; its console"
			" ended with: %s", n->timeout_s, tail);
	if (n->rc >= 0)
		return vmc_error_set(err, EIO, "vmconv inside the appliance"
			" could not validate (exit %d): %s", n->rc, tail);
	return vmc_error_set(err, EIO, "the appliance stopped without a"
		" verdict%s%s; its console ended with: %s",
		n->p.errlen ? ": " : "", n->p.errbuf, tail);
}

int vmc_engine_nested_run(struct vmc_engine_run *r, struct vmc_error *err)
{
	struct nested *n = calloc(1, sizeof(*n));
	int ret = -1;

	if (!n)
		return vmc_error_set(err, ENOMEM, "out of memory");
	n->r = r;
	n->rc = -1;
	n->timeout_s = r->o->timeout_s + APPLIANCE_SLACK_S;
	if (nested_prepare(n, err) < 0)
		goto out;
	nested_argv(n);
	for (;;) {
		if (nested_spawn(n, err) < 0)
			goto out;
		nested_pump(n);
		if (!n->no_start)
			break;
		/* nothing reached the guest's logs yet: start afresh */
		if (n->alog)
			fclose(n->alog);
		n->alog = NULL;
		n->no_start = false;
		n->attempt++;
		n->rlen = 0;
		n->report[0] = 0;
	}
	ret = nested_collect(n, err);
out:
	if (n->alog)
		fclose(n->alog);
	if (n->dir[0]) {
		char *rm[] = { "rm", "-rf", n->dir, NULL };

		vmc_proc_run(rm, NULL);
	}
	free(n->drive);
	free(n->report);
	free(n);
	return ret;
}
