#!/bin/bash
# Bundles and challenges into the fleet through NATS JetStream key-value buckets: a 3-node
# cluster (real nats-server processes), buckets with 3 replicas, three edgetrackd appliances.
# A bundle published once with `edgetrackctl bundle publish` is applied by the two it is
# scoped to (the new cert served on the next handshake) and refused by the third, which
# `fleet status` flags as behind; the same bundle published again is skipped quietly; a
# bundle signed by a key outside the keyring is applied by none, all keep serving and the
# reason shows in their status; a challenge answer published with a TTL is served by the
# appliances until the TTL ends and is then 404. The appliances idle between publishes, so
# their watchers go through many kvWatcher_Next timeouts ("nothing yet").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"
. "$(dirname "$0")/lib_mgmt.sh"
# shellcheck source=scripts/lib/nats.sh
. "$(dirname "$0")/../../scripts/lib/nats.sh"

command -v nats-server >/dev/null || { echo "FAIL - nats-server missing (scripts/install-deps.sh)"; exit 1; }
die() { echo "FAIL - $*"; finish; exit 1; }
step() { echo "    [${SECONDS}s] $*"; }

C1=click.example.com
APPS=(edge-a edge-b edge-c)
tls_test_setup
cd "$T" || exit 1

# ---------------------------------------------------------------- keys, certs, cluster
mgmt_operator_certs || die "operator certificates"
mgmt_operator_keys || die "operator keys"
tls_leaf "$T/ca" "$T/certs" $C1 || die "first cert"
mkdir -p nats
nats_cluster "$T/nats" 3 "$T/.ports" || die "NATS cluster did not come up"
for i in 1 2 3; do ET_PIDS+=("${NATS_PID[$i]}"); done
step "nats cluster: $NATS_URLS"

# ---------------------------------------------------------------- config checks
declare -A PORT TPORT MPORT PID RCPT
appliance_config() { # NAME [EXTRA NATS MEMBERS]
	local n=$1 extra=${2:-}
	PORT[$n]=$(free_port) TPORT[$n]=$(free_port) MPORT[$n]=$(free_port)
	cat >"$T/$n.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:${PORT[$n]}", {"address": "127.0.0.1:${TPORT[$n]}", "tls": true}],
  "data_dir": "$T/$n",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "tls": {"cert_dir": "$T/certs", "default_cert": "$C1"},
  "domains": [{"name": "$C1"}],
  "management": {"listen": "127.0.0.1:${MPORT[$n]}", "cert": "$T/mgmt.crt", "key": "$T/mgmt.key",
                 "client_ca": "$T/opca/ca.crt", "root_key": "$T/root.pub",
                 "appliance_id": "$n", "health_window_ms": 3000},
  "nats": {"servers": $(nats_json_urls), "replicas": 3, "appliance_id": "$n",
           "status_interval_s": 1$extra}
}
JSON
}
bad() { # EXTRA-NATS-MEMBERS EXPECTED-TEXT
	appliance_config bad "$1"
	out=$("$ETD" --check-config "$T/bad.json" 2>&1) && return 1
	contains "$out" "$2"
}
check "--check-config: a bundle bucket is a NATS name" bad ', "bundle_bucket": "a.b"' "nats.bundle_bucket: must be 1 to 64"
check "--check-config: buckets differ" bad ', "challenge_bucket": "edgetrack_status"' "three different buckets"
appliance_config ok ', "bundle_bucket": "b1", "challenge_bucket": "c1"'
check "--check-config accepts bucket names" contains "$("$ETD" --check-config "$T/ok.json" 2>&1)" "management API"

# ---------------------------------------------------------------- appliances
start_appliance() { # NAME
	local n=$1
	"$ETD" --config "$T/$n.json" >>"$T/$n.out" 2>>"$T/$n.log" &
	PID[$n]=$!
	ET_PIDS+=("${PID[$n]}")
	wait_until 10 "$n answers" curl -sf -o /dev/null "http://127.0.0.1:${PORT[$n]}/healthz" ||
		{ tail -5 "$T/$n.log"; return 1; }
}
for n in "${APPS[@]}"; do
	appliance_config "$n"
	mkdir -p "$T/$n" && cp keyring "$T/$n/keyring"
	start_appliance "$n" || die "$n did not start"
	# the recipient entry names the configured id with the identity's key
	RCPT[$n]=$n:$("$ETCTL" id --data-dir "$T/$n" | sed -n 's/^recipient: [^:]*://p')
done
watching() { grep -q "fleet_watching appliance=$1 " "$T/$1.log"; }
for n in "${APPS[@]}"; do
	check "$n watches the buckets" wait_until 15 "$n watching" watching "$n" || die "no watch"
done
step "appliances up and watching"

fp() { TLSPORT=${TPORT[$1]} tls_fingerprint $C1; }
serves() { [ "$(fp "$1")" = "$2" ]; } # NAME FINGERPRINT
FP1=$(file_fingerprint certs/$C1.crt)
fleet_json() { "$ETCTL" fleet status --json --nats "$NATS_URLS" >"$T/fleet.json" 2>"$T/fleet.err"; [ -s "$T/fleet.json" ]; }
# status_is PYTHON-ASSERTIONS: over d (the --json document) and a (appliances by id)
status_is() {
	fleet_json && python3 -c "
import json
d = json.load(open('$T/fleet.json'))
a = {x['id']: x for x in d['appliances']}
$1" 2>"$T/status.err"
}
status_why() { tail -n 1 "$T/status.err"; }
check "every appliance reports no bundle serial yet" \
	wait_until 10 "three statuses" status_is "assert all(a[n]['bundle_serial'] is None for n in ('edge-a', 'edge-b', 'edge-c')), a" ||
	status_why

# ---------------------------------------------------------------- a bundle for two
bundle() { # SERIAL OUT SIGNER [create args...]
	local serial=$1 out=$2 signer=$3; shift 3
	"$ETCTL" bundle create --serial "$serial" --signer "$signer.pub" --out "$out" "$@" >/dev/null &&
		"$ETCTL" bundle sign --key "$signer.key" "$out" >/dev/null
}
publish() { "$ETCTL" bundle publish --nats "$NATS_URLS" --replicas 3 "$@"; }
tls_leaf "$T/ca" "$T/b2" $C1 || die "second cert"
FP2=$(file_fingerprint b2/$C1.crt)
bundle 2 b2.bundle op --scope edge-a,edge-b --recipient "${RCPT[edge-a]}" \
	--recipient "${RCPT[edge-b]}" --cert "$C1=b2/$C1.crt,b2/$C1.key" || die "bundle 2"
"$ETCTL" bundle create --serial 9 --signer op.pub --out unsigned.bundle >/dev/null
check "publish refuses an unsigned bundle" contains "$(publish unsigned.bundle 2>&1)" "bundle is not signed"
out=$(publish b2.bundle)
check "publish prints the serial and the KV revision" matches "$out" '^published serial=2 revision=[0-9]+$'
step "published serial 2"
for n in edge-a edge-b; do
	check "$n serves the new cert on the next handshake" wait_until 15 "$n serving FP2" serves "$n" "$FP2"
done
check "edge-c, scoped out, keeps its cert" eq "$(fp edge-c)" "$FP1"
check "edge-c logged the refusal with its reason" \
	wait_until 10 "refusal in edge-c's log" grep -q "fleet_bundle_refused appliance=edge-c .*scope" "$T/edge-c.log"
check "fleet status: both at serial 2, edge-c behind" wait_until 10 "serials in fleet status" status_is "
assert a['edge-a']['bundle_serial'] == 2 and a['edge-a']['flags'] == [], a['edge-a']
assert a['edge-b']['bundle_serial'] == 2 and a['edge-b']['flags'] == [], a['edge-b']
assert 'behind' in a['edge-c']['flags'], a['edge-c']
assert 'scope' in a['edge-c']['last_error'], a['edge-c']
assert d['max_serial'] == 2, d" || status_why
"$ETCTL" fleet status --nats "$NATS_URLS" >"$T/table.out"
rc=$?
check "fleet status exits 3 and shows edge-c behind in its table" \
	bash -c "[ $rc -eq 3 ] && grep -q '^edge-c .* behind ' '$T/table.out'"

# the same bundle again: not above the applied serial, skipped without an error
publish b2.bundle >/dev/null
for n in edge-a edge-b; do
	check "$n skips serial 2 the second time, quietly" wait_until 10 "$n skip" \
		grep -q "fleet_bundle_skipped serial=2 " "$T/$n.log"
done

# ---------------------------------------------------------------- a bad bundle
"$ETCTL" keys gen --unencrypted --pub rogue.pub --sec rogue.key >/dev/null
bundle 3 b3.bundle rogue --recipient "${RCPT[edge-a]}" --recipient "${RCPT[edge-b]}" \
	--cert "$C1=certs/$C1.crt,certs/$C1.key" || die "bundle 3"
publish b3.bundle >/dev/null || die "publish 3"
step "published serial 3 signed by a key outside the keyring"
check "no appliance applies it; each status says why" wait_until 10 "refusals in status" status_is "
for n in ('edge-a', 'edge-b', 'edge-c'):
    assert 'unknown signing key' in (a[n]['last_error'] or ''), a[n]
assert a['edge-a']['bundle_serial'] == 2 and a['edge-b']['bundle_serial'] == 2, a
assert d['max_serial'] == 3, d
assert all('behind' in a[n]['flags'] for n in a), a" || status_why
for n in edge-a edge-b; do
	check "$n keeps serving the cert of serial 2" eq "$(fp $n)" "$FP2"
done
check "edge-c keeps serving its cert" eq "$(fp edge-c)" "$FP1"

# ---------------------------------------------------------------- a challenge with a TTL
TOKEN=fleetChallengeToken_0123456789
KA=$TOKEN.QPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba
cpublish() { "$ETCTL" challenge publish --nats "$NATS_URLS" --replicas 3 "$@"; }
check "challenge publish validates the pair" \
	contains "$(cpublish --token "$TOKEN" --key-authz "other.QPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" 2>&1)" "key authorization must be"
check "challenge publish bounds --ttl" contains "$(cpublish --token "$TOKEN" --key-authz "$KA" --ttl 0 2>&1)" "--ttl: must be 1 to 86400"
TTL=5
out=$(cpublish --token "$TOKEN" --key-authz "$KA" --ttl $TTL)
check "challenge publish prints revision and expiry" matches "$out" "^published token=$TOKEN revision=[0-9]+ expires_at=[0-9]+$"
EXPIRES=${out##*expires_at=}
step "published a challenge until $EXPIRES"
answer() { curl -s -H "Host: $C1" "http://127.0.0.1:${PORT[$1]}/.well-known/acme-challenge/$TOKEN"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $C1" "http://127.0.0.1:${PORT[$1]}/.well-known/acme-challenge/$TOKEN"; }
answers() { [ "$(answer "$1")" = "$KA" ]; }
gone() { [ "$(code "$1")" = 404 ]; }
for n in "${APPS[@]}"; do
	check "$n answers the published challenge" wait_until $TTL "$n answering" answers "$n"
done
for n in "${APPS[@]}"; do
	check "$n stops answering when the TTL ends" wait_until $((TTL + 10)) "$n 404" gone "$n"
	check "$n answered until expires_at, not less" test "$(date +%s)" -ge "$EXPIRES"
done

# ---------------------------------------------------------------- restart
# a restarted appliance sees the bucket's latest bundle once, refuses it again, and the
# expired challenge is not answered again
stop_one() { kill -TERM "${PID[$1]}"; wait "${PID[$1]}"; }
stop_one edge-b
start_appliance edge-b || die "edge-b did not restart"
check "restarted edge-b serves the cert of serial 2" eq "$(fp edge-b)" "$FP2"
check "and sees serial 3 again, refused" wait_until 10 "second refusal" \
	bash -c "[ \$(grep -c 'fleet_bundle_refused appliance=edge-b .*unknown signing key' '$T/edge-b.log') -ge 2 ]"
check "and does not answer the expired challenge" eq "$(code edge-b)" 404

for n in "${APPS[@]}"; do stop_one "$n"; done
check "no watch failure, no error output" \
	bash -c "! grep -hE 'fleet_watch_failed|ERROR|runtime error|level=error' $T/edge-*.log"
for i in 1 2 3; do nats_kill "$i" TERM; done
step "done"
finish
