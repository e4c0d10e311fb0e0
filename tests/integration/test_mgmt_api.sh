#!/bin/bash
# The management API: mutual TLS (no client certificate, or one from another CA, gets no
# API at all), routes kept apart from the tracking listeners, status and challenges, upload
# limits, and bundles pushed with edgetrackctl: a new cert served on the next handshake, a
# bundle with one bad pair refused whole with the state untouched, replays refused, an
# unhealthy bundle rolled back, kill -9 at every step of an apply (the restart serves the old
# state or the new one, never a mix), and bundles applied under wrk load with no failed
# request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"
. "$(dirname "$0")/lib_mgmt.sh"

tls_test_setup
MPORT=$(free_port)
MURL=https://127.0.0.1:$MPORT
C1=click.example.com
C2=pay.example.com
cd "$T" || exit 1

# ---------------------------------------------------------------- keys, certs, config

mgmt_operator_certs && tls_ca other || exit 1
issue other stranger 'extendedKeyUsage=clientAuth\n' || exit 1
tls_leaf "$T/ca" "$T/certs" $C1 && tls_leaf "$T/ca" "$T/certs" $C2 || exit 1

mgmt_operator_keys || exit 1

MGMT_JSON="{\"listen\": \"127.0.0.1:$MPORT\", \"cert\": \"$T/mgmt.crt\", \"key\": \"$T/mgmt.key\",
    \"client_ca\": \"$T/opca/ca.crt\", \"root_key\": \"$T/root.pub\", \"max_bundle_bytes\": 4194304,
    \"health_window_ms\": 3000}"
# served_json [EXTRA_DOMAIN] [EXTRA_LISTEN]: the config a bundle carries (no own settings)
served_json() {
	local extra=${1:+, {\"name\": \"$1\"\}} listen=${2:+, \"$2\"}
	cat <<JSON
{"workers": 2,
 "listen": ["127.0.0.1:$PORT", {"address": "127.0.0.1:$TLSPORT", "tls": true}$listen],
 "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
 "acme": {"thumbprints": ["$THUMB"]},
 "tls": {"default_cert": "$C1"},
 "domains": [{"name": "$C1"}, {"name": "$C2"}$extra]}
JSON
}
served_json | python3 -c "
import json, sys
c = json.load(sys.stdin)
c['data_dir'] = '$T/data'
c['tls']['cert_dir'] = '$T/certs'
c['management'] = json.loads('''$MGMT_JSON''')
json.dump(c, open('et.json', 'w'), indent=1)"

# ---------------------------------------------------------------- config checks

check "edgetrackd links no operator library (libcurl, c-ares, libpsl)" \
	bash -c "! ldd '$ETD' | grep -qE 'libcurl|libcares|libpsl'"
check "--check-config accepts the management listener" contains "$("$ETD" --check-config et.json 2>&1)" "management API"
badcfg() { # description python-edit expected
	python3 -c "import json; c = json.load(open('et.json')); $2; json.dump(c, open('bad.json', 'w'))"
	check "$1" contains "$("$ETD" --check-config bad.json 2>&1)" "$3"
}
badcfg "no client CA refused" "del c['management']['client_ca']" 'management.client_ca: is required'
badcfg "a key that is not the cert's refused" "c['management']['key'] = '$T/certs/$C1.key'" "management: key"
badcfg "an unreadable client CA refused" "c['management']['client_ca'] = '$T/none.pem'" "$T/none.pem"
badcfg "the tracking address refused" "c['management']['listen'] = '127.0.0.1:$PORT'" 'is a tracking listener too'
badcfg "unknown setting refused" "c['management']['port'] = 1" 'management: unknown setting "port"'
badcfg "XDP that would drop the management port refused" \
	"c['xdp'] = {'interfaces': ['lo'], 'management': {'ports': [22], 'cidrs': ['10.0.0.0/8']}}" \
	"port $MPORT is not in xdp.management.ports (with cidrs): XDP would drop every operator connection"
badcfg "XDP that lets operators reach it accepted" \
	"c['xdp'] = {'interfaces': ['lo'], 'management': {'ports': [$MPORT], 'cidrs': ['127.0.0.0/8']}}" \
	"management API"

start_etd et.json "$PORT" || exit 1
RCPT=$("$ETCTL" id --data-dir data | sed -n 's/^recipient: //p')
ID=${RCPT%%:*}

# ---------------------------------------------------------------- mutual TLS, routes

api() { # curl args...: the management API as the operator
	curl -s -m 20 --cacert opca/ca.crt --cert operator.crt --key operator.key "$@"
}
code_as() { # cert-args... URL: HTTP status, 000 when no HTTP happened
	curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert opca/ca.crt "$@"
}
check "operator certificate: status answers" eq "$(code_as --cert operator.crt --key operator.key "$MURL/v1/status")" 200
check "no client certificate: no API (handshake fails)" eq "$(code_as "$MURL/v1/status")" 000
check "another CA's certificate: no API (handshake fails)" eq "$(code_as --cert stranger.crt --key stranger.key "$MURL/v1/status")" 000
out=$(printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 10 openssl s_client \
	-connect "127.0.0.1:$MPORT" -CAfile opca/ca.crt -cert stranger.crt -key stranger.key -ign_eof 2>&1 |
	tr -d '\0')
check "s_client with another CA's certificate gets an alert" contains "$out" "alert unknown ca"
check "and no answer" lacks "$out" "HTTP/1.1"
check "the refusal is logged" contains "$(cat etd.log)" "msg=management_refused"
check "tracking routes are not served on the management listener" eq "$(api -o /dev/null -w '%{http_code}' "$MURL/healthz")" 404
check "management routes are not served on the tracking listeners" eq "$(status_of -H "Host: $C1" "http://127.0.0.1:$PORT/v1/status")" 404
check "a wrong method names the right one" contains "$(api -i -X DELETE "$MURL/v1/bundle")" "Allow: PUT"

st=$(api "$MURL/v1/status")
check "status: version, appliance id, serial, domains, certs by state, counters" python3 -c "
import json; s = json.loads('''$st''')
assert s['version'] and s['appliance_id'] == '$ID' and s['serial'] == 0, s
assert s['domains'] == 2 and s['certs']['valid'] == 2 and 'requests' in s and 'routes' in s, s"

# an account whose thumbprint the box does not hold
TOKEN=mgmtChallengeToken0123456789
KA=$TOKEN.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ
check "challenge added" contains "$(api -d "{\"token\": \"$TOKEN\", \"key_authorization\": \"$KA\"}" "$MURL/v1/challenges")" '"result":"added"'
check "and answered on plain HTTP" eq "$(curl -s -H "Host: $C1" "http://127.0.0.1:$PORT/.well-known/acme-challenge/$TOKEN")" "$KA"
check "a bad challenge is refused with its reason" contains "$(api -d '{"token": "short", "key_authorization": "short.x"}' "$MURL/v1/challenges")" '"result":"refused"'
check "a challenge body that is no JSON object is a 400" eq "$(api -o /dev/null -w '%{http_code}' -d 'nope' "$MURL/v1/challenges")" 400

# ---------------------------------------------------------------- uploads

truncate -s 5M big.bin
check "a bundle above max_bundle_bytes gets 413" eq "$(api -o /dev/null -w '%{http_code}' -T big.bin "$MURL/v1/bundle")" 413
check "a chunked upload gets 411" eq "$(api -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -T - "$MURL/v1/bundle" <big.bin)" 411
head -c 1000 big.bin >junk.bin
check "garbage is refused by the verifier" contains "$(api -T junk.bin "$MURL/v1/bundle")" '"result":"refused"'
# An upload held open halfway holds no worker: tracking requests go on meanwhile. The client
# sends half the body, says so (file "held") and sends the rest once told (file "release").
python3 - "$MPORT" >held.out 2>&1 <<'PY' &
import os, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile="opca/ca.crt")
ctx.load_cert_chain("operator.crt", "operator.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
body = b"x" * 3000000
s.sendall(b"PUT /v1/bundle HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:1500000])
open("held", "w").close()
for _ in range(1200):
    if os.path.exists("release"):
        break
    time.sleep(0.05)
s.sendall(body[1500000:])
print(s.recv(4096).decode())
PY
HELD=$!
ET_PIDS+=("$HELD") # cleanup ends it if the test stops early
for _ in $(seq 200); do [ -e held ] || ! kill -0 $HELD 2>/dev/null && break; sleep 0.05; done
check "an upload is held open halfway" test -e held
ok=0
for _ in $(seq 20); do
	[ "$(status_of -m 5 -H "Host: $C1" "http://127.0.0.1:$PORT/healthz")" = 200 ] && ok=$((ok + 1))
done
check "tracking requests are answered meanwhile (20/20)" eq "$ok" 20
touch release
wait "$HELD"
check "the upload is answered once its body is in" contains "$(cat held.out)" '"result":"refused"'
check "uploads leave no file behind" eq "$(ls data/incoming | wc -l)" 0

# ---------------------------------------------------------------- bundles

served_fp() { tls_fingerprint "$1"; }
# bundle SERIAL OUT [create args...]: a bundle for this appliance signed by $SIGNER
SIGNER=op
bundle() {
	local serial=$1 out=$2; shift 2
	"$ETCTL" bundle create --serial "$serial" --signer $SIGNER.pub --scope "$ID" --recipient "$RCPT" \
		--out "$out" "$@" >/dev/null && "$ETCTL" bundle sign --key $SIGNER.key "$out" >/dev/null
}
push() { "$ETCTL" bundle push --to "$MURL" --cert operator.crt --key operator.key --ca opca/ca.crt "$@" 2>/dev/null; }
# new_pair DOMAIN DIR: a fresh cert + key for DOMAIN in DIR
new_pair() { tls_leaf "$T/ca" "$2" "$1"; }
state_sum() { (cd data/state && ls -lR --time-style=full-iso . && readlink current) | md5sum; }

# a new cert, a challenge answer and a newer keyring (certifying a second signing key)
new_pair $C1 b2 || exit 1
"$ETCTL" keys gen --unencrypted --pub op2.pub --sec op2.key >/dev/null &&
	cp keyring keyring2 && "$ETCTL" keys certify --root-key root.key --keyring keyring2 \
		--pub op2.pub --not-after 1d >/dev/null || exit 1
TOKEN2=bundleChallengeToken012345
KA2=$TOKEN2.QPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba
bundle 2 b2.bundle --cert "$C1=b2/$C1.crt,b2/$C1.key" --challenge "$TOKEN2=$KA2" --keyring keyring2 || exit 1
FP2=$(file_fingerprint b2/$C1.crt)
FPPAY=$(served_fp $C2)
check "a new cert for $C1 is applied" eq "$(push b2.bundle)" "$MURL applied serial=2"
check "and served on the next handshake" eq "$(served_fp $C1)" "$FP2"
check "the other domain keeps its cert" eq "$(served_fp $C2)" "$FPPAY"
check "the bundle's challenge is answered" eq "$(curl -s -H "Host: $C2" "http://127.0.0.1:$PORT/.well-known/acme-challenge/$TOKEN2")" "$KA2"
check "the bundle's newer keyring is held" contains "$("$ETCTL" keys keyring show --root root.pub data/keyring)" "serial 2"
SIGNER=op2 # from here on bundles are signed by the key that keyring brought
check "status shows the applied serial" contains "$(api "$MURL/v1/status")" '"generation":"gen-2","serial":2'

# one good pair and one cert that is not its key's: refused whole, nothing changes
new_pair $C2 b3 && new_pair $C1 b3x || exit 1
bundle 3 b3.bundle --cert "$C2=b3/$C2.crt,b3/$C2.key" --cert "$C1=b3x/$C1.crt,b3/$C2.key" || exit 1
before=$(state_sum)
out=$(push b3.bundle); rc=$?
check "a bundle with one mismatched pair is refused" contains "$out" "refused: $C1: "
check "push exits non-zero when an appliance refused" test "$rc" -ne 0
check "the state directory is untouched" eq "$(state_sum)" "$before"
check "both domains keep their certs" eq "$(served_fp $C1) $(served_fp $C2)" "$FP2 $FPPAY"
check "a replayed bundle is refused" contains "$(push b2.bundle)" "not above the applied serial 2"

# a listen address this box cannot bind: applied, found unhealthy, rolled back, serial spent
served_json "" "192.0.2.1:8080" >cfg4.json
bundle 4 b4.bundle --config cfg4.json || exit 1
out=$(push b4.bundle)
check "an unbindable listener rolls the bundle back" contains "$out" "rolled_back serial=4: listen 192.0.2.1:8080"
check "the previous generation serves again" contains "$(api "$MURL/v1/status")" '"generation":"gen-2","serial":2,"highest_serial":4'
check "the rolled-back bundle cannot be replayed" contains "$(push b4.bundle)" "not above the applied serial 4"
check "still serving" eq "$(served_fp $C1)" "$FP2"

# ---------------------------------------------------------------- applies under load

SERIAL=5
if command -v wrk >/dev/null; then
	wrk -t1 -c16 -d6s -H "Host: $C1" "http://127.0.0.1:$PORT/healthz" >wrk_plain.out 2>&1 &
	W1=$!
	wrk -t1 -c16 -d6s "https://127.0.0.1:$TLSPORT/healthz" >wrk_tls.out 2>&1 &
	W2=$!
	ET_PIDS+=("$W1" "$W2")
	sleep 1
	applied=0
	for i in 1 2 3; do
		new_pair $C1 "load$i" || exit 1
		served_json "load$i.example.com" >"load$i.json"
		bundle $SERIAL "load$i.bundle" --config "load$i.json" --cert "$C1=load$i/$C1.crt,load$i/$C1.key" || exit 1
		push "load$i.bundle" | grep -q "applied serial=$SERIAL" && applied=$((applied + 1))
		SERIAL=$((SERIAL + 1))
		sleep 0.5
	done
	wait $W1 $W2
	check "3 bundles applied under load" eq "$applied" 3
	for w in wrk_plain wrk_tls; do
		check "$w: requests served" matches "$(cat $w.out)" "[0-9]+ requests in"
		check "$w: no socket errors" bash -c "! grep -q 'Socket errors' $w.out"
		check "$w: no non-2xx/3xx answers" bash -c "! grep -q 'Non-2xx' $w.out"
	done
	check "the last cert serves" eq "$(served_fp $C1)" "$(file_fingerprint load3/$C1.crt)"
else
	echo "# wrk not installed: the under-load check is skipped"
fi

# ---------------------------------------------------------------- kill -9 during apply

# Each step of an apply, killed there: the restart serves the old state before `current` is
# switched and the new one from then on. A bundle changes both domains' certs and adds a
# domain; all three must move together.
known() { # DOMAIN: 1 when the config serves it (stateless ACME answer), else 0
	[ "$(status_of -H "Host: $1" "http://127.0.0.1:$PORT/.well-known/acme-challenge/$TOKEN")" = 200 ] &&
		echo 1 || echo 0
}
restart() { # [env...]: a new edgetrackd on the same data
	env "$@" "$ETD" --config et.json >>etd.out 2>>etd.log &
	ET_PID=$!
	ET_PIDS+=("$ET_PID")
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0
		kill -0 "$ET_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
stop_etd "$ET_PID"
mixed=0 died=0 wrong=0
for step in staging:old staged:old renamed:old previous:old switched:new recorded:new reloaded:new; do
	want=${step#*:} step=${step%:*}
	restart ET_TEST_CRASH_AT=$step || { echo "    start with $step failed"; tail -5 etd.log; break; }
	old1=$(served_fp $C1) old2=$(served_fp $C2)
	new_pair $C1 "k$SERIAL" && new_pair $C2 "k$SERIAL" || exit 1
	served_json "step$SERIAL.example.com" >"k$SERIAL.json"
	bundle $SERIAL "k$SERIAL.bundle" --config "k$SERIAL.json" \
		--cert "$C1=k$SERIAL/$C1.crt,k$SERIAL/$C1.key" --cert "$C2=k$SERIAL/$C2.crt,k$SERIAL/$C2.key" || exit 1
	push "k$SERIAL.bundle" >/dev/null
	for _ in $(seq 100); do kill -0 "$ET_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$ET_PID" 2>/dev/null || died=$((died + 1))
	kill -KILL "$ET_PID" 2>/dev/null; wait "$ET_PID" 2>/dev/null
	restart || { echo "    restart after $step failed"; tail -5 etd.log; mixed=$((mixed + 1)); continue; }
	n1=$(served_fp $C1) n2=$(served_fp $C2) dom=$(known "step$SERIAL.example.com")
	w1=$(file_fingerprint "k$SERIAL/$C1.crt") w2=$(file_fingerprint "k$SERIAL/$C2.crt")
	if [ "$n1 $n2 $dom" = "$w1 $w2 1" ]; then
		got=new
	elif [ "$n1 $n2 $dom" = "$old1 $old2 0" ]; then
		got=old
	else
		got="a MIX ($n1 $n2 $dom)"; mixed=$((mixed + 1))
	fi
	echo "    killed at $step: the $got state serves"
	[ "$got" = "$want" ] || wrong=$((wrong + 1))
	stop_etd "$ET_PID"
	SERIAL=$((SERIAL + 1))
done
check "every crash step killed edgetrackd (7/7)" eq "$died" 7
check "after each, the restart served the old or the new state, never a mix" eq "$mixed" 0
check "old before the switch of current, new from then on" eq "$wrong" 0
restart || exit 1
check "after the crashes a new bundle applies" contains "$(bundle $SERIAL last.bundle --cert "$C1=b2/$C1.crt,b2/$C1.key" && push last.bundle)" "applied serial=$SERIAL"
check "no leftovers of killed applies" eq "$(ls data/state | grep -c tmp)" 0
check "at most two generations are kept" test "$(ls -d data/state/gen-* | wc -l)" -le 2
stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR: |runtime error' etd.log"
finish
