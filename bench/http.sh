#!/bin/bash
# Plain-HTTP tracking routes, edgetrackd (journal sync=none: answers from memory, as nginx
# does) next to Debian's nginx answering the same routes, and edgetrackd's journal in
# sync=batch (durable before answering) next to sync=none. One line per figure on stdout:
#   BENCH <name> <edgetrack> <peer> <ratio>       ratio = edgetrack / peer
# For requests/s a ratio above 1 means edgetrack is faster; for p99 latency, CPU per request
# and RSS (lower is better) a ratio below 1 means edgetrack is faster or smaller.
# Progress and notes go to stderr. See bench/README.md for what each figure measures.
#
#   bench/http.sh [BUILD_DIR]
# Each figure is the median of BENCH_ROUNDS alternating rounds (default 3).
# Environment: BENCH_SECONDS (per wrk run, default 5; SOAK=1 makes it 60),
# BENCH_CONNS (wrk connections, default 64), BENCH_JOURNAL_CONNS (connections of the
# batch/none comparison, default 256), BENCH_IDLE (idle connections, default 1000),
# BENCH_TMPDIR (where the journal and nginx files go, default /var/tmp).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
ETD=$build/edgetrackd
ETCTL=$build/edgetrackctl
IDLE_BIN=$build/bench/idle_conns

if [ "${SOAK:-0}" = 1 ]; then SECS=${BENCH_SECONDS:-60}; else SECS=${BENCH_SECONDS:-5}; fi
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-64}
JCONNS=${BENCH_JOURNAL_CONNS:-256}
IDLE=${BENCH_IDLE:-1000}


need_tools wrk nginx curl taskset ss
if [ ! -x "$ETD" ] || [ ! -x "$ETCTL" ]; then die "$ETD not built (run make first)"; fi
make -s -C "$top" O="${build#"$top"/}" "${build#"$top"/}/bench/idle_conns" >/dev/null


bench_tmpdir bench


warm_up() { # URL
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$1" >/dev/null
}

# idle_rss PORT PATH PID...: sets RSS to the processes' RSS while IDLE keep-alive
# connections (one request answered on each) stay open.
idle_rss() {
	local port=$1 path=$2 hp
	shift 2
	rm -f "$T/idle.out"
	taskset -c "$CLIENT_CPU" "$IDLE_BIN" 127.0.0.1 "$port" "$IDLE" "$HOST" "$path" \
		>"$T/idle.out" &
	hp=$!
	PIDS+=("$hp")
	for _ in $(seq 600); do
		grep -q '^ready' "$T/idle.out" 2>/dev/null && break
		kill -0 "$hp" 2>/dev/null || die "idle connections to port $port failed"
		sleep 0.05
	done
	grep -q '^ready' "$T/idle.out" || die "idle connections to port $port did not settle"
	sleep 0.5 # let the server finish its side of the last answers
	RSS=$(rss_kib "$@")
	stop_pid "$hp"
}


# ---------------------------------------------------------------- edgetrackd

etd_config() { # FILE PORT SYNC
	cat >"$1" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:$2"],
  "data_dir": "$T/data-$3",
  "control_socket": "$T/control-$3.sock",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "domains": [{"name": "$HOST"}],
  "journal": {"sync": "$3"}
}
JSON
}

etd_start() { # SYNC PORT: sets ETD_PID
	etd_config "$T/etd-$1.json" "$2" "$1"
	taskset -c "$SERVER_CPU" "$ETD" --config "$T/etd-$1.json" >"$T/etd-$1.out" \
		2>"$T/etd-$1.log" &
	ETD_PID=$!
	PIDS+=("$ETD_PID")
	wait_up "$ETD_PID" "http://127.0.0.1:$2/healthz" ||
		{ cat "$T/etd-$1.log" >&2; die "edgetrackd (sync=$1) did not come up"; }
}

nginx_start() { # PORT: sets NG_PID and NG_WORKER
	mkdir -p "$T/nginx"
	sed -e "s|@DIR@|$T/nginx|g" -e "s|@ROOT@|$T|g" -e "s|@PORT@|$1|g" \
		-e "s|@HOST@|$HOST|g" -e "s|@DEST@|${DEST//&/\\&}|g" \
		"$top/bench/nginx.conf.in" >"$T/nginx/nginx.conf"
	taskset -c "$SERVER_CPU" nginx -p "$T/nginx" -e "$T/nginx/error.log" \
		-c "$T/nginx/nginx.conf" &
	NG_PID=$!
	PIDS+=("$NG_PID")
	wait_up "$NG_PID" "http://127.0.0.1:$1/healthz" ||
		{ cat "$T/nginx/error.log" >&2; die "nginx did not come up"; }
	NG_WORKER=$(pgrep -P "$NG_PID" | head -n1)
	[ -n "$NG_WORKER" ] || die "nginx worker not found"
}

check_answers() { # NAME BASE: the click redirects to its destination, the open is the GIF
	local loc
	loc=$(curl -sf -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $HOST" "$2/c/$CLICK")
	[ "$loc" = "302 $DEST" ] || die "$1: click answered '$loc'"
	cmp -s <(curl -sf -H "Host: $HOST" "$2/o/$OPEN") "$T/pixel.gif" || die "$1: pixel differs"
}

CLICK=$(click_token)
OPEN=$(open_token)

note "$(nproc) CPUs, servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; wrk -t1 -c$CONNS -d${SECS}s"
note "journal in $T on $(df -T "$T" | awk 'NR == 2 { print $2 " (" $1 ")" }')"

# All three servers run side by side (idle ones cost nothing) and the runs alternate between
# them, so a change in the machine's speed during the bench hits both sides alike.
ET_PORT=$(free_port)
etd_start none "$ET_PORT"
ET_NONE=$ETD_PID
et=http://127.0.0.1:$ET_PORT
curl -sf -H "Host: $HOST" -o "$T/pixel.gif" "$et/o/$OPEN" || die "edgetrackd: open pixel failed"
chmod 644 "$T/pixel.gif"
check_answers edgetrackd "$et"
BATCH_PORT=$(free_port)
etd_start batch "$BATCH_PORT"
ET_BATCH=$ETD_PID
batch=http://127.0.0.1:$BATCH_PORT
NG_PORT=$(free_port)
nginx_start "$NG_PORT"
ng=http://127.0.0.1:$NG_PORT
check_answers nginx "$ng"

note "edgetrackd: $IDLE idle connections"
idle_rss "$ET_PORT" "/o/$OPEN" "$ET_NONE"
et_rss=$RSS
note "nginx: $IDLE idle connections"
idle_rss "$NG_PORT" "/o/$OPEN" "$NG_PID" "$NG_WORKER"
ng_rss=$RSS

for u in "$et/c/$CLICK" "$ng/c/$CLICK" "$batch/c/$CLICK"; do warm_up "$u"; done
for r in $(seq "$ROUNDS"); do
	note "round $r of $ROUNDS"
	note "edgetrackd sync=none: click"
	record et_c "$(run_wrk "$CONNS" "$et/c/$CLICK" "$SECS" "$ET_NONE")"
	note "nginx: click"
	record ng_c "$(run_wrk "$CONNS" "$ng/c/$CLICK" "$SECS" "$NG_PID" "$NG_WORKER")"
	note "edgetrackd sync=none: open"
	record et_o "$(run_wrk "$CONNS" "$et/o/$OPEN" "$SECS" "$ET_NONE")"
	note "nginx: open"
	record ng_o "$(run_wrk "$CONNS" "$ng/o/$OPEN" "$SECS" "$NG_PID" "$NG_WORKER")"
	# The cost of durability: sync=batch against sync=none, at JCONNS connections (group
	# commit shares one fdatasync among the clients waiting for it) and at CONNS.
	note "edgetrackd sync=batch: click, $JCONNS connections"
	record batch "$(run_wrk "$JCONNS" "$batch/c/$CLICK" "$SECS" "$ET_BATCH")"
	note "edgetrackd sync=none: click, $JCONNS connections"
	record none "$(run_wrk "$JCONNS" "$et/c/$CLICK" "$SECS" "$ET_NONE")"
	note "edgetrackd sync=batch: click, $CONNS connections"
	record batch64 "$(run_wrk "$CONNS" "$batch/c/$CLICK" "$SECS" "$ET_BATCH")"
done

# ---------------------------------------------------------------- figures
# run_wrk's fields: 1 requests/s, 2 p99 ms, 3 requests, 4 CPU us per request

med_line http_click_rps et_c ng_c 1
med_line http_open_rps et_o ng_o 1
med_line http_click_p99_ms et_c ng_c 2
med_line http_open_p99_ms et_o ng_o 2
med_line http_click_cpu_us_per_req et_c ng_c 4
med_line http_open_cpu_us_per_req et_o ng_o 4
per_cpu_line http_click_req_per_cpu_s et_c ng_c 4
per_cpu_line http_open_req_per_cpu_s et_o ng_o 4
bench_line idle_rss_kib "$et_rss" "$ng_rss"
med_line journal_click_rps_batch batch none 1
med_line journal_click_p99_ms_batch batch none 2
med_line journal_click_cpu_us_per_req_batch batch none 4
med_line journal_click_rps_batch_c$CONNS batch64 et_c 1
med_line journal_click_p99_ms_batch_c$CONNS batch64 et_c 2
med_line journal_click_rps_batch_nginx batch64 ng_c 1
