#!/bin/bash
# Every route over HTTPS with curl and openssl s_client, events flagged "tls":true, HSTS only
# over HTTPS and only where configured, and plain-HTTP redirects to HTTPS (never for ACME).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

tls_test_setup || exit 1
for d in click.example.com secure.example.org preload.example.org short.example.org; do
	tls_leaf "$T/ca" "$T/certs" "$d" || exit 1
done
tls_write_config "$T/et.json" "$PORT" "$TLSPORT" "" '
    {"name": "click.example.com"},
    {"name": "secure.example.org", "https_redirect": true,
     "hsts": {"max_age": 31536000, "include_subdomains": true}},
    {"name": "preload.example.org",
     "hsts": {"max_age": 63072000, "include_subdomains": true, "preload": true}},
    {"name": "short.example.org", "hsts": {"max_age": 600}}'
start_etd "$T/et.json" "$PORT" || exit 1

H=click.example.com
R=(--resolve "$H:$TLSPORT:127.0.0.1")
B=https://$H:$TLSPORT
CLICK=$(mint click $H "https://shop.example.com/p?id=1")
OPEN=$(mint open $H)
UNSUB=$(mint unsubscribe $H)
TOK=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA

# ---- curl --resolve, certificate verified against the test CA
out=$(tls_get -i "${R[@]}" "$B/c/$CLICK")
check "curl: click over HTTPS answers 302" contains "$out" "HTTP/1.1 302 Found"
check "curl: click Location is the signed destination" contains "$out" "Location: https://shop.example.com/p?id=1"
wait_events 1
check "click recorded with tls:true" contains "$(events | tail -1)" '"tls":true'
check "click recorded for the host" contains "$(events | tail -1)" '"kind":"click","host":"click.example.com"'

tls_get "${R[@]}" -D "$T/h" -o "$T/gif" "$B/o/$OPEN"
check "curl: open over HTTPS answers 200" contains "$(cat "$T/h")" "HTTP/1.1 200 OK"
check "curl: open body is the 43-byte GIF" eq "$(stat -c %s "$T/gif") $(head -c 6 "$T/gif")" "43 GIF89a"
wait_events 2
check "open recorded with tls:true" contains "$(events | tail -1)" '"kind":"open"'
check "open event has tls:true" contains "$(events | tail -1)" '"tls":true'

out=$(tls_get -i "${R[@]}" "$B/u/$UNSUB")
check "curl: unsubscribe GET page over HTTPS" contains "$out" '<form method="post">'
check "curl: unsubscribe GET records nothing" eq "$(event_count)" 2
out=$(tls_get -i "${R[@]}" -d List-Unsubscribe=One-Click "$B/u/$UNSUB")
check "curl: one-click POST over HTTPS answers 200" contains "$out" "HTTP/1.1 200 OK"
wait_events 3
check "unsubscribe recorded with tls:true" contains "$(events | tail -1)" '"kind":"unsubscribe"'
check "unsubscribe event has tls:true" contains "$(events | tail -1)" '"tls":true'

check "curl: ACME challenge over HTTPS" eq "$(tls_get "${R[@]}" "$B/.well-known/acme-challenge/$TOK")" "$TOK.$THUMB"
check "curl: healthz over HTTPS" eq "$(status_of --cacert "$T/ca/ca.crt" "${R[@]}" "$B/healthz")" 200
check "curl: ALPN http/1.1 negotiated" contains "$(tls_get -v -o /dev/null "${R[@]}" "$B/healthz" 2>&1)" "ALPN: server accepted http/1.1"
check "plain-HTTP event has tls:false" bash -c "curl -s -o /dev/null --resolve $H:$PORT:127.0.0.1 http://$H:$PORT/o/$OPEN && sleep 0.3 && '$ETCTL' events tail -n 1 --dir '$T/data/journal' | grep -q '\"tls\":false'"
n=$(event_count)

# ---- openssl s_client: one request per connection, then the server closes
req() { printf 'GET %s HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$1" "$H"; }
out=$(tls_sclient_req $H "$(req "/c/$CLICK")")
check "s_client: certificate verified" contains "$out" "Verify return code: 0 (ok)"
check "s_client: click 302" contains "$out" "HTTP/1.1 302 Found"
check "s_client: click Location" contains "$out" "Location: https://shop.example.com/p?id=1"
out=$(tls_sclient_req $H "$(req "/o/$OPEN")")
check "s_client: open 200 image/gif" contains "$out" "Content-Type: image/gif"
out=$(tls_sclient_req $H "$(req "/u/$UNSUB")")
check "s_client: unsubscribe GET page" contains "$out" '<form method="post">'
body=List-Unsubscribe=One-Click
out=$(tls_sclient_req $H "POST /u/$UNSUB HTTP/1.1\r\nHost: $H\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#body}\r\n\r\n$body")
check "s_client: one-click POST 200" contains "$out" "HTTP/1.1 200 OK"
out=$(tls_sclient_req $H "$(req "/.well-known/acme-challenge/$TOK")")
check "s_client: ACME challenge" contains "$out" "$TOK.$THUMB"
out=$(tls_sclient_req $H "$(req /healthz)")
check "s_client: healthz 200" contains "$out" "HTTP/1.1 200 OK"
# two requests on one connection (keep-alive through the TLS session)
out=$(tls_sclient_req $H "GET /healthz HTTP/1.1\r\nHost: $H\r\n\r\nGET /o/$OPEN HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n")
check "s_client: two requests on one TLS connection" eq "$(grep -c '^HTTP/1.1 200 OK' <<<"$out")" 2
# The last answer of a connection and its close_notify: the alert follows the answer, and a
# client that sent nothing more finds no socket of edgetrackd's left on the connection.
held="ss -Htnp '( sport = :$TLSPORT )' | grep -c edgetrackd"
out=$("$CLOSE_CHECK" "$TLSPORT" "GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" \
	--tls "$H" "$T/ca/ca.crt" --then "$held")
check "TLS close: the answer, then close_notify" eq "$(head -n1 <<<"$out" | cut -d' ' -f2)" close_notify
check "TLS close: the answer read in full (as long as over plain HTTP)" \
	eq "$(head -n1 <<<"$out" | cut -d' ' -f1)" \
	"$(raw "$PORT" "GET /healthz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | wc -c)"
check "TLS close: the socket is closed, not lingering" eq "$(tail -n1 <<<"$out")" 0
wait_events $((n + 4))
check "s_client events all tls:true" eq "$(events | tail -n 4 | grep -c '"tls":true')" 4

# ---- HSTS: only over HTTPS, only for domains that configure it, with their options
hsts() { # host: the Strict-Transport-Security header over HTTPS, or nothing
	tls_get -sI --resolve "$1:$TLSPORT:127.0.0.1" "https://$1:$TLSPORT/o/$(mint open "$1")" |
		tr -d '\r' | grep -i '^strict-transport-security:'
}
check "HSTS with includeSubDomains over HTTPS" eq "$(hsts secure.example.org)" "Strict-Transport-Security: max-age=31536000; includeSubDomains"
check "HSTS with preload over HTTPS" eq "$(hsts preload.example.org)" "Strict-Transport-Security: max-age=63072000; includeSubDomains; preload"
check "HSTS max-age only" eq "$(hsts short.example.org)" "Strict-Transport-Security: max-age=600"
check "no HSTS for a domain without it" eq "$(hsts click.example.com)" ""
out=$(curl -sI -H "Host: short.example.org" "http://127.0.0.1:$PORT/o/$(mint open short.example.org)")
check "no HSTS over plain HTTP" eq "$(grep -ci strict-transport <<<"$out")" 0
check "plain HTTP still serves a domain with HSTS but no redirect" contains "$out" "HTTP/1.1 200 OK"

# ---- https_redirect: tracking routes 308 to https, ACME and healthz never
S=secure.example.org
SCLICK=$(mint click $S https://x.example/)
SUNSUB=$(mint unsubscribe $S)
out=$(curl -si -H "Host: $S" "http://127.0.0.1:$PORT/c/$SCLICK")
check "redirect: click 308" contains "$out" "HTTP/1.1 308 Permanent Redirect"
check "redirect: Location is the https URL" contains "$out" "Location: https://$S/c/$SCLICK"
check "redirect: no HSTS on the plain-HTTP 308" eq "$(grep -ci strict-transport <<<"$out")" 0
check "redirect: one-click POST also 308" eq "$(status_of -H "Host: $S" -d $body "http://127.0.0.1:$PORT/u/$SUNSUB")" 308
check "redirect: ACME challenge answered on plain HTTP" eq "$(curl -s -H "Host: $S" "http://127.0.0.1:$PORT/.well-known/acme-challenge/$TOK")" "$TOK.$THUMB"
check "redirect: healthz answered on plain HTTP" eq "$(status_of -H "Host: $S" "http://127.0.0.1:$PORT/healthz")" 200
out=$(tls_get -si --resolve "$S:$TLSPORT:127.0.0.1" "https://$S:$TLSPORT/c/$SCLICK")
check "redirect: the same click over HTTPS is a 302" contains "$out" "HTTP/1.1 302 Found"
check "redirect: HSTS on the HTTPS answer" contains "$out" "Strict-Transport-Security: max-age=31536000; includeSubDomains"
check "no redirect for a domain without https_redirect" eq "$(status_of -H "Host: $H" "http://127.0.0.1:$PORT/c/$CLICK")" 302

stop_etd "$ET_PID"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
