#!/bin/bash
# The ACME client against a CA that misbehaves, with Debian's pebble and pebble-challtestsrv:
#  - a CA that rejects 90% of the nonces: one `acme issue` still gets every domain through,
#    and no rejection counts against a domain's failure budget.
# Time moves by --clock-offset, never by sleeping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

mapfile -t MANY < <(seq -f 'n%02g.cust.test' 20)

make_ca_tls
start_dns || exit 1
cname_to_track "${MANY[@]}"
cts add-caa '{"host":"cust.test","policies":[{"tag":"issue","value":"pebble.test"}]}'
start_pebble PEBBLE_WFE_NONCEREJECT=90 PEBBLE_AUTHZREUSE=0 || exit 1
write_acme_config "$ACFG" track.esp.test 2
TP=$(account_thumbprint)
check "account registered through the rejected nonces" eq "${#TP}" 43
start_appliance "$TP" no "${MANY[@]}" || exit 1

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

finish
