#!/bin/bash
# The shipper's cost per click, two edgetrackd builds side by side: for a before/after
# comparison of a change to shipping, which bench/fleet.sh's on/off ratio blurs with the
# machine's speed between runs. One nats-server (JetStream, stream replicas 1) and wrk on
# CPU 0; both edgetrackds (one worker, "max_pending" 1024, status every second) on CPU 1,
# shipping as appliances "a" and "b"; click runs alternate between them.
#
#   bench/fleet_ab.sh BIN_A BIN_B [ROUNDS]
#
# ROUNDS (default 4) of BENCH_SECONDS (default 5) each; FLEETAB_PENDING sets max_pending
# (default 1024, which every build since the window took it accepts). Per run it prints:
#   FLEETAB <a|b> rps=N cpu_us/req=X ship_us/req=Y nats_us/req=Z
# cpu_us/req is all of edgetrackd's threads, ship_us/req the shipper's and the NATS client's
# threads ("et-shipper") alone, nats_us/req nats-server's (on wrk's CPU), all from /proc.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" build
# shellcheck source=scripts/lib/nats.sh
. "$top/scripts/lib/nats.sh"
[ $# -ge 2 ] || die "usage: bench/fleet_ab.sh BIN_A BIN_B [ROUNDS]"
BIN_A=$1 BIN_B=$2 ROUNDS=${3:-4} SECS=${BENCH_SECONDS:-5}
[ -x "$BIN_A" ] && [ -x "$BIN_B" ] || die "$BIN_A or $BIN_B is not an executable"
need_tools wrk curl taskset nats-server
bench_tmpdir fleetab
mkdir -p "$T/nats"
nats_cluster "$T/nats" 1 || die "nats-server did not come up"
PIDS+=("${NATS_PID[1]}")
taskset -p -c "$CLIENT_CPU" "${NATS_PID[1]}" >/dev/null

start() { # NAME BIN PORT: sets PID
	cat >"$T/$1.json" <<JSON
{ "workers": 1, "listen": ["127.0.0.1:$3"], "data_dir": "$T/$1",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}], "domains": [{"name": "$HOST"}],
  "nats": {"servers": $(nats_json_urls), "replicas": 1, "appliance_id": "$1",
           "max_pending": ${FLEETAB_PENDING:-1024}, "status_interval_s": 1} }
JSON
	taskset -c "$SERVER_CPU" "$2" --config "$T/$1.json" >"$T/$1.out" 2>"$T/$1.log" &
	PID=$!
	PIDS+=("$PID")
	wait_up "$PID" "http://127.0.0.1:$3/healthz" || { cat "$T/$1.log" >&2; die "$1 did not come up"; }
}
shipper_ticks() { # PID: CPU ticks of the threads named et-shipper
	local t n=0
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = et-shipper ] &&
			n=$((n + $(awk '{ print $14 + $15 }' "$t/stat")))
	done
	echo "$n"
}

declare -A PORTS PIDOF
for x in a b; do
	PORTS[$x]=$(free_port)
	if [ "$x" = a ]; then start a "$BIN_A" "${PORTS[a]}"; else start b "$BIN_B" "${PORTS[b]}"; fi
	PIDOF[$x]=$PID
done
CLICK=$(click_token)
click_paths 1000 >"$T/paths" # as bench/fleet.sh's runs
WRK_PATHS=$T/paths
for r in $(seq "$ROUNDS"); do
	note "round $r/$ROUNDS"
	for x in a b; do
		s0=$(shipper_ticks "${PIDOF[$x]}") n0=$(cpu_ticks "${NATS_PID[1]}")
		out=$(run_wrk 64 "http://127.0.0.1:${PORTS[$x]}/c/$CLICK" "$SECS" "${PIDOF[$x]}")
		s1=$(shipper_ticks "${PIDOF[$x]}") n1=$(cpu_ticks "${NATS_PID[1]}")
		# run_wrk's fields: 1 requests/s, 2 p99 ms, 3 requests, 4 CPU us/request
		awk -v x="$x" -v s=$((s1 - s0)) -v n=$((n1 - n0)) -v hz="$HZ" '{
			printf "FLEETAB %s rps=%d cpu_us/req=%.2f ship_us/req=%.2f nats_us/req=%.2f\n",
				x, $1, $4, s * 1e6 / hz / $3, n * 1e6 / hz / $3 }' <<<"$out"
	done
done
