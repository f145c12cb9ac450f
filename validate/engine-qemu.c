/* The qemu engine: the guest booted by qemu-system-x86_64 with the
 * target's device model (i440FX "pc", SeaBIOS, virtio-blk or IDE), the
 * reference the built-in VMM's verdicts are compared with.
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
#include "validate/screen.h"
#include "validate/validate.h"

#define QEMU "qemu-system-x86_64"

const char *vmc_qemu_format(const char *drv)
{
	static const char *const map[][2] = {
		{ "raw", "raw" }, { "qcow2", "qcow2" }, { "vmdk", "vmdk" },
		{ "vhdx", "vhdx" }, { "vhd", "vpc" }, { "vpc", "vpc" },
		{ "vdi", "vdi" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(drv, map[i][0]))
			return map[i][1];
	return NULL;
}

int vmc_export_raw(struct vmc_image *img, const char *path,
		   struct vmc_error *err)
{
	struct vmc_convert_params cp = { .src = img };
	struct vmc_convert_stats st;

	return vmc_convert_to_file(&cp, path, "raw", NULL, &st, err);
}

int vmc_qemu_machine_args(const char **argv, bool kvm, const char *cpu,
			  const char *mem)
{
	int n = 0;

	argv[n++] = QEMU;
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-M";
	argv[n++] = "pc";
	argv[n++] = "-accel";
	argv[n++] = kvm ? "kvm" : "tcg";
	if (cpu) {
		argv[n++] = "-cpu";
		argv[n++] = cpu;
	}
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-smp";
	argv[n++] = "1";
	/* -nographic: no display, and SeaBIOS mirrors the BIOS text screen
	 * (its own messages, the boot loader's menus) to the serial port */
	argv[n++] = "-nographic";
	return n;
}

char *vmc_qemu_pinned_name(const struct vmc_image *img, unsigned files)
{
	json_t *o, *file;
	char abs[PATH_MAX], *s = NULL, *res = NULL;
	bool qcow2 = !strcmp(img->drv->name, "qcow2");

	if ((!qcow2 && strcmp(img->drv->name, "raw")) || files > 1 ||
	    !realpath(img->filename, abs))
		return NULL;
	o = json_pack("{s:s, s:{s:s, s:s}}", "driver", img->drv->name,
		      "file", "driver", "file", "filename", abs);
	if (!o)
		return NULL;
	if (qcow2)
		json_object_set_new(o, "backing", json_null());
	file = json_object_get(o, "file");
	json_object_set_new(file, "locking", json_string("off"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s && asprintf(&res, "json:%s", s) < 0)
		res = NULL;
	free(s);
	return res;
}

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

int vmc_engine_qemu_run(struct vmc_engine_run *r, struct vmc_error *err)
{
	const struct vmc_validate_opts *o = r->o;
	char dir[PATH_MAX], disk[PATH_MAX + 32], drive[PATH_MAX + 128];
	char mem[32], why[256], cpulog[PATH_MAX + 16];
	const char *fmt = NULL, *argv[64];
	const char *tmp = getenv("TMPDIR");
	enum vmc_vm_exit exit_kind = VMC_VM_TIMEOUT;
	bool shutdown = false, kvm;
	struct vmc_proc p;
	struct vmc_pump pu = { .n = 0 };
	static char qbuf[1 << 16];
	size_t qlen = 0;
	unsigned long long start, last_poll = 0;
	struct screen_state *scr;
	unsigned timeout_s = o->timeout_s ? o->timeout_s :
			     VMC_VALIDATE_TIMEOUT;
	int n = 0, status, ret = -1;
	bool stopped = false, quit_sent = false;

	snprintf(dir, sizeof(dir), "%s/vmconv-qemu.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return vmc_error_errno(err, errno, "%s", dir);
	scr = calloc(1, sizeof(*scr));
	if (scr)
		scr->fd = -1;
	if (!scr) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out_dir;
	}
	scr->w = vmc_watch_new(o->bus, o->expect, err);
	if (!scr->w)
		goto out_dir;
	vmc_watch_set_screen(scr->w);
	if (strncmp(r->log_path, "/dev/", 5)) {
		char sp[PATH_MAX + 16];

		snprintf(sp, sizeof(sp), "%s.screen", r->log_path);
		scr->s.log = fopen(sp, "w");
		if (scr->s.log)
			json_object_set_new(r->extra, "screen_log",
					    json_string(sp));
	}
	if (make_disk(r, dir, disk, sizeof(disk), &fmt, err) < 0)
		goto out_dir;

	kvm = vmc_direct_usable(why, sizeof(why));
	json_object_set_new(r->extra, "accel", json_string(kvm ? "kvm" :
							   "tcg"));
	snprintf(mem, sizeof(mem), "%u", o->mem_mib ? o->mem_mib : 512);
	/* the protocol pinned too: a TMPDIR with a ':' is no "nbd:" */
	snprintf(drive, sizeof(drive), "file.driver=file,file.filename=%s,"
		 "driver=%s,if=none,id=disk0,cache=unsafe", disk, fmt);
	n = vmc_qemu_machine_args(argv, kvm, NULL, mem);
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
	if (!kvm) {
		/* TCG logs "Triple fault" before the reset it causes: the
		 * only way to tell it from a guest that asked to reboot */
		snprintf(cpulog, sizeof(cpulog), "%s/cpu-reset.log", dir);
		argv[n++] = "-d";
		argv[n++] = "cpu_reset";
		argv[n++] = "-D";
		argv[n++] = cpulog;
	}
	argv[n++] = "-drive";
	argv[n++] = drive;
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
	argv[n] = NULL;

	if (vmc_proc_spawn(&p, (char *const *)argv, 2, err) < 0)
		goto out_dir;
	scr->fd = p.in;
	qmp_send(scr, "{\"execute\":\"qmp_capabilities\"}\n", 31);
	start = vmc_now_ms();
	/* console, debug port, QMP replies, QEMU's stderr */
	vmc_pump_add(&pu, &p.extra[0]);
	vmc_pump_add(&pu, &p.extra[1]);
	vmc_pump_add(&pu, &p.out);
	vmc_pump_add(&pu, &p.errfd);
	for (;;) {
		unsigned long long now = vmc_now_ms();
		unsigned ms = (unsigned)(now - start);
		char buf[8192];
		ssize_t k;

		if (!vmc_pump_open(&pu))
			break;
		if (ms >= timeout_s * 1000u) {
			exit_kind = VMC_VM_TIMEOUT;
			stopped = true;
			break;
		}
		if (vmc_pump_wait(&pu, 200) < 0)
			break;
		ms = (unsigned)(vmc_now_ms() - start);
		if (shutdown && !quit_sent) {
			/* one last look at the screen, then quit */
			quit_sent = true;
			scr->quit = true;
			if (!scr->busy)
				qmp_send(scr, screen_start_cmd,
					 sizeof(screen_start_cmd) - 1);
			scr->busy = true;
		} else if (!shutdown && !scr->busy &&
			   ms - last_poll >= SCREEN_POLL_MS) {
			last_poll = ms;
			scr->busy = true;
			qmp_send(scr, screen_start_cmd,
				 sizeof(screen_start_cmd) - 1);
		}
		for (int i = 0; i < pu.n; i++) {
			k = vmc_pump_read(&pu, i, buf, sizeof(buf));
			if (k <= 0)
				continue;
			switch (i) {
			case 0:
				fwrite(buf, 1, (size_t)k, r->log);
				if (r->echo)
					vmc_echo(r->echo, buf, (size_t)k);
				vmc_watch_console(r->watch, buf, (size_t)k,
						  ms);
				break;
			case 1:
				if (r->fwlog)
					fwrite(buf, 1, (size_t)k, r->fwlog);
				vmc_watch_debug(r->watch, buf, (size_t)k, ms);
				break;
			case 2:
				for (ssize_t j = 0; j < k; j++) {
					if (buf[j] == '\n' ||
					    qlen + 1 >= sizeof(qbuf)) {
						qbuf[qlen] = 0;
						qmp_line(qbuf, &exit_kind,
							 &shutdown, scr, ms);
						qlen = 0;
					} else {
						qbuf[qlen++] = buf[j];
					}
				}
				break;
			default:
				vmc_proc_take_stderr(&p, buf, (size_t)k);
			}
		}
		/* the screen decides only for a kernel the serial port
		 * never showed */
		if (vmc_watch_done(r->watch) ||
		    (vmc_watch_done(scr->w) &&
		     vmc_watch_verdict(scr->w)->reached[VMC_STAGE_KERNEL] &&
		     !vmc_watch_verdict(r->watch)->reached[VMC_STAGE_KERNEL])) {
			exit_kind = VMC_VM_STOPPED;
			stopped = true;
			break;
		}
	}
	{
		struct vmc_run_end end = { 0 };

		end.exit = exit_kind;
		end.elapsed_ms = (unsigned)(vmc_now_ms() - start);
		end.timeout_s = timeout_s;
		status = vmc_proc_end(&p, stopped);
		fflush(r->log);
		if (!stopped && !shutdown) {
			/* QEMU ended without the guest asking: its error */
			while (p.errlen && p.errbuf[p.errlen - 1] == '\n')
				p.errbuf[--p.errlen] = 0;
			vmc_error_set(err, EIO, QEMU " failed (%s %d)%s%s",
				      WIFEXITED(status) ? "exit status" :
				      "signal", WIFEXITED(status) ?
				      WEXITSTATUS(status) : WTERMSIG(status),
				      p.errlen ? ": " : "", p.errbuf);
			goto out_dir;
		}
		if (exit_kind == VMC_VM_RESET && !kvm &&
		    log_says_triple_fault(cpulog))
			end.exit = VMC_VM_TRIPLE_FAULT;
		end.reason = NULL;
		vmc_watch_finish(r->watch, &end);
		vmc_watch_finish(scr->w, &end);
		{
			const struct vmc_verdict *sv, *vv;

			sv = vmc_watch_verdict(r->watch);
			vv = vmc_watch_verdict(scr->w);
			/* the serial port never showed the kernel, the screen
			 * got further: the console is on the screen */
			if (!sv->reached[VMC_STAGE_KERNEL] &&
			    vv->stage > sv->stage) {
				r->screen = scr->w;
				r->use_screen = true;
				scr->w = NULL;
			}
		}
	}
	ret = 0;
out_dir:
	if (scr) {
		vmc_watch_free(scr->w);
		if (scr->s.log)
			fclose(scr->s.log);
	}
	free(scr);
	rm_rf_dir(dir);
	return ret;
}
