#!/usr/bin/env bash
# bench/console.sh [BUILD]: the zone console beside QEMU's serial console.
#
# Both run the same guest (BUILD/guest/kzguest.elf), 1 vCPU, 64M:
#   kzones: a zone in a temp root (its anet removed), the client speaking
#           console/con_proto.h on ROOT/run/ZONE/console.sock (HELLO, then
#           INPUT frames out and DATA frames in), as zlogin -C does
#   QEMU:   microvm, -serial on a chardev socket (server=on,wait=off), the
#           client a plain Unix stream connection to it
# Each client must see the guest's prompt ("kzguest# ") before anything is
# measured.  Then:
#   1. throughput: the guest runs `count N` (KZ_BENCH_CON_N, default 3000:
#      a few seconds on a KVM that emulates guest code) and the client
#      reads from sending the command until the line "count N" arrives;
#      bytes/s and lines/s of console output
#   2. echo latency: one character sent, timed until the guest's echo of
#      it comes back (then a DEL, untimed, to erase it), KZ_BENCH_CON_ECHO
#      times (default 200) with 20 ms between; median and p95
# The issue (5) gives no goal, so each line prints both numbers and the
# ratio kzones/QEMU.  Needs qemu-system-x86_64 and python3; run as root
# (zones need /dev/kvm).  Installs nothing.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "console: $*" >&2; exit 1; }
case $build in /*) bdir=$build ;; *) bdir=$top/$build ;; esac
for p in zonecfg zoneadm kzhost; do
	[ -x "$bdir/bin/$p" ] || die "no program $bdir/bin/$p (make)"
done
[ -f "$bdir/guest/kzguest.elf" ] || die "no guest kernel $bdir/guest/kzguest.elf (make guest)"
for t in qemu-system-x86_64 python3; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
exec python3 - "$bdir" "${KZ_BENCH_CON_N:-3000}" "${KZ_BENCH_CON_ECHO:-200}" \
	"${KZ_BENCH_TIMEOUT:-120}" <<'PY'
import os, shutil, socket, statistics, struct, subprocess, sys, tempfile, time, select
bdir, N, REPS, LIMIT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
guest = f"{bdir}/guest/kzguest.elf"
work = tempfile.mkdtemp(prefix="kz-bench-con.")
root, zone = f"{work}/root", "kzbenchcon"
qemu = None
booted = False

def fail(msg):
    print(f"console: {msg}", file=sys.stderr)
    cleanup()
    sys.exit(1)

def cleanup():
    if qemu and qemu.poll() is None:
        qemu.kill(); qemu.wait()
    if booted:
        subprocess.run([f"{bdir}/bin/zoneadm", "-R", root, "-z", zone, "halt"],
                       capture_output=True)
    shutil.rmtree(work, ignore_errors=True)

class Raw:
    """QEMU's chardev socket: bytes both ways."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX); self.s.connect(path)
    def send(self, b): self.s.sendall(b)
    def recv(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r: return b""
        d = self.s.recv(65536)
        if not d: fail("the console connection closed")
        return d

class Kz:
    """kzhost's console socket (console/con_proto.h)."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX); self.s.connect(path)
        name = b"kzbench[%d]" % os.getpid()
        self.frame(0x01, b"KZC1" + struct.pack(">BI", 0, 0) + name)
        self.buf = b""
        self.held = None
    def frame(self, t, p): self.s.sendall(struct.pack(">BH", t, len(p)) + p)
    def send(self, b): self.frame(0x02, b)
    def recv(self, timeout):
        out = b""
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r: return b""
        d = self.s.recv(65536)
        if not d: fail("the zone's console connection closed")
        self.buf += d
        while len(self.buf) >= 3:
            t, n = struct.unpack(">BH", self.buf[:3])
            if len(self.buf) < 3 + n: break
            p, self.buf = self.buf[3:3 + n], self.buf[3 + n:]
            if t == 0x10: out += p
            elif t == 0x12: self.held = p[0] == 0
            elif t == 0x13: fail(f"the console server skipped {struct.unpack('>Q', p)[0]} bytes")
        return out

def expect(c, pat, limit=LIMIT, buf=b""):
    end = time.monotonic() + limit
    while pat not in buf:
        left = end - time.monotonic()
        if left <= 0: fail(f"timed out waiting for {pat!r}; last output {buf[-200:]!r}")
        buf += c.recv(min(left, 1))
    return buf

def prompt(c, name):
    end = time.monotonic() + LIMIT
    buf = b""
    while b"kzguest# " not in buf:
        if time.monotonic() > end: fail(f"{name}: no guest prompt; last output {buf[-200:]!r}")
        c.send(b"\r")
        t = time.monotonic() + 2
        while b"kzguest# " not in buf and time.monotonic() < t:
            buf += c.recv(0.2)
    time.sleep(0.3)
    while c.recv(0.1): pass   # drain the extra prompts

def measure(c, name):
    prompt(c, name)
    # throughput
    last = b"\ncount %d\r\n" % N
    t0 = time.monotonic()
    c.send(b"count %d\r" % N)
    buf = b""
    end = t0 + max(LIMIT, N / 50)
    while last not in buf:
        if time.monotonic() > end: fail(f"{name}: count {N} never finished; last output {buf[-200:]!r}")
        buf += c.recv(1)
    dt = time.monotonic() - t0
    got = buf[:buf.index(last) + len(last)]
    lines = got.count(b"\ncount ")
    if lines != N: fail(f"{name}: {lines} count lines instead of {N}")
    expect(c, b"kzguest# ", buf=buf[buf.index(last) + len(last):])
    # echo latency
    lat = []
    for i in range(REPS):
        time.sleep(0.02)
        t0 = time.monotonic()
        c.send(b"x")
        expect(c, b"x", 10)
        lat.append(time.monotonic() - t0)
        c.send(b"\x7f"); expect(c, b"\b \b", 10)
    lat.sort()
    return len(got) / dt, lines / dt, dt, statistics.median(lat) * 1e3, lat[int(0.95 * (len(lat) - 1))] * 1e3

try:
    # kzones
    env = dict(os.environ, KZ_GUEST=guest)
    def z(*a):
        r = subprocess.run(list(a), env=env, capture_output=True, text=True)
        if r.returncode: fail(f"{' '.join(a[:1] + a[3:])}: {(r.stderr or r.stdout).strip()}")
    z(f"{bdir}/bin/zonecfg", "-R", root, "-z", zone,
      "create; select virtual-cpu ncpus=4; set ncpus=1; end; "
      "select capped-memory physical=4G; set physical=64M; end; remove anet")
    z(f"{bdir}/bin/zoneadm", "-R", root, "-z", zone, "install")
    z(f"{bdir}/bin/zoneadm", "-R", root, "-z", zone, "boot"); booted = True
    sock = f"{root}/run/{zone}/console.sock"
    for _ in range(100):
        if os.path.exists(sock): break
        time.sleep(0.1)
    kz = measure(Kz(sock), "kzones")
    subprocess.run([f"{bdir}/bin/zoneadm", "-R", root, "-z", zone, "halt"], capture_output=True)
    booted = False

    # QEMU
    qs = f"{work}/qemu.sock"
    qemu = subprocess.Popen(["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
        "-cpu", "host,-arch-capabilities", "-smp", "1", "-m", "64", "-nodefaults",
        "-no-reboot", "-display", "none", "-chardev", f"socket,id=c0,path={qs},server=on,wait=off",
        "-serial", "chardev:c0", "-kernel", guest],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(f"{work}/qemu.err", "w"))
    for _ in range(100):
        if os.path.exists(qs) or qemu.poll() is not None: break
        time.sleep(0.1)
    if not os.path.exists(qs): fail(f"QEMU did not start: {open(f'{work}/qemu.err').read().strip()}")
    q = measure(Raw(qs), "QEMU")
except BaseException:
    cleanup()
    raise

r = lambda a, b: f"{a / b:.2f}" if b else "-"
print(f"console-throughput: kzones {kz[0]/1024:.1f} KiB/s {kz[1]:.0f} lines/s  "
      f"qemu {q[0]/1024:.1f} KiB/s {q[1]:.0f} lines/s  ratio {r(kz[0], q[0])} (bytes/s)  "
      f"[count {N}: kzones {kz[2]:.2f} s, qemu {q[2]:.2f} s]")
print(f"console-echo: kzones median {kz[3]:.2f} ms p95 {kz[4]:.2f} ms  "
      f"qemu median {q[3]:.2f} ms p95 {q[4]:.2f} ms  ratio {r(kz[3], q[3])} (median)  [{REPS} keystrokes]")
cleanup()
PY
