#!/bin/bash
# What the metrics cost and how fast the status page is. One line per figure on stdout:
#   BENCH http_click_rps_scraped <rps scraped> <rps not scraped> <ratio>     goal: >= 0.98
#   BENCH http_click_cpu_us_per_req_scraped <scraped> <not scraped> <ratio>
#   BENCH metrics_scrape_cpu_share_10hz <share of a CPU> <budget 0.02> <ratio>  goal: <= 1
#   BENCH status_page_ms_100k <server ms> <goal 100> <ratio>                 goal: <= 1
#   BENCH status_page_view_build_ms_100k <ms> <page goal 100> <ratio>
#   BENCH status_page_load_ms_100k <curl total ms> <goal 1000> <ratio>       goal: <= 1
# The scraped figure: click requests/s of one edgetrackd (sync=none, one worker, the whole
# process pinned to one CPU) while a client scrapes /metrics every 100 ms on one keep-alive
# connection, against the same without scraping, in BENCH_SCRAPE_ROUNDS rounds (default 5) of
# four runs each: not scraped, scraped, scraped, not scraped, so that a machine getting
# busier or quieter during a round weighs on both sides alike; the ratio is the median of the
# rounds' ratios, the other columns are medians of the runs. The server's CPU per request
# beside it moves less with the machine's load. The scrape's own cost: edgetrackd's CPU time
# (all threads, from /proc/PID/task/*/schedstat) for 1,000 scrapes of an idle server, as the
# share of one CPU that ten scrapes a second take; a ratio of 0.98 leaves scraping at most
# 0.02 of the CPU. The page figures: the server's own
# render time (the page's footer) of 100,000 domains (90% issued, 5% expired, 5% without a
# certificate) for a mix of queries, the time the control thread took to build the view of
# all domains again after the certificates changed (a cost of the reload, not of a page: the
# view is built right after the reload, before the next request), and a whole load with curl.
# SOAK=1 also runs tests/integration/test_status_page.sh with 100,000 domains on this build.
#   bench/metrics.sh [BUILD_DIR]
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
ETD=$build/edgetrackd
ETCTL=$build/edgetrackctl
MINTCERTS=$build/tests/tls/mintcerts

if [ "${SOAK:-0}" = 1 ]; then SECS=${BENCH_SECONDS:-60}; else SECS=${BENCH_SECONDS:-5}; fi
ROUNDS=${BENCH_ROUNDS:-3}
SCRAPE_ROUNDS=${BENCH_SCRAPE_ROUNDS:-5}
CONNS=${BENCH_CONNS:-64}
PAGE_DOMAINS=${BENCH_PAGE_DOMAINS:-100000}

need_tools wrk curl taskset openssl
[ -x "$ETD" ] && [ -x "$ETCTL" ] || die "$ETD not built (run make first)"
make -s -C "$top" O="${build#"$top"/}" "${build#"$top"/}/tests/tls/mintcerts" >/dev/null
bench_tmpdir metrics

# etd_up NAME CONFIG METRICS_PORT: starts a pinned edgetrackd, sets ETD_PID
etd_up() {
	taskset -c "$SERVER_CPU" "$ETD" --config "$2" >"$T/$1.out" 2>"$T/$1.log" &
	ETD_PID=$!
	PIDS+=("$ETD_PID")
	for _ in $(seq 6000); do
		curl -sf -o /dev/null "http://127.0.0.1:$3/metrics" && return 0
		kill -0 "$ETD_PID" 2>/dev/null || { cat "$T/$1.log" >&2; die "$1 exited"; }
		sleep 0.1
	done
	die "$1 not up"
}

# ---------------------------------------------------------------- clicks, scraped or not
PORT=$(free_port) MPORT=$(free_port)
cat >"$T/click.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:$PORT"],
  "data_dir": "$T/data-click",
  "control_socket": "$T/click.sock",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "domains": [{"name": "$HOST"}],
  "journal": {"sync": "none"},
  "metrics": {"listen": "127.0.0.1:$MPORT"}
}
JSON
etd_up click "$T/click.json" "$MPORT"
CLICK=$(click_token)
URL=http://127.0.0.1:$PORT/c/$CLICK

clicks() { # prints wrk's requests/s and edgetrackd's CPU us per request
	local t0 t1 out
	t0=$(cpu_ticks "$ETD_PID")
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" -H "Host: $HOST" "$URL")
	t1=$(cpu_ticks "$ETD_PID")
	awk -v ticks=$((t1 - t0)) -v hz="$HZ" '
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		END { if (!n) exit 1; printf "%.0f %.2f\n", rps, ticks * 1e6 / hz / n }' <<<"$out" ||
		die "could not read wrk output: $out"
}
# scraper: one curl, one keep-alive connection, ten scrapes a second for two runs and a bit
scrape_start() {
	local n=$(( (2 * SECS + 3) * 10 ))
	taskset -c "$CLIENT_CPU" curl -sf -o /dev/null --rate 10/s \
		"http://127.0.0.1:$MPORT/metrics?[1-$n]" &
	SCRAPER=$!
	PIDS+=("$SCRAPER")
}

taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$URL" >/dev/null
before=$(curl -sf "http://127.0.0.1:$MPORT/metrics" | grep -c '^edgetrack_')
for r in $(seq "$SCRAPE_ROUNDS"); do
	note "round $r of $SCRAPE_ROUNDS: not scraped, scraped every 100 ms (twice), not scraped"
	p1=$(clicks)
	scrape_start
	s1=$(clicks)
	s2=$(clicks)
	kill "$SCRAPER" 2>/dev/null || true
	wait "$SCRAPER" 2>/dev/null || true
	p2=$(clicks)
	record plain $p1
	record plain $p2
	record scraped $s1
	record scraped $s2
	record ratio "$(awk -v a="$s1 $s2" -v b="$p1 $p2" 'BEGIN { split(a, s); split(b, p)
		printf "%.4f %.4f", (s[1] + s[3]) / (p[1] + p[3]), (s[2] + s[4]) / (p[2] + p[4]) }')"
done
note "a scrape holds $before series"
printf 'BENCH http_click_rps_scraped %s %s %.2f\n' "$(med scraped 1)" "$(med plain 1)" \
	"$(med ratio 1)"
printf 'BENCH http_click_cpu_us_per_req_scraped %s %s %.2f\n' "$(med scraped 2)" \
	"$(med plain 2)" "$(med ratio 2)"

# what one scrape costs the server, all threads, on an idle server
run_ns() { cat /proc/"$ETD_PID"/task/*/schedstat | awk '{ ns += $1 } END { printf "%.0f", ns }'; }
n0=$(run_ns)
curl -sf -o /dev/null "http://127.0.0.1:$MPORT/metrics?[1-1000]" || die "scrapes failed"
n1=$(run_ns)
us=$(awk -v d=$((n1 - n0)) 'BEGIN { printf "%.1f", d / 1000 / 1000 }')
note "one scrape: $us us of edgetrackd's CPU (all threads)"
bench_line metrics_scrape_cpu_share_10hz "$(awk -v us="$us" 'BEGIN { printf "%.5f", us * 10 / 1e6 }')" 0.02
stop_pid "$ETD_PID"

# ---------------------------------------------------------------- the status page
N=$PAGE_DOMAINS OLD=$((PAGE_DOMAINS / 20)) NEW=$((PAGE_DOMAINS / 20))
OK=$((N - OLD - NEW))
note "status page: minting $OK + $OLD certificates"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/leaf.key" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ca.key" 2>/dev/null
openssl req -x509 -new -key "$T/ca.key" -subj "/CN=bench CA" -days 30 -out "$T/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
mkdir -p "$T/certs"
"$MINTCERTS" -n $OK -s ok.example.net "$T/ca.crt" "$T/ca.key" "$T/leaf.key" "$T/certs" >/dev/null
"$MINTCERTS" -v -172800,-86400 -n $OLD -s old.example.net "$T/ca.crt" "$T/ca.key" \
	"$T/leaf.key" "$T/certs" >/dev/null
PORT=$(free_port) TLSPORT=$(free_port) MPORT=$(free_port)
{
	printf '{"workers": 1, "listen": ["127.0.0.1:%s", {"address": "127.0.0.1:%s", "tls": true}],\n' \
		"$PORT" "$TLSPORT"
	printf ' "data_dir": "%s/data-page", "control_socket": "%s/page.sock",\n' "$T" "$T"
	printf ' "keys": [{"id": 1, "secret": "%s", "current": true}],\n' "$KEY"
	printf ' "tls": {"cert_dir": "%s/certs"}, "metrics": {"listen": "127.0.0.1:%s"},\n' "$T" "$MPORT"
	awk -v ok=$OK -v old=$OLD -v new=$NEW 'BEGIN { printf " \"domains\": ["
		for (i = 0; i < ok; i++) printf "%s{\"name\": \"d%d.ok.example.net\"}", (i ? ",\n" : ""), i
		for (i = 0; i < old; i++) printf ",\n{\"name\": \"d%d.old.example.net\"}", i
		for (i = 0; i < new; i++) printf ",\n{\"name\": \"d%d.new.example.net\"}", i
		print "]}" }'
} >"$T/page.json"
etd_up page "$T/page.json" "$MPORT"
# it serves while its start-up pass checks the certificates: measure the page after that
for _ in $(seq 6000); do grep -q msg=certs_loaded "$T/page.log" && break; sleep 0.1; done
grep -q msg=certs_loaded "$T/page.log" || die "page: start-up pass not done after 10 minutes"
PAGE=http://127.0.0.1:$MPORT/
footer() { # QUERY ID: a figure of that page's footer (render-ms, view-ms)
	curl -sf "$PAGE$1" | sed -n "s/.*id=\"$2\">\([0-9.]*\)<.*/\1/p"
}
render_ms() { footer "$1" render-ms; }
# the certificates change (a reload of the directory swaps the store's snapshot): the control
# thread builds the view of every domain again
for r in $(seq "$ROUNDS"); do
	"$ETCTL" --socket "$T/page.sock" cert reload >/dev/null || die "cert reload failed"
	record view "$(footer "" view-ms)"
done
for r in $(seq "$ROUNDS"); do
	for q in "" "?page=500" "?q=d4242" "?sort=expiry&page=3" "?state=unknown&sort=-name" \
		"?sort=state&q=.ok."; do
		record page "$(render_ms "$q")"
	done
	record load "$(curl -sf -o /dev/null -w '%{time_total}' "$PAGE?page=2" |
		awk '{ printf "%.1f", $1 * 1000 }')"
done
note "status page: rendered in $(med page 1) ms; the view of $N domains built in $(med view 1) ms"
bench_line status_page_ms_${N:0:-3}k "$(med page 1)" 100
bench_line status_page_view_build_ms_${N:0:-3}k "$(med view 1)" 100
bench_line status_page_load_ms_${N:0:-3}k "$(med load 1)" 1000
stop_pid "$ETD_PID"

if [ "${SOAK:-0}" = 1 ]; then
	note "soak: the status page test with $N domains on $build"
	ET_BUILD=$build STATUS_DOMAINS=$N bash "$top/tests/integration/test_status_page.sh" >&2 ||
		die "tests/integration/test_status_page.sh failed"
fi
