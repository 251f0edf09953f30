#!/usr/bin/env bash
# bench/dbg.sh [BUILD]: kzdb's symbol loading and ::dis, beside gdb on the
# same files (issue 6).
#
# kzdb reads symbols only for a target, so it runs on a crash dump: a zone
# on the built-in guest (1 vCPU, 64M, in a temp KZ_ROOT) is booted and
# saved with zoneadm savecore, and every kzdb run is
# `kzdb -k FILE -e CMDS vmcore`.  Each time is the best of
# KZ_BENCH_DBG_RUNS wall-clock runs (default 7).
#   symbols  kzdb -k FILE -e ::status (ELF symbols and DWARF line tables,
#            counted by ::status), less the same run with the guest kernel
#            (232 symbols) for process start and opening the dump; gdb:
#            gdb -nx -batch -ex 'info functions ^kzbench_none$' FILE (all
#            of its symbol reading, DWARF index included) less gdb -nx
#            -batch with no file.  Rates are FILE's symbols (and line
#            entries) per second of that load time, the same counts for
#            both.  The file: a generated C program of KZ_BENCH_DBG_FUNCS
#            functions (default 20000) built with gcc -g -O0, a large ELF
#            with DWARF (no vmlinux with a symbol table is at hand:
#            Debian's is stripped; BUILD/bin/kzhost loads in under 20 ms
#            in either debugger, too little to time against the start-up
#            subtracted).
#   ::dis    KZ_BENCH_DBG_DIS times (default 10) 4096 instructions from the
#            guest kernel's start (0xffffffff80100000, its text, present
#            in the dump): `ffffffff80100000,0t4096::dis` (with file:line
#            for each source line, as ::dis always prints them), less the
#            ::status run; gdb: `x/4096i 0xffffffff80100000` as many times
#            on the guest ELF, less gdb loading it.  Instructions/s.
# Issue 6 sets no goal against gdb; the ratio kzdb/gdb is printed (> 1:
# kzdb is faster).  Needs gdb, gcc, python3; installs nothing.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) bdir=$build ;; *) bdir=$top/$build ;; esac
die() { echo "dbg: $*" >&2; exit 1; }
for p in kzdb zoneadm zonecfg kzhost; do
	[ -x "$bdir/bin/$p" ] || die "no program $bdir/bin/$p (make)"
done
[ -f "$bdir/guest/kzguest.elf" ] || die "no guest kernel $bdir/guest/kzguest.elf (make guest)"
for t in gdb gcc python3; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
exec python3 - "$bdir" "${KZ_BENCH_DBG_RUNS:-7}" "${KZ_BENCH_DBG_FUNCS:-20000}" \
	"${KZ_BENCH_DBG_DIS:-10}" <<'PY'
import os, re, shutil, subprocess, sys, tempfile, time
b, runs, nfuncs, ndis = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bin_ = f"{b}/bin"; guest = f"{b}/guest/kzguest.elf"
work = tempfile.mkdtemp(prefix="kz-bench-dbg.")
env = dict(os.environ, KZ_ROOT=f"{work}/root", KZ_GUEST=guest)
z = "kzbenchdbg"

def cleanup():
    subprocess.run([f"{bin_}/zoneadm", "-z", z, "halt"], env=env, capture_output=True)
    # A zone's kzhost may still be writing its log and state as it ends.
    for _ in range(20):
        shutil.rmtree(work, ignore_errors=True)
        if not os.path.exists(work): break
        time.sleep(0.25)

def die(msg):
    print(f"dbg: {msg}", file=sys.stderr); cleanup(); sys.exit(1)

def run(*a):
    r = subprocess.run(a, env=env, capture_output=True, text=True)
    if r.returncode: die(f"{' '.join(a)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[-500:]}")
    return r.stdout

def best(*a):
    t, out = None, None
    for _ in range(runs):
        t0 = time.perf_counter(); out = run(*a); d = time.perf_counter() - t0
        t = d if t is None else min(t, d)
    return t, out

# The crash dump kzdb works on.
run(f"{bin_}/zonecfg", "-z", z, "create; select virtual-cpu ncpus=4; set ncpus=1; end; "
    "select capped-memory physical=4G; set physical=64M; end")
run(f"{bin_}/zoneadm", "-z", z, "install"); run(f"{bin_}/zoneadm", "-z", z, "boot")
time.sleep(2)
run(f"{bin_}/zoneadm", "-z", z, "savecore", "-d", f"{work}/dump")
run(f"{bin_}/zoneadm", "-z", z, "halt")
core = f"{work}/dump/vmcore.0"
if not os.path.exists(core): die(f"zoneadm savecore wrote no {core}")

# A large ELF with DWARF: many small functions, built -g.
src = f"{work}/big.c"
with open(src, "w") as f:
    f.write("#include <stdio.h>\n")
    for i in range(nfuncs):
        f.write(f"int f{i}(int x)\n{{\n\tint y = x * {i};\n\tif (y & 1)\n\t\ty += {i};\n\treturn y ^ x;\n}}\n")
    f.write("int main(int c, char **v)\n{\n\tint s = 0;\n\t(void)v;\n")
    for i in range(0, nfuncs, 50): f.write(f"\ts += f{i}(c);\n")
    f.write('\tprintf("%d\\n", s);\n\treturn 0;\n}\n')
big = f"{work}/big"
run("gcc", "-g", "-O0", "-o", big, src)

def status(out, what):
    m = re.search(r"kernel symbols: .* \((\d+) symbols, (\d+) line entries", out)
    if not m: die(f"kzdb on {what}: no symbols loaded: {out.strip()[-300:]}")
    return int(m[1]), int(m[2])

kz_base, out = best(f"{bin_}/kzdb", "-k", guest, "-e", "::status", core)
status(out, guest)
gdb_base, _ = best("gdb", "-nx", "-batch")
def ratio(a, q): return f"ratio {a / q:.2f}" if q > 0 else "ratio -"
for name, path in ((f"generated -g ({nfuncs} functions)", big),):
    t, out = best(f"{bin_}/kzdb", "-k", path, "-e", "::status", core)
    nsyms, nlines = status(out, path)
    kt = max(t - kz_base, 1e-6)
    t, _ = best("gdb", "-nx", "-batch", "-ex", "info functions ^kzbench_none$", path)
    gt = max(t - gdb_base, 1e-6)
    mib = os.path.getsize(path) / (1 << 20)
    print(f"dbg symbols, {name} ({mib:.1f} MiB, {nsyms} symbols, {nlines} line entries): "
          f"kzdb {nsyms / kt:.0f} symbols/s, {nlines / kt:.0f} lines/s ({kt * 1000:.1f} ms)  "
          f"gdb {nsyms / gt:.0f} symbols/s ({gt * 1000:.1f} ms)  {ratio(gt, kt)} (kzdb/gdb speed; no goal set)")

cmds = ";".join(["ffffffff80100000,0t4096::dis"] * ndis)
t, out = best(f"{bin_}/kzdb", "-k", guest, "-e", cmds, core)
ninsn = len(re.findall(r"^\S+:\s+\S", out, re.M))
if ninsn != 4096 * ndis: die(f"kzdb ::dis printed {ninsn} instructions, not {4096 * ndis}: {out[-300:]}")
kt = max(t - kz_base, 1e-6)
g_load, _ = best("gdb", "-nx", "-batch", guest)
args = ["gdb", "-nx", "-batch"]
for _ in range(ndis): args += ["-ex", "x/4096i 0xffffffff80100000"]
t, out = best(*args, guest)
gn = len(re.findall(r"^\s+0x[0-9a-f]+[ :]", out, re.M))
if gn != 4096 * ndis: die(f"gdb x/i printed {gn} instructions, not {4096 * ndis}")
gt = max(t - g_load, 1e-6)
print(f"dbg ::dis: kzdb {ninsn / kt:.0f} instructions/s ({kt * 1000:.1f} ms)  gdb x/i {gn / gt:.0f} instructions/s "
      f"({gt * 1000:.1f} ms)  {ratio(gt, kt)} (kzdb/gdb speed; no goal set)")
print(f"  (best of {runs} runs each; kzdb on a savecore dump of the built-in guest, less a ::status run; "
      f"gdb less its own start; ::dis {ndis} x 4096 instructions of the guest's text)")
cleanup()
PY
