#!/usr/bin/env bash
# Runs every test make check knows about and prints one summary line.
#   unit tests:   build/tests/test_* and their ASan/UBSan twins
#   expect tests: tests/expect/*.exp against build/bin (KZ_BIN)
#   fuzz corpus:  each fuzz target over its seed corpus plus a short run
#   linux:        Debian's kernel via PVH and the bzImage protocol
#                 (tests/linux/check-linux.sh; KZ_SKIP_LINUX=1 skips it)
# Output of a failing test is shown; passing tests print one line each.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
failed=()
log=$(mktemp -d /tmp/kz-check.XXXXXX)
trap 'rm -rf "$log"' EXIT

run() {
	local name=$1; shift
	local out="$log/$(echo "$name" | tr '/ ' '__').log"
	local t0=$(date +%s%N)
	if "$@" >"$out" 2>&1; then
		pass=$((pass + 1))
		printf "PASS %-40s %6d ms\n" "$name" $(( ($(date +%s%N) - t0) / 1000000 ))
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %s\n' "$name"
		sed 's/^/    /' "$out" | tail -40
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for t in "$build"/tests/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
for t in "$build"/asan/tests/test_*; do
	[ -x "$t" ] && run "asan/$(basename "$t")" "$t"
done
for f in "$build"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f"); name=${name#fuzz_}
	corpus="tests/fuzz/corpus/$name"
	work="$log/corpus-$name"; mkdir -p "$work"
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	run "fuzz/$name" "$f" -runs=20000 -max_len=65536 "$work"
done
for e in tests/expect/*.exp; do
	[ -f "$e" ] || continue
	run "expect/$(basename "$e" .exp)" env KZ_BIN="$top/$build/bin" \
		KZ_GUEST="$top/$build/guest/kzguest.elf" KZ_TOP="$top" expect -f "$e"
done
for e in tests/expect/*.exp; do
	[ -f "$e" ] || continue
	grep -q '^# asan: yes' "$e" || continue
	run "asan-expect/$(basename "$e" .exp)" env KZ_BIN="$top/$build/asan/bin" \
		KZ_GUEST="$top/$build/guest/kzguest.elf" KZ_TOP="$top" expect -f "$e"
done

# Debian's bzImage through the 64-bit boot protocol and its own
# decompressor: about 1.5 minutes here, so it fits in CI beside the rest.
# KZ_SKIP_LINUX=1 leaves it out for a quick local run.
if [ "${KZ_SKIP_LINUX:-0}" != 1 ]; then
	run "linux/check-linux" tests/linux/check-linux.sh "$build"
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
