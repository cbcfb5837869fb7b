# The driver binary: static, small, self-contained (runs in an empty
# chroot), and `init` copies it into the storage volume.
. "$(dirname "$0")/lib.sh"
check "file(1) says statically linked" grep -q 'statically linked' <<<"$(file "$DRIVER")"
size=$(stat -c %s "$DRIVER")
check "at most 1 MiB ($size bytes)" [ "$size" -le 1048576 ]
"$DRIVER" --command init --replication x --storage-dir "$T/storage" 2>"$T/init.log"
eq "init exits 0" 0 $?
check "init copied the binary" cmp -s "$DRIVER" "$T/storage/airbyte-replication-driver"
eq "with mode 0755" 755 "$(stat -c %a "$T/storage/airbyte-replication-driver")"
mkdir -p "$T/root"
cp "$DRIVER" "$T/root/driver"
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	out=$(chroot "$T/root" /driver --version 2>&1)
	check "runs in an empty chroot: $out" grep -q '^airbyte-replication-driver ' <<<"$out"
	chroot "$T/root" /driver init --storage-dir /storage 2>/dev/null
	check "init works inside the empty chroot" cmp -s "$DRIVER" "$T/root/storage/airbyte-replication-driver"
else
	echo "# skipped the chroot checks: needs root"
fi
done_testing
