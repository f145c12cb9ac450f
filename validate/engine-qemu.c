/* The qemu engine: the guest booted by qemu-system-x86_64 with the
 * target's device model (i440FX "pc", SeaBIOS, virtio-blk or IDE), the
 * reference the built-in VMM's verdicts are compared with.  UEFI guests
 * boot OVMF from flash (validate/ovmf.c), with a copy of its variable
 * store made for the run: no boot entries, as on a new hypervisor.
 *
 * The image is never written and QEMU never parses its metadata on its
 * own terms: a raw image or a single-file qcow2 becomes the backing file
 * of a throw-away qcow2 overlay, named by a json: filename that pins the
 * protocol (file), the format and, for qcow2, "backing": null, so a
 * backing name inside the image ("nbd:...", "/etc/shadow") is never
 * followed; everything else (VMDK, VHD, VHDX, qcow2 with a backing chain
 * or a data file) is exported to a temporary raw file through vmconv's
 * own drivers, which hold it to the parent policy (common/confine.h).  The serial port and SeaBIOS's debug
 * port come back through pipes, QMP on stdin/stdout says whether the guest
 * powered off or reset.
 *
 * Guests whose console is only on the screen: the machine has a VGA card,
 * and its text buffer is read through QMP twice a second into a watcher of
 * its own (validate/screen.c), whose verdict counts when the serial port
 * never showed the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "validate/process.h"
#include "validate/qemu.h"
#include "validate/screen.h"
#include "validate/engine.h"
#include "validate/echo.h"

/* A throw-away disk for QEMU in dir: a pinned overlay on the image, or a
 * raw export.  *fmt is QEMU's name for its format. */
static int make_disk(struct vmc_engine_run *r, const char *dir, char *disk,
		     size_t len, const char **fmt, struct vmc_error *err)
{
	char *pinned = vmc_qemu_pinned_name(r->img, r->img_files);
	char size[32];

	snprintf(size, sizeof(size), "%llu", (unsigned long long)r->img->size);
	if (pinned) {
		char *argv[] = { "qemu-img", "create", "-q", "-u", "-f",
				 "qcow2", "-F", (char *)r->img->drv->name,
				 "-b", pinned, disk, size, NULL };
		struct vmc_error e2;
		int rc;

		snprintf(disk, len, "%s/overlay.qcow2", dir);
		rc = vmc_proc_run(argv, &e2);
		free(pinned);
		if (rc == 0) {
			*fmt = "qcow2";
			json_object_set_new(r->extra, "qemu_disk",
					    json_string("qcow2 overlay"));
			return 0;
		}
	}
	snprintf(disk, len, "%s/disk.raw", dir);
	if (vmc_export_raw(r->img, disk, err) < 0) {
		vmc_error_prefix(err, "exporting %s for QEMU", r->o->image);
		return -1;
	}
	*fmt = "raw";
	json_object_set_new(r->extra, "qemu_disk",
			    json_string("raw export through vmconv"));
	return 0;
}

#define SCREEN_POLL_MS 250
/* Linux's vgacon scrolls by moving the CRT start address through the
 * whole 32 KiB of text memory: read it (CRTC registers 0x0C/0x0D through
 * ports 0x3D4/0x3D5; every writer sets the index before the data) and
 * then the 80x25 cells the card shows from there. */
static const char screen_start_cmd[] =
	"{\"execute\":\"human-monitor-command\",\"arguments\":"
	"{\"command-line\":\"o /b 0x3d4 0x0c\"},\"id\":\"o1\"}\n"
	"{\"execute\":\"human-monitor-command\",\"arguments\":"
	"{\"command-line\":\"i /b 0x3d5\"},\"id\":\"hi\"}\n"
	"{\"execute\":\"human-monitor-command\",\"arguments\":"
	"{\"command-line\":\"o /b 0x3d4 0x0d\"},\"id\":\"o2\"}\n"
	"{\"execute\":\"human-monitor-command\",\"arguments\":"
	"{\"command-line\":\"i /b 0x3d5\"},\"id\":\"lo\"}\n";
static const char quit_cmd[] = "{\"execute\":\"quit\"}\n";

struct screen_state {
	struct vmc_screen s;
	struct vmc_watch *w;
	uint16_t cells[VMC_SCREEN_ROWS * VMC_SCREEN_COLS];
	unsigned hi;
	bool busy;		/* a read is under way */
	bool quit;		/* quit after this read */
	int fd;			/* QMP input */
};

static void qmp_send(struct screen_state *scr, const char *s, size_t n)
{
	/* QEMU went away: its end is seen on the other pipes (the
	 * descriptor is closed with the others by vmc_proc_end) */
	if (scr->fd >= 0 && write(scr->fd, s, n) != (ssize_t)n)
		scr->fd = -1;
}

/* QMP lines: remember why the guest stopped; read the screen. */
static void qmp_line(const char *line, enum vmc_vm_exit *exit_kind,
		     bool *shutdown, struct screen_state *scr, unsigned ms)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *ev, *why, *ret, *id, *eq;

	if (!j)
		return;
	ret = json_string_value(json_object_get(j, "return"));
	id = json_string_value(json_object_get(j, "id"));
	if (ret && id && (eq = strstr(ret, "= 0x"))) {
		unsigned v = (unsigned)strtoul(eq + 4, NULL, 16) & 0xff;

		if (!strcmp(id, "hi")) {
			scr->hi = v;
		} else if (!strcmp(id, "lo")) {
			unsigned start = (scr->hi << 8 | v) & 0x3fff;
			char cmd[256];
			int n;

			/* 80x25 from the start address, within the 32 KiB */
			if (start > 0x4000 - 2000)
				start = 0;
			n = snprintf(cmd, sizeof(cmd), "{\"execute\":"
				     "\"human-monitor-command\",\"arguments\":"
				     "{\"command-line\":\"xp /2000hx 0x%x\"},"
				     "\"id\":\"scr\"}\n", 0xb8000 + 2 * start);
			qmp_send(scr, cmd, (size_t)n);
		}
	} else if (ret && id && !strcmp(id, "scr")) {
		if (vmc_screen_parse_xp(ret, scr->cells, 2000) == 2000)
			vmc_screen_feed(&scr->s, scr->cells, scr->w, ms,
					scr->quit);
		scr->busy = false;
		if (scr->quit)
			qmp_send(scr, quit_cmd, sizeof(quit_cmd) - 1);
	}
	ev = json_string_value(json_object_get(j, "event"));
	/* the first one is the guest's; quitting sends another */
	if (ev && !strcmp(ev, "SHUTDOWN") && !*shutdown) {
		why = json_string_value(json_object_get(
			json_object_get(j, "data"), "reason"));
		*shutdown = true;
		if (why && !strcmp(why, "guest-reset"))
			*exit_kind = VMC_VM_RESET;
		else
			*exit_kind = VMC_VM_POWEROFF;
	}
	json_decref(j);
}

/* QEMU's -d cpu_reset log: a register dump at each reset, preceded by
 * "Triple fault" when the CPU shut down */
static bool log_says_triple_fault(const char *path)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "Triple fault", 12);
	fclose(f);
	return found;
}

static int rm_rf_dir(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };

	return vmc_proc_run(argv, NULL);
}

/* One qemu run: its folder, disk, command line and channels. */
struct qrun {
	struct vmc_engine_run *r;
	char dir[PATH_MAX], disk[PATH_MAX + 32], drive[PATH_MAX + 128];
	char mem[32], smp[16], why[256], cpulog[PATH_MAX + 16];
	struct vmc_ovmf ovmf;		/* UEFI guests */
	char code[4096 + 96], vars[PATH_MAX + 96];
	const char *fmt, *argv[64];
	enum vmc_vm_exit exit_kind;
	bool kvm, shutdown, stopped, quit_sent;
	struct vmc_proc p;
	struct vmc_pump pu;
	char qbuf[1 << 16];
	size_t qlen;
	unsigned long long start, last_poll;
	struct screen_state *scr;
	unsigned timeout_s;
};

/* UEFI: OVMF's code read-only on the first flash chip and a copy of its
 * variable store, this run's own, on the second (or a single image). */
static int qemu_uefi(struct qrun *q, struct vmc_error *err)
{
	char path[PATH_MAX + 16];

	if (vmc_ovmf_find(&q->ovmf, err) < 0)
		return -1;
	json_object_set_new(q->r->extra, "firmware_image",
			    json_string(q->ovmf.code));
	if (!q->ovmf.vars[0]) {
		snprintf(q->code, sizeof(q->code), "%s", q->ovmf.code);
		return 0;
	}
	snprintf(q->code, sizeof(q->code), "if=pflash,format=raw,unit=0,"
		 "readonly=on,file.driver=file,file.filename=%s",
		 q->ovmf.code);
	snprintf(path, sizeof(path), "%s/OVMF_VARS.fd", q->dir);
	if (vmc_ovmf_copy_vars(&q->ovmf, path, err) < 0)
		return -1;
	snprintf(q->vars, sizeof(q->vars), "if=pflash,format=raw,unit=1,"
		 "file.driver=file,file.filename=%s", path);
	return 0;
}

static int uefi_args(struct qrun *q, int n)
{
	if (q->r->o->firmware != VMC_FIRMWARE_UEFI)
		return n;
	if (!q->vars[0]) {
		q->argv[n++] = "-bios";
		q->argv[n++] = q->code;
		return n;
	}
	q->argv[n++] = "-drive";
	q->argv[n++] = q->code;
	q->argv[n++] = "-drive";
	q->argv[n++] = q->vars;
	return n;
}

/* The run's folder, the screen's watcher and log, the disk QEMU gets. */
static int qemu_prepare(struct qrun *q, struct vmc_error *err)
{
	struct vmc_engine_run *r = q->r;
	const char *tmp = getenv("TMPDIR");

	snprintf(q->dir, sizeof(q->dir), "%s/vmconv-qemu.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(q->dir)) {
		vmc_error_errno(err, errno, "%s", q->dir);
		q->dir[0] = 0;
		return -1;
	}
	q->scr = calloc(1, sizeof(*q->scr));
	if (!q->scr)
		return vmc_error_set(err, ENOMEM, "out of memory");
	q->scr->fd = -1;
	q->scr->w = vmc_watch_new(r->o->bus, r->o->expect, err);
	if (!q->scr->w)
		return -1;
	vmc_watch_set_screen(q->scr->w);
	if (strncmp(r->log_path, "/dev/", 5)) {
		char sp[PATH_MAX + 16];

		snprintf(sp, sizeof(sp), "%s.screen", r->log_path);
		q->scr->s.log = fopen(sp, "w");
		if (q->scr->s.log)
			json_object_set_new(r->extra, "screen_log",
					    json_string(sp));
	}
	if (r->o->firmware == VMC_FIRMWARE_UEFI && qemu_uefi(q, err) < 0)
		return -1;
	return make_disk(r, q->dir, q->disk, sizeof(q->disk), &q->fmt, err);
}

/* The disk controller and, for a kernel boot, -kernel and the rest. */
static int qemu_boot_args(struct qrun *q, int n)
{
	const struct vmc_validate_opts *o = q->r->o;
	const char **argv = q->argv;

	argv[n++] = "-drive";
	argv[n++] = q->drive;
	argv[n++] = "-device";
	/* -kernel takes boot index 0 itself */
	if (o->boot == VMC_BOOT_KERNEL)
		argv[n++] = o->bus == VMC_BUS_IDE ?
			    "ide-hd,drive=disk0,bus=ide.0" :
			    "virtio-blk-pci,drive=disk0";
	else
		argv[n++] = o->bus == VMC_BUS_IDE ?
			    "ide-hd,drive=disk0,bus=ide.0,bootindex=0" :
			    "virtio-blk-pci,drive=disk0,bootindex=0";
	if (o->boot == VMC_BOOT_KERNEL) {
		argv[n++] = "-kernel";
		argv[n++] = o->kernel;
		if (o->initrd) {
			argv[n++] = "-initrd";
			argv[n++] = o->initrd;
		}
		if (o->append) {
			argv[n++] = "-append";
			argv[n++] = o->append;
		}
	}
	return n;
}

static void qemu_argv(struct qrun *q)
{
	const char **argv = q->argv;
	int n;

	q->kvm = vmc_direct_usable(q->why, sizeof(q->why));
	json_object_set_new(q->r->extra, "accel", json_string(q->kvm ? "kvm" :
							      "tcg"));
	snprintf(q->mem, sizeof(q->mem), "%u",
		 q->r->o->mem_mib ? q->r->o->mem_mib : 512);
	/* the protocol pinned too: a TMPDIR with a ':' is no "nbd:" */
	snprintf(q->drive, sizeof(q->drive), "file.driver=file,"
		 "file.filename=%s,driver=%s,if=none,id=disk0,cache=unsafe",
		 q->disk, q->fmt);
	/* the VM's own vCPU count (vmc_validate_vcpus caps it) */
	snprintf(q->smp, sizeof(q->smp), "%u",
		 vmc_validate_vcpus(q->r->o, VMC_ENGINE_QEMU));
	n = vmc_qemu_machine_args(argv, q->kvm, NULL, q->mem, q->smp);
	n = uefi_args(q, n);
	argv[n++] = "-device";
	argv[n++] = "VGA";
	/* a power-off or reset pauses the VM: the screen is read once more,
	 * then QEMU is told to quit */
	argv[n++] = "-action";
	argv[n++] = "reboot=shutdown,shutdown=pause";
	argv[n++] = "-qmp";
	argv[n++] = "stdio";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=con,path=/dev/fd/3";
	argv[n++] = "-serial";
	argv[n++] = "chardev:con";
	argv[n++] = "-chardev";
	argv[n++] = "file,id=dbg,path=/dev/fd/4";
	argv[n++] = "-device";
	argv[n++] = "isa-debugcon,iobase=0x402,chardev=dbg";
	if (!q->kvm) {
		/* TCG logs "Triple fault" before the reset it causes: the
		 * only way to tell it from a guest that asked to reboot */
		snprintf(q->cpulog, sizeof(q->cpulog), "%s/cpu-reset.log",
			 q->dir);
		argv[n++] = "-d";
		argv[n++] = "cpu_reset";
		argv[n++] = "-D";
		argv[n++] = q->cpulog;
	}
	n = qemu_boot_args(q, n);
	argv[n] = NULL;
}

/* The pump's channels, in the order vmc_pump_add gives them numbers. */
enum { CH_CONSOLE, CH_DEBUG, CH_QMP, CH_QEMU_ERR };

static int qemu_spawn(struct qrun *q, struct vmc_error *err)
{
	if (vmc_proc_spawn(&q->p, (char *const *)q->argv, 2, err) < 0)
		return -1;
	q->scr->fd = q->p.in;
	qmp_send(q->scr, "{\"execute\":\"qmp_capabilities\"}\n", 31);
	q->start = vmc_now_ms();
	vmc_pump_add(&q->pu, &q->p.extra[0]);	/* CH_CONSOLE */
	vmc_pump_add(&q->pu, &q->p.extra[1]);	/* CH_DEBUG */
	vmc_pump_add(&q->pu, &q->p.out);	/* CH_QMP */
	vmc_pump_add(&q->pu, &q->p.errfd);	/* CH_QEMU_ERR */
	return 0;
}

/* Ask for the screen now and then, and once more before quitting. */
static void poll_screen(struct qrun *q, unsigned ms)
{
	struct screen_state *scr = q->scr;

	/* OVMF leaves VGA text mode: nothing to read there */
	if (q->r->o->firmware == VMC_FIRMWARE_UEFI) {
		if (q->shutdown && !q->quit_sent) {
			q->quit_sent = true;
			qmp_send(scr, quit_cmd, sizeof(quit_cmd) - 1);
		}
		return;
	}
	if (q->shutdown && !q->quit_sent) {
		/* one last look at the screen, then quit */
		q->quit_sent = true;
		scr->quit = true;
		if (!scr->busy)
			qmp_send(scr, screen_start_cmd,
				 sizeof(screen_start_cmd) - 1);
		scr->busy = true;
	} else if (!q->shutdown && !scr->busy &&
		   ms - q->last_poll >= SCREEN_POLL_MS) {
		q->last_poll = ms;
		scr->busy = true;
		qmp_send(scr, screen_start_cmd, sizeof(screen_start_cmd) - 1);
	}
}

static void take(struct qrun *q, int ch, const char *buf, size_t k,
		 unsigned ms)
{
	struct vmc_engine_run *r = q->r;

	switch (ch) {
	case CH_CONSOLE:
		vmc_console_out(r, buf, k);
		vmc_watch_console(r->watch, buf, k, ms);
		break;
	case CH_DEBUG:
		vmc_firmware_out(r, buf, k);
		vmc_watch_debug(r->watch, buf, k, ms);
		break;
	case CH_QMP:
		for (size_t j = 0; j < k; j++) {
			if (buf[j] == '\n' || q->qlen + 1 >= sizeof(q->qbuf)) {
				q->qbuf[q->qlen] = 0;
				qmp_line(q->qbuf, &q->exit_kind, &q->shutdown,
					 q->scr, ms);
				q->qlen = 0;
			} else {
				q->qbuf[q->qlen++] = buf[j];
			}
		}
		break;
	default:
		vmc_proc_take_stderr(&q->p, buf, k);
	}
}

/* The screen decides only for a kernel the serial port never showed. */
static bool verdict_final(struct qrun *q)
{
	struct vmc_watch *sw = q->scr->w, *w = q->r->watch;

	return vmc_watch_done(w) ||
	       (vmc_watch_done(sw) &&
		vmc_watch_verdict(sw)->reached[VMC_STAGE_KERNEL] &&
		!vmc_watch_verdict(w)->reached[VMC_STAGE_KERNEL]);
}

static void qemu_pump(struct qrun *q)
{
	for (;;) {
		unsigned ms = (unsigned)(vmc_now_ms() - q->start);
		char buf[8192];
		ssize_t k;

		if (!vmc_pump_open(&q->pu))
			break;
		if (ms >= q->timeout_s * 1000u) {
			q->exit_kind = VMC_VM_TIMEOUT;
			q->stopped = true;
			break;
		}
		if (vmc_pump_wait(&q->pu, 200) < 0)
			break;
		ms = (unsigned)(vmc_now_ms() - q->start);
		poll_screen(q, ms);
		for (int i = 0; i < q->pu.n; i++) {
			k = vmc_pump_read(&q->pu, i, buf, sizeof(buf));
			if (k > 0)
				take(q, i, buf, (size_t)k, ms);
		}
		if (verdict_final(q)) {
			q->exit_kind = VMC_VM_STOPPED;
			q->stopped = true;
			break;
		}
	}
}

/* End QEMU and settle both verdicts; the screen's counts when the serial
 * port never showed the kernel and the screen got further. */
static int qemu_collect(struct qrun *q, struct vmc_error *err)
{
	struct vmc_engine_run *r = q->r;
	struct vmc_run_end end = { 0 };
	const struct vmc_verdict *sv, *vv;
	int status;

	end.exit = q->exit_kind;
	end.elapsed_ms = (unsigned)(vmc_now_ms() - q->start);
	end.timeout_s = q->timeout_s;
	status = vmc_proc_end(&q->p, q->stopped);
	fflush(r->log);
	if (!q->stopped && !q->shutdown) {
		/* QEMU ended without the guest asking: its error */
		while (q->p.errlen && q->p.errbuf[q->p.errlen - 1] == '\n')
			q->p.errbuf[--q->p.errlen] = 0;
		return vmc_error_set(err, EIO, QEMU " failed (%s %d)%s%s",
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) :
			WTERMSIG(status), q->p.errlen ? ": " : "",
			q->p.errbuf);
	}
	if (q->exit_kind == VMC_VM_RESET && !q->kvm &&
	    log_says_triple_fault(q->cpulog))
		end.exit = VMC_VM_TRIPLE_FAULT;
	vmc_watch_finish(r->watch, &end);
	vmc_watch_finish(q->scr->w, &end);
	sv = vmc_watch_verdict(r->watch);
	vv = vmc_watch_verdict(q->scr->w);
	if (!sv->reached[VMC_STAGE_KERNEL] && vv->stage > sv->stage) {
		r->screen = q->scr->w;
		r->use_screen = true;
		q->scr->w = NULL;
	}
	return 0;
}

int vmc_engine_qemu_run(struct vmc_engine_run *r, struct vmc_error *err)
{
	struct qrun *q = calloc(1, sizeof(*q));
	int ret = -1;

	if (!q)
		return vmc_error_set(err, ENOMEM, "out of memory");
	q->r = r;
	q->exit_kind = VMC_VM_TIMEOUT;
	q->timeout_s = r->o->timeout_s ? r->o->timeout_s :
		       VMC_VALIDATE_TIMEOUT;
	if (qemu_prepare(q, err) < 0)
		goto out;
	qemu_argv(q);
	if (qemu_spawn(q, err) < 0)
		goto out;
	qemu_pump(q);
	ret = qemu_collect(q, err);
out:
	if (q->scr) {
		vmc_watch_free(q->scr->w);
		if (q->scr->s.log)
			fclose(q->scr->s.log);
	}
	free(q->scr);
	if (q->dir[0])
		rm_rf_dir(q->dir);
	free(q);
	return ret;
}
