# Fault injection on conversion: a full target file system (ENOSPC on a
# small tmpfs), read errors on the source (EIO from an LD_PRELOAD shim
# built here), and SIGKILL / SIGINT at each phase (open of the target,
# copy, metadata flush, rename), the process stopped by the shim exactly
# there.  Every case: no file under the target name, no temporary file
# after the next run in that folder, and the source byte-identical.
# run-tests: timeout=900
. "$(dirname "$0")/lib.sh"
requires cc qemu-img sha256sum mount
[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"

cd "$T" || fail cd
# 24 MiB of data that does not compress to nothing
python3 -c "
import os, random
random.seed(7)
with open('src.raw', 'wb') as f:
    for i in range(24 * 16):
        f.write(bytes([random.randrange(256)]) * 65536)
" || fail "source"
qemu-img convert -f raw -O qcow2 src.raw src.qcow2 || fail "qcow2 source"
sum_raw=$(sha256sum < src.raw)
sum_q=$(sha256sum < src.qcow2)
same_sources() {
	[ "$(sha256sum < src.raw)" = "$sum_raw" ] || fail "src.raw changed"
	[ "$(sha256sum < src.qcow2)" = "$sum_q" ] || fail "src.qcow2 changed"
}
no_leftovers() {	# DIR NAME: nothing under NAME, no temporary after
	# the next run in DIR
	[ ! -e "$1/$2" ] || fail "$1/$2 exists after a failed conversion"
	qemu-img create -q -f raw tiny.raw 64k
	"$VMCONV" convert -O raw tiny.raw "$1/next.raw" >/dev/null 2>&1
	rm -f "$1/next.raw"
	ls -a "$1" | grep -q vmconv-tmp && fail "temporary left in $1"
	return 0
}

# ---- ENOSPC: a 4 MiB tmpfs ----
mkdir full
mount -t tmpfs -o size=4m tmpfs full || skip "cannot mount a tmpfs here"
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
for fmt in raw qcow2 vmdk vhdx; do
	for src in src.raw src.qcow2; do
		echo "+ ENOSPC: $src -> $fmt"
		"$VMCONV" convert -O "$fmt" "$src" "full/out.$fmt" > e.log 2>&1
		rc=$?; cat e.log
		[ "$rc" -eq 1 ] || fail "ENOSPC $src -> $fmt: exit $rc"
		grep -q "No space left" e.log || fail "ENOSPC not named"
		rm -f full/tiny.raw
		no_leftovers full "out.$fmt"
	done
done
umount full

# ---- the shim: EIO on reads, or a stop at a phase ----
cat > shim.c <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int hits;

/* FAULT_EIO=path: reads of that file fail after FAULT_AFTER of them */
static int eio(int fd)
{
	const char *want = getenv("FAULT_EIO");
	char link[64], p[PATH_MAX];
	ssize_t n;

	if (!want)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, p, sizeof(p) - 1);
	if (n < 0)
		return 0;
	p[n] = 0;
	if (strcmp(p, want))
		return 0;
	return ++hits > atoi(getenv("FAULT_AFTER") ? getenv("FAULT_AFTER")
						  : "0");
}

/* FAULT_STOP=phase: stop (SIGSTOP) the first time that phase starts */
static void stop_at(const char *phase)
{
	const char *want = getenv("FAULT_STOP");
	static int done;

	if (want && !done && !strcmp(want, phase)) {
		done = 1;
		raise(SIGSTOP);
	}
}

ssize_t pread64(int fd, void *b, size_t n, off_t o)
{
	static ssize_t (*real)(int, void *, size_t, off_t);

	if (!real)
		real = dlsym(RTLD_NEXT, "pread64");
	if (eio(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd, b, n, o);
}

ssize_t pread(int fd, void *b, size_t n, off_t o)
{
	return pread64(fd, b, n, o);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t o)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (!real)
		real = dlsym(RTLD_NEXT, "pwrite64");
	stop_at("copy");
	return real(fd, b, n, o);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t o)
{
	return pwrite64(fd, b, n, o);
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = dlsym(RTLD_NEXT, "fsync");
	stop_at("flush");
	return real(fd);
}

int rename(const char *a, const char *b)
{
	static int (*real)(const char *, const char *);

	if (!real)
		real = dlsym(RTLD_NEXT, "rename");
	stop_at("rename");
	return real(a, b);
}

int open64(const char *p, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	va_list ap;
	mode_t m = 0;

	if (!real)
		real = dlsym(RTLD_NEXT, "open64");
	va_start(ap, flags);
	if (flags & O_CREAT)
		m = va_arg(ap, mode_t);
	va_end(ap);
	if (flags & O_CREAT)
		stop_at("open");
	return real(p, flags, m);
}

int open(const char *p, int flags, ...)
{
	va_list ap;
	mode_t m = 0;

	va_start(ap, flags);
	if (flags & O_CREAT)
		m = va_arg(ap, mode_t);
	va_end(ap);
	return open64(p, flags, m);
}
EOF
cc -shared -fPIC -O1 -o shim.so shim.c -ldl || fail "shim"

# ---- EIO on the source, at once and half-way ----
mkdir outd
for src in src.raw src.qcow2; do
	for after in 0 3; do
		echo "+ EIO: $src after $after reads"
		FAULT_EIO="$T/$src" FAULT_AFTER=$after LD_PRELOAD="$(preload "$T/shim.so")" \
			"$VMCONV" convert -O qcow2 "$src" outd/out.qcow2 \
			> e.log 2>&1
		rc=$?; cat e.log
		[ "$rc" -eq 1 ] || fail "EIO $src: exit $rc"
		grep -q "Input/output error" e.log || fail "EIO not named"
		grep -q "$src" e.log || fail "EIO: the source is not named"
		no_leftovers outd out.qcow2
	done
done
same_sources

# ---- SIGKILL and SIGINT at each phase ----
for phase in open copy flush rename; do
	for sig in KILL INT; do
		echo "+ SIG$sig at $phase"
		FAULT_STOP=$phase LD_PRELOAD="$(preload "$T/shim.so")" \
			"$VMCONV" convert -O qcow2 src.raw outd/out.qcow2 \
			> e.log 2>&1 &
		pid=$!
		for i in $(seq 1 600); do
			st=$(ps -o stat= -p $pid 2>/dev/null)
			case $st in T*) break;; "") break;; esac
			sleep 0.05
		done
		case $st in T*) ;; *) wait $pid; cat e.log
			fail "never stopped at $phase";; esac
		kill -$sig $pid
		kill -CONT $pid 2>/dev/null
		wait $pid; rc=$?
		echo "exit $rc"; cat e.log
		[ "$rc" -ne 0 ] || fail "SIG$sig at $phase: exit 0"
		if [ $sig = INT ]; then
			ls -a outd | grep -q vmconv-tmp &&
				fail "SIGINT at $phase left a temporary"
		fi
		no_leftovers outd out.qcow2
		same_sources
	done
done
echo "all faults: no target, no temporary after the next run, sources intact"
