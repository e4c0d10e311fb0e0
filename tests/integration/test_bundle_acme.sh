#!/bin/bash
# A certificate from the CA to the appliance by bundle: edgetrackctl acme issues a domain from
# Debian's pebble (HTTP-01 answered statelessly by a running edgetrackd) into the operator's
# cert dir; bundle create --cert-dir, sign and push over the mutual-TLS management API carry
# it to that edgetrackd, which serves the pebble-issued leaf on the next handshake. A client
# without a certificate gets no API.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"
. "$(dirname "$0")/../tls/lib.sh"
. "$(dirname "$0")/lib_mgmt.sh"

TLSPORT=$TLSP # the appliance's TLS listener, for tls_fingerprint
MPORT=$(free_port)
MURL=https://127.0.0.1:$MPORT
D=b1.cust.test
ISSUED=$T/issued # the operator's cert dir: acme writes here, the bundle is made from here
cd "$T" || exit 1

# ---------------------------------------------------------------- CA, DNS, account

make_ca_tls
start_dns || exit 1
cname_to_track $D
start_pebble PEBBLE_AUTHZREUSE=0 || exit 1
# the operator's host has no control socket of the appliance: the bundle carries the cert
write_acme_config "$ACFG.in" track.esp.test 2 "$T/state" "$ISSUED"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); del c["control_socket"]; json.dump(c, open(sys.argv[2], "w"))' \
	"$ACFG.in" "$ACFG" || exit 1
TP=$(account_thumbprint)
check "account registered" eq "${#TP}" 43

# ---------------------------------------------------------------- operator keys and certs

mgmt_operator_certs && mgmt_operator_keys || exit 1
mkdir -p data/certs

# ---------------------------------------------------------------- the appliance

cat >etd.json <<JSON
{"workers": 2,
 "listen": ["127.0.0.1:$HTTP", {"address": "127.0.0.1:$TLSP", "tls": true}],
 "data_dir": "$T/data",
 "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
 "acme": {"thumbprints": ["$TP"]},
 "domains": [{"name": "$D"}],
 "management": {"listen": "127.0.0.1:$MPORT", "cert": "$T/mgmt.crt", "key": "$T/mgmt.key",
   "client_ca": "$T/opca/ca.crt", "root_key": "$T/root.pub", "max_bundle_bytes": 4194304,
   "health_window_ms": 3000}}
JSON
start_etd etd.json "$HTTP" || exit 1
RCPT=$("$ETCTL" id --data-dir data | sed -n 's/^recipient: //p')
ID=${RCPT%%:*}
check "appliance id read from its data dir" test -n "$ID"
check "no cert for $D before the bundle" test -z "$(tls_fingerprint $D)"

# ---------------------------------------------------------------- issue

acme issue $D >issue.out; rc=$?
check "acme issue exits 0" eq "$rc" 0
check "$D issued" eq "$(status_field $D state)" issued
check "chain written to the operator's cert dir" test -s "$ISSUED/$D.crt"
check "key written beside it" test -s "$ISSUED/$D.key"
verify() { openssl verify -CAfile pebble-root.pem -untrusted "$1" "$1" >/dev/null; }
check "the leaf chains to pebble's root" verify "$ISSUED/$D.crt"
[ -s "$ISSUED/$D.crt" ] || { echo "no certificate issued:"; tail -20 acme.log; exit 1; }

# ---------------------------------------------------------------- bundle, push

"$ETCTL" bundle create --serial 1 --signer op.pub --scope "$ID" --recipient "$RCPT" \
	--cert-dir "$ISSUED" --out acme.bundle >/dev/null 2>create.err
check "bundle created from the acme cert dir" test -s acme.bundle
check "bundle signed" contains "$("$ETCTL" bundle sign --key op.key acme.bundle)" "manifest signed"
push() { "$ETCTL" bundle push --to "$MURL" --cert operator.crt --key operator.key --ca opca/ca.crt "$@" 2>push.err; }
check "no client certificate: no API (handshake fails)" eq \
	"$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert opca/ca.crt "$MURL/v1/status")" 000
out=$(printf 'PUT /v1/bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' |
	timeout 10 openssl s_client -connect "127.0.0.1:$MPORT" -CAfile opca/ca.crt -ign_eof 2>&1 | tr -d '\0')
check "s_client without a certificate reaches the listener" contains "$out" "CONNECTED"
check "and gets no answer" lacks "$out" "HTTP/1.1"
check "the operator's push applies it" eq "$(push acme.bundle)" "$MURL applied serial=1"

# ---------------------------------------------------------------- served

check "the next handshake for $D serves the pebble-issued leaf" \
	eq "$(tls_fingerprint $D)" "$(file_fingerprint "$ISSUED/$D.crt")"
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$TLSP" -servername $D \
	-CAfile pebble-root.pem -verify_return_error </dev/null 2>&1)
check "and it verifies against pebble's root" contains "$out" "Verify return code: 0 (ok)"
check "a replay of the bundle is refused" contains "$(push acme.bundle)" "not above the applied serial 1"
check "the refusal left the cert serving" \
	eq "$(tls_fingerprint $D)" "$(file_fingerprint "$ISSUED/$D.crt")"
stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR: |runtime error' etd.log"
finish
