#!/bin/bash
# Hot swap of a cert under load: keep-alive HTTPS clients stay busy (curl with many URLs per
# connection, and openssl s_client connections held open across every swap) while the cert
# files are replaced and reloaded several times (SIGHUP, `cert reload`, `cert reload DOMAIN`).
# Every request must succeed, each new handshake must get the newest cert, and the connections
# opened before the first swap keep the cert they started with and keep serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

PORT=$(free_port)
TLSPORT=$(free_port)
BACKEND=$(tls_backend)
CLIENTS=${CLIENTS:-4}   # curl loops
HELD=${HELD:-2}         # s_client connections held across the swaps
SWAPS=${SWAPS:-6}
echo "# backend: $BACKEND, $CLIENTS curl loops, $HELD held connections, $SWAPS swaps"
H=click.example.com
tls_ca "$T/ca" || exit 1
tls_leaf "$T/ca" "$T/certs" $H || exit 1
tls_write_config "$T/et.json" "$PORT" "$TLSPORT"
start_etd "$T/et.json" "$PORT" || exit 1
SOCK=$T/data/control.sock
FP0=$(file_fingerprint "$T/certs/$H.crt")
OPEN=$(mint open $H)

# One curl per connection, 100 URLs on it (keep-alive); one status line per request.
urls=()
for i in $(seq 50); do
	urls+=(-o /dev/null "https://$H:$TLSPORT/healthz" -o /dev/null "https://$H:$TLSPORT/o/$OPEN")
done
curl_loop() { # id
	while [ ! -e "$T/stop" ]; do
		curl -s --cacert "$T/ca/ca.crt" --resolve "$H:$TLSPORT:127.0.0.1" \
			-w '%{http_code} %{num_connects}\n' "${urls[@]}" >>"$T/load.$1"
		echo "rc=$?" >>"$T/rc.$1"
	done
}
# A connection held open: one request every 0.2 s until stopped (at most 60 s).
held_conn() { # id
	{
		for _ in $(seq 300); do
			[ -e "$T/stop" ] && break
			printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n' $H
			sleep 0.2
		done
		printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' $H
	} | timeout 90 openssl s_client -connect "127.0.0.1:$TLSPORT" -servername $H \
		-CAfile "$T/ca/ca.crt" -verify_return_error -ign_eof -sess_out "$T/held.sess.$1" \
		>"$T/held.$1" 2>&1
	echo $? >"$T/held.rc.$1"
}

pids=()
for i in $(seq "$HELD"); do held_conn "$i" & pids+=($!); done
for i in $(seq "$CLIENTS"); do curl_loop "$i" & pids+=($!); done
sleep 1.5

methods=(sighup all domain)
ok_swaps=0
for s in $(seq "$SWAPS"); do
	tls_leaf "$T/ca" "$T/certs" $H || exit 1
	FP=$(file_fingerprint "$T/certs/$H.crt")
	case ${methods[$((s % 3))]} in
	sighup) kill -HUP "$ET_PID"; sleep 0.3 ;;
	all) "$ETCTL" --socket "$SOCK" cert reload >/dev/null ;;
	domain) "$ETCTL" --socket "$SOCK" cert reload $H >/dev/null ;;
	esac
	got=$(tls_fingerprint $H)
	if [ "$got" = "$FP" ]; then ok_swaps=$((ok_swaps + 1)); else echo "    swap $s: served $got, want $FP"; fi
	sleep 0.5
done
check "every new handshake after a swap got the new cert ($ok_swaps/$SWAPS)" eq "$ok_swaps" "$SWAPS"
check "the last cert is served to curl too" eq "$(curl -s --cacert "$T/ca/ca.crt" --resolve "$H:$TLSPORT:127.0.0.1" -w '%{certs}' -o /dev/null "https://$H:$TLSPORT/healthz" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)" "$FP"
sleep 1
touch "$T/stop"
wait "${pids[@]}"

total=$(cat "$T"/load.* | wc -l)
bad=$(cat "$T"/load.* | grep -vc '^200 ')
conns=$(cat "$T"/rc.* | wc -l)
reused=$(cat "$T"/load.* | grep -c '^200 0$')
badrc=$(cat "$T"/rc.* | grep -vc '^rc=0$')
echo "# curl: $total requests on $conns connections ($reused on reused connections), $bad failed, $badrc curl errors"
check "load ran (at least 1000 requests)" test "$total" -ge 1000
check "requests shared connections (keep-alive)" test "$reused" -ge $((total / 2))
check "zero failed requests under the swaps" eq "$bad" 0
check "zero failed connections under the swaps" eq "$badrc" 0
for i in $(seq "$HELD"); do
	n=$(grep -c '^HTTP/1.1 200 OK' "$T/held.$i")
	echo "# held connection $i: $n requests"
	check "held connection $i: served all along (>= 20 requests, closed cleanly)" test "$n" -ge 20 -a "$(cat "$T/held.rc.$i")" = 0
	check "held connection $i: one handshake, never renegotiated" eq "$(grep -c '^New, ' "$T/held.$i")" 1
	check "held connection $i: kept its original cert" eq "$(openssl x509 -noout -fingerprint -sha256 <"$T/held.$i" 2>/dev/null | cut -d= -f2)" "$FP0"
	check "held connection $i: server sent 200 for every request" eq "$(grep -c '^HTTP/1.1 ' "$T/held.$i")" "$n"
done
stop_etd "$ET_PID"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
