#!/bin/bash
# Crash test of the event journal: many concurrent clients load edgetrackd while it is killed
# with SIGKILL at random moments and restarted on the same data directory. Every event whose
# response a client fully read must be in the journal exactly once, no event may appear twice
# or without having been requested, sequence numbers run 1..N across all restarts, and
# `events verify` finds no damaged record (a torn tail cut by recovery was never acknowledged).
. "$(dirname "$0")/lib.sh"

LOADGEN=$ET_BUILD/tests/journal/loadgen
KILLS=${KILLS:-6}
CLIENTS=${CLIENTS:-48}
H=click.example.com
[ -x "$LOADGEN" ] || { echo "FAIL - $LOADGEN is not built (make tests)"; exit 1; }

PORT=$(free_port)
write_config "$T/et.json" "$PORT"
SOCK=$T/data/control.sock
JDIR=$T/data/journal
start_etd "$T/et.json" "$PORT" || exit 1

"$LOADGEN" -p "$PORT" -H "$H" -k "$KEY1" -c "$CLIENTS" -t 600 -m 1000 >"$T/load.out" 2>"$T/load.err" &
LOAD_PID=$!
ET_PIDS+=("$LOAD_PID")

served() { # events the running instance made durable (its status counter)
	local n
	n=$("$ETCTL" --socket "$SOCK" status 2>/dev/null | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
	echo "${n:-0}"
}
wait_load() { # until the running instance has served 100 events (at most 20 s)
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt 20 ] && kill -0 "$LOAD_PID" 2>/dev/null; do
		[ "$(served)" -ge 100 ] && return 0
		sleep 0.02
	done
	return 1
}

# Each instance must be under load when it dies: wait until it has served some events,
# then kill it a random 0..700 ms later.
kills=0 loaded=0
for i in $(seq "$KILLS"); do
	wait_load && loaded=$((loaded + 1))
	sleep "0.$(printf '%03d' $((RANDOM % 700)))"
	kill -KILL "$ET_PID" && kills=$((kills + 1))
	wait "$ET_PID" 2>/dev/null
	start_etd "$T/et.json" "$PORT" || { echo "FAIL - restart $i after kill -9"; exit 1; }
done
wait_load
kill -TERM "$LOAD_PID"
wait "$LOAD_PID"
load_rc=$?
stop_etd "$ET_PID"

check "killed edgetrackd $KILLS times" eq "$kills" "$KILLS"
check "every killed instance was serving load" eq "$loaded" "$KILLS"
check "load generator finished" eq "$load_rc" 0
cat "$T/load.err"
check "the journal recovered its tail at each restart" eq "$(grep -c journal_recovered "$T/etd.log")" "$KILLS"
echo "    torn tails cut by recovery: $(grep -c journal_torn_tail "$T/etd.log")"

"$ETCTL" events verify --dir "$JDIR" >"$T/verify.out" 2>&1
verify_rc=$?
sed "s/^/    verify: /" "$T/verify.out"
check "events verify exits 0" eq "$verify_rc" 0
check "events verify reports no problem" contains "$(tail -1 "$T/verify.out")" "problems=0"
check "no incomplete record after a clean stop" bash -c "! grep -q '^incomplete' '$T/verify.out'"

"$ETCTL" events tail -n 100000000 --dir "$JDIR" >"$T/events.jsonl" 2>"$T/tail.err"
check "events tail reads the whole journal" eq "$?" 0

# Compares what the clients saw (load.out) with what the journal holds (events.jsonl).
python3 - "$T/load.out" "$T/events.jsonl" >"$T/compare.out" 2>&1 <<'PY'
import json, sys
sent, acked, other = set(), set(), []
for line in open(sys.argv[1]):
    f = line.split()
    key = (int(f[1]), int(f[2]))
    if f[0] == "S":
        sent.add(key)
    elif f[0] == "A":
        acked.add(key)
    else:
        other.append(line.strip())
seqs, keys, bad_kind = [], [], 0
for line in open(sys.argv[2]):
    e = json.loads(line)
    seqs.append(e["seq"])
    key = (e["message_id"], e["recipient_id"])
    keys.append(key)
    want = "open" if key[1] % 4 == 0 else "click"
    bad_kind += e["kind"] != want or e["link_index"] != key[1] % 65536
journal = set(keys)
problems = []
if seqs != list(range(1, len(seqs) + 1)):
    problems.append("sequence numbers are not 1..%d" % len(seqs))
if len(journal) != len(keys):
    problems.append("%d duplicated events" % (len(keys) - len(journal)))
if acked - journal:
    problems.append("%d acknowledged events missing, e.g. %s" % (len(acked - journal), sorted(acked - journal)[:5]))
if journal - sent:
    problems.append("%d events nobody requested" % len(journal - sent))
if bad_kind:
    problems.append("%d events with the wrong kind or link index" % bad_kind)
if other:
    problems.append("%d answers other than 302/200, e.g. %s" % (len(other), other[:3]))
print("sent=%d acknowledged=%d journal=%d recorded_unacknowledged=%d lost_unacknowledged=%d"
      % (len(sent), len(acked), len(keys), len(journal - acked), len(sent - journal)))
for p in problems:
    print("problem: " + p)
sys.exit(1 if problems else 0)
PY
compare_rc=$?
sed 's/^/    /' "$T/compare.out"
check "acknowledged events are in the journal exactly once, seq 1..N, nothing extra" eq "$compare_rc" 0
acked=$(grep -c '^A ' "$T/load.out")
check "clients got many answers ($acked)" test "$acked" -ge 1000
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
