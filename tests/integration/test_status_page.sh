#!/bin/bash
# The status page of a box with many domains in every certificate state, loaded by headless
# Chromium: the counts per state, a search that finds one domain, pagination, a state filter
# and a sort, all through query parameters (the page has no script), then a screenshot in
# the test's log directory. The same page and the metrics over the management listener need
# an operator's client certificate.
#   STATUS_DOMAINS   domains in all (default 100,000; 3,000 under ASan, or SCALE_DOMAINS)
# 90% have a valid certificate (issued), 5% an expired one the cert store refuses (unknown),
# 5% none (pending).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

command -v chromium >/dev/null || { echo "chromium not installed (scripts/install-deps.sh)"; exit 1; }
[ -x "$MINTCERTS" ] || { echo "missing $MINTCERTS (make tests)"; exit 1; }
asan=no
nm "$ETD" 2>/dev/null | grep -q __asan_init && asan=yes
if [ $asan = yes ]; then N=${STATUS_DOMAINS:-${SCALE_DOMAINS:-3000}}; else N=${STATUS_DOMAINS:-100000}; fi
OLD=$((N / 20)) NEW=$((N / 20))
OK=$((N - OLD - NEW))
LOGDIR=${ET_BUILD}/test-logs
mkdir -p "$LOGDIR"
echo "# domains: $N ($OK issued, $OLD expired, $NEW without a certificate), ASan: $asan"

tls_test_setup
MPORT=$(free_port) MGPORT=$(free_port)
cd "$T" || exit 1
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key 2>/dev/null || exit 1
mkdir -p certs
"$MINTCERTS" -n $OK -s ok.example.net ca/ca.crt ca/ca.key leaf.key certs >/dev/null &&
	"$MINTCERTS" -v -172800,-86400 -n $OLD -s old.example.net ca/ca.crt ca/ca.key leaf.key certs \
		>/dev/null || exit 1

# the management listener: its own certificate, and operators' from another CA
issue() { # CA NAME EXTENSIONS
	openssl ecparam -name prime256v1 -genkey -noout -out "$2.key" 2>/dev/null &&
		openssl req -new -key "$2.key" -subj "/CN=$2" -out "$2.csr" 2>/dev/null &&
		printf '%b' "$3" >"$2.ext" &&
		openssl x509 -req -in "$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -days 30 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$2.ext" -out "$2.crt" 2>/dev/null
}
tls_ca opca || exit 1
issue opca mgmt 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' &&
	issue opca operator 'extendedKeyUsage=clientAuth\n' || exit 1

awk -v ok=$OK -v old=$OLD -v new=$NEW 'BEGIN {
	for (i = 0; i < ok; i++) printf "%s{\"name\": \"d%d.ok.example.net\"}", (i ? ",\n" : ""), i
	for (i = 0; i < old; i++) printf ",\n{\"name\": \"d%d.old.example.net\"}", i
	for (i = 0; i < new; i++) printf ",\n{\"name\": \"d%d.new.example.net\"}", i }' >domains.json
cat >et.json <<JSON
{
  "workers": 2,
  "listen": ["127.0.0.1:$PORT", {"address": "127.0.0.1:$TLSPORT", "tls": true}],
  "data_dir": "$T/data",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "tls": {"cert_dir": "$T/certs"},
  "management": {"listen": "127.0.0.1:$MGPORT", "cert": "$T/mgmt.crt", "key": "$T/mgmt.key",
                 "client_ca": "$T/opca/ca.crt", "appliance_id": "edge-fra-1"},
  "metrics": {"listen": "127.0.0.1:$MPORT"},
  "domains": [$(cat domains.json)]
}
JSON
# loading the certificates takes a while under ASan: wait for the metrics listener, up to
# 10 minutes, but stop at once when edgetrackd exits
"$ETD" --config et.json >>etd.out 2>>etd.log &
ET_PID=$!
ET_PIDS+=("$ET_PID")
for i in $(seq 6000); do
	curl -sf -o /dev/null "http://127.0.0.1:$MPORT/metrics" && break
	kill -0 "$ET_PID" 2>/dev/null || { echo "edgetrackd exited:"; cat etd.log; exit 1; }
	[ "$i" = 6000 ] && { echo "edgetrackd not up after 10 minutes"; exit 1; }
	sleep 0.1
done
# it serves while the start-up pass still checks pairs (those show as pending): wait for it
for i in $(seq 6000); do
	grep -q 'msg=certs_loaded' etd.log && break
	[ "$i" = 6000 ] && { echo "start-up pass not done after 10 minutes"; exit 1; }
	sleep 0.1
done
PAGE=http://127.0.0.1:$MPORT/
# some opens while the page is looked at, so its rate chart has a line: 20 a second, 80 s
OPEN=$(mint open d1.ok.example.net)
curl -s -o /dev/null --rate 20/s -H "Host: d1.ok.example.net" \
	"http://127.0.0.1:$PORT/o/$OPEN?[1-1600]" &
LOAD_PID=$!
ET_PIDS+=("$LOAD_PID")

# dom URL: the DOM after Chromium loaded the page (no script runs on it: there is none)
dom() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" --dump-dom "$1" 2>>chromium.log
}
field() { # DOM ID: the text of the element with that id
	sed -n "s|.*id=\"$2\"[^>]*>\([^<]*\)<.*|\1|p" <<<"$1" | head -n 1
}
count_of() { # DOM STATE: the count shown for a state
	sed -n "s|.*data-state=\"$2\">[a-z]* <b class=\"count\">\([0-9]*\)</b>.*|\1|p" <<<"$1" | head -n 1
}
lacks() { ! grep -qF -- "$2" <<<"$1"; }
rows() { grep -c '<td class="name">' <<<"$1"; }
names() { grep -o '<td class="name">[^<]*' <<<"$1" | sed 's/.*>//'; }

t0=$(date +%s%N)
curl -sf -o first.html "$PAGE" || { echo "no page"; exit 1; }
first_ms=$((($(date +%s%N) - t0) / 1000000))
d=$(dom "$PAGE")
echo "STATUS first_page_total_ms $first_ms server_ms $(field "$(cat first.html)" render-ms) \
second_server_ms $(field "$d" render-ms) view_build_ms $(field "$d" view-ms) domains $N asan $asan"
check "Chromium loaded the page" contains "$d" 'id="domains"'
check "identity" eq "$(field "$d" identity)" edge-fra-1
check "domain count" eq "$(field "$d" domains)" "$N"
check "issued count" eq "$(count_of "$d" issued)" "$OK"
check "pending count" eq "$(count_of "$d" pending)" "$NEW"
check "unknown count" eq "$(count_of "$d" unknown)" "$OLD"
check "first page: 100 rows" eq "$(rows "$d")" 100
check "first page in name order" eq "$(names "$d" | head -n 3 | tr '\n' ' ')" \
	"d0.new.example.net d0.ok.example.net d0.old.example.net "
check "a chart of rates" contains "$d" '<svg id="rate-chart"'
pages=$(( (N + 99) / 100 ))
check "page count" eq "$(field "$d" page-count)" $pages

one=d$((OK - 7)).ok.example.net
d=$(dom "$PAGE?q=$one")
check "a search finds one domain" eq "$(field "$d" match-count)" 1
check "... that domain" eq "$(names "$d")" "$one"
check "... issued, with its expiry" contains "$d" '<td class="state">issued</td><td class="reason">valid until'

d=$(dom "$PAGE?page=2")
check "page 2 shows the next 100" eq "$(rows "$d")" 100
check "page 2 is page 2" eq "$(field "$d" page)" 2
check "page 2 has a previous link" contains "$d" 'rel="prev"'
d=$(dom "$PAGE?page=$pages")
check "the last page has no next link" lacks "$d" 'rel="next"'
check "the last page holds the rest" eq "$(rows "$d")" $((N - (pages - 1) * 100))

d=$(dom "$PAGE?state=unknown&sort=-name")
check "the state filter" eq "$(field "$d" match-count)" "$OLD"
check "expired certificates say why" contains "$d" "certificate refused: certificate expired on"
check "descending name order" eq "$(names "$d" | head -n 1)" \
	"$(for i in $(seq 0 $((OLD - 1))); do echo "d$i.old.example.net"; done | LC_ALL=C sort -r | head -n 1)"
d=$(dom "$PAGE?state=pending")
check "domains without a certificate are pending" contains "$d" "no certificate yet"
d=$(dom "$PAGE?sort=expiry")
check "sorting by expiry puts certificates first" contains "$(names "$d" | head -n 1)" ".ok.example.net"

# a sample every 10 s: the chart has a line once two are taken (25 s after start at most)
chart_re='<polyline class="req" points="[0-9.]+,[0-9.]+ '
for i in $(seq 250); do
	grep -qE "$chart_re" <(curl -sf "$PAGE?q=none") && break
	sleep 0.1
done
check "the rate chart drew the opens" matches "$(dom "$PAGE")" "$chart_re"
shot=$LOGDIR/status_page.png
rm -f "$shot"
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" --hide-scrollbars \
	--window-size=1280,1400 --screenshot="$shot" "$PAGE?q=d1&sort=state" 2>>chromium.log
check "a screenshot in $shot" test -s "$shot"
kill "$LOAD_PID" 2>/dev/null

# the management listener: the same page and the metrics, for an operator's certificate only
mg() { curl -s --cacert opca/ca.crt --resolve "mgmt:$MGPORT:127.0.0.1" "$@"; }
check "page over mutual TLS" contains "$(mg --cert operator.crt --key operator.key \
	"https://127.0.0.1:$MGPORT/?q=$one")" "<td class=\"name\">$one</td>"
check "metrics over mutual TLS" contains "$(mg --cert operator.crt --key operator.key \
	"https://127.0.0.1:$MGPORT/metrics")" "edgetrack_certificates{state=\"unknown\"} $OLD"
check "no page without a client certificate" eq "$(mg -o /dev/null -w '%{http_code}' \
	"https://127.0.0.1:$MGPORT/")" 000

check "edgetrackd stops on SIGTERM" stop_etd "$ET_PID"
finish
