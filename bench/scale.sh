#!/bin/bash
# Start-up with 100,000 domains (one cert + key each) against the goals of such an appliance
# (the goal is the peer; tests/integration/test_tls_scale.sh does the run and its checks):
#   BENCH scale_startup_s_100k <s> 5      seconds from exec until edgetrackd serves
#   BENCH scale_rss_mib_100k <MiB> 200    RSS, the larger of: when it serves, when the
#                                          start-up pass has checked every pair
#   bench/scale.sh [BUILD_DIR]      (an optimized build, default build; SCALE_DOMAINS changes
#                                    the count, and the names then say 100k still)
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"

[ -x "$build/edgetrackd" ] || die "$build/edgetrackd not built (run make first)"
make -s -C "$top" O="${build#"$top"/}" "${build#"$top"/}/tests/tls/mintcerts" >&2
bench_tmpdir scale
note "scale: ${SCALE_DOMAINS:-100000} domains"
ET_BUILD=$build bash "$top/tests/integration/test_tls_scale.sh" >"$T/scale.out" ||
	{ cat "$T/scale.out" >&2; die "scale test failed"; }
grep '^SCALE' "$T/scale.out" >&2
field() { sed -n "s/^SCALE summary.* $1=\([0-9]*\).*/\1/p" "$T/scale.out"; }
bench_line scale_startup_s_100k "$(awk -v ms="$(field startup_ms)" \
	'BEGIN { printf "%.2f", ms / 1000 }')" 5
bench_line scale_rss_mib_100k "$(awk -v a="$(field rss_start_kb)" -v b="$(field rss_loaded_kb)" \
	'BEGIN { printf "%.1f", (a > b ? a : b) / 1024 }')" 200
