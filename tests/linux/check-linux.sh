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
#   zone/kaslr      a zone (temporary KZ_ROOT) installed with the bzImage
#                   and the kernel's System.map, booted with zoneadm; the
#                   decompressor picks a KASLR slide.  Once the banner is on
#                   the zone's console: gdb's qOffsets (zoneadm gdb) must
#                   give a slide that is a multiple of 2 MiB below 1 GiB,
#                   gdb must read "Linux version" at linux_banner (from the
#                   System.map) plus that slide, and kzdb must print the
#                   same slide in ::status and the banner for linux_banner/s
#                   (skipped when gdb is not installed)
# Each prints PASS/FAIL with the time from process start to each line; a
# failure shows the VMM's error line and the last console output.  Ends
# with "N passed, N failed"; exit status 0 only if nothing failed.
#
# Bounds: KZ_LINUX_TIMEOUT seconds for the bzImage (default 2400; the zone
# boots the bzImage too), 300 for the PVH boots.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
kdir="$top/$build/linux"
bin="$top/$build/bin"
kzhost="$bin/kzhost"
bz_timeout=${KZ_LINUX_TIMEOUT:-2400}
pvh_timeout=300
pass=0
fail=0
skip=0
failed=()

log=$(mktemp -d "${TMPDIR:-/tmp}/kz-linux.XXXXXX")
vm_pid=
zroot=
cleanup() {
	if [ -n "$vm_pid" ]; then
		kill "$vm_pid" 2>/dev/null
		sleep 1
		kill -9 "$vm_pid" 2>/dev/null
		wait "$vm_pid" 2>/dev/null
	fi
	[ -n "$zroot" ] && zone_down
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

# ---- zone/kaslr ----
zone=kaslr

# zrun COMMAND...: run a command of the zone root $zroot, bounded, with its
# output on stdout.
zrun() { KZ_ROOT=$zroot timeout 180 "$@" </dev/null 2>&1; }

# ours PID: PID is still a kzhost of the zone root (its command line names
# $zroot), not some other process that got the number since.
ours() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "-R $zroot "
}

# The zone's kzhost processes (the supervisor and the VM), by their pid
# files.
zone_pids() {
	local pf pid
	for pf in "$zroot"/run/*/supervisor.pid "$zroot"/run/*/kzhost.pid; do
		[ -s "$pf" ] || continue
		pid=$(cat "$pf")
		ours "$pid" && echo "$pid"
	done
}

# zone_down: halt the zone, make sure its processes are gone and remove
# the zone root; safe to call at any point, and again.
zone_down() {
	[ -n "$zroot" ] || return 0
	local pids pid
	pids=$(zone_pids)
	if [ -n "$pids" ]; then
		KZ_ROOT=$zroot timeout 60 "$bin/zoneadm" -z "$zone" halt \
			</dev/null >/dev/null 2>&1
		for _ in $(seq 50); do
			for pid in $pids; do
				ours "$pid" && break
				pid=
			done
			[ -z "$pid" ] && break
			sleep 0.2
		done
		for pid in $pids; do
			ours "$pid" && kill -9 "$pid" 2>/dev/null
		done
	fi
	rm -rf "$zroot"
	zroot=
}

# kaslr_check TIMEOUT: the zone/kaslr check (see the top).  Sets why and
# detail on failure, slide (hex) and t_ver (ms from t0) as found.
kaslr_check() {
	local limit=$1 out con banner addr n kslide
	out=$(zrun "$bin/zonecfg" -z "$zone" "create; select virtual-cpu ncpus=4; \
set ncpus=1; end; set bootargs=\"$(cmdline "kaslr-$$")\"; \
select capped-memory physical=4G; set physical=256M; end") ||
		{ why="zonecfg failed"; detail=$out; return; }
	out=$(zrun "$bin/zoneadm" -z "$zone" install -k "$kdir/vmlinuz") ||
		{ why="zoneadm install failed"; detail=$out; return; }
	cp "$kdir/System.map" "$zroot/zones/$zone/boot/System.map" ||
		{ why="cannot copy the System.map into the zone"; return; }
	out=$(zrun "$bin/zoneadm" -z "$zone" boot) ||
		{ why="zoneadm boot failed"; detail=$out; return; }

	con="$zroot/log/$zone.console"
	while :; do
		now=$(now_ms)
		if grep -aq 'Linux version [0-9]' "$con" 2>/dev/null; then
			t_ver=$((now - t0))
			break
		fi
		if [ -z "$(zone_pids)" ]; then
			why="the zone's kzhost exited before the banner"
			return
		fi
		if [ $((now - t0)) -ge $((limit * 1000)) ]; then
			why="no banner within $limit s"
			return
		fi
		sleep 0.5
	done

	out=$(zrun gdb -nx -batch -ex "target remote | $bin/zoneadm -z $zone gdb" \
		-ex 'maint packet qOffsets' -ex detach)
	slide=$(sed -n 's/^received: "Text=\([0-9a-fA-F]\{1,16\}\);.*/\1/p' <<<"$out")
	if [ -z "$slide" ]; then
		why="gdb got no Text= from qOffsets"; detail=$out; return
	fi
	n=$((16#$slide))
	if [ $((n % 0x200000)) -ne 0 ] || [ "$n" -lt 0 ] || [ "$n" -ge $((1 << 30)) ]; then
		why="qOffsets slide 0x$slide is not a multiple of 2 MiB below 1 GiB"
		detail=$out; return
	fi
	banner=$(awk '$3 == "linux_banner" { print $1; exit }' "$kdir/System.map")
	[ -n "$banner" ] || { why="no linux_banner in $kdir/System.map"; return; }
	addr=$(printf '0x%x' $((16#$banner + n)))
	out=$(zrun gdb -nx -batch -ex "target remote | $bin/zoneadm -z $zone gdb" \
		-ex "x/s $addr" -ex detach)
	grep -Eq "^$addr:[[:space:]]+\"Linux version " <<<"$out" || {
		why="gdb x/s at linux_banner + slide ($addr) is not the banner"
		detail=$out; return
	}

	out=$(zrun "$bin/kzdb" -z "$zone" -e '::status; linux_banner/s') || {
		why="kzdb -e failed"; detail=$out; return
	}
	kslide=$(sed -n 's/^kernel slide (KASLR): 0x\([0-9a-fA-F]*\)$/\1/p' <<<"$out")
	if [ "$n" -ne 0 ] && [ -z "$kslide" ]; then
		why="kzdb ::status shows no slide (qOffsets 0x$slide)"
		detail=$out; return
	fi
	if [ $((16#${kslide:-0})) -ne "$n" ]; then
		why="kzdb ::status slide 0x${kslide:-0} differs from qOffsets 0x$slide"
		detail=$out; return
	fi
	grep -Eq '^linux_banner:[[:space:]]+Linux version ' <<<"$out" || {
		why="kzdb linux_banner/s is not the banner"; detail=$out; return
	}
	# The kernel's own log, from its printk ringbuffer: the lines the
	# console showed, with their time stamps.
	out=$(zrun "$bin/kzdb" -z "$zone" -e '::msgbuf') || {
		why="kzdb ::msgbuf failed"; detail=$out; return
	}
	grep -Eq '^\[ *[0-9]+\.[0-9]{6}\] Linux version ' <<<"$out" &&
	grep -Eq "^\\[ *[0-9]+\\.[0-9]{6}\\] Command line: .*kztest=" <<<"$out" || {
		why="kzdb ::msgbuf lacks the banner or the command line"
		detail=$(head -20 <<<"$out"); return
	}
	out=$(zrun "$bin/zoneadm" -z "$zone" halt) ||
		{ why="zoneadm halt failed"; detail=$out; return; }
}

kaslr() {
	local name=zone/kaslr t0 t_ver= now why= detail= slide=
	t0=$(now_ms)
	zroot=$(mktemp -d "${TMPDIR:-/tmp}/kz-kaslr.XXXXXX")
	kaslr_check "$bz_timeout"
	local tailout zlog
	tailout=$(tr -d '\r' <"$zroot/log/$zone.console" 2>/dev/null |
		grep -av '^\[kzhost:' | tail -15)
	zlog=$(tail -5 "$zroot/log/$zone.log" 2>/dev/null)
	zone_down
	now=$(now_ms)
	local at="banner $(when "$t_ver"), slide "
	if [ -n "$slide" ]; then at+="0x$slide"; else at+="not found"; fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		printf 'PASS %-16s %8s s  (%s in qOffsets and ::status; banner at linux_banner + slide for gdb and kzdb)\n' \
			"$name" "$(secs $((now - t0)))" "$at"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-16s %8s s  %s (%s)\n' "$name" "$(secs $((now - t0)))" "$why" "$at"
		[ -n "$detail" ] && sed 's/^/    > /' <<<"$detail"
		[ -n "$zlog" ] && sed 's/^/    /' <<<"$zlog"
		if [ -n "$tailout" ]; then
			echo "    last console output:"
			sed 's/^/    | /' <<<"$tailout"
		else
			echo "    no console output"
		fi
	fi
}

if ! command -v gdb >/dev/null; then
	skip=$((skip + 1))
	echo "SKIP zone/kaslr         (gdb not installed)"
elif [ ! -x "$bin/zoneadm" ] || [ ! -x "$bin/zonecfg" ] || [ ! -x "$bin/kzdb" ]; then
	fail=$((fail + 1))
	failed+=(zone/kaslr)
	echo "FAIL zone/kaslr: no zonecfg, zoneadm or kzdb in $bin"
else
	kaslr
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
