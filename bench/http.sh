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
# Environment: BENCH_SECONDS (per wrk run, default 10; SOAK=1 makes it 120),
# BENCH_CONNS (wrk connections, default 64), BENCH_IDLE (idle connections, default 1000),
# BENCH_TMPDIR (where the journal and nginx files go, default /var/tmp).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
ETD=$build/edgetrackd
ETCTL=$build/edgetrackctl
IDLE_BIN=$build/bench/idle_conns

if [ "${SOAK:-0}" = 1 ]; then SECS=${BENCH_SECONDS:-120}; else SECS=${BENCH_SECONDS:-10}; fi
CONNS=${BENCH_CONNS:-64}
IDLE=${BENCH_IDLE:-1000}
DEST='https://www.example.com/landing?utm_source=newsletter&utm_medium=email'


need_tools wrk nginx curl taskset ss
if [ ! -x "$ETD" ] || [ ! -x "$ETCTL" ]; then die "$ETD not built (run make first)"; fi
make -s -C "$top" O="${build#"$top"/}" "${build#"$top"/}/bench/idle_conns" >/dev/null


bench_tmpdir bench


wait_http() { # PID URL
	for _ in $(seq 100); do
		curl -sf -o /dev/null -H "Host: $HOST" "$2" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}




# run_wrk URL SECONDS PID...: prints "rps p99_ms requests cpu_us_per_req"
run_wrk() {
	local url=$1 secs=$2 out t0 t1
	shift 2
	t0=$(cpu_ticks "$@")
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" --latency \
		-H "Host: $HOST" "$url")
	t1=$(cpu_ticks "$@")
	if grep -q 'Non-2xx or 3xx' <<<"$out"; then
		echo "$out" >&2
		die "$url: some answers were not 2xx/3xx"
	fi
	grep -q 'Socket errors' <<<"$out" && note "$url: $(grep 'Socket errors' <<<"$out")"
	awk -v ticks=$((t1 - t0)) -v hz="$HZ" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		$1 == "99%" { p99 = ms($2) }
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		END {
			if (!n) exit 1
			printf "%.0f %.2f %d %.2f\n", rps, p99, n, ticks * 1e6 / hz / n
		}' <<<"$out" || die "$url: could not read wrk output"
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
	wait_http "$ETD_PID" "http://127.0.0.1:$2/healthz" ||
		{ cat "$T/etd-$1.log" >&2; die "edgetrackd (sync=$1) did not come up"; }
}

CLICK=$("$ETCTL" token encode --host "$HOST" --key-id 1 --key "$KEY" --kind click \
	--message 4242 --recipient 77 --link 3 --url "$DEST")
OPEN=$("$ETCTL" token encode --host "$HOST" --key-id 1 --key "$KEY" --kind open \
	--message 4242 --recipient 77)

note "$(nproc) CPUs, server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; wrk -t1 -c$CONNS -d${SECS}s"
note "journal in $T on $(df -T "$T" | awk 'NR == 2 { print $2 " (" $1 ")" }')"

# sync=none first: the HTTP figures against nginx, and the idle-connection RSS.
ET_PORT=$(free_port)
etd_start none "$ET_PORT"
base=http://127.0.0.1:$ET_PORT
curl -sf -H "Host: $HOST" -o "$T/pixel.gif" "$base/o/$OPEN" || die "edgetrackd: open pixel failed"
chmod 644 "$T/pixel.gif"
loc=$(curl -sf -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $HOST" "$base/c/$CLICK")
[ "$loc" = "302 $DEST" ] || die "edgetrackd: click answered '$loc'"

note "edgetrackd sync=none: $IDLE idle connections"
idle_rss "$ET_PORT" "/o/$OPEN" "$ETD_PID"
et_rss=$RSS
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$base/c/$CLICK" >/dev/null
note "edgetrackd sync=none: click"
res=$(run_wrk "$base/c/$CLICK" "$SECS" "$ETD_PID")
read -r et_c_rps et_c_p99 _ et_c_cpu <<<"$res"
note "edgetrackd sync=none: open"
res=$(run_wrk "$base/o/$OPEN" "$SECS" "$ETD_PID")
read -r et_o_rps et_o_p99 _ et_o_cpu <<<"$res"
stop_pid "$ETD_PID"

# sync=batch: the cost of durability, against the sync=none run above.
ET_PORT=$(free_port)
etd_start batch "$ET_PORT"
base=http://127.0.0.1:$ET_PORT
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$base/c/$CLICK" >/dev/null
note "edgetrackd sync=batch: click"
res=$(run_wrk "$base/c/$CLICK" "$SECS" "$ETD_PID")
read -r batch_c_rps batch_c_p99 _ batch_c_cpu <<<"$res"
stop_pid "$ETD_PID"

# ---------------------------------------------------------------- nginx

NG_PORT=$(free_port)
mkdir -p "$T/nginx"
sed -e "s|@DIR@|$T/nginx|g" -e "s|@ROOT@|$T|g" -e "s|@PORT@|$NG_PORT|g" \
	-e "s|@HOST@|$HOST|g" -e "s|@DEST@|${DEST//&/\\&}|g" \
	"$top/bench/nginx.conf.in" >"$T/nginx/nginx.conf"
taskset -c "$SERVER_CPU" nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" &
NG_PID=$!
PIDS+=("$NG_PID")
ng_base=http://127.0.0.1:$NG_PORT
wait_http "$NG_PID" "$ng_base/o/$OPEN" || { cat "$T/nginx/error.log" >&2; die "nginx did not come up"; }
NG_WORKER=$(pgrep -P "$NG_PID" | head -n1)
[ -n "$NG_WORKER" ] || die "nginx worker not found"
loc=$(curl -sf -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $HOST" "$ng_base/c/$CLICK")
[ "$loc" = "302 $DEST" ] || die "nginx: click answered '$loc'"
cmp -s <(curl -sf -H "Host: $HOST" "$ng_base/o/$OPEN") "$T/pixel.gif" || die "nginx: pixel differs"

note "nginx: $IDLE idle connections"
idle_rss "$NG_PORT" "/o/$OPEN" "$NG_PID" "$NG_WORKER"
ng_rss=$RSS
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$ng_base/c/$CLICK" >/dev/null
note "nginx: click"
res=$(run_wrk "$ng_base/c/$CLICK" "$SECS" "$NG_PID" "$NG_WORKER")
read -r ng_c_rps ng_c_p99 _ ng_c_cpu <<<"$res"
note "nginx: open"
res=$(run_wrk "$ng_base/o/$OPEN" "$SECS" "$NG_PID" "$NG_WORKER")
read -r ng_o_rps ng_o_p99 _ ng_o_cpu <<<"$res"
stop_pid "$NG_PID"

# ---------------------------------------------------------------- figures

bench_line http_click_rps "$et_c_rps" "$ng_c_rps"
bench_line http_open_rps "$et_o_rps" "$ng_o_rps"
bench_line http_click_p99_ms "$et_c_p99" "$ng_c_p99"
bench_line http_open_p99_ms "$et_o_p99" "$ng_o_p99"
bench_line http_click_cpu_us_per_req "$et_c_cpu" "$ng_c_cpu"
bench_line http_open_cpu_us_per_req "$et_o_cpu" "$ng_o_cpu"
bench_line idle_rss_kib "$et_rss" "$ng_rss"
bench_line journal_click_rps_batch "$batch_c_rps" "$et_c_rps"
bench_line journal_click_rps_batch_nginx "$batch_c_rps" "$ng_c_rps"
bench_line journal_click_p99_ms_batch "$batch_c_p99" "$et_c_p99"
bench_line journal_click_cpu_us_per_req_batch "$batch_c_cpu" "$et_c_cpu"
