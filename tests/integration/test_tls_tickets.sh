#!/bin/bash
# Session ticket keys from the operator, sealed in a signed bundle. Two appliances apply the
# same ticket keys through the management API: a session made on the first resumes on the
# second, and the bundle's keys come before the config's tls.ticket_keys, after SIGHUP and a
# restart too. A bundle whose keys drop the old one ends resumption of the old tickets while
# fresh ones resume; a bundle rolled back brings the previous generation's keys back. The
# secrets are never in the bundle's bytes, its listings or the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"
. "$(dirname "$0")/lib_mgmt.sh"

tls_test_setup || exit 1
cd "$T" || exit 1
D=click.example.com
tls_leaf "$T/ca" "$T/certs" $D || exit 1
mgmt_operator_certs && mgmt_operator_keys && mkdir -p d2 && cp keyring d2/keyring || exit 1
SECRET1=$KEY1$KEY2 SECRET2=$KEY2$KEY1 SECRET3=$KEY1$KEY1 CFGSECRET=$KEY2$KEY2
echo "[{\"name\": \"t1\", \"secret\": \"$SECRET1\"}]" >tickets1.json
echo "[{\"name\": \"t2\", \"secret\": \"$SECRET2\"}]" >tickets2.json
echo "[{\"name\": \"t3\", \"secret\": \"$SECRET3\"}]" >tickets3.json

# appliance NAME DATA_DIR [TLS_EXTRA]: NAME.json, with ports in NAME_{PORT,TLS,MGMT}
appliance() {
	local name=$1 dir=$2 extra=${3:-} port tls mgmt
	port=$(free_port) tls=$(free_port) mgmt=$(free_port)
	printf -v "${name}_PORT" %s "$port"
	printf -v "${name}_TLS" %s "$tls"
	printf -v "${name}_URL" %s "https://127.0.0.1:$mgmt"
	cat >"$name.json" <<JSON
{"workers": 2,
 "listen": ["127.0.0.1:$port", {"address": "127.0.0.1:$tls", "tls": true}],
 "data_dir": "$T/$dir",
 "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
 "acme": {"thumbprints": ["$THUMB"]},
 "tls": {"cert_dir": "$T/certs"$extra},
 "domains": [{"name": "$D"}],
 "management": {"listen": "127.0.0.1:$mgmt", "cert": "$T/mgmt.crt", "key": "$T/mgmt.key",
   "client_ca": "$T/opca/ca.crt", "root_key": "$T/root.pub", "health_window_ms": 3000}}
JSON
}
# start NAME: edgetrackd on NAME.json, logging to NAME.log; its pid in NAME_PID
start() {
	"$ETD" --config "$1.json" >>"$1.out" 2>>"$1.log" &
	ET_PID=$!
	ET_PIDS+=("$ET_PID")
	printf -v "${1}_PID" %s "$ET_PID"
	local port=${1}_PORT
	wait_up "${!port}" || { cat "$1.log" >&2; return 1; }
}
# A has no ticket keys of its own (a random one), B has some in its config
appliance A data
appliance B d2 ", \"ticket_keys\": [{\"name\": \"cfg\", \"secret\": \"$CFGSECRET\"}]"
start A && start B || exit 1
RCPT_A=$("$ETCTL" id --data-dir data | sed -n 's/^recipient: //p')
RCPT_B=$("$ETCTL" id --data-dir d2 | sed -n 's/^recipient: //p')

REQ="GET /healthz HTTP/1.1\r\nHost: $D\r\nConnection: close\r\n\r\n"
# on NAME [s_client args]: one request over TLS 1.2 (both backends speak it) to NAME's TLS
# listener; prints the handshake summary ("New, ..." or "Reused, ...") and the answer
on() {
	local tls=${1}_TLS; shift
	TLSPORT=${!tls} tls_sclient_req $D "$REQ" -tls1_2 "$@"
}
bundle() { # SERIAL OUT SCOPE [create args...]
	local serial=$1 out=$2 scope=$3; shift 3
	"$ETCTL" bundle create --serial "$serial" --signer op.pub --scope "$scope" \
		--recipient "$RCPT_A" --recipient "$RCPT_B" --out "$out" "$@" >/dev/null &&
		"$ETCTL" bundle sign --key op.key "$out" >/dev/null
}
push() { # URLS BUNDLE: one result line per appliance
	"$ETCTL" bundle push --to "$1" --cert operator.crt --key operator.key --ca opca/ca.crt \
		"$2" 2>&1
}
reloads() { grep -c 'msg=config_reloaded' "$1.log"; }

# ---------------------------------------------------------------- before any bundle

check "a session from A" contains "$(on A -sess_out s0)" "New, TLSv1.2"
check "does not resume on B (each has keys of its own)" contains "$(on B -sess_in s0)" "New, TLSv1.2"

# ---------------------------------------------------------------- the operator's side

check "create refuses a malformed ticket keys file, saying why" contains \
	"$(echo '[{"name": "x", "secret": "abc"}]' >bad.json; bundle 1 bad.bundle fleet --ticket-keys bad.json 2>&1)" \
	"ticket_keys[0].secret: expected 64 to 128 hex digits"
check "bundle with ticket keys t1" bundle 1 b1.bundle "${RCPT_A%%:*},${RCPT_B%%:*}" --ticket-keys tickets1.json
check "the secret is not in the bundle's bytes" bash -c "! grep -qaF '$SECRET1' b1.bundle"
check "nor is the key's name (sealed whole)" bash -c "! grep -qaF '\"t1\"' b1.bundle"
out=$("$ETCTL" bundle inspect b1.bundle)
check "inspect shows an encrypted ticket_keys item" matches "$out" '"type": "ticket_keys"'
out=$("$ETCTL" bundle verify --root root.pub --keyring keyring --identity data/identity b1.bundle 2>&1)
check "verify lists the keys by name" contains "$out" "ticket_keys t1 (1 key)"
check "and never the secret" lacks "$out" "$SECRET1"

# ---------------------------------------------------------------- shared keys

out=$(push "$A_URL,$B_URL" b1.bundle)
check "A applies the bundle" contains "$out" "$A_URL applied serial=1"
check "B applies the bundle" contains "$out" "$B_URL applied serial=1"
check "the generation keeps the keys 0600" eq "$(stat -c %a d2/state/current/ticket_keys.json)" 600
check "a session from A under t1" contains "$(on A -sess_out s1)" "New, TLSv1.2"
out=$(on B -sess_in s1)
check "resumes on B" contains "$out" "Reused, TLSv1.2"
check "which serves" contains "$out" "HTTP/1.1 200 OK"
if [ "$BACKEND" = openssl ]; then
	TLSPORT=$A_TLS tls_sclient_req $D "$REQ" -tls1_3 -sess_out s13 >/dev/null
	check "TLS 1.3: a session from A resumes on B" contains \
		"$(TLSPORT=$B_TLS tls_sclient_req $D "$REQ" -tls1_3 -sess_in s13)" "Reused, TLSv1.3"
fi

n=$(reloads B)
kill -HUP "$B_PID"
check "B reloads on SIGHUP" wait_until 30 "config_reloaded in B.log" test "$(reloads B)" -gt "$n"
check "after SIGHUP the bundle's keys still come before the config's" contains "$(on B -sess_in s1)" "Reused, TLSv1.2"
stop_etd "$B_PID"
start B || exit 1
check "after a restart too" contains "$(on B -sess_in s1)" "Reused, TLSv1.2"
check "B logs where its keys come from, by name" contains "$(cat B.log)" 'source=bundle keys=1 names="t1"'

# ---------------------------------------------------------------- new keys

check "bundle with ticket keys t2 only" bundle 2 b2.bundle "${RCPT_A%%:*},${RCPT_B%%:*}" --ticket-keys tickets2.json
out=$(push "$A_URL,$B_URL" b2.bundle)
check "both apply it" bash -c "grep -c 'applied serial=2' <<<'$out' | grep -qx 2"
check "the old ticket gets a full handshake on B" contains "$(on B -sess_in s1)" "New, TLSv1.2"
check "and on A" contains "$(on A -sess_in s1)" "New, TLSv1.2"
on A -sess_out s2 >/dev/null
check "a fresh ticket from A resumes on B" contains "$(on B -sess_in s2)" "Reused, TLSv1.2"

# a bundle without ticket keys keeps them in force
check "bundle without ticket keys" bundle 3 b3.bundle "${RCPT_B%%:*}" --remove gone.example.com
check "B applies it" contains "$(push "$B_URL" b3.bundle)" "applied serial=3"
check "t2 tickets still resume on B" contains "$(on B -sess_in s2)" "Reused, TLSv1.2"

# ---------------------------------------------------------------- rollback

python3 -c "
import json; c = json.load(open('B.json'))
for k in ('data_dir', 'management'): del c[k]
del c['tls']['cert_dir']
c['listen'].append('192.0.2.1:8080')
json.dump(c, open('unbindable.json', 'w'))" || exit 1
check "bundle with keys t3 and a listener B cannot bind" bundle 4 b4.bundle "${RCPT_B%%:*}" --ticket-keys tickets3.json --config unbindable.json
check "is rolled back" contains "$(push "$B_URL" b4.bundle)" "rolled_back serial=4"
check "the previous generation's keys serve again: t2 tickets resume" contains "$(on B -sess_in s2)" "Reused, TLSv1.2"

stop_etd "$A_PID"
stop_etd "$B_PID"
check "no secret in any log" bash -c "! grep -qF -e '$SECRET1' -e '$SECRET2' -e '$SECRET3' A.log B.log A.out B.out"
check "no sanitizer report" bash -c "! grep -E 'ERROR|runtime error' A.log B.log"
finish
