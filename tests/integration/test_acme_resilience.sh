#!/bin/bash
# The ACME client against a CA that misbehaves, with Debian's pebble and pebble-challtestsrv:
#  - a CA that rejects 90% of the nonces: one `acme issue` still gets every domain through,
#    and no rejection counts against a domain's failure budget;
#  - a CA outage across several renewals: one CA-wide backoff, no domain's budget touched,
#    and everything issues once the CA is back.
# Time moves by --clock-offset, never by sleeping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

mapfile -t MANY < <(seq -f 'n%02g.cust.test' 20)
DOWN=(o1.cust.test o2.cust.test o3.cust.test)

make_ca_tls
start_dns || exit 1
cname_to_track "${MANY[@]}" "${DOWN[@]}"
cts add-caa '{"host":"cust.test","policies":[{"tag":"issue","value":"pebble.test"}]}'
start_pebble PEBBLE_WFE_NONCEREJECT=90 PEBBLE_AUTHZREUSE=0 || exit 1
write_acme_config "$ACFG" track.esp.test 2
TP=$(account_thumbprint)
check "account registered through the rejected nonces" eq "${#TP}" 43
start_appliance "$TP" no "${MANY[@]}" "${DOWN[@]}" || exit 1

# "domain state failures", one line per record of the config's state dir
states() {
	"$ETCTL" acme --config "${1:-$ACFG}" status --json 2>>"$T/acme.log" | python3 -c '
import json, sys
for x in json.load(sys.stdin): print(x["domain"], x["state"], x["failures"])'
}
count_states() { states "${2:-}" | grep -c -- "$1"; } # regex [config]

# --- 90% of nonces rejected ----------------------------------------------------------------
t0=$SECONDS
out=$(acme issue "${MANY[@]}"); rc=$?
echo "# 20 domains issued in $((SECONDS - t0)) s with 90% of the nonces rejected"
check "one issue of 20 domains exits 0" eq "$rc" 0
check "all 20 issued, no failure counted" eq "$(count_states ' issued 0$')" 20
check "20 certificates installed" eq "$(ls "$CERTS"/n*.cust.test.crt | wc -l)" 20
check "no attempt failed" eq "$(log_count 'msg=acme_failed' "$T/acme.log")" 0
rejected=$(log_count 'msg=acme_bad_nonce' "$T/acme.log")
echo "# nonces rejected and resent: $rejected"
check "rejected nonces were resent" test "$rejected" -ge 100

# --- a CA outage across three renewals ------------------------------------------------------
check "pebble stopped" stop_pebble
out=$(acme issue "${DOWN[@]}"); rc=$?
check "issue in the outage exits 1" eq "$rc" 1
check "issue prints why" contains "$out" "o1.cust.test: CA unreachable"
check "issue names the CA-wide backoff" contains "$out" "not the domain's: renewals wait until"
check "no domain's budget spent by the outage" eq "$(count_states ' [1-9][0-9]*$')" 0
for k in 1 2 3; do
	out=$(acme renew --clock-offset $((k * 3600)))
	check "renew $k in the outage asks the CA once" contains "$out" "renew: 1 attempted, 1 failed"
	check "renew $k: the other due domains wait" contains "$out" "2 due domains wait for the CA"
	check "renew $k: no domain's failure count grows" eq "$(count_states ' [1-9][0-9]*$')" 0
done
check "one CA-wide backoff counts the outage" contains "$(acme status)" "CA: 4 CA-side failures in a row"
check "certs issued before the outage untouched" eq "$(count_states '^n.* issued 0$')" 20
start_pebble PEBBLE_WFE_NONCEREJECT=90 PEBBLE_AUTHZREUSE=0 || exit 1
out=$(acme renew --clock-offset $((4 * 3600)))
check "once the CA is back, renew issues all" contains "$out" "renew: 3 attempted, 0 failed"
check "the outage's domains issued" eq "$(count_states '^o.* issued 0$')" 3
check "the CA-wide backoff is over" bash -c "! grep -q '^CA:' <<<'$(acme status)'"

finish
