#!/bin/bash
# make bench: every side-by-side benchmark, one "BENCH <name> <edgetrack> <peer> <ratio>" line
# per figure on stdout (see bench/README.md).
#   bench/run.sh [BUILD_DIR]
# HTTP and journal figures against nginx (bench/http.sh), then HTTPS handshakes and
# keep-alive requests against nginx on both TLS backends (bench/tls.sh), then the XDP filter
# against xdp-tools' xdp-filter (bench/xdp.sh), then the domain doctor's concurrent DNS
# checks against the same checks made one query at a time (bench/dns.sh), then the fleet's
# event shipping to nats-server (bench/fleet.sh), then a 10,000-cert bundle applied under
# click load (bench/bundle.sh), then what scraping the metrics costs the tracking path and how
# fast the status page renders (bench/metrics.sh). SOAK=1 makes runs longer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$(cd "$here/.." && pwd)/$build ;; esac

"$here/http.sh" "$build"
"$here/tls.sh" "$build"
"$here/xdp.sh" "$build"
"$here/dns.sh" "$build"
"$here/fleet.sh" "$build"
"$here/bundle.sh" "$build"
"$here/metrics.sh" "$build"
