#!/bin/bash
# The domain doctor's throughput: edgetrackctl domain check on 1,000 domains against Unbound
# (in front of Knot, both on loopback, see scripts/lib/dnsservers.sh), its domains checked
# side by side with each domain's first lookups sent together, against the same checks with
# --serial: one domain and one query at a time. Same queries, same resolver; the ratio is
# the gain from concurrency.
#   bench/dns.sh [BUILD_DIR]
set -eu
. "$(dirname "$0")/lib.sh" "${1:-build}"
. "$top/scripts/lib/dnsservers.sh"

N=${BENCH_DOMAINS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
need_tools knotd knotc kdig unbound python3
[ -x "$build/edgetrackctl" ] || die "$build/edgetrackctl missing (make)"
bench_tmpdir dns
KPORT=$(free_port); UPORT=$(free_port)

# A sending domain that passes every check, N times over.
{
	echo "\$ORIGIN test."
	echo "\$TTL 300"
	echo "@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60"
	echo "@ NS ns.test."
	echo "ns A 127.0.0.1"
	echo "_spf.esp TXT \"v=spf1 ip4:192.0.2.0/24 -all\""
	echo "track.esp A 127.0.0.1"
	echo "mx.esp A 127.0.0.1"
	echo "s1.dkim.esp TXT \"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\""
	for i in $(seq "$N"); do
		d=d$i
		echo "$d TXT \"v=spf1 include:_spf.esp.test ~all\""
		echo "$d MX 10 mx.esp.test."
		echo "s1._domainkey.$d CNAME s1.dkim.esp.test."
		echo "_dmarc.$d TXT \"v=DMARC1; p=none; rua=mailto:dmarc@$d.test\""
		echo "click.$d CNAME track.esp.test."
	done
} >"$T/zone"
cat >"$T/domain.json" <<JSON
{"spf_include": "_spf.esp.test", "dkim_selector": "s1",
 "dkim_target": "{selector}.dkim.esp.test", "return_path": "bounces.{domain}",
 "tracking_host": "click.{domain}", "tracking_target": "track.esp.test",
 "resolver": "127.0.0.1:$UPORT", "deadline_ms": 30000, "concurrency": 32}
JSON
dns_servers_start "$T/dns" "$T/zone" "$KPORT" "$UPORT" || die "knot/unbound did not start"
PIDS+=("$KNOT_PID" "$UNBOUND_PID")
DOMAINS=$(seq -f "d%g.test" "$N" | tr '\n' ' ')

# once, to check the answers: every domain must come out ok
# shellcheck disable=SC2086
"$build/edgetrackctl" domain --config "$T/domain.json" check $DOMAINS --json >"$T/first.json" || true
ok=$(python3 -c 'import json,sys; print(sum(d["level"] == "ok" for d in json.load(open(sys.argv[1]))))' "$T/first.json")
[ "$ok" -eq "$N" ] || die "only $ok of $N domains checked ok against the bench zone"

run() { # MODE: prints checks per second
	local t0 t1
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	"$build/edgetrackctl" domain --config "$T/domain.json" check $DOMAINS $1 >/dev/null || true
	t1=$(date +%s%N)
	awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }'
}

note "dns: $N domains, $ROUNDS rounds, concurrent (32 workers) vs --serial"
for _ in $(seq "$ROUNDS"); do
	record concurrent "$(run "")"
	record serial "$(run --serial)"
done
med_line domain_checks_per_s concurrent serial 1
