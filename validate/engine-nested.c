/* The nested engine: the built-in VMM run inside a hypervisor appliance
 * (validate/appliance.c) that qemu-system-x86_64 boots.  Where the host's
 * KVM passes the VMM's self-test QEMU uses it; elsewhere QEMU emulates an
 * AMD CPU with SVM (-accel tcg -cpu qemu64,+svm) and kvm_amd loads inside
 * the appliance, so the guest is validated on a real KVM either way.
 *
 * The image's folder is shared with the appliance read-only (virtio 9p),
 * so vmconv's own format drivers open the image there as a file, with the
 * backing files and extents beside it; an image made of files elsewhere is
 * exported to one raw file first.  The appliance runs
 * `vmconv validate --engine=direct` and talks back over its serial port
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
#include "validate/validate.h"

/* the appliance's own boot and shutdown, on top of the guest's timeout */
#define APPLIANCE_SLACK_S 240
/* an appliance that has not started vmconv by then has hung in its own
 * boot (seen on heavily loaded hosts under TCG): it is started once more */
#ifndef APPLIANCE_START_LIMIT_S
#define APPLIANCE_START_LIMIT_S 120
#endif
#define REPORT_MAX (1u << 20)

/* 'it'\''s' */
static int shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	return fputc('\'', f) == EOF ? -1 : 0;
}

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
 * with the arguments (and the kernel and initrd of --boot=kernel); Linux
 * unpacks concatenated archives in order. */
static int run_initrd(const struct vmc_appliance *ap,
		      const struct vmc_validate_opts *o, const char *fmt,
		      const char *name, const char *path,
		      struct vmc_error *err)
{
	char *args = NULL, tmo[32], mem[32];
	size_t alen = 0;
	FILE *f = open_memstream(&args, &alen);
	struct archive *a = NULL;
	FILE *in = NULL, *out = NULL;
	char buf[1 << 16];
	size_t k;
	int ret = -1;

	if (!f)
		return vmc_error_errno(err, errno, "memory");
	snprintf(tmo, sizeof(tmo), "--timeout=%u", o->timeout_s);
	snprintf(mem, sizeof(mem), "--memory=%u", o->mem_mib ? o->mem_mib :
		 512);
	fputs("set --", f);
	{
		const char *v[16];
		int n = 0;

		v[n++] = o->bus == VMC_BUS_IDE ? "--bus=ide" : "--bus=virtio";
		v[n++] = tmo;
		v[n++] = mem;
		v[n++] = "-f";
		v[n++] = fmt;
		if (o->boot == VMC_BOOT_KERNEL) {
			v[n++] = "--kernel=/run/kernel";
			if (o->initrd)
				v[n++] = "--initrd=/run/initrd";
			v[n++] = "--append";
			v[n++] = o->append ? o->append : "";
		}
		if (o->expect) {
			v[n++] = "--expect";
			v[n++] = o->expect;
		}
		v[n++] = name;
		for (int i = 0; i < n; i++) {
			fputc(' ', f);
			shell_quote(f, v[i]);
		}
	}
	fputc('\n', f);
	fclose(f);

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
	if (add_file(a, "run/args.sh", NULL, args, alen, err) < 0)
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

int vmc_engine_nested_run(struct vmc_engine_run *r, json_t **inner,
			  struct vmc_error *err)
{
	const struct vmc_validate_opts *o = r->o;
	struct vmc_appliance ap;
	char dir[PATH_MAX], initrd[PATH_MAX + 32], mem[32], why[512];
	char applog[PATH_MAX + 16], *drive = NULL, *report = NULL;
	char raw[PATH_MAX + 16] = "", share[PATH_MAX], name[PATH_MAX + 8];
	const char *tmp = getenv("TMPDIR"), *argv[48];
	size_t rlen = 0;
	unsigned long long t0 = vmc_now_ms(), start, inner_start = 0;
	unsigned long long built_ms;
	unsigned timeout_s = o->timeout_s + APPLIANCE_SLACK_S;
	int n = 0, rc = -1, ret = -1;
	bool kvm, timed_out = false, ended = false, no_start = false;
	int attempt = 0;
	struct vmc_proc p;
	struct vmc_pump pu = { .n = 0 };
	FILE *alog = NULL;
	json_t *j;

	*inner = NULL;
	if (vmc_appliance_get(&ap, err) < 0)
		return -1;
	built_ms = vmc_now_ms() - t0;
	snprintf(dir, sizeof(dir), "%s/vmconv-nested.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return vmc_error_errno(err, errno, "%s", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.cpio", dir);
	if (r->img_files > 1) {
		/* the appliance sees one disk: the whole chain as raw */
		snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
		if (vmc_export_raw(r->img, raw, err) < 0) {
			vmc_error_prefix(err, "exporting %s for the appliance",
					 o->image);
			goto out;
		}
		json_object_set_new(r->extra, "appliance_disk", json_string(
			"raw export (the image is made of several files)"));
	}
	{
		const char *img = raw[0] ? raw : o->image;
		char *copy = strdup(img), *copy2 = strdup(img);

		if (!copy || !copy2 || !realpath(dirname(copy), share)) {
			vmc_error_errno(err, copy ? errno : ENOMEM, "%s", img);
			free(copy);
			free(copy2);
			goto out;
		}
		snprintf(name, sizeof(name), "/img/%s", basename(copy2));
		free(copy);
		free(copy2);
	}
	if (run_initrd(&ap, o, raw[0] ? "raw" : r->img->drv->name, name,
		       initrd, err) < 0)
		goto out;
	drive = fsdev_arg(share);
	report = malloc(REPORT_MAX + 1);
	if (!drive || !report) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	kvm = vmc_direct_usable(why, sizeof(why));
	snprintf(mem, sizeof(mem), "%u", (o->mem_mib ? o->mem_mib : 512) +
		 512);
	n = vmc_qemu_machine_args(argv, kvm, kvm ? "host" : "qemu64,+svm",
				  mem);
	argv[n++] = "-no-reboot";
	argv[n++] = "-kernel";
	argv[n++] = ap.kernel;
	argv[n++] = "-initrd";
	argv[n++] = initrd;
	argv[n++] = "-append";
	argv[n++] = "console=ttyS0 quiet panic=-1 rdinit=/init";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=s0,path=/dev/fd/3";
	argv[n++] = "-serial";
	argv[n++] = "chardev:s0";
	/* the side channels are virtio-serial ports, not more ISA UARTs:
	 * ttyS2 and ttyS3 would share IRQs 4 and 3 with ttyS0 and ttyS1,
	 * and QEMU's ISA interrupt lines are not wired-OR, so an interrupt
	 * of one port could be lost for good and its output stall */
	argv[n++] = "-device";
	argv[n++] = "virtio-serial-pci";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=s1,path=/dev/fd/4";
	argv[n++] = "-device";
	argv[n++] = "virtserialport,chardev=s1,name=vmc.console";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=s2,path=/dev/fd/5";
	argv[n++] = "-device";
	argv[n++] = "virtserialport,chardev=s2,name=vmc.report";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=s3,path=/dev/fd/6";
	argv[n++] = "-device";
	argv[n++] = "virtserialport,chardev=s3,name=vmc.firmware";
	argv[n++] = "-fsdev";
	argv[n++] = drive;
	argv[n++] = "-device";
	argv[n++] = "virtio-9p-pci,fsdev=imgfs,mount_tag=vmcimg";
	argv[n] = NULL;

again:
	if (vmc_proc_spawn(&p, (char *const *)argv, 4, err) < 0)
		goto out;
	close(p.in);
	p.in = -1;
	/* the appliance's own console, kept beside the guest's */
	if (strncmp(r->log_path, "/dev/", 5))
		snprintf(applog, sizeof(applog), "%s.appliance", r->log_path);
	else
		snprintf(applog, sizeof(applog), "%s/appliance.log", dir);
	alog = fopen(applog, "w+");
	if (alog && strncmp(r->log_path, "/dev/", 5))
		json_object_set_new(r->extra, "appliance_log",
				    json_string(applog));
	start = vmc_now_ms();
	/* ttyS0..2, QEMU's stdout and stderr, ttyS3 */
	vmc_pump_add(&pu, &p.extra[0]);
	vmc_pump_add(&pu, &p.extra[1]);
	vmc_pump_add(&pu, &p.extra[2]);
	vmc_pump_add(&pu, &p.out);
	vmc_pump_add(&pu, &p.errfd);
	vmc_pump_add(&pu, &p.extra[3]);
	for (;;) {
		char buf[8192];
		ssize_t k;

		if (!vmc_pump_open(&pu))
			break;
		if (vmc_now_ms() - start >= timeout_s * 1000ull) {
			timed_out = true;
			break;
		}
		if (!inner_start && !attempt && vmc_now_ms() - start >=
		    APPLIANCE_START_LIMIT_S * 1000ull) {
			no_start = true;
			break;
		}
		if (vmc_pump_wait(&pu, 200) < 0)
			break;
		for (int i = 0; i < pu.n; i++) {
			k = vmc_pump_read(&pu, i, buf, sizeof(buf));
			if (k <= 0)
				continue;
			if (i == 0) {
				if (alog)
					fwrite(buf, 1, (size_t)k, alog);
			} else if (i == 1) {
				fwrite(buf, 1, (size_t)k, r->log);
				fflush(r->log);
				if (r->echo)
					vmc_echo(r->echo, buf, (size_t)k);
			} else if (i == 2) {
				size_t room = REPORT_MAX - rlen;

				if ((size_t)k > room)
					k = (ssize_t)room;
				memcpy(report + rlen, buf, (size_t)k);
				rlen += (size_t)k;
				report[rlen] = 0;
				if (!inner_start &&
				    strstr(report, "VMCONV-START\n"))
					inner_start = vmc_now_ms();
				if (strstr(report, "VMCONV-END")) {
					char *c = report_rc(report);

					ended = true;
					rc = c ? atoi(c + 10) : -1;
				}
			} else if (i == 4) {
				vmc_proc_take_stderr(&p, buf, (size_t)k);
			} else if (r->fwlog) {
				fwrite(buf, 1, (size_t)k, r->fwlog);
			}
		}
		if (ended)
			break;
	}
	vmc_proc_end(&p, true);
	fflush(r->log);
	if (no_start) {
		/* nothing reached the guest's logs yet: start afresh */
		if (alog)
			fclose(alog);
		alog = NULL;
		no_start = false;
		attempt++;
		rlen = 0;
		report[0] = 0;
		pu.n = 0;
		goto again;
	}

	json_object_set_new(r->extra, "inner_engine", json_string("direct"));
	j = json_object();
	json_object_set_new(j, "kernel", json_string(ap.kernel));
	json_object_set_new(j, "initrd", json_string(ap.initrd));
	json_object_set_new(j, "accel", json_string(kvm ? "kvm" :
						       "tcg -cpu qemu64,+svm"));
	json_object_set_new(j, "built", json_boolean(ap.built));
	json_object_set_new(j, "restarted", json_boolean(attempt > 0));
	json_object_set_new(j, "prepare_ms", json_integer(
		(json_int_t)built_ms));
	if (inner_start)
		json_object_set_new(j, "boot_ms", json_integer(
			(json_int_t)(inner_start - start)));
	json_object_set_new(j, "wall_ms", json_integer(
		(json_int_t)(vmc_now_ms() - start)));
	json_object_set_new(r->extra, "appliance", j);

	if (ended && rc >= 0 && rc <= 1) {
		char *js = strstr(report, "VMCONV-START\n");
		json_error_t je;

		*report_rc(report) = 0;
		js = js ? js + 13 : report;
		*inner = json_loads(js, 0, &je);
		if (!*inner) {
			vmc_error_set(err, EIO, "the appliance's report is not"
				      " JSON: %s", je.text);
			goto out;
		}
		ret = 0;
		goto out;
	}
	/* no verdict from inside: say what the appliance said */
	{
		char tail[1024] = "";

		if (alog) {
			long sz;

			fflush(alog);
			sz = ftell(alog);
			fseek(alog, sz > 1000 ? sz - 1000 : 0, SEEK_SET);
			size_t got = fread(tail, 1, sizeof(tail) - 1, alog);

			tail[got] = 0;
			for (char *c = tail; *c; c++)
				if (*c == '\r' || *c == '\033')
					*c = ' ';
			/* the inner vmconv's own error, when it gave one */
			char *v = strstr(tail, "vmconv: "), *nl;

			while (v && strstr(v + 1, "vmconv: "))
				v = strstr(v + 1, "vmconv: ");
			if (v) {
				nl = strchr(v, '\n');
				if (nl)
					*nl = 0;
				memmove(tail, v + 8, strlen(v + 8) + 1);
			}
		}
		if (timed_out)
			vmc_error_set(err, ETIMEDOUT, "the nested engine's"
				      " appliance gave no verdict within %u s;"
				      " its console ended with: %s", timeout_s,
				      tail);
		else if (rc >= 0)
			vmc_error_set(err, EIO, "vmconv inside the appliance"
				      " could not validate (exit %d): %s", rc,
				      tail);
		else
			vmc_error_set(err, EIO, "the appliance stopped without"
				      " a verdict%s%s; its console ended with:"
				      " %s", p.errlen ? ": " : "", p.errbuf,
				      tail);
	}
out:
	if (alog)
		fclose(alog);
	{
		char *rm[] = { "rm", "-rf", dir, NULL };

		vmc_proc_run(rm, NULL);
	}
	free(drive);
	free(report);
	return ret;
}
