#!/bin/bash
# The fleet's edges, against one real nats-server with JetStream: a config without "nats"
# runs as before; --check-config refuses a bad "nats" object; a consumer started before any
# stream exists waits for it; fetches that time out (an idle stream) are "nothing yet"; a
# failing --exec command gets its events again and each exactly once when it succeeds;
# retention keeps unshipped segments while NATS is gone and lets them go once shipped; a
# damaged record is a gap the shipper reports and the consumers do not wait for;
# `fleet status` shows the appliance and flags it stale once it stops refreshing; /metrics
# shows the shipper cut off and its backlog, then caught up with the gap passed over.
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lib/nats.sh
. "$(dirname "$0")/../../scripts/lib/nats.sh"
H=click.example.com
command -v nats-server >/dev/null || { echo "FAIL - nats-server missing (scripts/install-deps.sh)"; exit 1; }

# hits PORT N: N opens over one keep-alive connection (one curl, a config of N URLs)
TOKEN=$(mint open "$H")
hits() {
	local i
	for i in $(seq "$2"); do
		printf 'url = "http://127.0.0.1:%s/o/%s"\noutput = "/dev/null"\n' "$1" "$TOKEN"
	done >"$T/curl.cfg"
	curl -s -H "Host: $H" -K "$T/curl.cfg"
}
lines() { [ -e "$1" ] && wc -l <"$1" || echo 0; }
at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# ---------------------------------------------------------------- no fleet
PORT=$(free_port)
write_config "$T/plain.json" "$PORT"
start_etd "$T/plain.json" "$PORT" || exit 1
hits "$PORT" 3
stop_etd "$ET_PID"
check "without \"nats\" nothing of the fleet runs" bash -c "[ ! -e '$T/data/fleet' ] && ! grep -q fleet_ '$T/etd.log'"

# ---------------------------------------------------------------- --check-config
bad() { # JSON-MEMBER EXPECTED-TEXT
	write_config "$T/bad.json" "$PORT" ", \"nats\": $1"
	out=$("$ETD" --check-config "$T/bad.json" 2>&1) && return 1
	contains "$out" "$2"
}
check "--check-config: servers required" bad '{}' "nats.servers"
check "--check-config: a URL must be nats://" bad '{"servers": ["http://x:1"]}' "nats.servers[0]"
check "--check-config: unknown member" bad '{"servers": ["nats://x:1"], "replica": 3}' "nats.replica: unknown member"
check "--check-config: replicas 1..5" bad '{"servers": ["nats://x:1"], "replicas": 9}' "nats.replicas"

# ---------------------------------------------------------------- command-line numbers
# usage errors (exit 2) naming the option, never a number read up to its first non-digit
badnum() { # EXPECTED-TEXT COMMAND...
	local want=$1 out; shift
	out=$("$ETCTL" "$@" 2>&1)
	[ $? -eq 2 ] && contains "$out" "$want"
}
check "consume --ack-wait 5s refused" badnum "--ack-wait: seconds" \
	events consume --nats nats://127.0.0.1:1 --ack-wait 5s
check "consume --gap-wait -1 refused" badnum "--gap-wait: deliveries" \
	events consume --nats nats://127.0.0.1:1 --gap-wait -1
check "fleet status --max-lag-ms 1m refused" badnum "--max-lag-ms: milliseconds" \
	fleet status --nats nats://127.0.0.1:1 --max-lag-ms 1m
check "bundle publish --replicas 3x refused" badnum "--replicas: 1 to 5" \
	bundle publish --nats nats://127.0.0.1:1 --replicas 3x some.bundle

# ---------------------------------------------------------------- consumer first
mkdir -p "$T/nats"
nats_cluster "$T/nats" 1 "$T/.ports" || { echo "FAIL - nats-server did not start"; exit 1; }
ET_PIDS+=("${NATS_PID[1]}")
# --ack-wait 2: what a fetch had in flight when NATS went away comes again 2 s after it is
# back, not after the default 30 s (the consumers hold later events until it does)
"$ETCTL" events consume --nats "$NATS_URLS" --durable first --state "$T/cs1" --ack-wait 2 \
	>"$T/out1.jsonl" 2>"$T/consume1.log" &
C1=$!
ET_PIDS+=("$C1")
check "a consumer started before the stream waits for it" \
	wait_until 10 "consume_waiting" grep -q consume_waiting "$T/consume1.log"

rm -rf "$T/data"
PORT=$(free_port) MPORT=$(free_port)
write_config "$T/fleet.json" "$PORT" ", \"nats\": {\"servers\": $(nats_json_urls), \"replicas\": 1,
  \"appliance_id\": \"edge-1\", \"status_interval_s\": 1, \"max_pending\": 16},
  \"journal\": {\"segment_bytes\": 4096, \"retain_bytes\": 1, \"segment_age_s\": 0},
  \"metrics\": {\"listen\": \"127.0.0.1:$MPORT\"}"
# metric NAME [LABELS]: the sample's value in the exposition
metric() {
	local name=$1
	[ -n "${2:-}" ] && name="$1{$2}"
	curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v n="$name" '$1 == n { print $2 }'
}
metric_is() { [ "$(metric "$1" "${3:-}")" = "$2" ]; }
metric_at_least() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
"$ETD" --check-config "$T/fleet.json" >/dev/null
check "--check-config accepts the nats object" eq "$?" 0
start_etd "$T/fleet.json" "$PORT" || exit 1
hits "$PORT" 20
check "the consumer gets the events once the appliance made the stream" \
	wait_until 20 "20 lines" at_least "$T/out1.jsonl" 20
sleep 3 # several fetches time out on an idle stream: nothing yet, not an error
hits "$PORT" 10
check "after idle fetch timeouts the consumer goes on" wait_until 20 "30 lines" at_least "$T/out1.jsonl" 30

# ---------------------------------------------------------------- --exec
cat >"$T/sink.sh" <<SH
#!/bin/sh
# fails its first batch, takes the rest
if [ ! -e "$T/sink.failed" ]; then : >"$T/sink.failed"; cat >/dev/null; exit 1; fi
cat >>"$T/out2.jsonl"
SH
chmod +x "$T/sink.sh"
"$ETCTL" events consume --nats "$NATS_URLS" --durable second --state "$T/cs2" --ack-wait 2 \
	--exec "$T/sink.sh" 2>"$T/consume2.log" &
C2=$!
ET_PIDS+=("$C2")
check "--exec: a failed batch comes again, then every event once" \
	wait_until 20 "30 lines from the command" at_least "$T/out2.jsonl" 30
check "--exec: the failure was reported" grep -q consume_exec_failed "$T/consume2.log"

# ---------------------------------------------------------------- retention hold
segments() { find "$T/data/journal" -name '*.seg' | wc -l; }
nats_kill 1 TERM
sleep 0.5
hits "$PORT" 200
check "NATS gone: expired segments holding unshipped events stay ($(segments) segments)" \
	bash -c "[ $(segments) -gt 3 ] && grep -q journal_retention_held '$T/etd.log'"
check "NATS gone: /metrics shows the shipper cut off" \
	wait_until 10 "edgetrack_fleet_connected 0" metric_is edgetrack_fleet_connected 0
check "and its backlog ($(metric edgetrack_fleet_unshipped_events) events)" \
	metric_at_least edgetrack_fleet_unshipped_events 200
# damage the first record of an unshipped, closed segment: the journal reader skips it, the
# shipper counts the gap and ships the next event naming the one before the gap as prev,
# and the consumers take it without waiting for the event that is gone
# (max_pending 16: while NATS is gone the shipper reads no further than 16 events past the
# 30 shipped, so the first record of a closed segment from seq 60 on is not read yet)
DAMAGED= DAMAGED_SEQ=
for f in $(find "$T/data/journal" -name '*.seg' | sort | head -n -1); do
	DAMAGED_SEQ=$((10#$(basename "$f" .seg)))
	[ "$DAMAGED_SEQ" -ge 60 ] && { DAMAGED=$f; break; }
done
[ -n "$DAMAGED" ] || { echo "FAIL - no closed segment from seq 60 on"; finish; exit 1; }
python3 -c "
f = open('$DAMAGED', 'r+b'); f.seek(32 + 40); b = f.read(1); f.seek(32 + 40)
f.write(bytes([b[0] ^ 0xff])); f.close()"
echo "    damaged the record of seq $DAMAGED_SEQ"
nats_start "$T/nats" 1
ET_PIDS+=("${NATS_PID[1]}")
nats_wait_js "$T/nats" 1 30
check "the backlog reaches both consumers, but for the damaged event" wait_until 30 "229 lines" \
	bash -c "[ \$(wc -l <'$T/out1.jsonl') -ge 229 ] && [ \$(wc -l <'$T/out2.jsonl') -ge 229 ]"
check "the shipper reported the gap" grep -q "fleet_journal_gap appliance=edge-1 missing_from=$DAMAGED_SEQ missing_to=$DAMAGED_SEQ" "$T/etd.log"
shipped_all() { [ "$(sed -n 's/^last_seq=//p' "$T/data/fleet/cursor")" -ge 230 ]; }
wait_until 20 "the cursor at 230" shipped_all
shipped_metrics() {
	metric_is edgetrack_fleet_connected 1 && metric_is edgetrack_fleet_unshipped_events 0 &&
		metric_is edgetrack_fleet_gap_events_total 1 && metric_at_least edgetrack_fleet_shipped_seq 230
}
check "/metrics: connected again, nothing unshipped, the gap counted" \
	wait_until 10 "the fleet metrics caught up" shipped_metrics
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt"
check "promtool check metrics accepts the fleet's families" promtool check metrics <"$T/metrics.txt"
check "/metrics: the messages' bytes under the records' ($(metric edgetrack_fleet_bytes_total 'kind="messages"') < $(metric edgetrack_fleet_bytes_total 'kind="records"'))" \
	bash -c "[ $(metric edgetrack_fleet_bytes_total 'kind="messages"') -gt 0 ] && [ $(metric edgetrack_fleet_bytes_total 'kind="messages"') -lt $(metric edgetrack_fleet_bytes_total 'kind="records"') ]"
hits "$PORT" 60 # a rotation runs retention again
check "once shipped, retention deletes them ($(segments) segments left)" \
	wait_until 10 "segments deleted" bash -c "[ \$(find '$T/data/journal' -name '*.seg' | wc -l) -le 3 ]"

# ---------------------------------------------------------------- idle
# context switches of the shipper's threads (its own and the NATS client's) over 2 s: about
# 230 when it looked at the journal every 20 ms, 30 to 60 now (4 looks a second, a status
# refresh each second with its request and reply)
shipper_switches() {
	local t n=0
	for t in /proc/"$ET_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = et-shipper ] || continue
		n=$((n + $(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status")))
	done
	echo "$n"
}
sw0=$(shipper_switches); sleep 2; sw=$(( $(shipper_switches) - sw0 ))
check "idle, the shipper sleeps until the journal commits ($sw switches in 2 s, a status each second)" \
	test "$sw" -le 100
hits "$PORT" 1
check "and an event after the quiet spell goes out" \
	wait_until 10 "the cursor at the new event" metric_at_least edgetrack_fleet_shipped_seq 291

# ---------------------------------------------------------------- fleet status
check "the status shows the appliance" \
	wait_until 10 "edge-1 in fleet status" bash -c "'$ETCTL' fleet status --nats '$NATS_URLS' | grep -q '^edge-1 .* ok '"
# The status is published once per interval_s, so the record read right after the backlog
# went out may be one from before; the next one must show the cursor.
status_caught_up() {
	"$ETCTL" fleet status --json --nats "$NATS_URLS" >"$T/status.json" && python3 -c "
import json, sys
d = json.load(open('$T/status.json'))
a = d['appliances'][0]
assert a['id'] == 'edge-1' and a['shipped_seq'] >= 230 and a['flags'] == [], a
assert set(a['certs']) == {'issued', 'pending', 'unknown'}, a" 2>"$T/status.err"
}
check "fleet status --json: shipped_seq and certs" \
	wait_until 10 "a status with shipped_seq 230" status_caught_up || tail -n 1 "$T/status.err"
stop_etd "$ET_PID"
stale() { "$ETCTL" fleet status --nats "$NATS_URLS" >"$T/stale.out"; [ $? -eq 3 ] && grep -q stale "$T/stale.out"; }
check "a stopped appliance is flagged stale (exit 3)" wait_until 15 "stale flag" stale

# ---------------------------------------------------------------- exactly once
kill -TERM "$C1" "$C2"
wait "$C1" "$C2"
check "each output holds seq 1..N but the damaged one, once, in order" python3 -c "
import json
for f in ('$T/out1.jsonl', '$T/out2.jsonl'):
    seqs = [json.loads(l)['seq'] for l in open(f)]
    want = [s for s in range(1, seqs[-1] + 1) if s != $DAMAGED_SEQ]
    assert seqs == want, (f, len(seqs))"
sed -n 's/^/    /p' "$T/consume1.log" "$T/consume2.log" | grep 'consumed='
check "no error output" bash -c "! grep -hE 'ERROR|runtime error|level=error' '$T/etd.log' '$T/consume1.log' '$T/consume2.log'"
nats_kill 1 TERM
finish
