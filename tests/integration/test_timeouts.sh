#!/bin/bash
# Slowloris and idle timeouts, and the connection limit.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$T/et.json" "$PORT" ',
  "limits": {"header_timeout_ms": 600, "idle_timeout_ms": 900}'
sed -i 's/"workers": 2/"workers": 1/' "$T/et.json"
start_etd "$T/et.json" "$PORT" || exit 1

# slowloris: a head trickling in one byte at a time never completes in time
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
start=$(date +%s%N)
( for c in G E T ' ' / h e a l t h z ' ' H T T P; do printf '%s' "$c"; sleep 0.1; done ) >&$fd 2>/dev/null &
writer=$!
out=$(timeout 5 cat <&$fd); exec {fd}>&-
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "slow head answered 408" contains "$out" "HTTP/1.1 408 Request Timeout"
check "slow head cut near the header timeout (${ms} ms)" test "$ms" -ge 500 -a "$ms" -lt 2500
wait "$writer"

# a connection that sends nothing is cut too
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
start=$(date +%s%N)
out=$(timeout 5 cat <&$fd); exec {fd}>&-
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "silent connection answered 408 and closed (${ms} ms)" contains "$out" "408"

# idle keep-alive connection closes after idle_timeout_ms, silently
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n' >&$fd
start=$(date +%s%N)
out=$(timeout 5 cat <&$fd); exec {fd}>&-
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "idle connection got its answer" eq "$(grep -c 'HTTP/1.1 200' <<<"$out")" 1
check "idle connection closed after the idle timeout (${ms} ms)" test "$ms" -ge 800 -a "$ms" -lt 2500
check "no 408 on an idle keep-alive connection" eq "$(grep -c 408 <<<"$out")" 0
st=$("$ETCTL" --socket "$T/data/control.sock" status)
check "timeouts counted" contains "$st" '"header_timeouts":2,"idle_timeouts":1'
stop_etd "$ET_PID"

# connection limit: the sixth connection is refused with a log line
PORT=$(free_port)
write_config "$T/lim.json" "$PORT" ',
  "limits": {"max_connections": 5, "header_timeout_ms": 20000, "idle_timeout_ms": 20000}'
sed -i 's/"workers": 2/"workers": 1/' "$T/lim.json"
: >"$T/etd.log"
start_etd "$T/lim.json" "$PORT" || exit 1
fds=()
for i in 1 2 3 4 5; do exec {f}<>"/dev/tcp/127.0.0.1/$PORT"; fds+=($f); done
sleep 0.2
out=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
check "connection over the limit refused" eq "$out" 000
check "refusal logged clearly" contains "$(cat "$T/etd.log")" "msg=connection_refused worker=0 reason=max_connections limit=5"
for f in "${fds[@]}"; do exec {f}>&-; done
sleep 0.3
check "served again below the limit" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200
stop_etd "$ET_PID"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
