#!/bin/bash
# The ACME client against a CA that misbehaves, with Debian's pebble and pebble-challtestsrv:
#  - a CA that rejects 90% of the nonces: one `acme issue` still gets every domain through,
#    and no rejection counts against a domain's failure budget;
#  - a CA outage across several renewals: one CA-wide backoff, no domain's budget touched,
#    and everything issues once the CA is back;
#  - a cert dir that refuses the files: the issued certificate is held in the state dir and
#    installed when the dir works again, so each domain is ordered exactly once.
# Time moves by --clock-offset, never by sleeping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

mapfile -t MANY < <(seq -f 'n%02g.cust.test' 20)
DOWN=(o1.cust.test o2.cust.test o3.cust.test)
RO=(r1.cust.test r2.cust.test r3.cust.test)

make_ca_tls
start_dns || exit 1
cname_to_track "${MANY[@]}" "${DOWN[@]}" "${RO[@]}"
cts add-caa '{"host":"cust.test","policies":[{"tag":"issue","value":"pebble.test"}]}'
start_pebble PEBBLE_WFE_NONCEREJECT=90 PEBBLE_AUTHZREUSE=0 || exit 1
write_acme_config "$ACFG" track.esp.test 2
TP=$(account_thumbprint)
check "account registered through the rejected nonces" eq "${#TP}" 43
start_appliance "$TP" no "${MANY[@]}" "${DOWN[@]}" "${RO[@]}" || exit 1

# "domain state failures", one line per record of the config's state dir
states() {
	"$ETCTL" acme --config "${1:-$ACFG}" status --json 2>>"$T/acme.log" | python3 -c '
import json, sys
for x in json.load(sys.stdin): print(x["domain"], x["state"], x["failures"])'
}
# lines matching regex [config]; "no status" when the status cannot be read, so that a count
# of 0 means records were read and none matched
count_states() {
	local s
	s=$(states "${2:-}") && [ -n "$s" ] || { echo "no status"; return; }
	grep -c -- "$1" <<<"$s"
}

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
st=$(acme status); rc=$?
check "the CA-wide backoff is over" eq "$rc $(grep -c '^CA:' <<<"$st")" "0 0"

# --- a cert dir that refuses the files -------------------------------------------------------
# A file where the cert dir should be: every write into it fails, for root too.
RODIR=$T/ro-certs
ROCFG=$T/acme-ro.json
: >"$RODIR"
write_acme_config "$ROCFG" track.esp.test 2 "$T/state-ro" "$RODIR"
ro() { "$ETCTL" acme --config "$ROCFG" "$@" 2>>"$T/acme.log"; }
orders0=$(log_count 'Added order' "$T/pebble.log")
issued0=$(log_count 'Issued certificate serial' "$T/pebble.log")
out=$(ro issue "${RO[@]}"); rc=$?
check "issue exits 1 when the cert dir refuses the files" eq "$rc" 1
check "issue prints the failure" contains "$out" "r1.cust.test: issued, but installing into $RODIR failed"
check "issue says the certificate is held" contains "$out" "held in $T/state-ro/held and installed by the next run"
check "held chain kept" test -s "$T/state-ro/held/r1.cust.test.crt"
check "held key kept private" eq "$(stat -c %a "$T/state-ro/held/r1.cust.test.key")" 600
check "a local failure spends no budget" eq "$(count_states ' unknown 0$' "$ROCFG")" 3
for k in 1 2 3; do
	out=$(ro renew --clock-offset $((k * 86400)))
	check "renew $k retries the held certificates" contains "$out" "renew: 3 attempted, 3 failed"
	check "renew $k installs, orders nothing" contains "$out" "r2.cust.test: installing the certificate issued earlier"
done
check "one order per domain across four runs" eq "$(($(log_count 'Added order' "$T/pebble.log") - orders0))" 3
for d in "${RO[@]}"; do
	check "$d validated once" eq "$(log_count "Value:\"$d\"" "$T/pebble.log")" 1
done
rm "$RODIR" && mkdir "$RODIR"
out=$(ro renew --clock-offset $((4 * 86400)))
check "once the dir works, renew installs the held certificates" contains "$out" "renew: 3 attempted, 0 failed"
check "the held certificates are issued" eq "$(count_states ' issued 0$' "$ROCFG")" 3
for d in "${RO[@]}"; do
	check "$d installed: key matches the leaf" eq "$(openssl x509 -in "$RODIR/$d.crt" -noout -pubkey)" \
		"$(openssl pkey -in "$RODIR/$d.key" -pubout)"
done
check "nothing held any more" eq "$(ls -A "$T/state-ro/held")" ""
check "still one order and one certificate per domain" eq \
	"$(($(log_count 'Added order' "$T/pebble.log") - orders0)) $(($(log_count 'Issued certificate serial' "$T/pebble.log") - issued0))" "3 3"
finish
