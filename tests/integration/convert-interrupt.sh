# Killing a conversion never leaves a file under the target name; a killed
# run's temporary file is removed by the next run in that folder.
. "$(dirname "$0")/lib.sh"

src=$T/src.raw
# 2 GiB of non-zero data, so that a conversion takes a while
head -c 2G /dev/zero | tr '\0' 'x' > "$src"

for sig in INT TERM KILL; do
	dst=$T/out-$sig.raw
	"$VMCONV" convert -O raw "$src" "$dst" &
	pid=$!
	# wait for the temporary file, then kill
	for i in $(seq 1 500); do
		ls -a "$T" | grep -q "out-$sig.raw.vmconv-tmp" && break
		sleep 0.01
	done
	kill -$sig $pid 2>/dev/null || fail "conversion ended before SIG$sig could be sent"
	wait $pid; rc=$?
	echo "SIG$sig: exit $rc"
	[ $rc -ne 0 ] || fail "killed conversion exited 0"
	[ ! -e "$dst" ] || fail "SIG$sig left $dst"
	if [ $sig != KILL ]; then
		ls -a "$T" | grep -q "vmconv-tmp" && fail "SIG$sig left a temporary file"
	fi
done
ls -a "$T" | grep -q "out-KILL.raw.vmconv-tmp" || fail "expected SIGKILL's temporary file"
# the next run in the folder cleans it up
truncate -s 1M "$T/small.raw"
run "$VMCONV" convert -O raw "$T/small.raw" "$T/small2.raw" || fail convert
ls -a "$T" | grep -q "vmconv-tmp" && fail "stale temporary file not removed"
# the source was never changed
[ "$(head -c 2G /dev/zero | tr '\0' 'x' | cmp - "$src" && echo same)" = same ] || fail "source changed"
exit 0
