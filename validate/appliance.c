/* The nested engine's hypervisor appliance: a Linux kernel with its KVM
 * and virtio modules, busybox, and this vmconv with its shared libraries,
 * in an initramfs built once and kept in the cache (the way supermin
 * builds libguestfs's appliance from the host's own files).
 *
 * The kernel and modules are the host's (/boot/vmlinuz-V and
 * /lib/modules/V, the newest readable pair); where there are none, the
 * linux-image package is fetched with `apt-get download` and unpacked
 * with `dpkg-deb -x` into the cache, never installed into /boot.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "validate/cache.h"
#include "validate/process.h"
#include "validate/qemu.h"
#include "validate/appliance.h"

#define BUSYBOX "/bin/busybox"
#define SEABIOS "/usr/share/seabios/bios.bin"
#define MAX_FILE (256u << 20)	/* nothing in the appliance is bigger */

/* Modules the appliance loads, in the order given (each after the ones
 * it depends on, which are added from modules.dep). */
static const char *const wanted[] = {
	"kernel/arch/x86/kvm/kvm-amd.ko",
	"kernel/arch/x86/kvm/kvm-intel.ko",
	"kernel/drivers/virtio/virtio_pci.ko",
	"kernel/drivers/block/virtio_blk.ko",
	"kernel/net/9p/9pnet_virtio.ko",
	"kernel/fs/9p/9p.ko",
	"kernel/drivers/char/virtio_console.ko",
};

static const char init_script[] =
"#!/bin/busybox sh\n"
"/bin/busybox --install -s /bin\n"
"export PATH=/bin\n"
"mount -t proc proc /proc\n"
"mount -t sysfs sys /sys\n"
"mount -t devtmpfs dev /dev\n"
"while read m; do insmod /lib/modules/$m 2>/dev/null; done </modules\n"
"mkdir -p /img\n"
"mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose vmcimg /img ||\n"
"	echo 'vmconv-appliance: cannot mount the image folder (9p)'\n"
"port() {	# the named ports come from QEMU shortly after insmod\n"
"	for i in $(seq 600); do\n"
"		for p in /sys/class/virtio-ports/*; do\n"
"			[ \"$(cat $p/name 2>/dev/null)\" = \"$1\" ] &&\n"
"				[ -c /dev/${p##*/} ] && echo /dev/${p##*/} && return\n"
"		done\n"
"		sleep 0.1\n"
"	done\n"
"	echo \"vmconv-appliance: no virtio port $1 (virtio_console)\" >&2\n"
"	echo /dev/null\n"
"}\n"
"con=$(port vmc.console) rep=$(port vmc.report) fw=$(port vmc.firmware)\n"
"[ -c /dev/kvm ] || echo 'vmconv-appliance: no /dev/kvm (kvm_amd or kvm_intel did not load)'\n"
"echo VMCONV-START | tee $rep\n"
"/vmconv validate --request=/run/request.json --output=json \\\n"
"	--console-log=$con --firmware-log=$fw >/run/report.json\n"
"rc=$?\n"
"echo VMCONV-RC=$rc\n"
"{ cat /run/report.json; echo; echo VMCONV-RC=$rc; echo VMCONV-END; } >$rep\n"
"poweroff -f\n";

/* ---- finding the kernel ---- */

static bool readable(const char *p)
{
	return access(p, R_OK) == 0;
}

static int kver_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The newest V with boot/vmlinuz-V and lib/modules/V/modules.dep under
 * root ("" for the host). */
static bool find_kernel(const char *root, char *kver, size_t klen,
			char *kernel, size_t len, char *moddir, size_t mlen)
{
	char dir[PATH_MAX], *names[256];
	struct dirent *de;
	size_t n = 0;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/boot", root);
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d)) && n < 256)
		if (!strncmp(de->d_name, "vmlinuz-", 8))
			names[n++] = strdup(de->d_name + 8);
	closedir(d);
	qsort(names, n, sizeof(names[0]), kver_cmp);
	for (size_t i = n; i-- > 0 && !found;) {
		static const char *const mods[] = { "lib", "usr/lib" };

		if (!names[i])
			continue;
		snprintf(kernel, len, "%s/boot/vmlinuz-%s", root, names[i]);
		if (!readable(kernel))
			continue;
		for (int m = 0; m < 2 && !found; m++) {
			char dep[PATH_MAX + 32];

			snprintf(moddir, mlen, "%s/%s/modules/%s", root,
				 mods[m], names[i]);
			snprintf(dep, sizeof(dep), "%s/modules.dep", moddir);
			if (readable(dep)) {
				snprintf(kver, klen, "%s", names[i]);
				found = true;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return found;
}

/* Unpack the distribution's kernel package into <cache>/kernel. */
static int download_kernel(const char *cache, struct vmc_error *err)
{
	static const char script[] =
		"set -e\n"
		"mkdir -p \"$1/kernel.tmp\" && cd \"$1/kernel.tmp\"\n"
		"pkg=$(apt-cache depends linux-image-amd64 |"
		" sed -n 's/.*Depends: \\(linux-image-[0-9][^ ]*\\).*/\\1/p'"
		" | head -n 1)\n"
		"[ -n \"$pkg\" ] || { echo 'apt-cache knows no linux-image"
		" package for linux-image-amd64' >&2; exit 1; }\n"
		"apt-get download \"$pkg\" >/dev/null\n"
		"dpkg-deb -x ./*.deb root\n"
		"rm -f ./*.deb\n"
		/* the package has no modules.dep: depmod writes it at install */
		"for m in root/lib/modules/* root/usr/lib/modules/*; do\n"
		"	[ -d \"$m/kernel\" ] || continue\n"
		"	depmod -b \"${m%/lib/modules/*}\" \"${m##*/}\"\n"
		"done\n"
		"rm -rf \"$1/kernel\" && mv \"$1/kernel.tmp\" \"$1/kernel\"\n";
	char *argv[] = { "sh", "-c", (char *)script, "sh", (char *)cache,
			 NULL };

	if (vmc_proc_run(argv, err) < 0) {
		vmc_error_prefix(err, "fetching a kernel for the appliance"
				 " (apt-get download linux-image-amd64)");
		return -1;
	}
	return 0;
}

/* ---- the module list ---- */

struct modlist {
	char *path[64];		/* relative to the module folder */
	size_t n;
};

static void modlist_add(struct modlist *l, const char *p, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->path[i]) == len && !strncmp(l->path[i], p, len))
			return;
	if (l->n < 64)
		l->path[l->n++] = strndup(p, len);
}

/* modules.dep: "a.ko: b.ko c.ko" with every dependency of a, the ones
 * to load last first. */
static int modlist_build(struct modlist *l, const char *moddir,
			 struct vmc_error *err)
{
	char path[PATH_MAX + 32], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/modules.dep", moddir);
	f = fopen(path, "r");
	if (!f)
		return vmc_error_errno(err, errno, "%s", path);
	for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]); w++) {
		size_t wl = strlen(wanted[w]);

		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			char *deps[32], *s, *save = NULL;
			size_t nd = 0;

			/* also .ko.xz / .ko.zst */
			if (strncmp(line, wanted[w], wl) ||
			    !strchr(line, ':'))
				continue;
			s = strchr(line, ':');
			*s++ = 0;
			for (char *t = strtok_r(s, " \n", &save); t && nd < 32;
			     t = strtok_r(NULL, " \n", &save))
				deps[nd++] = t;
			while (nd-- > 0)
				modlist_add(l, deps[nd], strlen(deps[nd]));
			modlist_add(l, line, strlen(line));
			break;
		}
	}
	fclose(f);
	if (!l->n)
		return vmc_error_set(err, ENOENT, "%s: no kvm or virtio"
				     " modules listed", path);
	return 0;
}

static void modlist_free(struct modlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
}

/* ---- writing the cpio ---- */

struct cpio {
	struct archive *a;
	const char *path;
	unsigned ino;
};

static int cpio_err(struct cpio *c, struct vmc_error *err)
{
	return vmc_error_set(err, EIO, "%s: %s", c->path,
			     archive_error_string(c->a));
}

static int cpio_add(struct cpio *c, const char *name, mode_t mode,
		    const void *data, size_t len, struct vmc_error *err)
{
	struct archive_entry *e = archive_entry_new();
	int ret = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, mode);
	archive_entry_set_ino(e, ++c->ino);
	archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
	archive_entry_set_size(e, S_ISREG(mode) ? (la_int64_t)len : 0);
	if (S_ISLNK(mode))
		archive_entry_set_symlink(e, data);
	if (archive_write_header(c->a, e) != ARCHIVE_OK)
		ret = cpio_err(c, err);
	else if (S_ISREG(mode) && len &&
		 archive_write_data(c->a, data, len) != (la_ssize_t)len)
		ret = cpio_err(c, err);
	archive_entry_free(e);
	return ret;
}

/* Read a whole file; compressed kernel modules are uncompressed (busybox
 * insmod loads only plain ELF). */
static int slurp(const char *path, void **data, size_t *len,
		 struct vmc_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 1 << 20, n = 0;
	char *buf = NULL;
	int ret = -1;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		vmc_error_set(err, EIO, "%s: %s", path,
			      archive_error_string(a));
		goto out;
	}
	buf = malloc(cap);
	for (;;) {
		la_ssize_t k;

		if (!buf) {
			vmc_error_set(err, ENOMEM, "%s: out of memory", path);
			goto out;
		}
		k = archive_read_data(a, buf + n, cap - n);
		if (k < 0) {
			vmc_error_set(err, EIO, "%s: %s", path,
				      archive_error_string(a));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == cap) {
			char *nb;

			if (cap >= MAX_FILE) {
				vmc_error_set(err, EFBIG, "%s: larger than"
					      " %u MiB", path, MAX_FILE >> 20);
				goto out;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	*data = buf;
	*len = n;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	archive_read_free(a);
	return ret;
}

static int cpio_file(struct cpio *c, const char *name, const char *src,
		     mode_t mode, struct vmc_error *err)
{
	void *data;
	size_t len;
	int ret;

	if (slurp(src, &data, &len, err) < 0)
		return -1;
	ret = cpio_add(c, name, S_IFREG | mode, data, len, err);
	free(data);
	return ret;
}

/* Every directory above name, once. */
static int cpio_dirs(struct cpio *c, const char *name, char (*seen)[256],
		     size_t *nseen, struct vmc_error *err)
{
	char d[256];

	for (const char *p = strchr(name + 1, '/'); p; p = strchr(p + 1, '/')) {
		size_t n = (size_t)(p - name), i;

		if (n >= sizeof(d))
			break;
		memcpy(d, name, n);
		d[n] = 0;
		for (i = 0; i < *nseen && strcmp(seen[i], d); i++)
			;
		if (i < *nseen)
			continue;
		if (*nseen < 64)
			memcpy(seen[(*nseen)++], d, n + 1);
		if (cpio_add(c, d, S_IFDIR | 0755, NULL, 0, err) < 0)
			return -1;
	}
	return 0;
}

/* The shared libraries of exe, as ldd lists them: "name => /path (addr)"
 * and the loader "/lib64/ld-linux-x86-64.so.2 (addr)". */
static int add_libraries(struct cpio *c, const char *exe, char (*seen)[256],
			 size_t *nseen, struct vmc_error *err)
{
	char cmd[PATH_MAX + 16], line[1024];
	FILE *f;
	int ret = 0, n = 0;

	snprintf(cmd, sizeof(cmd), "ldd '%s'", exe);
	f = popen(cmd, "r");
	if (!f)
		return vmc_error_errno(err, errno, "ldd %s", exe);
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "=> "), *e;

		p = p ? p + 3 : line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '/')
			continue;
		e = strchr(p, ' ');
		if (e)
			*e = 0;
		p[strcspn(p, "\n")] = 0;
		if (cpio_dirs(c, p + 1, seen, nseen, err) < 0 ||
		    cpio_file(c, p + 1, p, 0755, err) < 0)
			ret = -1;
		n++;
	}
	if (pclose(f) != 0 && ret == 0 && n == 0)
		ret = vmc_error_set(err, EIO, "ldd %s failed", exe);
	return ret;
}

/* OVMF for UEFI guests, at the paths where the host has it (where the
 * inner vmconv looks, validate/ovmf.c); none on the host, none inside. */
static int add_ovmf(struct cpio *c, char (*seen)[256], size_t *nseen,
		    struct vmc_error *err)
{
	struct vmc_error e2 = { 0 };
	struct vmc_ovmf f;

	if (vmc_ovmf_find(&f, &e2) < 0 || f.code[0] != '/' ||
	    (f.vars[0] && f.vars[0] != '/'))
		return 0;
	if (cpio_dirs(c, f.code + 1, seen, nseen, err) < 0 ||
	    cpio_file(c, f.code + 1, f.code, 0644, err) < 0)
		return -1;
	if (f.vars[0] && (cpio_dirs(c, f.vars + 1, seen, nseen, err) < 0 ||
			  cpio_file(c, f.vars + 1, f.vars, 0644, err) < 0))
		return -1;
	return 0;
}

static int build_initrd(const char *out, const char *moddir,
			struct vmc_error *err)
{
	char exe[PATH_MAX], src[PATH_MAX * 2], name[PATH_MAX], order[8192];
	char seen[64][256];
	size_t nseen = 0, olen = 0;
	struct modlist ml = { 0 };
	struct cpio c = { 0 };
	ssize_t n;
	int ret = -1;
	static const char *const dirs[] = {
		"bin", "dev", "proc", "sys", "tmp", "run", "lib",
		"lib/modules", "usr", "usr/share", "usr/share/seabios",
	};

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return vmc_error_errno(err, errno, "/proc/self/exe");
	exe[n] = 0;
	if (!readable(BUSYBOX))
		return vmc_error_set(err, ENOENT, BUSYBOX ": not found"
				     " (install busybox-static)");
	if (modlist_build(&ml, moddir, err) < 0)
		return -1;

	c.path = out;
	c.a = archive_write_new();
	archive_write_set_format_cpio_newc(c.a);
	if (archive_write_open_filename(c.a, out) != ARCHIVE_OK) {
		cpio_err(&c, err);
		goto out;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (cpio_add(&c, dirs[i], S_IFDIR | 0755, NULL, 0, err) < 0)
			goto out;
		if (nseen < 64)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s",
				 dirs[i]);
	}
	if (cpio_add(&c, "init", S_IFREG | 0755, init_script,
		     sizeof(init_script) - 1, err) < 0 ||
	    cpio_file(&c, "bin/busybox", BUSYBOX, 0755, err) < 0 ||
	    cpio_file(&c, "vmconv", exe, 0755, err) < 0 ||
	    add_libraries(&c, exe, seen, &nseen, err) < 0)
		goto out;
	if (readable(SEABIOS) &&
	    cpio_file(&c, "usr/share/seabios/bios.bin", SEABIOS, 0644,
		      err) < 0)
		goto out;
	if (add_ovmf(&c, seen, &nseen, err) < 0)
		goto out;
	for (size_t i = 0; i < ml.n; i++) {
		const char *b = strrchr(ml.path[i], '/');
		char *dot;

		b = b ? b + 1 : ml.path[i];
		snprintf(src, sizeof(src), "%s/%s", moddir, ml.path[i]);
		snprintf(name, sizeof(name), "lib/modules/%s", b);
		/* stored uncompressed: a.ko.xz becomes a.ko */
		dot = strstr(name, ".ko");
		if (dot)
			dot[3] = 0;
		if (cpio_file(&c, name, src, 0644, err) < 0)
			goto out;
		olen += (size_t)snprintf(order + olen, sizeof(order) - olen,
					 "%s\n", name + strlen("lib/modules/"));
		if (olen >= sizeof(order)) {
			vmc_error_set(err, E2BIG, "too many modules");
			goto out;
		}
	}
	if (cpio_add(&c, "modules", S_IFREG | 0644, order, olen, err) < 0)
		goto out;
	if (archive_write_close(c.a) != ARCHIVE_OK) {
		cpio_err(&c, err);
		goto out;
	}
	ret = 0;
out:
	archive_write_free(c.a);
	modlist_free(&ml);
	return ret;
}

/* Changes whenever vmconv or the kernel does. */
static unsigned long long appliance_key(const char *kver,
					const char *kernel)
{
	unsigned long long h = 1469598103934665603ULL;
	struct stat st;
	char buf[PATH_MAX + 128];
	int n;

	n = snprintf(buf, sizeof(buf), "%s|%s|", kver, kernel);
	if (stat("/proc/self/exe", &st) == 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "%lld|%lld|%llu", (long long)st.st_size,
			      (long long)st.st_mtime,
			      (unsigned long long)st.st_ino);
	for (int i = 0; i < n && i < (int)sizeof(buf); i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Appliances of other vmconv builds, unused for an hour, go: each is tens
 * of MiB. */
static void prune(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[PATH_MAX + 512];
		struct stat st;

		if (strncmp(de->d_name, "initrd-", 7))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (strcmp(p, keep) && stat(p, &st) == 0 &&
		    st.st_atime < now - 3600 && st.st_mtime < now - 3600)
			unlink(p);
	}
	closedir(d);
}

int vmc_appliance_get(struct vmc_appliance *a, struct vmc_error *err)
{
	char cache[PATH_MAX], moddir[PATH_MAX], dir[PATH_MAX + 64];
	char tmp[sizeof(a->initrd) + 32], kdir[PATH_MAX + 16];
	const char *force = getenv("VMCONV_APPLIANCE_DOWNLOAD");
	bool host;

	memset(a, 0, sizeof(*a));
	if (vmc_cache_dir(cache, sizeof(cache), err) < 0)
		return -1;
	snprintf(kdir, sizeof(kdir), "%s/kernel/root", cache);
	host = !(force && *force == '1') &&
	       find_kernel("", a->kver, sizeof(a->kver), a->kernel,
			   sizeof(a->kernel), moddir, sizeof(moddir));
	if (!host && !find_kernel(kdir, a->kver, sizeof(a->kver), a->kernel,
				  sizeof(a->kernel), moddir,
				  sizeof(moddir))) {
		if (download_kernel(cache, err) < 0)
			return -1;
		if (!find_kernel(kdir, a->kver, sizeof(a->kver), a->kernel,
				 sizeof(a->kernel), moddir, sizeof(moddir)))
			return vmc_error_set(err, ENOENT, "%s: the unpacked"
					     " kernel package has no"
					     " boot/vmlinuz-* with modules",
					     kdir);
	}
	snprintf(dir, sizeof(dir), "%s/appliance", cache);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vmc_error_errno(err, errno, "%s", dir);
	snprintf(a->initrd, sizeof(a->initrd), "%s/initrd-%016llx.cpio", dir,
		 appliance_key(a->kver, a->kernel));
	if (readable(a->initrd))
		return 0;
	/* built beside its name and renamed: runs in parallel share it */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", a->initrd, (int)getpid());
	if (build_initrd(tmp, moddir, err) < 0) {
		unlink(tmp);
		vmc_error_prefix(err, "building the appliance");
		return -1;
	}
	if (rename(tmp, a->initrd) < 0) {
		vmc_error_errno(err, errno, "%s", a->initrd);
		unlink(tmp);
		return -1;
	}
	a->built = true;
	prune(dir, a->initrd);
	return 0;
}
