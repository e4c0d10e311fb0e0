#!/bin/bash
# The fleet's events exactly once: a 3-node NATS JetStream cluster (real nats-server
# processes on free loopback ports), a stream with 3 replicas, two edgetrackd appliances
# under load shipping to it and `edgetrackctl events consume` reading it. While the load
# runs one NATS node is killed and restarted, one appliance is killed with SIGKILL and
# restarted, and so is the consumer. Then every NATS node is stopped: the appliances keep
# serving and journaling, and when the cluster is back the backlog drains. Every journaled
# event must reach the consumer's output exactly once, in seq order per appliance. app-a
# sends its messages LZ4-compressed (the default), app-b with "compress": false, as firmware
# of before it did: one consumer reads both.
#   FLEET_SOAK=1 (make soak) runs longer with more load.
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lib/nats.sh
. "$(dirname "$0")/../../scripts/lib/nats.sh"

LOADGEN=$ET_BUILD/tests/journal/loadgen
H=click.example.com
if [ -n "${FLEET_SOAK:-}" ]; then
	CLIENTS=16 PHASE_S=6 OUTAGE_S=15 DRAIN_S=300
else
	CLIENTS=4 PHASE_S=2 OUTAGE_S=3 DRAIN_S=90
fi
[ -x "$LOADGEN" ] || { echo "FAIL - $LOADGEN is not built (make tests)"; exit 1; }
command -v nats-server >/dev/null || { echo "FAIL - nats-server missing (scripts/install-deps.sh)"; exit 1; }

die() { echo "FAIL - $*"; finish; exit 1; }

mkdir -p "$T/nats"
nats_cluster "$T/nats" 3 "$T/.ports" || die "NATS cluster did not come up"
for i in 1 2 3; do ET_PIDS+=("${NATS_PID[$i]}"); done
echo "    [${SECONDS}s] nats cluster: $NATS_URLS"

# ---------------------------------------------------------------- appliances
declare -A PORT PID
appliance_config() { # NAME COMPRESS
	local n=$1
	PORT[$n]=$(free_port)
	cat >"$T/$n.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:${PORT[$n]}"],
  "data_dir": "$T/$n",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "domains": [{"name": "$H"}],
  "nats": {"servers": $(nats_json_urls), "replicas": 3, "appliance_id": "$n",
           "max_pending": 128, "ack_timeout_ms": 2000, "status_interval_s": 1,
           "compress": $2}
}
JSON
}
start_appliance() { # NAME
	local n=$1
	"$ETD" --config "$T/$n.json" >>"$T/$n.out" 2>>"$T/$n.log" &
	PID[$n]=$!
	ET_PIDS+=("${PID[$n]}")
	wait_until 10 "$n answers" curl -sf -o /dev/null "http://127.0.0.1:${PORT[$n]}/healthz"
}
journaled() { # NAME: events in its journal
	"$ETCTL" events tail -n 100000000 --dir "$T/$1/journal" 2>/dev/null | wc -l
}
shipped() { # NAME: its stored cursor
	sed -n 's/^last_seq=//p' "$T/$1/fleet/cursor" 2>/dev/null || echo 0
}

appliance_config app-a true
appliance_config app-b false
for n in app-a app-b; do
	start_appliance "$n" || die "$n did not start"
done

# ---------------------------------------------------------------- consumer
CONSUMED=$T/consumed.jsonl
: >"$CONSUMED"
start_consumer() {
	"$ETCTL" events consume --nats "$NATS_URLS" --durable fleet-test --state "$T/consumer" \
		--ack-wait 2 >>"$CONSUMED" 2>>"$T/consumer.log" &
	CONSUMER=$!
	ET_PIDS+=("$CONSUMER")
}
consumed() { wc -l <"$CONSUMED"; }
start_consumer

# ---------------------------------------------------------------- load and faults
LOADS=()
load() { # SECONDS: loadgen on both appliances (each client its own message ids)
	local base=$((RANDOM * 1000))
	"$LOADGEN" -p "${PORT[app-a]}" -H "$H" -k "$KEY1" -c "$CLIENTS" -t "$1" -m "$base" \
		>>"$T/load-a.out" 2>>"$T/load.err" &
	LOADS+=($!)
	ET_PIDS+=($!)
	"$LOADGEN" -p "${PORT[app-b]}" -H "$H" -k "$KEY1" -c "$CLIENTS" -t "$1" -m "$((base + 500))" \
		>>"$T/load-b.out" 2>>"$T/load.err" &
	LOADS+=($!)
	ET_PIDS+=($!)
}
more_consumed() { [ "$(consumed)" -gt "$1" ]; }
more_journaled() { [ "$(journaled "$1")" -gt "$2" ]; }

load $((PHASE_S * 8 + 10))
check "events flow: appliance -> stream -> consumer" \
	wait_until 20 "the consumer gets events" more_consumed 0
more_consumed 0 || die "no event reached the consumer"

sleep "$PHASE_S"
nats_kill 2 KILL
echo "    [${SECONDS}s] killed nats node n2 at consumed=$(consumed)"
sleep "$PHASE_S"
nats_start "$T/nats" 2
ET_PIDS+=("${NATS_PID[2]}")
nats_wait_js "$T/nats" 2 30 || die "n2 did not rejoin"
echo "    [${SECONDS}s] restarted n2"

sleep "$PHASE_S"
{ kill -KILL "${PID[app-a]}"; wait "${PID[app-a]}"; } 2>/dev/null
echo "    [${SECONDS}s] killed app-a (kill -9) at journaled=$(journaled app-a) shipped=$(shipped app-a)"
start_appliance app-a || die "app-a did not restart"

sleep "$PHASE_S"
c0=$(consumed)
{ kill -KILL "$CONSUMER"; wait "$CONSUMER"; } 2>/dev/null
echo "    [${SECONDS}s] killed the consumer (kill -9) at consumed=$c0"
sleep 1
start_consumer
sleep "$PHASE_S"
for p in "${LOADS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
LOADS=()
check "the restarted consumer goes on" wait_until 30 "consumer progress" more_consumed "$c0"

# ---------------------------------------------------------------- the link cut
for i in 1 2 3; do nats_kill "$i" TERM; done
echo "    [${SECONDS}s] stopped every nats node"
ja=$(journaled app-a) jb=$(journaled app-b)
acked_before=$(grep -c '^A ' "$T/load-a.out" "$T/load-b.out" | awk -F: '{ s += $2 } END { print s }')
load "$OUTAGE_S"
for p in "${LOADS[@]}"; do wait "$p" 2>/dev/null; done
LOADS=()
acked_after=$(grep -c '^A ' "$T/load-a.out" "$T/load-b.out" | awk -F: '{ s += $2 } END { print s }')
check "appliances keep serving with NATS gone ($((acked_after - acked_before)) answers)" \
	test "$acked_after" -gt "$acked_before"
check "and keep journaling" bash -c "[ $(journaled app-a) -gt $ja ] && [ $(journaled app-b) -gt $jb ]"
backlog=$(( $(journaled app-a) + $(journaled app-b) - $(shipped app-a) - $(shipped app-b) ))
echo "    backlog while NATS is gone: $backlog events"
for i in 1 2 3; do
	nats_start "$T/nats" "$i"
	ET_PIDS+=("${NATS_PID[$i]}")
done
nats_wait_js "$T/nats" 1 2 3 30 || die "the cluster did not come back"
echo "    [${SECONDS}s] restarted every nats node"

# ---------------------------------------------------------------- drain and compare
all_consumed() {
	[ "$(consumed)" -ge $(( $(journaled app-a) + $(journaled app-b) )) ] &&
		[ "$(shipped app-a)" -eq "$(journaled app-a)" ] && [ "$(shipped app-b)" -eq "$(journaled app-b)" ]
}
t0=$SECONDS
wait_until "$DRAIN_S" "the backlog to drain (journaled $(( $(journaled app-a) + $(journaled app-b) )))" all_consumed
check "the backlog drained (in $((SECONDS - t0))s)" all_consumed

"$ETCTL" fleet status --nats "$NATS_URLS" >"$T/status.out" 2>&1
sed 's/^/    /' "$T/status.out"
check "fleet status lists both appliances" bash -c "grep -q '^app-a ' '$T/status.out' && grep -q '^app-b ' '$T/status.out'"

# bytes of journal records published, and of the messages that carried them
fleet_bytes() { # NAME
	"$ETCTL" --socket "$T/$1/control.sock" status |
		sed -n 's/.*"bytes_records":\([0-9]*\),"bytes_sent":\([0-9]*\).*/\1 \2/p'
}
read -r ra sa <<<"$(fleet_bytes app-a)"
read -r rb sb <<<"$(fleet_bytes app-b)"
echo "    record bytes / message bytes: app-a $ra / $sa, app-b $rb / $sb"
check "app-a's messages are compressed, app-b's are not" \
	bash -c "[ ${sa:-0} -gt 0 ] && [ $((sa * 2)) -lt ${ra:-0} ] && [ ${sb:-0} -ge ${rb:-1} ]"

kill -TERM "$CONSUMER"
wait "$CONSUMER"
check "the consumer stops on SIGTERM" eq "$?" 0
for n in app-a app-b; do
	stop_etd "${PID[$n]}"
	"$ETCTL" events tail -n 100000000 --dir "$T/$n/journal" >"$T/$n.jsonl" 2>/dev/null
done
python3 - "$CONSUMED" "$T/app-a.jsonl" "$T/app-b.jsonl" >"$T/compare.out" 2>&1 <<'PY'
import json, sys
journal = {}
for name, path in (("app-a", sys.argv[2]), ("app-b", sys.argv[3])):
    journal[name] = {}
    for line in open(path):
        e = json.loads(line)
        journal[name][e["seq"]] = e
consumed, last, dup, order, bad, cn = {}, {}, 0, 0, 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    app, seq = e.pop("appliance"), e["seq"]
    seen = consumed.setdefault(app, set())
    cn += 1
    if seq in seen:
        dup += 1
    elif seq < last.get(app, 0):
        order += 1
    seen.add(seq)
    last[app] = seq
    if journal.get(app, {}).get(seq) != e:
        bad += 1
jn = sum(len(v) for v in journal.values())
missing = sum(len(set(journal[a]) - consumed.get(a, set())) for a in journal)
print("journaled=%d consumed=%d missing=%d duplicated=%d out_of_order=%d differing=%d"
      % (jn, cn, missing, dup, order, bad))
for a in sorted(journal):
    print("  %s journaled=%d consumed=%d" % (a, len(journal[a]), len(consumed.get(a, []))))
sys.exit(1 if missing or dup or order or bad or cn != jn else 0)
PY
compare_rc=$?
echo "    shipped: app-a=$(shipped app-a) app-b=$(shipped app-b)"
sed 's/^/    /' "$T/compare.out"
sed -n 's/^/    consumer: /p' "$T/consumer.log" | grep -E 'consumed=|output_cut|gap' | tail -5
check "every journaled event consumed exactly once, in seq order, unchanged" eq "$compare_rc" 0
check "no consumer gap was given up on" bash -c "! grep -q consume_gap '$T/consumer.log'"
check "no sanitizer or error output" bash -c "! grep -hE 'ERROR|runtime error|level=error' '$T'/app-*.log '$T/consumer.log'"
for i in 1 2 3; do nats_kill "$i" TERM; done
finish
