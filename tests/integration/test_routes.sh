#!/bin/bash
# Every route of a tracking domain over plain HTTP with curl, and the events they record.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$T/et.json" "$PORT"
start_etd "$T/et.json" "$PORT" || exit 1
H=click.example.com
R=(--resolve "$H:$PORT:127.0.0.1")
B=http://$H:$PORT

CLICK=$(mint click $H "https://shop.example.com/p?id=1&x=%20")
OPEN=$(mint open $H)
UNSUB=$(mint unsubscribe $H)

# click
out=$(curl -si "${R[@]}" "$B/c/$CLICK")
check "click answers 302" contains "$out" "HTTP/1.1 302 Found"
check "click Location is the signed destination" contains "$out" "Location: https://shop.example.com/p?id=1&x=%20"
check "click is not cached" contains "$out" "Cache-Control: no-store"
wait_events 1
check "click recorded" contains "$(events | tail -1)" '"kind":"click","host":"click.example.com","message_id":7,"recipient_id":9,"link_index":2'

# open
curl -s "${R[@]}" -D "$T/h" -o "$T/gif" "$B/o/$OPEN"
check "open answers 200" contains "$(cat "$T/h")" "HTTP/1.1 200 OK"
check "open body is a 43-byte GIF" eq "$(stat -c %s "$T/gif") $(head -c 6 "$T/gif")" "43 GIF89a"
check "open content type" contains "$(cat "$T/h")" "Content-Type: image/gif"
check "open is no-store" contains "$(cat "$T/h")" "Cache-Control: no-store"
wait_events 2
check "open recorded" contains "$(events | tail -1)" '"kind":"open"'

# unsubscribe
out=$(curl -si "${R[@]}" "$B/u/$UNSUB")
check "unsubscribe GET shows a confirmation page" contains "$out" '<form method="post">'
check "unsubscribe GET records nothing" eq "$(event_count)" 2
out=$(curl -si "${R[@]}" -d List-Unsubscribe=One-Click "$B/u/$UNSUB")
check "one-click POST answers 200" contains "$out" "HTTP/1.1 200 OK"
wait_events 3
check "one-click recorded" contains "$(events | tail -1)" '"kind":"unsubscribe"'
out=$(curl -si "${R[@]}" -H 'Expect: 100-continue' -F List-Unsubscribe=One-Click "$B/u/$UNSUB")
check "100-continue honoured" contains "$out" "HTTP/1.1 100 Continue"
check "one-click as multipart/form-data" contains "$out" "HTTP/1.1 200 OK"
wait_events 4
check "POST without the one-click field is 400" eq "$(status_of "${R[@]}" -d foo=bar "$B/u/$UNSUB")" 400
check "POST with a wrong content type is 400" eq "$(status_of "${R[@]}" -H 'Content-Type: text/plain' --data-binary List-Unsubscribe=One-Click "$B/u/$UNSUB")" 400

# HEAD: same headers, no body, flagged as machine
out=$(curl -sI "${R[@]}" "$B/o/$OPEN")
check "HEAD open answers 200 with the GIF's length" contains "$out" "Content-Length: 43"
wait_events 5
check "HEAD event flagged machine" contains "$(events | tail -1)" '"machine":true,"machine_reasons":["head"'

# bad tokens: never a redirect, never an event
n=$(event_count)
last=${CLICK: -1}; [ "$last" = A ] && flip=Q || flip=A
check "forged tag is 404" eq "$(status_of "${R[@]}" "$B/c/${CLICK%?}$flip")" 404
check "forged payload is 404" eq "$(status_of "${R[@]}" "$B/c/B${CLICK#?}")" 404
check "truncated token is 404" eq "$(status_of "${R[@]}" "$B/c/${CLICK:0:20}")" 404
check "empty token is 404" eq "$(status_of "${R[@]}" "$B/c/")" 404
OTHER=$(mint click other.example.com "https://evil.example/")
check "token of another host is 404" eq "$(status_of "${R[@]}" "$B/c/$OTHER")" 404
EXPIRED=$("$ETCTL" token encode --host $H --key-id 1 --key "$KEY1" --kind click --message 1 --recipient 1 --url https://x.example/ --expires 2020-01-01)
check "expired token is 404" eq "$(status_of "${R[@]}" "$B/c/$EXPIRED")" 404
UNKNOWNKEY=$("$ETCTL" token encode --host $H --key-id 9 --key "$KEY2" --kind click --message 1 --recipient 1 --url https://x.example/)
check "unknown key id is 404" eq "$(status_of "${R[@]}" "$B/c/$UNKNOWNKEY")" 404
check "open token on the click route is 404" eq "$(status_of "${R[@]}" "$B/c/$OPEN")" 404
check "no event for bad tokens" eq "$(event_count)" "$n"

# hosts
check "Host is case-insensitive, ignores port and trailing dot" eq \
	"$(status_of -H "Host: CLICK.Example.COM.:$PORT" "http://127.0.0.1:$PORT/o/$OPEN")" 200
W=a.track.example.net
WOPEN=$(mint open $W)
check "wildcard domain served" eq "$(status_of -H "Host: $W" "http://127.0.0.1:$PORT/o/$WOPEN")" 200
check "wildcard does not cover two labels" eq "$(status_of -H "Host: a.b.track.example.net" "http://127.0.0.1:$PORT/o/$WOPEN")" 421
wait_events $((n + 2))
n=$(event_count)
check "unknown host is 421" eq "$(status_of -H "Host: unknown.example" "http://127.0.0.1:$PORT/o/$OPEN")" 421
check "invalid Host is 400" eq "$(status_of -H "Host: bad_host!" "http://127.0.0.1:$PORT/o/$OPEN")" 400
sleep 0.1
check "no event for unknown hosts" eq "$(event_count)" "$n"

# HTTPS redirect and HSTS configuration: plain HTTP answers 308, HSTS never on plain HTTP
S=secure.example.org
SCLICK=$(mint click $S https://x.example/)
out=$(curl -si -H "Host: $S" "http://127.0.0.1:$PORT/c/$SCLICK")
check "https_redirect answers 308 to https" contains "$out" "Location: https://$S/c/$SCLICK"
check "no HSTS over plain HTTP" eq "$(grep -ci strict-transport <<<"$out")" 0
out=$(raw "$PORT" "GET http://$S/c/$SCLICK?q=1 HTTP/1.1\r\nHost: $S\r\nConnection: close\r\n\r\n")
check "absolute-form request: Location from the path and query only" \
	eq "$(grep -i '^location:' <<<"$out" | tr -d '\r')" "Location: https://$S/c/$SCLICK?q=1"
check "ACME challenge never redirected" eq "$(status_of -H "Host: $S" "http://127.0.0.1:$PORT/.well-known/acme-challenge/abcdefghijklmnopqrstuvwxyz012345")" 200

# ACME HTTP-01: stateless answer for configured domains, explicit store through the control socket
TOK=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
check "stateless key authorization" eq "$(curl -s "${R[@]}" "$B/.well-known/acme-challenge/$TOK")" "$TOK.$THUMB"
check "bad challenge token is 404" eq "$(status_of "${R[@]}" "$B/.well-known/acme-challenge/short")" 404
check "challenge for an unknown host is 421" eq "$(status_of -H "Host: nope.example" "http://127.0.0.1:$PORT/.well-known/acme-challenge/$TOK")" 421
SOCK=$T/data/control.sock
OTHERTP=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ
check "explicit challenge added" "$ETCTL" --socket "$SOCK" challenge add "$TOK" "$TOK.$OTHERTP"
check "explicit challenge answered" eq "$(curl -s "${R[@]}" "$B/.well-known/acme-challenge/$TOK")" "$TOK.$OTHERTP"
check "challenge list shows it" contains "$("$ETCTL" --socket "$SOCK" challenge list)" "$TOK $TOK.$OTHERTP"
check "a key authorization for another token is refused" bash -c "! '$ETCTL' --socket '$SOCK' challenge add $TOK other.$OTHERTP 2>/dev/null"
check "explicit challenge removed" "$ETCTL" --socket "$SOCK" challenge del "$TOK"
check "stateless answer again after removal" eq "$(curl -s "${R[@]}" "$B/.well-known/acme-challenge/$TOK")" "$TOK.$THUMB"

# the rest
check "/healthz answers 200 for any host" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200
check "unknown path is 404" eq "$(status_of "${R[@]}" "$B/nothing/here")" 404
check "PUT is 405" eq "$(status_of -X PUT "${R[@]}" "$B/c/$CLICK")" 405
check "405 names the allowed methods" contains "$(curl -si -X DELETE "${R[@]}" "$B/u/$UNSUB")" "Allow: GET, HEAD, POST"
check "POST on a click is 405" eq "$(status_of -d x=y "${R[@]}" "$B/c/$CLICK")" 405
check "a body on GET is 413" eq "$(status_of -X GET -d x=y "${R[@]}" "$B/o/$OPEN")" 413
st=$("$ETCTL" --socket "$SOCK" status)
check "status counts clicks" contains "$st" '"click":1,'
events >"$T/events.jsonl"
check "events are one JSON object per line" python3 -c "import json,sys; [json.loads(l) for l in open('$T/events.jsonl')]"
check "event sequence numbers are 1..N" eq "$(python3 -c "import json; print([json.loads(l)['seq'] for l in open('$T/events.jsonl')] == list(range(1, $(event_count) + 1)))")" True
stop_etd "$ET_PID"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
