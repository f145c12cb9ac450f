/* --boot=kernel without --kernel: the kernel, initramfs and command line
 * the guest's own boot loader would use, read from the image with
 * libguestfs (read-only).  Every file system is searched for a GRUB,
 * SYSLINUX or EXTLINUX configuration; its default (else first) entry
 * names the kernel, the initramfs and the arguments.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <guestfs.h>

#include "validate/guest-kernel.h"

#define CFG_MAX (1 << 20)

static const char *const configs[] = {
	"/boot/grub/grub.cfg", "/grub/grub.cfg", "/boot/grub2/grub.cfg",
	"/grub2/grub.cfg", "/syslinux.cfg", "/syslinux/syslinux.cfg",
	"/boot/syslinux/syslinux.cfg", "/extlinux.conf",
	"/extlinux/extlinux.conf", "/boot/extlinux/extlinux.conf",
	"/boot/syslinux.cfg",
};

struct entry {
	char kernel[512], initrd[512], append[2048];
};

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "word rest": copies word into w, returns rest. */
static char *word(char *s, char *w, size_t len)
{
	size_t n = 0;

	s = skip_ws(s);
	while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
		if (n + 1 < len)
			w[n++] = *s;
		s++;
	}
	w[n] = 0;
	return skip_ws(s);
}

static void rest_of_line(const char *s, char *out, size_t len)
{
	size_t n = strcspn(s, "\r\n");

	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = 0;
}

/* SYSLINUX/EXTLINUX: the DEFAULT label's KERNEL/LINUX, INITRD, APPEND
 * (initrd= in APPEND counts too). */
static bool parse_syslinux(char *cfg, struct entry *e)
{
	char def[128] = "", label[128] = "", kw[32];
	struct entry cur = { "", "", "" }, first = { "", "", "" };
	bool in_def = false, have_first = false, found = false;

	for (char *line = strtok(cfg, "\n"); line; line = strtok(NULL, "\n")) {
		char *r = word(line, kw, sizeof(kw));

		if (!strcasecmp(kw, "DEFAULT")) {
			word(r, def, sizeof(def));
		} else if (!strcasecmp(kw, "LABEL")) {
			if (cur.kernel[0] && !have_first) {
				first = cur;
				have_first = true;
			}
			if (in_def && cur.kernel[0]) {
				*e = cur;
				found = true;
				break;
			}
			word(r, label, sizeof(label));
			in_def = def[0] && !strcmp(label, def);
			memset(&cur, 0, sizeof(cur));
		} else if (!strcasecmp(kw, "KERNEL") ||
			   !strcasecmp(kw, "LINUX")) {
			word(r, cur.kernel, sizeof(cur.kernel));
		} else if (!strcasecmp(kw, "INITRD")) {
			word(r, cur.initrd, sizeof(cur.initrd));
		} else if (!strcasecmp(kw, "APPEND")) {
			rest_of_line(r, cur.append, sizeof(cur.append));
		}
	}
	if (!found && in_def && cur.kernel[0]) {
		*e = cur;
		found = true;
	}
	if (!found && (have_first || cur.kernel[0])) {
		*e = have_first ? first : cur;
		found = true;
	}
	if (found && !e->initrd[0]) {
		char *p = strstr(e->append, "initrd=");

		if (p)
			word(p + 7, e->initrd, sizeof(e->initrd));
	}
	return found && e->kernel[0];
}

/* GRUB: the first menu entry's linux and initrd lines. */
static bool parse_grub(char *cfg, struct entry *e)
{
	char kw[32];
	bool in_entry = false;

	memset(e, 0, sizeof(*e));
	for (char *line = strtok(cfg, "\n"); line; line = strtok(NULL, "\n")) {
		char *r = word(line, kw, sizeof(kw));

		if (!strcmp(kw, "menuentry")) {
			if (e->kernel[0])
				break;
			in_entry = true;
		} else if (in_entry && (!strcmp(kw, "linux") ||
					!strcmp(kw, "linux16") ||
					!strcmp(kw, "linuxefi")) &&
			   !e->kernel[0]) {
			r = word(r, e->kernel, sizeof(e->kernel));
			rest_of_line(r, e->append, sizeof(e->append));
		} else if (in_entry && (!strcmp(kw, "initrd") ||
					!strcmp(kw, "initrd16") ||
					!strcmp(kw, "initrdefi")) &&
			   !e->initrd[0]) {
			word(r, e->initrd, sizeof(e->initrd));
		} else if (!strcmp(kw, "}") && e->kernel[0]) {
			break;
		}
	}
	return e->kernel[0] != 0;
}

/* Drop initrd= and BOOT_IMAGE= arguments: the boot loader's business. */
static void clean_append(char *a)
{
	char out[2048] = "", w[512];
	char *s = a;

	while (*(s = skip_ws(s))) {
		s = word(s, w, sizeof(w));
		if (!strncmp(w, "initrd=", 7) || !strncmp(w, "BOOT_IMAGE=", 11))
			continue;
		if (out[0])
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, w, sizeof(out) - strlen(out) - 1);
	}
	strcpy(a, out);
}

/* A path from the configuration, as a path in the file system mounted at
 * / (relative names are relative to the configuration's folder). */
static void resolve(const char *cfgpath, const char *p, char *out,
		    size_t len)
{
	const char *slash;

	if (!strncmp(p, "(", 1) && (slash = strchr(p, ')')))
		p = slash + 1;		/* (hd0,msdos1)/vmlinuz */
	if (p[0] == '/') {
		snprintf(out, len, "%s", p);
		return;
	}
	slash = strrchr(cfgpath, '/');
	snprintf(out, len, "%.*s/%s", (int)(slash - cfgpath), cfgpath, p);
}

int vmc_bootcfg_parse(const char *cfgpath, char *text, char *kernel,
		      char *initrd, char *append, size_t len)
{
	struct entry e;

	if (!(strstr(cfgpath, "grub") ? parse_grub(text, &e) :
	      parse_syslinux(text, &e)))
		return -1;
	resolve(cfgpath, e.kernel, kernel, len);
	if (e.initrd[0])
		resolve(cfgpath, e.initrd, initrd, len);
	else
		initrd[0] = 0;
	clean_append(e.append);
	snprintf(append, len, "%s", e.append);
	return 0;
}

/* The guest's files are read only up to a size: a hostile guest's
 * "kernel" must not fill the host's disk, nor its grub.cfg the memory. */
#define FILE_MAX (512 << 20)

static bool size_ok(guestfs_h *g, const char *path, int64_t max)
{
	int64_t n = guestfs_filesize(g, path);

	return n >= 0 && n <= max;
}

int vmc_guest_kernel(const char *image, const char *qfmt, bool kvm,
		     const char *dir, char *kernel, char *initrd,
		     char *append, size_t len, struct vmc_error *err)
{
	guestfs_h *g = guestfs_create();
	char **fss = NULL;
	int ret = -1;
	bool found = false;

	if (!g)
		return vmc_error_set(err, ENOMEM, "libguestfs: cannot create"
				     " a handle");
	guestfs_set_error_handler(g, NULL, NULL);
	if (!kvm) {
		/* libguestfs tries KVM first and fails where it is slow */
		char *settings[] = { "force_tcg", NULL };

		guestfs_set_backend(g, "direct");
		guestfs_set_backend_settings(g, settings);
	}
	if (guestfs_add_drive_opts(g, image, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
				   GUESTFS_ADD_DRIVE_OPTS_FORMAT, qfmt,
				   -1) < 0 || guestfs_launch(g) < 0) {
		vmc_error_set(err, EIO, "%s: libguestfs: %s", image,
			      guestfs_last_error(g) ? guestfs_last_error(g) :
			      "cannot launch");
		goto out;
	}
	fss = guestfs_list_filesystems(g);
	for (size_t i = 0; fss && fss[i] && fss[i + 1] && !found; i += 2) {
		if (guestfs_mount_ro(g, fss[i], "/") < 0)
			continue;
		for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]) &&
		     !found; c++) {
			size_t sz;
			char *cfg, kp[1024], ip[1024], ap[2048];

			if (guestfs_is_file(g, configs[c]) <= 0 ||
			    !size_ok(g, configs[c], CFG_MAX))
				continue;
			cfg = guestfs_read_file(g, configs[c], &sz);
			if (!cfg || sz > CFG_MAX ||
			    vmc_bootcfg_parse(configs[c], cfg, kp, ip, ap,
					      sizeof(kp)) < 0) {
				free(cfg);
				continue;
			}
			free(cfg);
			if (guestfs_is_file(g, kp) <= 0)
				continue;
			if (!size_ok(g, kp, FILE_MAX) ||
			    (ip[0] && !size_ok(g, ip, FILE_MAX))) {
				vmc_error_set(err, EFBIG, "%s: %s or %s is"
					      " larger than %d MiB (refused)",
					      image, kp, ip, FILE_MAX >> 20);
				goto out;
			}
			snprintf(kernel, len, "%s/vmlinuz", dir);
			snprintf(initrd, len, "%s/initrd", dir);
			if (guestfs_download(g, kp, kernel) < 0 ||
			    (ip[0] && guestfs_download(g, ip, initrd) < 0)) {
				vmc_error_set(err, EIO, "%s: copying %s: %s",
					      image, kp,
					      guestfs_last_error(g));
				goto out;
			}
			if (!ip[0])
				initrd[0] = 0;
			snprintf(append, len, "%s", ap);
			found = true;
		}
		guestfs_umount_all(g);
	}
	if (!found) {
		vmc_error_set(err, ENOENT, "%s: no GRUB, SYSLINUX or EXTLINUX"
			      " configuration naming a kernel in any file"
			      " system: give --kernel", image);
		goto out;
	}
	ret = 0;
out:
	if (fss) {
		for (size_t i = 0; fss[i]; i++)
			free(fss[i]);
		free(fss);
	}
	guestfs_close(g);
	return ret;
}
