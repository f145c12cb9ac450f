/* OVA writer, DSP0243 section 5.3: a tar whose first member is the
 * descriptor NAME.ovf, then the manifest NAME.mf (SHA256 lines, as
 * ovftool 4 writes them), then the files in References order.  Written
 * with libarchive (pax, which is ustar unless a member needs more) to a
 * temporary file renamed into place only when complete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <vmconv/output.h>

#include "vm/manifest.h"
#include "vm/vm.h"

static int add_mem(struct archive *a, const char *name, const char *buf,
		   size_t len, const char *path, struct vmc_error *err)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, buf, len) != (la_ssize_t)len)
		r = vmc_error_set(err, EIO, "%s: writing member %s: %s", path,
				  name, archive_error_string(a));
	archive_entry_free(e);
	return r;
}

static int add_file(struct archive *a, const char *name, const char *src,
		    const char *path, struct vmc_error *err)
{
	int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct archive_entry *e = NULL;
	struct stat st;
	char *buf = malloc(1 << 20);
	ssize_t n;
	int r = -1;

	if (fd < 0 || !buf || fstat(fd, &st) < 0) {
		vmc_error_errno(err, fd < 0 ? errno : ENOMEM, "%s", src);
		goto out;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		goto arch;
	while ((n = read(fd, buf, 1 << 20)) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n)
			goto arch;
	if (n < 0) {
		vmc_error_errno(err, errno, "%s: read", src);
		goto out;
	}
	r = 0;
	goto out;
arch:
	vmc_error_set(err, EIO, "%s: writing member %s: %s", path, name,
		      archive_error_string(a));
out:
	archive_entry_free(e);
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* "SHA256(NAME.ovf)= ..." for the descriptor and every disk. */
static char *manifest(const struct vmc_vm *vm, const char *ovfname,
		      const char *desc, struct vmc_error *err)
{
	struct vmc_digester *g = vmc_digester_new();
	struct vmc_digests d;
	char *mf = NULL, *t;

	if (!g)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	vmc_digester_update(g, desc, strlen(desc));
	vmc_digester_final(g, &d);
	if (asprintf(&mf, "SHA256(%s)= %s\n", ovfname, d.sha256) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	for (size_t i = 0; i < vm->n_disks; i++) {
		if (vm->disks[i].cdrom || !vm->disks[i].path)
			continue;
		if (vmc_digest_file(vm->disks[i].path, &d, err) < 0 ||
		    asprintf(&t, "%sSHA256(%s)= %s\n", mf, vm->disks[i].href,
			     d.sha256) < 0) {
			free(mf);
			return NULL;
		}
		free(mf);
		mf = t;
	}
	return mf;
}

static int write_tar(const struct vmc_vm *vm, const char *stem, int fd,
		     const char *path, const char *desc, const char *mf,
		     struct vmc_error *err)
{
	struct archive *a = archive_write_new();
	char *ovfname = NULL, *mfname = NULL;
	int r = -1;

	if (!a || asprintf(&ovfname, "%s.ovf", stem) < 0 ||
	    asprintf(&mfname, "%s.mf", stem) < 0) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s", path,
			      archive_error_string(a));
		goto out;
	}
	if (add_mem(a, ovfname, desc, strlen(desc), path, err) < 0 ||
	    add_mem(a, mfname, mf, strlen(mf), path, err) < 0)
		goto out;
	for (size_t i = 0; i < vm->n_disks; i++)
		if (!vm->disks[i].cdrom && vm->disks[i].path &&
		    add_file(a, vm->disks[i].href, vm->disks[i].path, path,
			     err) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s", path,
			      archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_write_free(a);
	free(ovfname);
	free(mfname);
	return r;
}

int vmc_ova_write(const struct vmc_vm *vm, const char *path,
		  struct vmc_error *err)
{
	struct vmc_output *out = NULL;
	char *desc, *mf = NULL, *ovfname = NULL;
	char *stem = vmc_vm_file_stem(vm->name);
	int fd, r = -1;

	desc = vmc_ovf_write(vm, err);
	if (!desc || !stem || asprintf(&ovfname, "%s.ovf", stem) < 0)
		goto out;
	mf = manifest(vm, ovfname, desc, err);
	out = vmc_output_new();
	if (!mf || !out)
		goto out;
	fd = vmc_output_open(out, path, err);
	if (fd >= 0 && write_tar(vm, stem, fd, path, desc, mf, err) == 0)
		r = vmc_output_commit(out, err);
out:
	vmc_output_free(out);
	free(desc);
	free(mf);
	free(ovfname);
	free(stem);
	return r;
}
