#!/bin/bash
# The fleet's event shipping at full click load: edgetrackd with a "nats" config (shipping to
# a real nats-server with JetStream, one node, stream replicas 1) next to the same edgetrackd
# without one. One line per figure on stdout:
#   BENCH events_shipped_per_s <events acknowledged by the stream per s> <events journaled per s> <ratio>
#       over the same steady window of a click run: ratio 1.0 means shipping keeps up with the
#       journal's own commit rate
#   BENCH ship_lag_p99_ms <event time to stream acknowledgement, p99> <click answer p99> <ratio>
#   BENCH fleet_click_rps <shipping on> <shipping off> <ratio>
#   BENCH fleet_click_cpu_us_per_req <shipping on> <shipping off> <ratio>   (edgetrackd's own CPU)
#   BENCH fleet_click_req_per_cpu_s <shipping on> <shipping off> <ratio>
#       the same as clicks per CPU-second of edgetrackd: with wrk and nats-server sharing the
#       other core, wrk is the ceiling of fleet_click_rps and nats-server's CPU takes from it;
#       this is the figure for the appliance's own cost of shipping
#
#   bench/fleet.sh [BUILD_DIR]
# Each figure is the median of BENCH_ROUNDS alternating rounds (default 5). BENCH_SECONDS per
# run (default 5; SOAK=1 makes it 60), BENCH_CONNS wrk connections (default 64).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
# shellcheck source=scripts/lib/nats.sh
. "$top/scripts/lib/nats.sh"
ETD=$build/edgetrackd
ETCTL=$build/edgetrackctl

if [ "${SOAK:-0}" = 1 ]; then SECS=${BENCH_SECONDS:-60}; else SECS=${BENCH_SECONDS:-5}; fi
ROUNDS=${BENCH_ROUNDS:-5}
CONNS=${BENCH_CONNS:-64}

need_tools wrk curl taskset ss nats-server
[ -x "$ETD" ] && [ -x "$ETCTL" ] || die "$ETD not built (run make first)"
"$ETCTL" fleet status --help 2>&1 | grep -q 'fleet status' || die "edgetrackctl built without CONFIG_FLEET"
bench_tmpdir fleet

mkdir -p "$T/nats"
nats_cluster "$T/nats" 1 || die "nats-server did not come up"
PIDS+=("${NATS_PID[1]}")

etd_start() { # NAME PORT [NATS JSON MEMBER]: sets ETD_PID
	cat >"$T/$1.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:$2"],
  "data_dir": "$T/$1",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "domains": [{"name": "$HOST"}]${3:-}
}
JSON
	taskset -c "$SERVER_CPU" "$ETD" --config "$T/$1.json" >"$T/$1.out" 2>"$T/$1.log" &
	ETD_PID=$!
	PIDS+=("$ETD_PID")
	wait_up "$ETD_PID" "http://127.0.0.1:$2/healthz" ||
		{ cat "$T/$1.log" >&2; die "edgetrackd ($1) did not come up"; }
}

ON_PORT=$(free_port)
OFF_PORT=$(free_port)
etd_start ship "$ON_PORT" ", \"nats\": {\"servers\": $(nats_json_urls), \"replicas\": 1,
  \"appliance_id\": \"bench\", \"status_interval_s\": 1}"
ON_PID=$ETD_PID
etd_start plain "$OFF_PORT"
OFF_PID=$ETD_PID

CLICK=$(click_token)
# the measured runs click 1,000 tokens in turn (the warm-ups one): the events then differ
# in message, recipient and link as a point of presence's do, and so do the bytes shipped
click_paths 1000 >"$T/paths"
WRK_PATHS=$T/paths

# progress: "<events made durable> <shipped seq>" from one status call (one instant)
progress() {
	"$ETCTL" --socket "$T/ship/control.sock" status |
		sed -n 's/.*"events":\([0-9]*\).*"shipped_seq":\([0-9]*\).*/\1 \2/p'
}
journaled() { progress | cut -d' ' -f1; }
shipped() { progress | cut -d' ' -f2; }

# ship_run: a click run on the shipping edgetrackd; between 1 s after its start and 1 s
# before its end, the journal's and the shipper's progress are sampled together (the
# shipper's in-memory cursor, which trails the journal by the ship lag at both ends).
# Records "ship <journaled/s> <shipped/s>" and "on <run_wrk fields>", and adds nats-server's
# CPU ticks over the run to NATS_TICKS.
ship_run() {
	local url="http://127.0.0.1:$ON_PORT/c/$CLICK" p0 p1 t0 t1 n0
	n0=$(cpu_ticks "${NATS_PID[1]}")
	(run_wrk "$CONNS" "$url" $((SECS + 2)) "$ON_PID" >"$T/on.wrk") &
	sleep 1
	p0=$(progress) t0=$(date +%s.%N)
	sleep "$SECS"
	p1=$(progress) t1=$(date +%s.%N)
	wait $!
	record ship "$(awk -v p0="$p0" -v p1="$p1" -v t0="$t0" -v t1="$t1" 'BEGIN {
		split(p0, a, " "); split(p1, b, " "); t = t1 - t0
		printf "%.0f %.0f", (b[1] - a[1]) / t, (b[2] - a[2]) / t }')"
	record on "$(cat "$T/on.wrk")"
	NATS_TICKS=$((NATS_TICKS + $(cpu_ticks "${NATS_PID[1]}") - n0))
}

note "$(nproc) CPUs, edgetrackd on CPU $SERVER_CPU, wrk and nats-server on CPU $CLIENT_CPU; wrk -t1 -c$CONNS, ${SECS}s windows"
taskset -p -c "$CLIENT_CPU" "${NATS_PID[1]}" >/dev/null
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "http://127.0.0.1:$ON_PORT/c/$CLICK" >/dev/null
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "http://127.0.0.1:$OFF_PORT/c/$CLICK" >/dev/null
# CPU ticks of the shipping edgetrackd's threads: the shipper's ("et-shipper", and the NATS
# client's threads it starts, which inherit the name) and all the others.
ship_ticks() {
	local t c ship=0 rest=0 n
	for t in /proc/"$ON_PID"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) && n=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null) || continue
		if [ "$c" = et-shipper ]; then ship=$((ship + n)); else rest=$((rest + n)); fi
	done
	echo "$ship $rest"
}
ticks0=$(ship_ticks)
NATS_TICKS=0
for r in $(seq "$ROUNDS"); do
	note "round $r/$ROUNDS"
	ship_run
	record off "$(run_wrk "$CONNS" "http://127.0.0.1:$OFF_PORT/c/$CLICK" "$((SECS + 2))" "$OFF_PID")"
done

ticks1=$(ship_ticks)
note "$(awk -v a="$ticks0" -v b="$ticks1" -v n="$NATS_TICKS" -v w=$((ROUNDS * (SECS + 2) * HZ)) 'BEGIN {
	split(a, x, " "); split(b, y, " "); s = y[1] - x[1]; r = y[2] - x[2]
	printf "over the shipping runs: shipper threads %d ticks, serving threads %d (shipping %.1f%% of edgetrackd CPU); nats-server %d ticks, %.1f%% of CPU '"$CLIENT_CPU"', which wrk shares", s, r, s * 100 / (s + r), n, n * 100 / w }')"

# the whole backlog reaches the stream before the lag is read
for _ in $(seq 600); do [ "$(shipped)" -ge "$(journaled)" ] && break; sleep 0.05; done
[ "$(shipped)" -ge "$(journaled)" ] || die "shipping did not catch up: $(shipped) of $(journaled)"
sleep 1.5 # one more status refresh after the last acknowledgement
lag=$("$ETCTL" fleet status --json --nats "$NATS_URLS" | sed -n 's/.*"ship_lag_p99_ms": *\([0-9]*\).*/\1/p' | head -n1)
[ -n "$lag" ] || die "no ship lag in the status bucket"

# The machine's speed can move by a third within a run; the two runs of a round are
# seconds apart, so their ratios are noted too (on / off, round by round).
note "$(awk '$1 == "on" { a[++n] = $2; c[n] = $5 } $1 == "off" { b[++m] = $2; d[m] = $5 }
	END { r = "rps on/off per round:"; for (i = 1; i <= n; i++) r = r sprintf(" %.2f", a[i] / b[i])
	      r = r ", CPU per click on/off:"; for (i = 1; i <= n; i++) r = r sprintf(" %.2f", c[i] / d[i])
	      print r }' "$T/results")"

# ship's fields: 1 journaled/s, 2 shipped/s; run_wrk's: 1 requests/s, 2 p99 ms, 4 CPU us/request
bench_line events_shipped_per_s "$(med ship 2)" "$(med ship 1)"
bench_line ship_lag_p99_ms "$lag" "$(med on 2)"
med_line fleet_click_rps on off 1
med_line fleet_click_cpu_us_per_req on off 4
per_cpu_line fleet_click_req_per_cpu_s on off 4
