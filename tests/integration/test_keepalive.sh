#!/bin/bash
# Keep-alive, pipelining, HTTP/1.0, and draining on SIGTERM.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$T/et.json" "$PORT"
start_etd "$T/et.json" "$PORT" || exit 1
H=click.example.com
OPEN=$(mint open $H)
CLICK=$(mint click $H https://dest.example/)

# curl reuses one connection for several URLs
out=$(curl -sv --resolve "$H:$PORT:127.0.0.1" "http://$H:$PORT/o/$OPEN" "http://$H:$PORT/c/$CLICK" "http://$H:$PORT/healthz" 2>&1 -o /dev/null -o /dev/null -o /dev/null)
check "curl reuses the connection" contains "$out" "Re-using existing connection"
check "one connection for three requests" eq "$(grep -c 'Connected to' <<<"$out")" 1

# three pipelined requests in one write, answered in order; the last asks to close
req="GET /o/$OPEN HTTP/1.1\r\nHost: $H\r\n\r\nHEAD /c/$CLICK HTTP/1.1\r\nHost: $H\r\n\r\nGET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n"
out=$(raw "$PORT" "$req")
check "pipelined: three responses" eq "$(grep -ao 'HTTP/1.1 [0-9]*' <<<"$out" | wc -l)" 3
check "pipelined: in order" eq "$(grep -ao 'HTTP/1.1 [0-9]*' <<<"$out" | cut -d' ' -f2 | tr '\n' ' ')" "200 302 200 "
check "pipelined: closed after the last" contains "$(tail -c 200 <<<"$out")" "ok"

# 200 pipelined requests in one write: more than one output buffer's worth
req=""
for i in $(seq 200); do req+="GET /o/$OPEN HTTP/1.1\r\nHost: $H\r\n\r\n"; done
req+="GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n"
out=$(raw "$PORT" "$req" 5)
check "201 pipelined requests all answered" eq "$(grep -ao 'HTTP/1.1 200' <<<"$out" | wc -l)" 201

# How a connection ends: a client that asked to close and sent nothing more gets the answer
# and the FIN, and edgetrackd holds no socket for it; one that sent more bytes after that
# request gets the answer too, then a FIN while edgetrackd reads its rest (no reset).
held="ss -Htnp '( sport = :$PORT )' | grep -c edgetrackd"
out=$("$CLOSE_CHECK" "$PORT" "GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" --then "$held")
check "clean close: the answer, then a FIN" eq "$(head -n1 <<<"$out" | cut -d' ' -f2)" fin
check "clean close: answered in full" eq "$(head -n1 <<<"$out" | cut -d' ' -f1)" \
	"$(raw "$PORT" "GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | wc -c)"
check "clean close: the socket is closed, not lingering" eq "$(tail -n1 <<<"$out")" 0
out=$("$CLOSE_CHECK" "$PORT" "GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: $H\r\n\r\n" --then "$held")
check "bytes after the last request: one answer, then a FIN" eq "$(head -n1 <<<"$out" | cut -d' ' -f2)" fin
check "bytes after the last request: edgetrackd lingers" eq "$(tail -n1 <<<"$out")" 1

# a request split over several writes is reassembled
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HT' >&$fd; sleep 0.1
printf 'TP/1.1\r\nHo' >&$fd; sleep 0.1
printf 'st: a\r\nConnection: close\r\n\r\n' >&$fd
out=$(timeout 3 cat <&$fd); exec {fd}>&-
check "split request answered" contains "$out" "HTTP/1.1 200 OK"

# HTTP/1.0 closes by default, keeps alive when asked
out=$(raw "$PORT" "GET /healthz HTTP/1.0\r\n\r\n")
check "HTTP/1.0 answered and closed" contains "$out" "Connection: close"
out=$(raw "$PORT" "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n")
check "HTTP/1.0 keep-alive serves a second request" eq "$(grep -c '^HTTP/1.1 200' <<<"$out")" 2

# SIGTERM drains: a request in flight (head half sent) still gets its answer
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf "GET /o/$OPEN HTTP/1.1\r\nHost: $H\r\n" >&$fd
sleep 0.2
kill -TERM "$ET_PID"
sleep 0.2
printf '\r\n' >&$fd
out=$(timeout 3 cat <&$fd | tr -d '\0'); exec {fd}>&-
check "in-flight request answered during drain" contains "$out" "HTTP/1.1 200 OK"
check "drained response closes" contains "$out" "Connection: close"
for _ in $(seq 60); do kill -0 "$ET_PID" 2>/dev/null || break; sleep 0.05; done
check "edgetrackd exited after draining" bash -c "! kill -0 $ET_PID 2>/dev/null"
check "listener closed" bash -c "! curl -s -o /dev/null http://127.0.0.1:$PORT/healthz"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
