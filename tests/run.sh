#!/bin/bash
# Runs every test of the tree: cmocka unit programs, integration scripts, libFuzzer targets.
#   tests/run.sh BUILD_DIR FUZZ_BUILD_DIR
# Prints one line per test program and a closing "N passed, N failed" line.
set -u
build=${1:-build/check}
fuzzbuild=${2:-build/fuzz}
fuzz_seconds=${FUZZ_SECONDS:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export ET_BUILD="$top/$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir="$top/$build/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

passed=0 failed=0 failures=()

record() { # name rc seconds
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1)); printf 'PASS  %-40s %4ss\n' "$1" "$3"
	else
		failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %-40s %4ss (log: %s)\n' "$1" "$3" "$logdir/$1.log"
		# The failed checks with the lines around them (what the check printed comes just
		# before its verdict in the shell tests, just after it in the QEMU tests), then how
		# the log ends.
		grep -E -B2 -A3 '^(not ok|FAIL - |\[  FAILED  \])' "$logdir/$1.log" | head -n 40 |
			sed 's/^/    > /'
		tail -n 30 "$logdir/$1.log" | sed 's/^/    /'
	fi
}

run_one() { # name cmd...
	local name=$1; shift
	local t0=$SECONDS
	"$@" >"$logdir/$name.log" 2>&1
	verdict "$name" $? $((SECONDS - t0))
}

verdict() { # name rc seconds: the test's exit status, overruled by what it left behind
	local name=$1 rc=$2 left
	# A sanitizer report fails the test even when the program exited 0.
	if grep -qE '^(==[0-9]+==ERROR: |SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|.*runtime error: )' "$logdir/$name.log"; then
		rc=1
	fi
	# So does an edgetrackd the test started and left running.
	left=$(pgrep -f "^$ET_BUILD/edgetrackd( |$)" || true)
	if [ -n "$left" ]; then
		echo "left running after the test: $(echo $left)" >>"$logdir/$name.log"
		kill -KILL $left 2>/dev/null
		rc=1
	fi
	record "$name" $rc "$3"
}

only=${TESTS:-}
want() { [ -z "$only" ] || [[ "$1" == *$only* ]]; }

for t in "$build"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	n=unit/$(basename "$t"); want "$n" || continue
	run_one "${n//\//_}" "$t"
done

for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	n=integration/$(basename "$t" .sh); want "$n" || continue
	run_one "${n//\//_}" bash "$t"
done

# The TLS suite again on the second backend's build (make check: build/check-mbedtls).
alt=${ALT_BUILD:-build/check-mbedtls}
[ "${alt#/}" != "$alt" ] || alt=$top/$alt
if [ -d "$alt" ]; then
	for t in "$alt"/tests/unit/test_tls* "$alt"/tests/unit/test_cert_store; do
		[ -x "$t" ] || continue
		n="unit/$(basename "$t")[mbedtls]"; want "$n" || continue
		run_one "${n//\//_}" "$t"
	done
	for t in tests/integration/test_tls_*.sh tests/integration/test_mgmt_api.sh; do
		[ -f "$t" ] || continue
		n="integration/$(basename "$t" .sh)[mbedtls]"; want "$n" || continue
		ET_BUILD=$alt run_one "${n//\//_}" bash "$t"
	done
fi

# The QEMU rig: accelerator choice and waits that fail fast (no firmware images needed).
want qemu/rig && run_one qemu_rig bash tests/qemu/test_rig.sh

# Firmware images under QEMU (make check builds them first), the boards side by side: a
# guest keeps its core busy only while it boots, and most of each test is waiting on one.
# They pick their forwarded ports from one registry.
export QEMU_PORT_REGISTRY=$logdir/qemu-ports
pids=() names=() t0=$SECONDS
for b in ${QEMU_BOARDS:-}; do
	[ -f "build/$b/images/disk.img" ] || continue
	n=qemu/$b; want "$n" || continue
	( tests/qemu/test_board.sh "$b"; rc=$?; echo $((SECONDS - t0)) >"$logdir/qemu_$b.seconds"; exit $rc ) \
		>"$logdir/qemu_$b.log" 2>&1 &
	pids+=($!); names+=("qemu_$b")
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}"; rc=$?
	verdict "${names[$i]}" $rc "$(cat "$logdir/${names[$i]}.seconds" 2>/dev/null || echo $((SECONDS - t0)))"
done

# Fuzz targets run two at a time (one per core), each for $fuzz_seconds.
if [ "$fuzz_seconds" -gt 0 ]; then
	pids=() names=() starts=()
	for f in "$fuzzbuild"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f"); want "fuzz/$n" || continue
		corpus="$top/$fuzzbuild/corpus/$n"; mkdir -p "$corpus"
		seeds="tests/fuzz/seeds/${n#fuzz_}"
		[ -d "$seeds" ] || seeds=
		"$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix="$logdir/" "$corpus" $seeds >"$logdir/$n.log" 2>&1 &
		pids+=($!); names+=("$n"); starts+=($SECONDS)
		if [ ${#pids[@]} -ge 2 ]; then
			wait "${pids[0]}"; rc=$?; record "${names[0]}" $rc $((SECONDS - starts[0]))
			pids=("${pids[@]:1}"); names=("${names[@]:1}"); starts=("${starts[@]:1}")
		fi
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"; rc=$?; record "${names[$i]}" $rc $((SECONDS - starts[$i]))
	done
fi

echo
[ $failed -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
