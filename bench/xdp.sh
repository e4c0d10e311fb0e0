#!/bin/bash
# XDP filter cost per packet next to xdp-tools' xdp-filter, through BPF_PROG_TEST_RUN
# (repeat 1,000,000, best of 5) on the same passed and dropped packets:
#   BENCH xdp_pass_ns <edgetrack> <xdp-filter> <ratio>
#   BENCH xdp_drop_ns <edgetrack> <xdp-filter> <ratio>
#   bench/xdp.sh [BUILD_DIR]      (needs root: loading BPF programs)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bench/xdp_bench

if ! grep -q '^CONFIG_XDP=y' "$top/.config" 2>/dev/null && [ ! -x "$bin" ]; then
	echo "xdp bench: CONFIG_XDP is off; skipped" >&2
	exit 0
fi
make -s -C "$top" O="${build#$top/}" "${build#$top/}/bench/xdp_bench" >/dev/null

obj=
for d in /usr/lib/*/bpf /usr/lib/bpf /usr/share/xdp-tools; do
	if [ -f "$d/xdpfilt_alw_all.o" ]; then obj=$d/xdpfilt_alw_all.o; break; fi
done
if [ -z "$obj" ]; then
	echo "xdp bench: xdp-tools' xdpfilt_alw_all.o not found (apt install xdp-tools)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "xdp bench: needs root to load BPF programs; skipped" >&2
	exit 0
fi
# libbpf names the sections of xdp-filter's object it does not use; that is not an error.
"$bin" "$obj" 1000000 2> >(grep -v 'skipping unrecognized data section' >&2)
