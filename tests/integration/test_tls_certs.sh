#!/bin/bash
# Bad cert/key files (key mismatch, expired, garbage, wrong name, chain out of order) are
# rejected with a log line naming the domain and the reason, through SIGHUP, `cert reload`
# and `cert reload DOMAIN`, while the domain's previous cert keeps serving; a good pair then
# replaces it. A bad pair present at start-up is skipped and the others serve.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

tls_test_setup || exit 1
C=click.example.com
tls_leaf "$T/ca" "$T/certs" $C || exit 1
tls_leaf "$T/ca" "$T/certs" shop.example.org || exit 1
head -c 600 /dev/urandom >"$T/certs/broken.example.org.crt"
cp "$T/certs/shop.example.org.key" "$T/certs/broken.example.org.key"
tls_write_config "$T/et.json" "$PORT" "$TLSPORT" "" \
	'{"name": "click.example.com"}, {"name": "shop.example.org"}, {"name": "broken.example.org"}'
start_etd "$T/et.json" "$PORT" || exit 1
SOCK=$T/data/control.sock
GOOD=$(file_fingerprint "$T/certs/$C.crt")

check "start-up: the garbage pair is reported" contains "$(cat "$T/etd.log")" "cert_rejected domain=broken.example.org"
check "start-up: the other domains serve" eq "$(tls_fingerprint $C)" "$GOOD"
out=$(tls_sclient_req broken.example.org "" </dev/null)
check "start-up: the broken domain has no cert (alert)" contains "$out" "New, (NONE)"

# Bad pairs, each made in $T/bad/<case>/ as click.example.com.crt/.key.
mkdir -p "$T/bad"
bad() { mkdir -p "$T/bad/$1"; echo "$T/bad/$1"; }
d=$(bad mismatch); tls_leaf "$T/ca" "$d" $C && tls_leaf "$T/ca" "$T/bad/other" $C &&
	cp "$T/bad/other/$C.key" "$d/$C.key"
d=$(bad expired)
openssl ecparam -name prime256v1 -genkey -noout -out "$T/bad/leaf.key" 2>/dev/null
"$MINTCERTS" -v -172800,-86400 "$T/ca/ca.crt" "$T/ca/ca.key" "$T/bad/leaf.key" "$d" $C
d=$(bad garbage); head -c 900 /dev/urandom >"$d/$C.crt"; cp "$T/certs/$C.key" "$d/$C.key"
d=$(bad corrupt_pem); sed '2s/^..../AAAA/; 3s/^..../!!!!/' "$T/certs/$C.crt" >"$d/$C.crt"; cp "$T/certs/$C.key" "$d/$C.key"
d=$(bad garbage_key); cp "$T/certs/$C.crt" "$d/$C.crt"; echo "not a key" >"$d/$C.key"
d=$(bad wrong_name); tls_leaf "$T/ca" "$T/bad/wn" other.example.com &&
	cp "$T/bad/wn/other.example.com.crt" "$d/$C.crt" && cp "$T/bad/wn/other.example.com.key" "$d/$C.key"
d=$(bad chain_order); tls_leaf "$T/ca" "$T/bad/co" $C &&
	cat "$T/ca/ca.crt" >"$d/$C.crt" && openssl x509 -in "$T/bad/co/$C.crt" >>"$d/$C.crt" &&
	cp "$T/bad/co/$C.key" "$d/$C.key"

declare -A REASON=(
	[mismatch]="private key does not match the certificate"
	[expired]="certificate expired on"
	[garbage]="certificate file holds no PEM certificate"
	[corrupt_pem]="bad base64 decode|does not parse"
	[garbage_key]="key file holds no PEM private key"
	[wrong_name]="certificate names do not cover click.example.com"
	[chain_order]="chain out of order"
)

# reload METHOD: sighup | all | domain; prints edgetrackctl's answer
reload() {
	case $1 in
	sighup) kill -HUP "$ET_PID"; sleep 0.5 ;;
	all) "$ETCTL" --socket "$SOCK" cert reload 2>&1 ;;
	domain) "$ETCTL" --socket "$SOCK" cert reload $C 2>&1 ;;
	esac
}

for method in sighup all domain; do
	for k in mismatch expired garbage corrupt_pem garbage_key wrong_name chain_order; do
		: >"$T/etd.log.mark"
		lines=$(wc -l <"$T/etd.log")
		cp "$T/bad/$k/$C.key" "$T/certs/$C.key"
		cp "$T/bad/$k/$C.crt" "$T/certs/$C.crt"
		ans=$(reload $method)
		log=$(tail -n +$((lines + 1)) "$T/etd.log" | grep "cert_rejected domain=$C")
		check "$method/$k: rejected with a log line" matches "$log" "kept_previous=yes reason=\".*(${REASON[$k]})"
		if [ $method = domain ]; then
			check "$method/$k: cert reload answers the reason" matches "$ans" "error: .*(${REASON[$k]})"
		fi
		check "$method/$k: the old cert keeps serving" eq "$(tls_fingerprint $C)" "$GOOD"
	done
done
check "curl still verifies the old cert" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "$C:$TLSPORT:127.0.0.1" "https://$C:$TLSPORT/healthz")" 200
check "other domains untouched" eq "$(tls_subject shop.example.org)" "subject=CN = shop.example.org | DNS:shop.example.org"

# A good pair replaces the old cert, by each method.
for method in sighup all domain; do
	tls_leaf "$T/ca" "$T/certs" $C || exit 1
	NEW=$(file_fingerprint "$T/certs/$C.crt")
	reload $method >/dev/null
	check "$method: a good pair replaces the old cert" eq "$(tls_fingerprint $C)" "$NEW"
done
check "the new cert verifies" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "$C:$TLSPORT:127.0.0.1" "https://$C:$TLSPORT/healthz")" 200
# Removing a domain's files and reloading that domain stops serving it.
rm "$T/certs/$C.crt" "$T/certs/$C.key"
check "cert reload of a removed domain" "$ETCTL" --socket "$SOCK" cert reload $C
check "a removed domain gets no cert" contains "$(tls_sclient_req $C "" </dev/null)" "New, (NONE)"
check "a bad domain name is refused" matches "$("$ETCTL" --socket "$SOCK" cert reload 'bad/../name' 2>&1)" "error: .*not a domain name"

stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR|runtime error' '$T/etd.log'"
finish
