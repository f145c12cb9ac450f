/* OVMF, the UEFI firmware for QEMU's machines, as Debian's ovmf package
 * installs it: the split build (OVMF_CODE_4M.fd, read-only, and the
 * variable store template OVMF_VARS_4M.fd, copied for each run so that
 * nothing a guest writes outlives it), the older 2 MiB split build, or
 * the single image OVMF.fd.  VMCONV_OVMF_CODE and VMCONV_OVMF_VARS name
 * others (VARS empty: a single image). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate/qemu.h"

static const char *const builds[][2] = {
	{ "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd" },
	{ "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd" },
	{ "/usr/share/ovmf/OVMF.fd", "" },
	{ "/usr/share/qemu/OVMF.fd", "" },
};

int vmc_ovmf_find(struct vmc_ovmf *f, struct vmc_error *err)
{
	const char *code = getenv("VMCONV_OVMF_CODE");
	const char *vars = getenv("VMCONV_OVMF_VARS");

	memset(f, 0, sizeof(*f));
	if (code && *code) {
		if (access(code, R_OK) < 0 ||
		    (vars && *vars && access(vars, R_OK) < 0))
			return vmc_error_errno(err, errno, "VMCONV_OVMF_CODE"
					       " %s / VMCONV_OVMF_VARS %s", code,
					       vars ? vars : "");
		snprintf(f->code, sizeof(f->code), "%s", code);
		snprintf(f->vars, sizeof(f->vars), "%s", vars ? vars : "");
		return 0;
	}
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		if (access(builds[i][0], R_OK) < 0 ||
		    (builds[i][1][0] && access(builds[i][1], R_OK) < 0))
			continue;
		snprintf(f->code, sizeof(f->code), "%s", builds[i][0]);
		snprintf(f->vars, sizeof(f->vars), "%s", builds[i][1]);
		return 0;
	}
	return vmc_error_set(err, ENOENT, "no UEFI firmware: %s not found"
			     " (install Debian's ovmf package, or set"
			     " VMCONV_OVMF_CODE and VMCONV_OVMF_VARS)",
			     builds[0][0]);
}

/* The variable store template copied to dst (at most 64 MiB). */
int vmc_ovmf_copy_vars(const struct vmc_ovmf *f, const char *dst,
		       struct vmc_error *err)
{
	char buf[65536];
	int in = open(f->vars, O_RDONLY | O_CLOEXEC), out = -1;
	off_t total = 0;
	ssize_t n = 0;

	if (in < 0)
		return vmc_error_errno(err, errno, "%s", f->vars);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		vmc_error_errno(err, errno, "%s", dst);
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0 && total < (64 << 20)) {
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
		total += n;
	}
	if (n < 0 || total >= (64 << 20))
		vmc_error_errno(err, n < 0 ? errno : EFBIG, "copying %s to %s",
				f->vars, dst);
	close(in);
	if (close(out) < 0 && n >= 0)
		return vmc_error_errno(err, errno, "%s", dst);
	return n < 0 || total >= (64 << 20) ? -1 : 0;
}
