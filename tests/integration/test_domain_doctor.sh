#!/bin/bash
# The domain doctor end to end: Debian's Knot serves a zone this test writes, Unbound resolves
# in front of it (both on loopback ports, config in the test's directory), and
# edgetrackctl domain check / watch / spf eval run against Unbound. Every check's ok, warn
# and fail, NXDOMAIN against no data, multi-string TXT, CNAME-delegated DKIM selectors, an
# ownership record removed mid-watch (knotc zone-unset), and a resolver that never answers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/dnsservers.sh"

for b in knotd knotc kdig unbound openssl python3; do
	command -v "$b" >/dev/null || { echo "$b not installed (scripts/install-deps.sh)"; exit 1; }
done

KPORT=$(free_port); UPORT=$(free_port); DEAD=$(free_port)
CFG=$T/domain.json
doctor() { "$ETCTL" domain --config "$CFG" "$@" 2>>"$T/ctl.log"; }
# level DOMAIN CHECK: that check's level in a JSON report on stdin
levels() { python3 -c '
import json, sys
for d in json.load(sys.stdin):
    for name, c in d["checks"].items():
        print("%s.%s=%s" % (d["domain"], name, c["level"]))
    print("%s=%s" % (d["domain"], d["level"]))'; }

cat >"$CFG" <<JSON
{"secret": "$KEY1", "spf_include": "_spf.esp.test", "dkim_selector": "s1",
 "dkim_target": "{selector}.dkim.esp.test", "dkim_domain": "esp.test",
 "return_path": "bounces.{domain}", "tracking_host": "click.{domain}",
 "tracking_target": "track.esp.test", "caa_identifier": "letsencrypt.org",
 "resolver": "127.0.0.1:$UPORT", "dns_timeout_ms": 500, "deadline_ms": 5000,
 "concurrency": 4, "state_dir": "$T/state"}
JSON

# --- keys and tokens --------------------------------------------------------------------------
b64key() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$1" 2>/dev/null |
	openssl pkey -pubout -outform DER | base64 -w0; }
K2048=$(b64key 2048); K1024=$(b64key 1024)
token() { doctor token "$1" | sed 's/.*"\(.*\)"/\1/'; }
# a TXT value as zone-file strings of at most 255 bytes
strings() { python3 -c 'import sys; s=sys.argv[1]; print(" ".join("\"%s\"" % s[i:i+200] for i in range(0, len(s), 200)))' "$1"; }

# --- the zone ---------------------------------------------------------------------------------
cat >"$T/zone" <<ZONE
\$ORIGIN test.
\$TTL 60
@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ NS ns.test.
ns A 127.0.0.1
_spf.esp TXT "v=spf1 ip4:192.0.2.0/24 -all"
track.esp A 127.0.0.1
s1.dkim.esp TXT $(strings "v=DKIM1; k=rsa; p=$K2048")
mx.esp A 127.0.0.1
alias.esp CNAME mx.esp.test.
reports.esp TXT "v=DMARC1"

; good.test: every check ok, the SPF and DKIM TXT split into several strings
good TXT "$(token good.test)"
good TXT "v=spf1 include:_spf.esp.test " "~all"
good MX 10 mx.esp.test.
good CAA 0 issue "letsencrypt.org"
s1._domainkey.good CNAME s1.dkim.esp.test.
_dmarc.good TXT "v=DMARC1; p=none; rua=mailto:dmarc@good.test"
click.good CNAME track.esp.test.

; warn.test: every check warns
warn TXT "$(token warn.test)"
warn TXT "v=spf1 ptr include:_spf.esp.test ?all"
warn SPF "v=spf1 -all"
warn MX 10 alias.esp.test.
s1._domainkey.warn TXT $(strings "v=DKIM1; k=rsa; p=$K1024")
_dmarc.warn TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@elsewhere.esp.test"
click.warn CNAME hop.warn.test.
hop.warn CNAME track.esp.test.

; fail.test: every check fails
fail TXT "edgetrack-verification=0000"
fail TXT "v=spf1 ip4:198.51.100.1 -all"
fail MX 10 nohost.fail.test.
s1._domainkey.fail TXT "v=DKIM1; k=rsa; p="
fail CAA 0 issue "other-ca.test"
click.fail CNAME cdn.other.test.
cdn.other A 198.51.100.7

; nodata.test exists (an A record) but has none of the records asked for
nodata A 192.0.2.1
ZONE

dns_servers_start "$T/dns" "$T/zone" "$KPORT" "$UPORT" || { echo "DNS servers did not start"; exit 1; }
ET_PIDS+=("$KNOT_PID" "$UNBOUND_PID")

NEEDED=$(readelf -d "$ETD" | grep NEEDED)
check "edgetrackd's libraries listed" contains "$NEEDED" "libc.so"
check "edgetrackd links no operator library" eq "$(grep -cE 'lib(curl|cares|psl)' <<<"$NEEDED")" 0

# --- domain check -------------------------------------------------------------------------------
doctor check good.test warn.test fail.test nodata.test nx.test --json >"$T/check.json"
rc=$?
check "check exits 1 when a domain fails" eq "$rc" 1
L=$(levels <"$T/check.json")
for c in ownership spf dkim dmarc mx cname caa; do
	check "good.test $c ok" contains "$L" "good.test.$c=ok"
done
for c in spf dkim dmarc mx cname; do
	check "warn.test $c warn" contains "$L" "warn.test.$c=warn"
done
for c in ownership spf dkim dmarc mx cname caa; do
	check "fail.test $c fail" contains "$L" "fail.test.$c=fail"
done
check "good.test overall ok" contains "$L" "good.test=ok"

T1=$(doctor check good.test warn.test fail.test nodata.test nx.test)
check "multi-string SPF joined" contains "$T1" "0 of 10 DNS lookups"
check "CNAME-delegated DKIM selector" contains "$T1" "delegated by CNAME to s1.dkim.esp.test"
check "ptr warned" contains "$T1" "ptr is slow"
check "?all warned" contains "$T1" '"?all" says nothing'
check "type-99 SPF warned" contains "$T1" "retired SPF type (99)"
check "1024-bit DKIM warned" contains "$T1" "RSA key of 1024 bits"
check "pct warned" contains "$T1" "pct=50"
check "unauthorized report address warned" contains "$T1" "warn.test._report._dmarc.elsewhere.esp.test"
check "MX alias warned" contains "$T1" "alias.esp.test is an alias"
check "indirect tracking CNAME warned" contains "$T1" "only through hop.warn.test"
check "wrong ownership token named" contains "$T1" "another token"
check "missing ESP include named" contains "$T1" "include:_spf.esp.test is missing"
check "record to publish given" contains "$T1" 'fail.test TXT "v=spf1 ip4:198.51.100.1 include:_spf.esp.test -all"'
check "revoked DKIM key named" contains "$T1" "revoked"
check "unresolvable MX host named" contains "$T1" "nohost.fail.test has no A or AAAA"
check "CAA denial named" contains "$T1" "allows only other-ca.test"
check "tracking CNAME elsewhere named" contains "$T1" "points to cdn.other.test"
check "NXDOMAIN told" contains "$T1" "nx.test has no MX record (the domain does not exist)"
check "no data told" contains "$T1" "nodata.test has no MX record (no data)"
check "DKIM NXDOMAIN told" contains "$T1" "no DKIM key at s1._domainkey.nx.test (the name does not exist)"

# --- spf eval -----------------------------------------------------------------------------------
E=$("$ETCTL" spf eval --config "$CFG" --ip 192.0.2.10 --sender bob@good.test --helo mx.good.test --json)
check "spf eval passes through the include" contains "$E" '"result": "pass"'
check "spf eval names the term" contains "$E" '"term": "include:_spf.esp.test"'
E=$("$ETCTL" spf eval --config "$CFG" --ip 203.0.113.1 --sender bob@fail.test --helo h.test)
check "spf eval fails others" contains "$E" "fail: \"-all\""

# --- watch: ownership removed mid-watch -----------------------------------------------------------
W=$(doctor watch good.test --once)
check "watch authorizes on the token" contains "$W" "good.test ownership verified: the domain is authorized"
W=$(doctor watch --once)
rc=$?
check "a recheck with nothing changed prints nothing" eq "$rc:$W" "0:"
tok=$(token good.test)
knot_ctl "$T/dns" zone-begin test >/dev/null &&
	knot_ctl "$T/dns" zone-unset test good.test. TXT "\"$tok\"" >/dev/null &&
	knot_ctl "$T/dns" zone-commit test >/dev/null
TXT=$(kdig +short -p "$UPORT" @127.0.0.1 good.test TXT)
check "the zone still answers good.test TXT" contains "$TXT" "v=spf1"
check "token removed from the zone" eq "$(grep -c verification <<<"$TXT")" 0
W=$(doctor watch --once --fail-exit)
rc=$?
check "watch reports ownership lost" contains "$W" "good.test ownership lost"
check "watch reports the authorization gone" contains "$W" "no longer authorized"
check "watch prints the check transition" contains "$W" "good.test ownership: ok -> fail"
check "watch --fail-exit exits 1" eq "$rc" 1
check "state says not authorized" contains "$(cat "$T/state/good.test.json")" '"authorized": false'
check "history kept" contains "$(cat "$T/state/good.test.json")" '"to": "lost"'

# --- a resolver that never answers: temperror within the deadline ----------------------------------
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
t = time.time()
while time.time() - t < 60: s.recv(4096)' "$DEAD" &
ET_PIDS+=($!)
t0=$(date +%s%N)
doctor check good.test --resolver "127.0.0.1:$DEAD" --deadline-ms 1500 --json >"$T/dead.json"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
L=$(levels <"$T/dead.json")
check "dead resolver: exit 1" eq "$rc" 1
check "dead resolver: ownership temperror" contains "$L" "good.test.ownership=temperror"
check "dead resolver: spf temperror" contains "$L" "good.test.spf=temperror"
check "dead resolver: nothing ok" eq "$(grep -c '=ok' <<<"$L")" 0
check "dead resolver: done within the deadline ($ms ms)" test "$ms" -lt 6000

[ "$FAILS" -eq 0 ] || { echo "--- edgetrackctl stderr:"; tail -n 20 "$T/ctl.log"; }
finish
