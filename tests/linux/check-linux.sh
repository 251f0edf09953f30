#!/usr/bin/env bash
# check-linux.sh [BUILD]: the long Linux boot checks (make check-linux).
#
# Boots Debian's cloud kernel (fetched by fetch-kernel.sh into BUILD/linux)
# as far as its first console lines -- the banner ("Linux version"), the
# echo of the command line we passed, and the e820 map we built -- in:
#   kzhost/bzimage  the bzImage through the 64-bit boot protocol; the
#                   kernel's own decompressor runs in the guest, which on a
#                   host whose KVM emulates guest code (DESIGN.md) takes
#                   about a minute (LZ4 of a 53 MB kernel at ~1M guest
#                   instructions/s), against ~10 s for the PVH entry
#   kzhost/pvh      the ELF vmlinux through its Xen PVH entry point
#   qemu/pvh        the same vmlinux in QEMU microvm, for comparison (only
#                   when qemu-system-x86_64 is installed; skipped otherwise)
# Each prints PASS/FAIL with the time from process start to each line; a
# failure shows the VMM's error line and the last console output.  Ends
# with "N passed, N failed"; exit status 0 only if nothing failed.
#
# Bounds: KZ_LINUX_TIMEOUT seconds for the bzImage (default 2400), 300
# for the PVH boots.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
kdir="$top/$build/linux"
kzhost="$top/$build/bin/kzhost"
bz_timeout=${KZ_LINUX_TIMEOUT:-2400}
pvh_timeout=300
pass=0
fail=0
skip=0
failed=()

log=$(mktemp -d "${TMPDIR:-/tmp}/kz-linux.XXXXXX")
vm_pid=
cleanup() {
	if [ -n "$vm_pid" ]; then
		kill "$vm_pid" 2>/dev/null
		sleep 1
		kill -9 "$vm_pid" 2>/dev/null
		wait "$vm_pid" 2>/dev/null
	fi
	rm -rf "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$top/tests/linux/fetch-kernel.sh" "$kdir"; then
	echo "FAIL fetch-kernel: cannot fetch the Linux kernel into $kdir"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$kzhost" ]; then
	echo "FAIL: no program $kzhost (make $build/bin/kzhost)"
	echo "0 passed, 1 failed"
	exit 1
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%01d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
when() { if [ -n "$1" ]; then echo "$(secs "$1") s"; else echo never; fi; }

# boot NAME TIMEOUT MARKER COMMAND...: start COMMAND with its console on a
# log file, wait for the three lines, then stop it.
boot() {
	local name=$1 limit=$2 marker=$3; shift 3
	local out="$log/$(echo "$name" | tr '/' '_').log"
	local t0 t_ver= t_cmd= t_e820= now why=
	t0=$(now_ms)
	"$@" </dev/null >"$out" 2>&1 &
	vm_pid=$!
	while :; do
		now=$(now_ms)
		[ -z "$t_ver" ] && grep -aq 'Linux version [0-9]' "$out" &&
			t_ver=$((now - t0))
		[ -z "$t_cmd" ] && grep -aq "Command line: .*$marker" "$out" &&
			t_cmd=$((now - t0))
		[ -z "$t_e820" ] && grep -aEq 'BIOS-e820: \[mem .*usable' "$out" &&
			t_e820=$((now - t0))
		if [ -n "$t_ver" ] && [ -n "$t_cmd" ] && [ -n "$t_e820" ]; then
			break
		fi
		if ! kill -0 "$vm_pid" 2>/dev/null; then
			wait "$vm_pid"
			why="the VMM exited (status $?)"
			break
		fi
		if [ $((now - t0)) -ge $((limit * 1000)) ]; then
			why="not all lines within $limit s"
			break
		fi
		sleep 0.2
	done
	now=$(now_ms)
	if kill -0 "$vm_pid" 2>/dev/null; then
		kill "$vm_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$vm_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$vm_pid" 2>/dev/null
	fi
	wait "$vm_pid" 2>/dev/null
	vm_pid=
	local at
	at="banner $(when "$t_ver"), command line $(when "$t_cmd"), e820 $(when "$t_e820")"
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		printf 'PASS %-16s %8s s  (%s)\n' "$name" "$(secs $((now - t0)))" "$at"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-16s %8s s  %s (%s)\n' "$name" "$(secs $((now - t0)))" "$why" "$at"
		# The VMM's own error line, then what the guest said last.
		grep -aE '^(kzhost|qemu-system-x86_64):' "$out" | tail -3 | sed 's/^/    /'
		local tailout
		tailout=$(grep -avE '^(kzhost|qemu-system-x86_64):' "$out" |
			tr -d '\r' | tail -15)
		if [ -n "$tailout" ]; then
			echo "    last console output:"
			sed 's/^/    | /' <<<"$tailout"
		else
			echo "    no console output"
		fi
	fi
}

cmdline() { echo "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 kztest=$1"; }

echo "check-linux: $(basename "$(readlink -f "$kdir/vmlinuz")") in $kdir; bzImage bound $bz_timeout s"

m=bzimage-$$
boot kzhost/bzimage "$bz_timeout" "$m" "$kzhost" --kernel "$kdir/vmlinuz" \
	--memory 256M --cpus 1 --cmdline "$(cmdline $m)"

m=pvh-$$
boot kzhost/pvh "$pvh_timeout" "$m" "$kzhost" --kernel "$kdir/vmlinux" \
	--memory 256M --cpus 1 --cmdline "$(cmdline $m)"

if command -v qemu-system-x86_64 >/dev/null; then
	# -cpu host,-arch-capabilities: QEMU fails setting MSR 0x10a on a
	# host whose KVM emulates guest code (DESIGN.md).
	m=qemu-$$
	boot qemu/pvh "$pvh_timeout" "$m" qemu-system-x86_64 -M microvm \
		-enable-kvm -cpu host,-arch-capabilities -m 256 -smp 1 \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kdir/vmlinux" -append "$(cmdline $m)"
else
	skip=$((skip + 1))
	echo "SKIP qemu/pvh           (qemu-system-x86_64 not installed)"
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
