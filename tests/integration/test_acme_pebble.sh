#!/bin/bash
# ACME end to end against Debian's pebble and pebble-challtestsrv on loopback: challtestsrv
# serves the DNS (A, CNAME, CAA) of the test domains, pebble validates HTTP-01 against a running
# edgetrackd that answers statelessly from the account thumbprint, edgetrackctl acme issues,
# installs, renews and reports status. Pebble rejects half of the good nonces throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

make_ca_tls
start_dns || exit 1
cname_to_track c1.cust.test c2.cust.test c3.cust.test c.denied.test nohost.cust.test
cts set-cname '{"host":"elsewhere.cust.test","target":"cdn.other.test"}'
cts add-a '{"host":"cdn.other.test","addresses":["127.0.0.1"]}'
cts add-a '{"host":"proxied.cust.test","addresses":["198.51.100.7","127.0.0.1"]}'
cts add-a '{"host":"slow.cust.test","addresses":["127.0.0.1"]}'
cts add-caa '{"host":"cust.test","policies":[{"tag":"issue","value":"pebble.test"}]}'
# a name with a CNAME has no other records: the denying CAA sits on the parent
cts add-caa '{"host":"denied.test","policies":[{"tag":"issue","value":"other-ca.test"},{"tag":"iodef","value":"mailto:sec@denied.test"}]}'

start_pebble PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=50 || exit 1
write_acme_config "$ACFG" track.esp.test 2
write_acme_config "$T/acme-nocname.json" "" 2

out=$(acme account)
TP=$(sed -n 's/^thumbprint: //p' <<<"$out")
check "account registered, thumbprint printed" contains "$out" "account: https://127.0.0.1:$ACME/"
check "thumbprint is 43 base64url chars" eq "${#TP}" 43

# --- the appliance: stateless HTTP-01 from the thumbprint ------------------------------------
start_appliance "$TP" yes c1.cust.test c2.cust.test c3.cust.test c.denied.test \
	elsewhere.cust.test slow.cust.test || exit 1

# --- prechecks -----------------------------------------------------------------------------
out=$(acme check c1.cust.test)
check "check passes for a good domain" contains "$out" "c1.cust.test -> track.esp.test resolves to 127.0.0.1"
check "check reports CAA allowing" contains "$out" "allows pebble.test"
out=$(acme check elsewhere.cust.test); rc=$?
check "CNAME elsewhere fails check" contains "$out" "CNAME points elsewhere: elsewhere.cust.test -> cdn.other.test"
check "check exits 1 on failure" eq "$rc" 1
out=$("$ETCTL" acme --config "$T/acme-nocname.json" check proxied.cust.test 2>/dev/null)
check "foreign address named" contains "$out" "proxied or pointing elsewhere: HTTP-01 would fail"
check "foreign address listed" contains "$out" "198.51.100.7"
out=$(acme check '*.cust.test')
check "wildcards refused for HTTP-01" contains "$out" "DNS-01 needed"

# --- issuance of several domains ------------------------------------------------------------
t0=$SECONDS
acme issue c1.cust.test c2.cust.test c3.cust.test >"$T/issue.out"; rc=$?
echo "# issued 3 domains in $((SECONDS - t0)) s with 50% nonce rejection"
check "issue exits 0" eq "$rc" 0
for d in c1 c2 c3; do
	check "$d issued" eq "$(status_field $d.cust.test state)" issued
	check "$d chain installed" test -s "$CERTS/$d.cust.test.crt"
	check "$d key is 0600" eq "$(stat -c %a "$CERTS/$d.cust.test.key")" 600
	na=$(date -u -d "$(openssl x509 -in "$CERTS/$d.cust.test.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	check "$d status not-after matches the cert" eq "$(status_field $d.cust.test not_after)" "$na"
	check "$d leaf chains to pebble's root" openssl verify -CAfile "$T/pebble-root.pem" \
		-untrusted "$CERTS/$d.cust.test.crt" "$CERTS/$d.cust.test.crt"
done
check "key matches the leaf" eq "$(openssl x509 -in "$CERTS/c1.cust.test.crt" -noout -pubkey)" \
	"$(openssl pkey -in "$CERTS/c1.cust.test.key" -pubout)"
retries=$(grep -c 'msg=acme_bad_nonce' "$T/acme.log")
echo "# badNonce retries so far: $retries"
check "rejected nonces were retried" test "$retries" -gt 0
# "cert reload" answers once the new pair is in the cert store: no settling time needed
check "installed hot through cert reload" bash -c "! grep -q 'hot reload failed' <<<'$(status_field c1.cust.test reason)'"
for d in c1 c2 c3; do
	out=$(openssl s_client -connect "127.0.0.1:$TLSP" -servername $d.cust.test \
		-CAfile "$T/pebble-root.pem" -verify_return_error </dev/null 2>&1)
	check "edgetrackd serves the issued $d cert over TLS" contains "$out" "Verify return code: 0 (ok)"
done

# --- failures that never reach the CA -------------------------------------------------------
orders_before=$(grep -c 'POST /order-plz' "$T/pebble.log")
acme issue c.denied.test >/dev/null; rc=$?
check "CAA-denied issue exits 1" eq "$rc" 1
check "CAA-denied is unknown" eq "$(status_field c.denied.test state)" unknown
check "CAA reason recorded" contains "$(status_field c.denied.test reason)" "CAA issue at denied.test allows only other-ca.test, not pebble.test"
acme issue elsewhere.cust.test >/dev/null
check "CNAME-elsewhere is unknown" eq "$(status_field elsewhere.cust.test state)" unknown
check "CNAME reason recorded" contains "$(status_field elsewhere.cust.test reason)" "CNAME points elsewhere"
check "no order placed for failed prechecks" eq "$(grep -c 'POST /order-plz' "$T/pebble.log")" "$orders_before"

# --- a CA-side failure: the appliance does not serve the name, validation fails --------------
acme issue nohost.cust.test >/dev/null
check "failed validation is unknown" eq "$(status_field nohost.cust.test state)" unknown
check "validation problem mapped" contains "$(status_field nohost.cust.test reason)" "HTTP-01 validation of nohost.cust.test failed"
check "failure counted" eq "$(status_field nohost.cust.test failures)" 1

# --- renewal --------------------------------------------------------------------------------
serial_before=$(openssl x509 -in "$CERTS/c1.cust.test.crt" -noout -serial)
# issued certs are not due; the three failed domains are retried: a minute on, nohost's
# backoff (1 s after its failure) is over however fast or slow this machine runs
out=$(acme renew --clock-offset 60)
check "only failed domains retried" contains "$out" "renew: 3 attempted, 3 failed"
check "nohost failure budget (2) now spent" eq "$(status_field nohost.cust.test failures)" 2
check "issued cert untouched when not due" eq "$(openssl x509 -in "$CERTS/c1.cust.test.crt" -noout -serial)" "$serial_before"
exec {hold}<>"/dev/tcp/127.0.0.1/$HTTP"  # an open connection across the renewal
printf 'GET /healthz HTTP/1.1\r\nHost: c1.cust.test\r\n\r\n' >&$hold
# pebble's certificates live 5 years: 1/3 of the lifetime left is ~3.4 years ahead
out=$(acme renew --clock-offset 110000000)
check "due certificates renewed" contains "$out" "renew: 5 attempted, 2 failed"
check "budget-spent domain held back" contains "$out" "nohost.cust.test: skipped: failure budget spent"
check "renewal replaced the cert" test "$(openssl x509 -in "$CERTS/c1.cust.test.crt" -noout -serial)" != "$serial_before"
check "renewed status issued" eq "$(status_field c1.cust.test state)" issued
printf 'GET /healthz HTTP/1.1\r\nHost: c1.cust.test\r\nConnection: close\r\n\r\n' >&$hold
check "open connection survived the renewal" contains "$(timeout 3 cat <&$hold | tr -d '\0')" "200"
exec {hold}>&-
nr=$(status_field c1.cust.test next_renewal)
check "next renewal scheduled in the future" test -n "$nr"

# --- CA gone mid-order: pending, then unknown; the old cert keeps serving -------------------
# The CA's validation request to 127.0.0.3 hangs, so the authorization stays pending.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int(sys.argv[1]))); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$HTTP" &
ET_PIDS+=($!)
wait_for "hanging HTTP server on 127.0.0.3" $! 30 bash -c "exec 3<>/dev/tcp/127.0.0.3/$HTTP" || exit 1
curl -sf -X POST -d '{"host":"slow.cust.test"}' "$CTS/clear-a" >/dev/null
cts add-a '{"host":"slow.cust.test","addresses":["127.0.0.3"]}'
write_acme_config "$T/acme-slow.json" "" 2
sed -i 's/"appliance_addresses": \["127.0.0.1"\]/"appliance_addresses": ["127.0.0.1", "127.0.0.3"]/' "$T/acme-slow.json"
c1_sum=$(sha256sum "$CERTS/c1.cust.test.crt")
"$ETCTL" acme --config "$T/acme-slow.json" issue slow.cust.test >"$T/slow.out" 2>>"$T/acme.log" &
slow=$!
in_flight() {
	[ "$(status_field slow.cust.test state)" = pending ] &&
		[ -n "$(status_field slow.cust.test order_url)" ]
}
check "status pending while the order is in flight" \
	wait_for "slow.cust.test pending with an order" "$slow" 60 in_flight
kill -TERM "$PEBBLE_PID"
wait "$slow"; rc=$?
check "issue fails when the CA goes away" eq "$rc" 1
check "then unknown" eq "$(status_field slow.cust.test state)" unknown
check "with the reason" contains "$(status_field slow.cust.test reason)" "CA unreachable"
check "other certs untouched" eq "$(sha256sum "$CERTS/c1.cust.test.crt")" "$c1_sum"
check "appliance still serves" eq "$(status_of -H 'Host: c1.cust.test' "http://127.0.0.1:$HTTP/healthz")" 200

out=$(acme status)
check "status table lists every domain" contains "$out" "c3.cust.test"
finish
