#!/bin/bash
# Malformed and over-limit requests get the right status, then the connection closes.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$T/et.json" "$PORT"
start_etd "$T/et.json" "$PORT" || exit 1
H="Host: click.example.com"

first_line() { head -n1 | tr -d '\r'; }
expect() { # description data status
	local out
	out=$(raw "$PORT" "$2" 3)
	check "$1 -> $3" eq "$(first_line <<<"$out")" "HTTP/1.1 $3 $(reason "$3")"
	check "$1 closes the connection" contains "$out" "Connection: close"
}
reason() {
	case $1 in
	400) echo "Bad Request" ;; 405) echo "Method Not Allowed" ;; 408) echo "Request Timeout" ;;
	411) echo "Length Required" ;; 413) echo "Content Too Large" ;; 414) echo "URI Too Long" ;;
	431) echo "Request Header Fields Too Large" ;; 501) echo "Not Implemented" ;;
	505) echo "HTTP Version Not Supported" ;;
	esac
}

long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }

expect "garbage request line" '{hello}\r\n\r\n' 400
expect "a TLS ClientHello on the plain port" '\x16\x03\x01\x02\x00\x01\x00' 400
expect "an unknown method token" 'hello\r\n\r\n' 501
expect "missing HTTP version" 'GET /healthz\r\n\r\n' 400
expect "lowercase method" "get /healthz HTTP/1.1\r\n$H\r\n\r\n" 501
expect "unknown method" "BREW /healthz HTTP/1.1\r\n$H\r\n\r\n" 501
expect "HTTP/2.0 request line" "GET /healthz HTTP/2.0\r\n$H\r\n\r\n" 505
expect "HTTP/1.1 without Host" 'GET /healthz HTTP/1.1\r\n\r\n' 400
expect "two Host headers" "GET /healthz HTTP/1.1\r\n$H\r\n$H\r\n\r\n" 400
expect "space before colon" "GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n" 400
expect "obs-fold header" "GET /healthz HTTP/1.1\r\n$H\r\nX-A: 1\r\n 2\r\n\r\n" 400
expect "NUL in a header" "GET /healthz HTTP/1.1\r\n$H\r\nX-A: a\x01b\r\n\r\n" 400
expect "Content-Length and Transfer-Encoding" "POST /u/x HTTP/1.1\r\n$H\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" 400
expect "bad Content-Length" "POST /u/x HTTP/1.1\r\n$H\r\nContent-Length: 1x\r\n\r\n" 400
expect "chunked body" "POST /u/x HTTP/1.1\r\n$H\r\nTransfer-Encoding: chunked\r\n\r\n" 411
expect "unknown transfer coding" "POST /u/x HTTP/1.1\r\n$H\r\nTransfer-Encoding: gzip\r\n\r\n" 501
expect "body over 4 KiB" "POST /u/x HTTP/1.1\r\n$H\r\nContent-Length: 4097\r\n\r\n" 413
expect "request target over the limit" "GET /$(long 9000) HTTP/1.1\r\n$H\r\n\r\n" 414
expect "headers over 8 KiB" "GET /healthz HTTP/1.1\r\n$H\r\nX-Big: $(long 8200)\r\n\r\n" 431
many=""
for i in $(seq 65); do many+="X-H$i: v\r\n"; done
expect "65 headers" "GET /healthz HTTP/1.1\r\n$H\r\n$many\r\n" 431

out=$(raw "$PORT" "PUT /c/x HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
check "PUT is 405 with Allow" contains "$out" "Allow: GET, HEAD"

# limits exactly at the boundary are accepted
pad=$((8192 - ${#H} - 2 - 31 - 4 - 19))
at=$(raw "$PORT" "GET /healthz HTTP/1.1\r\n$H\r\nConnection: close\r\nX-P: $(long $pad)\r\n\r\n")
check "a head of exactly 8 KiB is served" eq "$(first_line <<<"$at")" "HTTP/1.1 200 OK"
T64=$(mint unsubscribe click.example.com)
body="List-Unsubscribe=One-Click&pad=$(long $((4096 - 31)))"
at=$(raw "$PORT" "POST /u/$T64 HTTP/1.1\r\n$H\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body")
check "a 4 KiB body is accepted (${#body} bytes)" eq "$(first_line <<<"$at")" "HTTP/1.1 200 OK"

# the server is still fine after all of that
check "still serving" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200
st=$("$ETCTL" --socket "$T/data/control.sock" status)
check "parse errors counted" contains "$st" '"parse_errors":'
check "every connection closed" contains "$st" '"open_connections":0'
stop_etd "$ET_PID"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
