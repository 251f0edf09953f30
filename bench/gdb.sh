#!/usr/bin/env bash
# bench/gdb.sh [BUILD]: the gdb remote stub, kzones (zoneadm gdb) beside
# QEMU's gdbstub (-gdb tcp:), issue 7.
#
# Both run the same guest (BUILD/guest/kzguest.elf, 2 vCPUs, 64M): a zone
# made with zonecfg/zoneadm in a temp root (KZ_ROOT), and QEMU microvm as
# in bench/run.sh.  Each guest is booted to its shell prompt and made to
# run `spin` (a busy loop on CPU 0 calling uart_rx_pending() until a key)
# so that a breakpoint there is hit at once, not paced by a timer.  Then
# the same gdb script (gdb -batch -nx, the guest ELF for symbols, timed
# with Python's clock inside gdb) runs against each stub:
#   memory   dump binary memory of 4 MiB at 0xffffffff80100000 (the
#            kernel image and the RAM after it, mapped in the guest's
#            page tables), KZ_BENCH_GDB_MEMRUNS times (default 3): MiB/s
#   stepi    KZ_BENCH_GDB_STEPS stepi (default 2000) from the stop: steps/s
#   break    hbreak uart_rx_pending, then KZ_BENCH_GDB_BREAKS `continue`
#            (default 1000), each one running to the next hit: round
#            trips/s and ms each.  A hardware breakpoint, because QEMU's
#            software breakpoints fail on hosts whose KVM emulates guest
#            code: the stop comes as SIGABRT, and gdb cannot go on.
# kzones is measured through the TCP listener (zoneadm gdb -p PORT, like
# for like with QEMU's TCP stub) and through the stdio bridge (target
# remote | zoneadm gdb).  The goal (at least twice QEMU on each) is
# judged on the TCP numbers; stdio is printed beside them.
# Before measuring, each stub must answer with the guest's symbols in
# place: kz_msgbuf.buf must read "kzguest", and the first continue must
# stop at uart_rx_pending.
#
# Needs gdb (with Python), qemu-system-x86_64, python3; installs nothing.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) bdir=$build ;; *) bdir=$top/$build ;; esac
die() { echo "gdb-stub: $*" >&2; exit 1; }
for p in zoneadm zonecfg zlogin kzhost; do
	[ -x "$bdir/bin/$p" ] || die "no program $bdir/bin/$p (make)"
done
[ -f "$bdir/guest/kzguest.elf" ] || die "no guest kernel $bdir/guest/kzguest.elf (make guest)"
for t in gdb qemu-system-x86_64 python3; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
gdb -nx -batch -ex 'python import time' >/dev/null 2>&1 ||
	die "gdb has no Python (the Debian gdb package has it)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
exec python3 - "$bdir" "${KZ_BENCH_GDB_STEPS:-2000}" "${KZ_BENCH_GDB_BREAKS:-1000}" \
	"${KZ_BENCH_GDB_MEMRUNS:-3}" <<'PY'
import os, pty, re, select, shutil, socket, subprocess, sys, tempfile, time
b, steps, breaks, memruns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bin_ = f"{b}/bin"; guest = f"{b}/guest/kzguest.elf"
work = tempfile.mkdtemp(prefix="kz-bench-gdb.")
env = dict(os.environ, KZ_ROOT=f"{work}/root", KZ_GUEST=guest)
procs = []

def cleanup():
    for p in procs:
        if p.poll() is None: p.kill(); p.wait()
    pidf = f"{work}/root/run"
    for d, _, fs in os.walk(pidf):
        for f in fs:
            if f == "kzhost.pid":
                try: os.kill(int(open(os.path.join(d, f)).read()), 9)
                except (OSError, ValueError): pass
    # A zone's kzhost may still be writing its log and state as it ends.
    for _ in range(20):
        shutil.rmtree(work, ignore_errors=True)
        if not os.path.exists(work): break
        time.sleep(0.25)

def die(msg):
    print(f"gdb-stub: {msg}", file=sys.stderr); cleanup(); sys.exit(1)

def expect(fd, pat, what, limit=120):
    buf, end = b"", time.time() + limit
    while pat.encode() not in buf:
        if time.time() > end: die(f"{what}: timed out waiting for {pat!r}: {buf[-200:]!r}")
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try: buf += os.read(fd, 65536)
            except OSError: die(f"{what}: console closed before {pat!r}: {buf[-200:]!r}")
    return buf

def run(*a):
    r = subprocess.run(a, env=env, capture_output=True, text=True)
    if r.returncode: die(f"{' '.join(a)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def spin(fd, what):
    os.write(fd, b"\r"); expect(fd, "kzguest# ", what)
    os.write(fd, b"spin\r"); expect(fd, "type a key to stop", what)

# The gdb script: the same for every stub but the target line.
script = f"{work}/bench.py"
open(script, "w").write(r'''
import gdb, os, time
def x(c): return gdb.execute(c, to_string=True)
x("set pagination off"); x("set confirm off")
x(os.environ["KZ_GDB_TARGET"])
s = x("x/s kz_msgbuf.buf")
if "kzguest" not in s: raise gdb.GdbError("check: kz_msgbuf.buf reads " + s)
lo, n = 0xffffffff80100000, 4 << 20
best = None
for i in range(int(os.environ["KZ_GDB_MEMRUNS"])):
    t = time.perf_counter()
    x("dump binary memory %s 0x%x 0x%x" % (os.environ["KZ_GDB_DUMP"], lo, lo + n))
    d = time.perf_counter() - t
    if os.path.getsize(os.environ["KZ_GDB_DUMP"]) != n: raise gdb.GdbError("check: dump is short")
    best = d if best is None else min(best, d)
print("RESULT mem %d %.6f" % (n, best))
k = int(os.environ["KZ_GDB_STEPS"])
t = time.perf_counter()
for i in range(k): x("stepi")
print("RESULT stepi %d %.6f" % (k, time.perf_counter() - t))
x("hbreak uart_rx_pending")
x("continue")
f = gdb.selected_frame().name()
if f != "uart_rx_pending": raise gdb.GdbError("check: continue stopped in %s" % f)
k = int(os.environ["KZ_GDB_BREAKS"])
t = time.perf_counter()
for i in range(k): x("continue")
t = time.perf_counter() - t
f = gdb.selected_frame().name()
if f != "uart_rx_pending": raise gdb.GdbError("check: continue stopped in %s" % f)
print("RESULT break %d %.6f" % (k, t))
x("delete")
x("detach")
''')

def measure(name, target):
    e = dict(env, KZ_GDB_TARGET=target, KZ_GDB_DUMP=f"{work}/{name}.bin", KZ_GDB_STEPS=str(steps),
             KZ_GDB_BREAKS=str(breaks), KZ_GDB_MEMRUNS=str(memruns))
    try:
        r = subprocess.run(["gdb", "-nx", "-batch", "-iex", "set style enabled off", "-ex", f"source {script}", guest],
                           env=e, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        die(f"{name}: gdb script did not finish in 300 s")
    res = {m[0]: (int(m[1]), float(m[2])) for m in re.findall(r"^RESULT (\w+) (\d+) ([0-9.]+)$", r.stdout, re.M)}
    if len(res) != 3:
        die(f"{name}: gdb script failed (exit {r.returncode}):\n    " +
            "\n    ".join((r.stdout + r.stderr).strip().splitlines()[-10:]))
    try: os.unlink(e["KZ_GDB_DUMP"])
    except OSError: pass
    return res

# kzones: a zone on the built-in guest, gdb over TCP and over stdio.
z = "kzbenchgdb"
run(f"{bin_}/zonecfg", "-z", z, "create; select virtual-cpu ncpus=4; set ncpus=2; end; "
    "select capped-memory physical=4G; set physical=64M; end")
run(f"{bin_}/zoneadm", "-z", z, "install"); run(f"{bin_}/zoneadm", "-z", z, "boot")
m, s = pty.openpty()
zl = subprocess.Popen([f"{bin_}/zlogin", "-C", z], stdin=s, stdout=s, stderr=s, env=env); procs.append(zl)
spin(m, "kzones")
port = free_port()
out = run(f"{bin_}/zoneadm", "-z", z, "gdb", "-p", str(port))
if f"127.0.0.1:{port}" not in out: die(f"zoneadm gdb -p: {out.strip()}")
kz = measure("kzones-tcp", f"target remote 127.0.0.1:{port}")
kzs = measure("kzones-stdio", f"target remote | {bin_}/zoneadm -z {z} gdb")
zl.kill(); zl.wait()
subprocess.run([f"{bin_}/zoneadm", "-z", z, "halt"], env=env, capture_output=True)

# QEMU microvm, its gdbstub on TCP.
port = free_port()
m, s = pty.openpty()
q = subprocess.Popen(["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities",
    "-smp", "2", "-m", "64", "-display", "none", "-nodefaults", "-no-reboot", "-monitor", "none",
    "-kernel", guest, "-serial", "stdio", "-gdb", f"tcp:127.0.0.1:{port}"], stdin=s, stdout=s, stderr=s)
procs.append(q)
spin(m, "QEMU")
qm = measure("qemu", f"target remote 127.0.0.1:{port}")
q.kill(); q.wait()

def rate(r, k):
    n, t = r[k]
    return (n / (1 << 20) if k == "mem" else n) / max(t, 1e-9)
allmet = True
for k, label, unit in (("mem", "memory read", "MiB/s"), ("stepi", "single step", "steps/s"),
                       ("break", "breakpoint round trip", "hits/s")):
    a, c, qv = rate(kz, k), rate(kzs, k), rate(qm, k)
    ratio = a / qv if qv > 0 else 0
    met = ratio >= 2; allmet &= met
    extra = ""
    if k == "break":
        extra = f"  ({1000/a:.2f} vs {1000/qv:.2f} ms each)"
    print(f"gdb {label}: kzones {a:.1f} {unit} (TCP; stdio {c:.1f})  qemu {qv:.1f} {unit}  "
          f"ratio {ratio:.2f} (goal >= 2: {'met' if met else 'NOT met'}){extra}")
print(f"  (gdb -batch, same script; memory: best of {memruns} dumps of 4 MiB at 0xffffffff80100000; "
      f"{steps} stepi; {breaks} continues to an hbreak on uart_rx_pending while the guest runs `spin`)")
cleanup()
PY
