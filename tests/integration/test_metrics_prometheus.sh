#!/bin/bash
# Prometheus scrapes edgetrackd's metrics listener every second while known traffic goes
# through: N clicks, M opens, K bad tokens, one TLS handshake, and (when XDP can be attached:
# root and CONFIG_XDP) J SYNs from a blocked source dropped by the XDP filter on a veth pair
# between two network namespaces the test makes. Prometheus's own HTTP API must then report
# exactly those counts, and `promtool check metrics` must accept the exposition.
# Without root the same runs on loopback, with the XDP part skipped (said in the log).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"
. "$(dirname "$0")/../xdp/netns.sh"

N=7 M=5 K=3 J=4
H=click.example.com
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	{ echo "prometheus and promtool not installed (scripts/install-deps.sh)"; exit 1; }

# ------------------------------------------------------------------ where things run
xdp=no
if [ "$(id -u)" -eq 0 ] && [ -x "$ET_BUILD/tests/xdp/synflood" ] && command -v ip >/dev/null; then
	xdp=yes
else
	echo "# XDP part skipped: needs root and a CONFIG_XDP build (the rest runs on loopback)"
fi
S=etms$$ C=etmc$$ VS=etmvs$$ VC=etmvc$$
SRV=127.0.0.1 GOOD=127.0.0.1 BAD=198.51.100.200
PIN=$T/bpf/edgetrack
in_s() { if [ $xdp = yes ]; then ip netns exec "$S" "$@"; else "$@"; fi; }
in_c() { if [ $xdp = yes ]; then ip netns exec "$C" "$@"; else "$@"; fi; }
trap '[ $xdp = no ] || xdp_net_down; cleanup' EXIT
trap 'exit 130' INT TERM HUP PIPE

if [ $xdp = yes ]; then
	SRV=192.0.2.1 GOOD=198.51.100.10
	xdp_net_up $GOOD || exit 1
fi

# ------------------------------------------------------------------ edgetrackd
PORT=80 TLSPORT=443 MPORT=$(free_port) PPORT=$(free_port)
[ $xdp = yes ] || { PORT=$(free_port); TLSPORT=$(free_port); }
tls_ca "$T/ca" && tls_leaf "$T/ca" "$T/certs" $H || exit 1
XDP_JSON=
[ $xdp = yes ] && XDP_JSON=",
  \"xdp\": {\"interfaces\": [\"$VS\"], \"mode\": \"native\", \"pin_dir\": \"$PIN\",
          \"service\": {\"addresses\": [\"$SRV\"], \"ports\": [$PORT, $TLSPORT]},
          \"blocklist\": [\"198.51.100.192/26\"]}"
mkdir -p "$T/data"
cat >"$T/et.json" <<JSON
{
  "workers": 2,
  "listen": ["$SRV:$PORT", {"address": "$SRV:$TLSPORT", "tls": true}],
  "data_dir": "$T/data",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "tls": {"cert_dir": "$T/certs"},
  "domains": [{"name": "$H"}, {"name": "pending.example.com"}],
  "metrics": {"listen": "127.0.0.1:$MPORT"}$XDP_JSON
}
JSON
# ip netns exec execs edgetrackd, so $! is its pid either way
if [ $xdp = yes ]; then
	ip netns exec "$S" "$ETD" --config "$T/et.json" >>"$T/etd.out" 2>>"$T/etd.log" &
else
	"$ETD" --config "$T/et.json" >>"$T/etd.out" 2>>"$T/etd.log" &
fi
ET_PID=$!
ET_PIDS+=("$ET_PID")
up=no
for _ in $(seq 200); do
	in_s curl -sf -o /dev/null "http://127.0.0.1:$MPORT/metrics" && { up=yes; break; }
	kill -0 "$ET_PID" 2>/dev/null || break
	sleep 0.05
done
[ $up = yes ] || { echo "edgetrackd did not come up:"; cat "$T/etd.log"; exit 1; }

# ------------------------------------------------------------------ Prometheus
cat >"$T/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: edgetrack
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YAML
check "promtool accepts the scrape config" promtool check config "$T/prometheus.yml" >/dev/null
if [ $xdp = yes ]; then
	ip netns exec "$S" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$PPORT" \
		>"$T/prometheus.log" 2>&1 &
else
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
fi
PROM_PID=$!
ET_PIDS+=("$PROM_PID")
api() { in_s curl -sf "http://127.0.0.1:$PPORT/api/v1/$1" "${@:2}"; }
# query EXPR: the value of a one-sample instant query ("none" when it has no sample)
query() {
	api query --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")'
}
prom_fail() { echo "$1"; tail -n 20 "$T/prometheus.log"; exit 1; }
for i in $(seq 300); do
	in_s curl -sf -o /dev/null "http://127.0.0.1:$PPORT/-/ready" && break
	kill -0 "$PROM_PID" 2>/dev/null || prom_fail "prometheus exited:"
	[ "$i" = 300 ] && prom_fail "prometheus not ready after 30 s:"
	sleep 0.1
done
# the target's first scrape: fail at once on a scrape error, with Prometheus's reason
for i in $(seq 100); do
	health=$(api targets | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(t[0]["health"] if t else "none", t[0]["lastError"] if t else "")')
	case $health in up*) break ;; down*) prom_fail "scrape failed: $health" ;; esac
	[ "$i" = 100 ] && prom_fail "no scrape after 10 s: $health"
	sleep 0.1
done
check "prometheus scrapes the metrics listener" eq "$health" "up "

# ------------------------------------------------------------------ known traffic
CLICK=$(mint click $H "https://shop.example.com/p?id=1")
OPEN=$(mint open $H)
get() { # path: the status code
	in_c curl -s -o /dev/null -w '%{http_code}' --max-time 5 --resolve "$H:$PORT:$SRV" \
		"http://$H:$PORT$1"
}
codes=
for _ in $(seq $N); do codes="$codes $(get "/c/$CLICK")"; done
for _ in $(seq $M); do codes="$codes $(get "/o/$OPEN")"; done
for _ in $(seq $K); do codes="$codes $(get "/c/AAAA.BBBB")"; done
check "the traffic was answered" eq "$codes" "$(printf ' 302%.0s' $(seq $N))$(printf ' 200%.0s' $(seq $M))$(printf ' 404%.0s' $(seq $K))"
check "one TLS handshake" eq "$(in_c curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	--cacert "$T/ca/ca.crt" --resolve "$H:$TLSPORT:$SRV" "https://$H:$TLSPORT/healthz")" 200
if [ $xdp = yes ]; then
	check "SYNs from a blocked source sent" eq "$(in_c "$ET_BUILD/tests/xdp/synflood" -s $BAD \
		-d $SRV -p $PORT -n $J)" "sent $J"
fi

# ------------------------------------------------------------------ what Prometheus says
# expect NAME EXPR WANT: waits for the scrapes to catch up (the value only grows towards
# WANT here); a value past WANT or a scrape error fails at once.
expect() {
	local got
	for i in $(seq 100); do
		got=$(query "$2")
		[ "$got" = "$3" ] && break
		if [ "$got" != none ] && [ "${got%.*}" -gt "$3" ] 2>/dev/null; then break; fi
		kill -0 "$PROM_PID" 2>/dev/null || break
		[ "$i" = 100 ] || sleep 0.1
	done
	check "$1 = $3" eq "$got" "$3"
}
expect "clicks" 'edgetrack_http_requests_total{route="click",code="302"}' $N
expect "opens" 'edgetrack_http_requests_total{route="open",code="200"}' $M
expect "bad tokens" 'edgetrack_http_requests_total{route="bad_token",code="404"}' $K
expect "events recorded" 'edgetrack_events_total' $((N + M))
expect "journal records" 'edgetrack_journal_records_total' $((N + M))
expect "TLS handshakes" 'sum(edgetrack_tls_handshakes_total{result="ok"})' 1
expect "failed TLS handshakes" 'edgetrack_tls_handshakes_total{result="failed"}' 0
expect "request durations observed" \
	'sum(edgetrack_http_request_duration_seconds_count) >= bool '$((N + M + K)) 1
expect "journal commit durations observed" \
	'edgetrack_journal_commit_duration_seconds_count >= bool 1' 1
expect "certificates issued" 'edgetrack_certificates{state="issued"}' 1
expect "certificates pending" 'edgetrack_certificates{state="pending"}' 1
expect "earliest expiry in the future" \
	'edgetrack_certificate_earliest_expiry_timestamp_seconds > bool time()' 1
expect "events lost" 'edgetrack_events_lost_total' 0
if [ $xdp = yes ]; then
	expect "XDP attached" 'edgetrack_xdp_attached' 1
	expect "XDP blocklist drops" 'edgetrack_xdp_packets_total{verdict="drop",reason="blocklist"}' $J
	expect "XDP passes" 'sum(edgetrack_xdp_packets_total{verdict="pass"}) > bool 0' 1
else
	echo "# skipped: XDP drops (not attached)"
fi

# ------------------------------------------------------------------ edgetrackctl status
SOCK=$T/data/control.sock
check "status --table: requests by route" matches "$("$ETCTL" --socket "$SOCK" status --table)" \
	"^  click +$N\$"
check "status without a terminal: the JSON" contains "$("$ETCTL" --socket "$SOCK" status)" \
	"\"routes\":{\"click\":$N,"

# ------------------------------------------------------------------ the exposition itself
in_s curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt"
check "promtool check metrics accepts the text format" promtool check metrics <"$T/metrics.txt"
om=$(in_s curl -sf -D "$T/om.head" -H 'Accept: application/openmetrics-text;version=1.0.0' \
	"http://127.0.0.1:$MPORT/metrics")
check "OpenMetrics on request" contains "$(cat "$T/om.head")" "application/openmetrics-text; version=1.0.0"
check "OpenMetrics ends with # EOF" eq "$(tail -n 1 <<<"$om")" "# EOF"
check "every family has HELP and TYPE" eq "$(grep -c '^# HELP' "$T/metrics.txt")" \
	"$(grep -c '^# TYPE' "$T/metrics.txt")"
check "no bundle routes on the metrics listener" eq "$(in_s curl -s -o /dev/null -w '%{http_code}' \
	-X PUT --data-binary x "http://127.0.0.1:$MPORT/v1/bundle")" 404

kill -TERM "$PROM_PID"; wait "$PROM_PID" 2>/dev/null
check "edgetrackd stops on SIGTERM" stop_etd "$ET_PID"
check "no errors logged" bash -c "! grep -E 'level=error|ERROR|runtime error' '$T/etd.log'"
finish
