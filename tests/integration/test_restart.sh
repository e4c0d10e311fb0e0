#!/bin/bash
# Restarts right after kill -9, under load: the killed process's listeners linger for a few
# milliseconds after `wait` returns (io_uring tears them down asynchronously), and a restart
# must not take them for a live edgetrackd. A second edgetrackd on the address or the data
# directory of a live one is still refused, with the reason.
. "$(dirname "$0")/lib.sh"

LOADGEN=$ET_BUILD/tests/journal/loadgen
RESTARTS=${RESTARTS:-50}
[ -x "$LOADGEN" ] || { echo "FAIL - $LOADGEN is not built (make tests)"; exit 1; }

PORT=$(free_port)
write_config "$T/et.json" "$PORT"
start_etd "$T/et.json" "$PORT" || exit 1

# Bounded load: the generator stops by itself after 120 s if the test dies first.
"$LOADGEN" -p "$PORT" -H click.example.com -k "$KEY1" -c 32 -t 120 >/dev/null 2>"$T/load.err" &
LOAD_PID=$!
ET_PIDS+=("$LOAD_PID")

ok=0
for i in $(seq "$RESTARTS"); do
	kill -KILL "$ET_PID"
	wait "$ET_PID" 2>/dev/null
	if ! start_etd "$T/et.json" "$PORT"; then
		echo "    restart $i failed: $(grep start_failed "$T/etd.log" | tail -n 1)"
		break
	fi
	ok=$((ok + 1))
done
kill -TERM "$LOAD_PID"
wait "$LOAD_PID"
check "$RESTARTS restarts right after kill -9 under load all succeed" eq "$ok" "$RESTARTS"
check "no restart was refused" eq "$(grep -c start_failed "$T/etd.log")" 0
served=$("$ETCTL" --socket "$T/data/control.sock" status | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
check "the last instance served the load (${served:-0} requests)" test "${served:-0}" -gt 0

echo "    restarts that waited for the killed process's listeners: $(grep -c listen_wait "$T/etd.log")"

# hold_port SECONDS: a stand-in for a dead owner's lingering listener (SO_REUSEPORT, like
# edgetrackd's) holds the port for SECONDS; returns once it listens.
hold_port() {
	rm -f "$T/held"
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))' "$PORT" "$T/held" "$1" &
	HOLD_PID=$!
	ET_PIDS+=("$HOLD_PID")
	for _ in $(seq 100); do [ -e "$T/held" ] && return 0; sleep 0.05; done
	echo "    the stand-in listener did not start" >&2
	return 1
}

# The address still held after the owner died: the restart waits (and says so); once the
# stand-in lets go, the restart serves.
kill -KILL "$ET_PID"; wait "$ET_PID" 2>/dev/null
hold_port 30 || exit 1
spawn_etd "$T/et.json"
waited=no
for _ in $(seq 200); do
	grep -q listen_wait "$T/etd.log" && { waited=yes; break; }
	kill -0 "$ET_PID" 2>/dev/null || break
	sleep 0.02
done
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null
check "a restart waits for a dead owner's listener" eq "$waited" yes
check "... and names the previous owner" contains "$(grep listen_wait "$T/etd.log" | tail -n 1)" "previous_pid="
check "... then serves" wait_up "$PORT"

# Held for longer than the bound: refused with the reason, not waited for forever.
kill -KILL "$ET_PID"; wait "$ET_PID" 2>/dev/null
hold_port 30 || exit 1
out=$(timeout 10 "$ETD" --config "$T/et.json" 2>&1)
check "an address that stays taken is refused after a bounded wait" eq "$?" 1
check "... saying why" contains "$out" "listen 127.0.0.1:$PORT: address already in use by another process"
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null
start_etd "$T/et.json" "$PORT" || exit 1

# A second edgetrackd while the first is live: same address, another data directory.
sed "s#\"data_dir\": \"$T/data\"#\"data_dir\": \"$T/d2\"#" "$T/et.json" >"$T/et2.json"
out=$(timeout 10 "$ETD" --config "$T/et2.json" 2>&1)
check "second edgetrackd on the same address exits 1" eq "$?" 1
check "... saying why" contains "$out" "listen 127.0.0.1:$PORT: address already in use by another process (is another edgetrackd running?)"

# Same data directory, another address.
PORT3=$(free_port)
sed "s#127.0.0.1:$PORT#127.0.0.1:$PORT3#" "$T/et.json" >"$T/et3.json"
out=$(timeout 10 "$ETD" --config "$T/et3.json" 2>&1)
check "second edgetrackd on the same data directory exits 1" eq "$?" 1
check "... naming the live owner" contains "$out" "is used by edgetrackd pid $ET_PID"
check "the first instance still serves" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200

stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR|runtime error' '$T/etd.log'"
finish
