#!/usr/bin/env bash
# bench/run.sh [BUILD]: kzhost side by side with QEMU (make bench).
#
# Both VMMs run the same guest (BUILD/guest/kzguest.elf) with the same
# vCPUs (2) and memory (128M), in the same run; each result is printed as
# both numbers and the ratio kzhost/QEMU against the goal.  QEMU is the
# microvm machine, which boots PVH ELF kernels with -kernel;
# -cpu host,-arch-capabilities because on hosts whose KVM emulates guest
# code QEMU fails setting MSR 0x10a otherwise (DESIGN.md).
#
# 1. boot-to-poweroff: process start to exit, with the kernel command line
#    "autopoweroff" (the guest prints its banner and powers off through
#    ACPI at once), timed with hyperfine (-N: no shell in between).  Both
#    VMMs exit 0: kzhost on the PM1 S5 write, QEMU microvm on the ACPI
#    sleep-control write (its isa-debug-exit device is left out, so that a
#    guest that failed to power off through ACPI would show, not pass).
#    Before timing, each VMM runs the guest once with its serial console
#    captured, and the run must show the guest's banner and exit 0 within
#    KZ_BENCH_TIMEOUT seconds (default 60): a VMM that fails early or
#    never powers off is reported, not timed.
#
# 2. vmm-overhead: memory the VMM itself needs, apart from guest RAM.
#    Each VMM boots the guest to its shell prompt ("kzguest# ") and, while
#    it sits there, we read from /proc/PID:
#      peak     VmHWM in status (peak resident set of the whole process)
#      guest    Rss of the guest RAM mapping in smaps: the mapping with the
#               largest Size (128M of guest RAM dwarfs anything else in
#               either process), i.e. the guest pages touched so far
#      overhead = peak - guest
#    The same guest touches the same pages under either VMM, so the
#    subtraction treats both alike.  Hugetlb-backed guest RAM counts in
#    neither VmHWM nor Rss, so the difference stays right then too.
#    For reference we also print the peak RSS of the autopoweroff run from
#    /usr/bin/time -f %M (which includes the guest pages).
#
# 3. blk-request: host CPU time and VM exits per virtio-blk request
#    (bench/blk.sh, which describes its method).
#
# 4. savecore: dump time, zone stop time and file size against QEMU's
#    dump-guest-memory (bench/savecore.sh).
#
# 5. gdb stub: memory reads, single steps and breakpoint round trips
#    through zoneadm gdb against QEMU's gdbstub (bench/gdb.sh).
#
# 6. kzdb: symbols loaded per second and ::dis instructions per second,
#    beside gdb on the same files (bench/dbg.sh).
#
# 7. console: throughput of a `count` flood and keystroke echo latency,
#    zone console beside QEMU's serial chardev socket (bench/console.sh).
#
# Environment: KZ_BENCH_RUNS (hyperfine runs, default 30).
# Needs: hyperfine, qemu-system-x86_64 (qemu-system-x86), /usr/bin/time
# (time); installs nothing itself (make deps does).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kzhost="$top/$build/bin/kzhost"
guest="$top/$build/guest/kzguest.elf"
runs=${KZ_BENCH_RUNS:-30}
limit=${KZ_BENCH_TIMEOUT:-60}
qemu=qemu-system-x86_64

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$kzhost" ] || die "no program $kzhost (make $build/bin/kzhost)"
[ -f "$guest" ] || die "no guest kernel $guest (make guest)"
for t in hyperfine "$qemu" /usr/bin/time; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"

work=$(mktemp -d "${TMPDIR:-/tmp}/kz-bench.XXXXXX")
bg_pid=
cleanup() {
	if [ -n "$bg_pid" ]; then
		kill "$bg_pid" 2>/dev/null
		sleep 0.5
		kill -9 "$bg_pid" 2>/dev/null
		wait "$bg_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The two command lines, with the console left to the caller.
kz_cmd=("$kzhost" --kernel "$guest" --cpus 2 --memory 128M)
qemu_cmd=("$qemu" -M microvm -enable-kvm -cpu host,-arch-capabilities
	  -smp 2 -m 128 -display none -nodefaults -no-reboot -monitor none
	  -kernel "$guest")

# ratio A B GOAL: "ratio 0.15 (goal <= 0.25)"
ratio() {
	awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN {
		if (b > 0) printf "ratio %.2f (goal <= %s)", a / b, g
		else printf "ratio - (goal <= %s)", g }'
}

# ---- 1. boot to power-off -------------------------------------------------

# check NAME COMMAND...: one run with the console in a file; the guest's
# banner must be there and the VMM must exit 0.
check() {
	local name=$1; shift
	local out="$work/$name.check" rc
	timeout "$limit" "$@" </dev/null >"$out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || ! grep -aq '^kzguest [^ ]*: 2 cpus, 128 MiB' "$out"; then
		echo "bench: $name did not run the guest to power-off (exit status $rc):" >&2
		tr -d '\r' <"$out" | tail -10 | sed 's/^/    /' >&2
		exit 1
	fi
}
check kzhost "${kz_cmd[@]}" --cmdline autopoweroff --console stdio
check qemu "${qemu_cmd[@]}" -append autopoweroff -serial stdio

q() { printf '%q ' "$@"; }
kz_run="$(q "${kz_cmd[@]}" --cmdline autopoweroff --console /dev/null)"
qemu_run="$(q "${qemu_cmd[@]}" -append autopoweroff -serial null)"
hyperfine -N --warmup 3 --runs "$runs" --export-csv "$work/boot.csv" \
	-n kzhost "$kz_run" -n qemu "$qemu_run" >"$work/hyperfine.out" 2>&1 ||
	{ cat "$work/hyperfine.out" >&2; die "hyperfine failed"; }

# Mean, standard deviation and median in ms from hyperfine's CSV
# (command,mean,stddev,median,... in seconds), kzhost then qemu.  The
# median is printed too: on hosts whose KVM teardown waits for an SRCU
# grace period (1 ms one run, 20 ms the next) a few slow runs move the
# mean of either VMM by more than the difference being measured.
read -r kz_ms kz_sd kz_med qemu_ms qemu_sd qemu_med < <(awk -F, 'NR > 1 {
	printf "%.1f %.1f %.1f ", $2 * 1000, $3 * 1000, $4 * 1000 }
	END { print "" }' "$work/boot.csv")
printf 'boot-to-poweroff: kzhost %s ms (sd %s)  qemu %s ms (sd %s)  %s  [%d runs]\n' \
	"$kz_ms" "$kz_sd" "$qemu_ms" "$qemu_sd" "$(ratio "$kz_ms" "$qemu_ms" 0.25)" "$runs"
printf '  (medians: kzhost %s ms, qemu %s ms, %s)\n' "$kz_med" "$qemu_med" \
	"$(ratio "$kz_med" "$qemu_med" 0.25)"

# ---- 2. VMM memory overhead -----------------------------------------------

# overhead NAME CONSOLE-FILE COMMAND...: start COMMAND in the background
# (its console goes to CONSOLE-FILE), wait for the guest's prompt, and
# print "peak-kB guest-kB" from /proc.
overhead() {
	local name=$1 con=$2; shift 2
	: >"$con"
	"$@" </dev/null >"$work/$name.err" 2>&1 &
	bg_pid=$!
	local t=0
	until grep -aq 'kzguest# ' "$con"; do
		if ! kill -0 "$bg_pid" 2>/dev/null || [ $t -ge $((limit * 10)) ]; then
			echo "bench: $name never showed the guest prompt:" >&2
			cat "$work/$name.err" "$con" | tr -d '\r' | tail -10 |
				sed 's/^/    /' >&2
			exit 1
		fi
		sleep 0.1
		t=$((t + 1))
	done
	sleep 0.5	# let the vCPUs settle into their idle loop
	local hwm guest
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$bg_pid/status")
	guest=$(awk '
		/^[0-9a-f]+-[0-9a-f]+ / { n++ }
		/^Size:/ { size[n] = $2 }
		/^Rss:/ { rss[n] = $2 }
		END {
			for (i = 1; i <= n; i++)
				if (size[i] > best) { best = size[i]; r = rss[i] }
			print r + 0
		}' "/proc/$bg_pid/smaps")
	kill "$bg_pid" 2>/dev/null
	wait "$bg_pid" 2>/dev/null
	bg_pid=
	echo "$hwm $guest"
}

read -r kz_hwm kz_guest < <(overhead kzhost "$work/kz.console" \
	"${kz_cmd[@]}" --console "$work/kz.console")
[ -n "${kz_hwm:-}" ] || exit 1
read -r q_hwm q_guest < <(overhead qemu "$work/qemu.console" \
	"${qemu_cmd[@]}" -serial "file:$work/qemu.console")
[ -n "${q_hwm:-}" ] || exit 1

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
kz_ov=$((kz_hwm - kz_guest))
q_ov=$((q_hwm - q_guest))
printf 'vmm-overhead: kzhost %s MiB  qemu %s MiB  %s\n' \
	"$(mib $kz_ov)" "$(mib $q_ov)" "$(ratio $kz_ov $q_ov 0.33)"
printf '  (at the prompt: VmHWM kzhost %s MiB, qemu %s MiB; guest RAM resident kzhost %s MiB, qemu %s MiB)\n' \
	"$(mib "$kz_hwm")" "$(mib "$q_hwm")" "$(mib "$kz_guest")" "$(mib "$q_guest")"

# Peak RSS of one autopoweroff run, guest pages included, for reference.
peak() { /usr/bin/time -f %M -o "$work/time.out" "$@" </dev/null >/dev/null 2>&1; cat "$work/time.out"; }
kz_peak=$(peak "${kz_cmd[@]}" --cmdline autopoweroff --console /dev/null)
q_peak=$(peak "${qemu_cmd[@]}" -append autopoweroff -serial null)
printf '  (peak RSS of an autopoweroff run, /usr/bin/time: kzhost %s MiB, qemu %s MiB)\n' \
	"$(mib "$kz_peak")" "$(mib "$q_peak")"

# ---- 3. virtio-blk device path --------------------------------------------
# Host CPU and VM exits per one-sector read (bench/blk.sh says how).
"$top/bench/blk.sh" "$build" || exit 1

# ---- 4. crash dumps ---------------------------------------------------------
# zoneadm savecore against QEMU's dump-guest-memory (bench/savecore.sh).
"$top/bench/savecore.sh" "$build" || exit 1

# ---- 5. gdb stub --------------------------------------------------------------
# zoneadm gdb against QEMU's gdbstub, the same gdb script (bench/gdb.sh).
"$top/bench/gdb.sh" "$build" || exit 1

# ---- 6. kernel debugger -------------------------------------------------------
# kzdb symbol loading and ::dis against gdb on the same files (bench/dbg.sh).
"$top/bench/dbg.sh" "$build" || exit 1

# ---- 7. console -----------------------------------------------------------------
# Zone console against QEMU's serial chardev socket (bench/console.sh).
"$top/bench/console.sh" "$build" || exit 1
