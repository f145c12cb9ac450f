# Bad input and bad usage: one-line errors naming the file, non-zero exits,
# nothing written under the target name.
. "$(dirname "$0")/lib.sh"

check_err 1 "vmconv: $T/missing.img: cannot open: No such file" \
	"$VMCONV" convert -O raw "$T/missing.img" "$T/out.img"
[ ! -e "$T/out.img" ] || fail "output written for a missing input"
check_err 1 "$T/missing.img: cannot open" "$VMCONV" info "$T/missing.img"
check_err 1 "$T/missing.img: cannot open" "$VMCONV" "$T/missing.img" --to raw
mkdir "$T/dir.img"
check_err 1 "not a regular file" "$VMCONV" info -f raw "$T/dir.img"
truncate -s 1M "$T/a.img"
check_err 1 "unknown format 'nosuch'" "$VMCONV" convert -O nosuch "$T/a.img" "$T/b.img"
check_err 1 "unknown option 'bogus'" "$VMCONV" convert -O raw -o bogus=1 "$T/a.img" "$T/b.img"
[ ! -e "$T/b.img" ] || fail "output written despite a bad option"
ls -a "$T" | grep -q vmconv-tmp && fail "temporary file left behind"
check_err 1 "same file" "$VMCONV" convert -O raw "$T/a.img" "$T/a.img"
check_err 1 "not a command" "$VMCONV" "$T/a.img"
check_err 2 "cannot open" "$VMCONV" compare "$T/a.img" "$T/missing.img"
check_err 1 "not a size" "$VMCONV" create -f raw "$T/c.img" 12Q

# compare: 0 same, 1 different with the offset
cp "$T/a.img" "$T/a2.img"
expect_exit 0 "$VMCONV" compare "$T/a.img" "$T/a2.img"
printf 'x' | dd of="$T/a2.img" bs=1 seek=12345 conv=notrunc status=none
"$VMCONV" compare "$T/a.img" "$T/a2.img" > "$T/out"; rc=$?
[ $rc -eq 1 ] || fail "compare of different images exited $rc"
grep -q "offset 12345" "$T/out" || fail "compare does not name the offset"

# help and version
for c in convert info compare check create map formats; do
	expect_exit 0 "$VMCONV" $c --help
done
expect_exit 0 "$VMCONV" --help
"$VMCONV" --version | grep -q '^vmconv [0-9]' || fail "--version"
exit 0
