#!/usr/bin/env bash
# bench/blk.sh [BUILD]: the virtio-blk device path, kzhost beside QEMU.
#
# Block throughput and IOPS through the guest mean nothing on a KVM that
# emulates guest code (DESIGN.md, "Hosts whose KVM runs guest code
# slowly"), so this measures what the host pays per request instead.
# Both VMMs run the same guest (BUILD/guest/kzguest.elf), 1 vCPU, 64M, on
# the same raw image file, as a virtio-mmio virtio-blk device: kzhost
# --disk, QEMU microvm -device virtio-blk-device (ioeventfd on, as by
# default, like kzhost's).  The guest's `dbench ID N` reads sector 0 N
# times, one request at a time, with its interrupts off, polling the used
# ring (no interrupts asked for), so that the loop is the device path
# alone: the guest's driver code, one notify (an MMIO write) per request,
# the VMM's I/O thread doing the pread, and the guest polling until it
# sees the answer.
#
# Each VMM runs twice, with N reads and with 0 (the same session
# otherwise), and every number is (run N - run 0) / N:
#   host CPU   utime+stime of the whole VMM process (/proc/PID/stat) from
#              just before the dbench command to its prompt afterwards
#   VM exits   KVM's own per-vCPU "exits" statistic (KVM_GET_STATS_FD),
#              at the end of the session: kzhost --stats prints it, QEMU
#              gives it to the monitor's `info stats vcpu` (QMP
#              query-stats); the same kernel counter for both
#   MMIO traps, returns to the VMM
#              the kvm:kvm_mmio and kvm:kvm_userspace_exit tracepoints
#              (perf stat -p) over the same window as the CPU time
# Host CPU includes the guest's own instructions (emulated by KVM on
# such hosts, on the vCPU thread), which are the same code under both
# VMMs except for how long the guest polls.  On kvm_pvm, KVM's "exits"
# statistic does not count every trap (it shows fewer exits than there are
# notifies), which is why the tracepoint counts are printed too.
#
# Before it is measured, each VMM must show the guest finding the disk
# (`disks`) and reading the image's marker from sector 0 (`dread`), and
# must power off with exit status 0 within KZ_BENCH_TIMEOUT seconds.
#
# Environment: KZ_BENCH_BLK_N (reads, default 20000:
# a few seconds a run on an emulating KVM), KZ_BENCH_TIMEOUT
# (seconds per session, default 300).
# KZ_BLK_KEEP=1 keeps the work directory (consoles, perf output).
# Needs: qemu-system-x86_64, expect, perf (linux-perf); installs nothing.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
case $build in /*) bdir=$build ;; *) bdir=$top/$build ;; esac
kzhost="$bdir/bin/kzhost"
guest="$bdir/guest/kzguest.elf"
n=${KZ_BENCH_BLK_N:-20000}
limit=${KZ_BENCH_TIMEOUT:-300}
qemu=qemu-system-x86_64

die() { echo "blk-request: $*" >&2; exit 1; }

[ -x "$kzhost" ] || die "no program $kzhost (make $build/bin/kzhost)"
[ -f "$guest" ] || die "no guest kernel $guest (make guest)"
for t in "$qemu" expect perf; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
case $n in ''|*[!0-9]*|0) die "KZ_BENCH_BLK_N must be a positive number" ;; esac
hz=$(getconf CLK_TCK)

work=$(mktemp -d "${TMPDIR:-/tmp}/kz-blk.XXXXXX")
[ -n "${KZ_BLK_KEEP:-}" ] && echo "keeping $work" >&2 || trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The image: 1 MiB, a marker at the start of sector 0.
img="$work/disk.img"
marker=kzbench-sector-0
truncate -s 1M "$img" && printf '%s' "$marker" |
	dd of="$img" conv=notrunc status=none || die "cannot make $img"

# Tracepoints usable here?  (perf needs tracefs and the kvm events.)
events=kvm:kvm_mmio,kvm:kvm_userspace_exit
if ! perf stat -x, -e "$events" -o "$work/perf.probe" true >/dev/null 2>&1; then
	events=
fi

kz_cmd=("$kzhost" --kernel "$guest" --cpus 1 --memory 64M
	--disk "$img" --console stdio --stats)
# QEMU microvm describes its virtio-mmio transports in ACPI only; the
# guest reads virtio_mmio.device= entries, so we give the one a single
# -device lands on: the last of the transports at 0xfeb00000 (512 bytes
# apart), IRQ 5 + 7 with ioapic2=off (QEMU's own entry with acpi=off).
# force-legacy=false: the guest drives virtio 1.x (version 2) only.
# debug-threads=on names the vCPU thread "CPU 0/KVM".
qemu_cmd=("$qemu" -M microvm,ioapic2=off -enable-kvm -name kzbench,debug-threads=on
	  -cpu host,-arch-capabilities -smp 1 -m 64 -display none -nodefaults
	  -no-reboot -serial mon:stdio -kernel "$guest"
	  -append "virtio_mmio.device=512@0xfeb00e00:12"
	  -global virtio-mmio.force-legacy=false
	  -drive "id=d0,file=$img,format=raw,if=none"
	  -device virtio-blk-device,drive=d0)

# session.exp KIND N OUT CMD...: one session; writes OUT/result:
# "cpu-ticks vcpu-ticks exits mmio userspace-exits" (- where not
# measured).
cat >"$work/session.exp" <<'EOF'
set kind [lindex $argv 0]
set n [lindex $argv 1]
set out [lindex $argv 2]
set cmd [lrange $argv 3 end]
set timeout $env(KZ_LIMIT)
set marker $env(KZ_MARKER)
set events $env(KZ_EVENTS)
log_user 0
log_file -noappend $out/console
proc fail {msg} { puts stderr $msg; exit 1 }
proc ticks {file} {
	set f [open $file]; set s [read $f]; close $f
	set s [string range $s [expr {[string last ")" $s] + 2}] end]
	return [expr {[lindex $s 11] + [lindex $s 12]}]
}
# "process-ticks vcpu-thread-ticks": the whole process (threads that
# ended included) and its vCPU threads (kzhost "vcpuN", QEMU "CPU N/KVM").
proc cpu {pid} {
	set v 0
	foreach t [glob -nocomplain /proc/$pid/task/*] {
		if {[catch {set f [open $t/comm]; set c [string trim [read $f]]; close $f}]} continue
		if {[regexp {^vcpu[0-9]+$|^CPU [0-9]+/KVM$} $c]} {
			incr v [ticks $t/stat]
		}
	}
	return [list [ticks /proc/$pid/stat] $v]
}
set pid [spawn {*}$cmd]
expect "kzguest# " {} timeout { fail "no guest prompt" } eof { fail "exited before the prompt" }
send "disks\r"
expect -re {id ([0-9]+) at [0-9a-f]+ irq} { set id $expect_out(1,string) } \
	"no disks" { fail "the guest found no disk" } timeout { fail "no answer to disks" }
expect "kzguest# "
send "dread $id 0\r"
expect -re "lba 0: $marker" {} timeout { fail "the guest did not read the image's sector 0" }
expect "kzguest# "
send "dbench $id 10\r"
expect "dbench: 10 reads" {} timeout { fail "dbench did not run" }
expect "kzguest# "
# perf counts only between "enable" and "disable" on its control fifo;
# each is acknowledged once it took effect.
proc perfctl {what} {
	global ctl ack
	puts $ctl $what; flush $ctl
	# (perf writes "ack\n" with its terminating NUL)
	if {[gets $ack line] < 0 || [string trim $line "\0"] ne "ack"} {
		fail "perf stat did not take $what"
	}
}
if {$events ne ""} {
	exec mkfifo $out/ctl $out/ack
	exec sh -c "perf stat -x, -e $events -p $pid -D -1 --control fifo:$out/ctl,$out/ack -o $out/perf >/dev/null 2>&1 & echo \$! >$out/perf.pid"
	set ctl [open $out/ctl {RDWR}]
	set ack [open $out/ack {RDWR}]
	perfctl enable
}
set c0 [cpu $pid]
send "dbench $id $n\r"
expect -re "dbench: $n reads\[^\r\]*\r" {} timeout { fail "dbench $n did not finish" }
expect "kzguest# "
set c1 [cpu $pid]
set mmio -; set uexit -
if {$events ne ""} {
	perfctl disable
	exec kill -INT [string trim [exec cat $out/perf.pid]]
	set t 0
	while {![regexp {([0-9]+),[^,]*,kvm:kvm_userspace_exit} [exec cat $out/perf] _ uexit]} {
		if {[incr t] > 100} { fail "perf stat gave no counts" }
		after 50
	}
	regexp {([0-9]+),[^,]*,kvm:kvm_mmio,} [exec cat $out/perf] _ mmio
}
set exits -
if {$kind eq "qemu"} {
	send "\001c"
	expect "(qemu) "
	send "info stats vcpu\r"
	expect -re { exits \(cumulative\): ([0-9]+)} { set exits $expect_out(1,string) } timeout {}
	expect "(qemu) "
	send "\001c"
	send "\r"
	expect "kzguest# "
}
send "poweroff\r"
if {$kind eq "kzhost"} {
	expect -re {vcpu0: exits ([0-9]+) } { set exits $expect_out(1,string) } timeout {} eof {}
}
expect eof
lassign [wait] _ _ _ rc
if {$rc != 0} { fail "exit status $rc after poweroff" }
set f [open $out/result w]
puts $f "[expr {[lindex $c1 0] - [lindex $c0 0]}] [expr {[lindex $c1 1] - [lindex $c0 1]}] $exits $mmio $uexit"
close $f
EOF

# run NAME KIND N CMD...: one session; prints its result line.
run() {
	local name=$1 kind=$2 reads=$3; shift 3
	local out="$work/$name.$reads"
	mkdir -p "$out"
	if ! KZ_LIMIT=$limit KZ_MARKER=$marker KZ_EVENTS=$events \
		expect -f "$work/session.exp" "$kind" "$reads" "$out" "$@" \
		2>"$out/err"; then
		echo "blk-request: $name (dbench $reads): $(cat "$out/err")" >&2
		tr -d '\r' <"$out/console" 2>/dev/null | tail -8 | sed 's/^/    /' >&2
		exit 1
	fi
	cat "$out/result"
}

read -r kz_c0 kz_v0 kz_x0 kz_m0 kz_u0 < <(run kzhost kzhost 0 "${kz_cmd[@]}") || exit 1
read -r kz_c1 kz_v1 kz_x1 kz_m1 kz_u1 < <(run kzhost kzhost "$n" "${kz_cmd[@]}") || exit 1
read -r q_c0 q_v0 q_x0 q_m0 q_u0 < <(run qemu qemu 0 "${qemu_cmd[@]}") || exit 1
read -r q_c1 q_v1 q_x1 q_m1 q_u1 < <(run qemu qemu "$n" "${qemu_cmd[@]}") || exit 1
[ -n "${q_c1:-}" ] || exit 1

# per A0 A1 [SCALE]: (A1 - A0) * SCALE / N, or - when not measured.
per() {
	awk -v a="$1" -v b="$2" -v s="${3:-1}" -v n="$n" 'BEGIN {
		if (a == "-" || b == "-") { print "-"; exit }
		printf "%.2f", (b - a) * s / n }'
}
us=$((1000000 / hz))
kz_us=$(per "$kz_c0" "$kz_c1" $us)
q_us=$(per "$q_c0" "$q_c1" $us)
ratio=$(awk -v a="$kz_us" -v b="$q_us" 'BEGIN {
	if (b > 0) printf "%.2f", a / b; else print "-" }')
# Outside the vCPU threads: the VMM's own device work (I/O threads,
# event loops), without the guest's code.
kz_dev=$(awk -v a="$kz_c1" -v b="$kz_c0" -v c="$kz_v1" -v d="$kz_v0" -v s=$us -v n="$n" \
	'BEGIN { printf "%.2f", ((a - b) - (c - d)) * s / n }')
q_dev=$(awk -v a="$q_c1" -v b="$q_c0" -v c="$q_v1" -v d="$q_v0" -v s=$us -v n="$n" \
	'BEGIN { printf "%.2f", ((a - b) - (c - d)) * s / n }')
kz_x=$(per "$kz_x0" "$kz_x1")
q_x=$(per "$q_x0" "$q_x1")
note=
[ "$kz_x" = - ] && note="$note (kzhost: no KVM stats fd on this kernel)"
[ "$q_x" = - ] && note="$note (qemu: no vCPU stats from its monitor)"
printf 'blk-request: host CPU kzhost %s us qemu %s us ratio %s; VM exits kzhost %s qemu %s per request%s  [%d reads of one sector]\n' \
	"$kz_us" "$q_us" "$ratio" "$kz_x" "$q_x" "$note" "$n"
printf '  (host CPU outside the vCPU thread per request: kzhost %s us, qemu %s us)\n' \
	"$kz_dev" "$q_dev"
if [ -n "$events" ]; then
	printf '  (per request, tracepoints: MMIO traps kzhost %s qemu %s; returns to the VMM kzhost %s qemu %s)\n' \
		"$(per "$kz_m0" "$kz_m1")" "$(per "$q_m0" "$q_m1")" \
		"$(per "$kz_u0" "$kz_u1")" "$(per "$q_u0" "$q_u1")"
else
	echo '  (tracepoint counts not measured: perf cannot open kvm:kvm_mmio here)'
fi
