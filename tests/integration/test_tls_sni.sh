#!/bin/bash
# SNI picks each domain's cert (3 exact names, one under the wildcard's parent, and the
# wildcard); unknown or missing SNI gets the default cert or an alert; TLS 1.0/1.1 refused,
# 1.2 and 1.3 negotiated; session resumption, also across two servers sharing ticket keys.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

tls_test_setup || exit 1
tls_leaf "$T/ca" "$T/certs" click.example.com || exit 1
tls_leaf "$T/ca" "$T/certs" shop.example.org rsa || exit 1
tls_leaf "$T/ca" "$T/certs" news.track.example.net || exit 1
tls_leaf "$T/ca" "$T/certs" '*.track.example.net' || exit 1
TICKETS='[{"name": "shared", "secret": "'$KEY1$KEY2'"}]'
DOMAINS='{"name": "click.example.com"}, {"name": "shop.example.org"}, {"name": "*.track.example.net"}'
tls_write_config "$T/et.json" "$PORT" "$TLSPORT" \
	"{\"cert_dir\": \"$T/certs\", \"ticket_keys\": $TICKETS}" "$DOMAINS"
start_etd "$T/et.json" "$PORT" || exit 1

# ---- SNI: the served leaf's subject and SAN
check "SNI click.example.com" eq "$(tls_subject click.example.com)" "subject=CN = click.example.com | DNS:click.example.com"
check "SNI shop.example.org (RSA cert)" eq "$(tls_subject shop.example.org)" "subject=CN = shop.example.org | DNS:shop.example.org"
check "SNI news.track.example.net: the exact name beats the wildcard" eq "$(tls_subject news.track.example.net)" "subject=CN = news.track.example.net | DNS:news.track.example.net"
check "SNI a.track.example.net: the wildcard" eq "$(tls_subject a.track.example.net)" "subject=CN = *.track.example.net | DNS:*.track.example.net"
check "SNI is case-insensitive" eq "$(tls_subject Shop.Example.ORG)" "subject=CN = shop.example.org | DNS:shop.example.org"
check "curl verifies the RSA domain" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "shop.example.org:$TLSPORT:127.0.0.1" "https://shop.example.org:$TLSPORT/healthz")" 200
check "curl verifies the wildcard" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "b.track.example.net:$TLSPORT:127.0.0.1" "https://b.track.example.net:$TLSPORT/o/$(mint open b.track.example.net)")" 200
out=$(tls_sclient_req shop.example.org "" </dev/null)
check "RSA domain negotiates an ECDHE-RSA AEAD suite or TLS 1.3" matches "$out" 'New, TLSv1.3|New, TLSv1.2, Cipher is ECDHE-RSA-(AES(128|256)-GCM|CHACHA20-POLY1305)' 

# ---- unknown and missing SNI without default_cert
out=$(tls_sclient_req unknown.example "" </dev/null)
check "unknown SNI without default_cert: no handshake" contains "$out" "New, (NONE)"
check "unknown SNI without default_cert: unrecognized_name alert" contains "$out" "SSL alert number 112"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$TLSPORT" -noservername 2>&1)
check "no SNI without default_cert: no handshake" contains "$out" "New, (NONE)"
if [ "$BACKEND" = openssl ]; then
	check "no SNI without default_cert: unrecognized_name alert" contains "$out" "SSL alert number 112"
else
	# mbedTLS 2.28 calls the SNI callback only when the client sends the extension; with no
	# SNI and no default cert it has no certificate to offer and answers handshake_failure.
	check "no SNI without default_cert (mbedTLS): handshake_failure alert" contains "$out" "SSL alert number 40"
fi

# ---- protocol versions
weak='DEFAULT:@SECLEVEL=0' # lets Debian's client even try TLS 1.0/1.1
for v in tls1 tls1_1; do
	out=$(tls_sclient_req click.example.com "" -$v -cipher "$weak" </dev/null)
	check "-$v refused" contains "$out" "New, (NONE)"
	check "-$v refused with protocol_version" contains "$out" "SSL alert number 70"
done
out=$(tls_sclient_req click.example.com "" -tls1_2 </dev/null)
check "TLS 1.2 negotiated" contains "$out" "New, TLSv1.2, Cipher is ECDHE-ECDSA-"
check "TLS 1.2 with an AEAD suite" matches "$out" 'New, TLSv1.2, Cipher is ECDHE-ECDSA-(AES(128|256)-GCM|CHACHA20-POLY1305)' 
out=$(tls_sclient_req click.example.com "" -tls1_3 </dev/null)
if [ "$BACKEND" = openssl ]; then
	check "TLS 1.3 negotiated" contains "$out" "New, TLSv1.3, Cipher is TLS_"
	check "TLS 1.3 is the default" contains "$(tls_sclient_req click.example.com "" </dev/null)" "New, TLSv1.3"
else
	# Debian's mbedTLS 2.28 speaks TLS 1.2 only: a 1.3-only client gets handshake_failure,
	# and a client offering both settles on 1.2.
	check "TLS 1.3-only client refused (mbedTLS)" contains "$out" "SSL alert number 40"
	check "TLS 1.2 is the default (mbedTLS)" contains "$(tls_sclient_req click.example.com "" </dev/null)" "New, TLSv1.2"
fi

# ---- session resumption (tickets). The request makes s_client read the server's answer, and
# with it a TLS 1.3 NewSessionTicket, before it closes.
REQ="GET /healthz HTTP/1.1\r\nHost: click.example.com\r\nConnection: close\r\n\r\n"
resume() { # label, then extra s_client args
	local label=$1; shift
	tls_sclient_req click.example.com "$REQ" -sess_out "$T/sess.$label" "$@" >"$T/first.$label"
	tls_sclient_req click.example.com "$REQ" -sess_in "$T/sess.$label" "$@"
}
out=$(resume 12 -tls1_2)
check "TLS 1.2 first connection is full" contains "$(cat "$T/first.12")" "New, TLSv1.2"
check "TLS 1.2 session resumed" contains "$out" "Reused, TLSv1.2"
check "TLS 1.2 resumed connection serves" contains "$out" "HTTP/1.1 200 OK"
if [ "$BACKEND" = openssl ]; then
	out=$(resume 13 -tls1_3)
	check "TLS 1.3 session resumed" contains "$out" "Reused, TLSv1.3"
	check "TLS 1.3 resumed connection serves" contains "$out" "HTTP/1.1 200 OK"
else
	# No TLS 1.3 with mbedTLS 2.28: a client offering every version resumes over 1.2.
	out=$(resume any)
	check "default-version session resumed over TLS 1.2 (mbedTLS)" contains "$out" "Reused, TLSv1.2"
fi

# ---- RFC 6066 §3: a session resumes only under the server name it was made for
cross() { # label NAME, then extra s_client args: offers $T/sess.<label> under SNI NAME
	local label=$1 name=$2; shift 2
	tls_sclient_req "$name" "${REQ/click.example.com/$name}" -sess_in "$T/sess.$label" "$@"
}
out=$(cross 12 shop.example.org -tls1_2)
check "TLS 1.2: a click.example.com session is not resumed under shop.example.org" contains "$out" "New, TLSv1.2"
check "... which gets a full handshake and serves" contains "$out" "HTTP/1.1 200 OK"
check "TLS 1.2: nor under a name the same wildcard covers" \
	contains "$(cross 12 a.track.example.net -tls1_2)" "New, TLSv1.2"
check "TLS 1.2: the session still resumes under click.example.com" \
	contains "$(cross 12 click.example.com -tls1_2)" "Reused, TLSv1.2"
check "TLS 1.2: ... whatever the case of the name" \
	contains "$(cross 12 Click.Example.COM -tls1_2)" "Reused, TLSv1.2"
if [ "$BACKEND" = openssl ]; then
	out=$(cross 13 shop.example.org -tls1_3)
	check "TLS 1.3: a click.example.com session is not resumed under shop.example.org" contains "$out" "New, TLSv1.3"
	check "... which gets a full handshake and serves" contains "$out" "HTTP/1.1 200 OK"
	check "TLS 1.3: the session still resumes under click.example.com" \
		contains "$(cross 13 click.example.com -tls1_3)" "Reused, TLSv1.3"
fi
check "a ticket for one domain still yields that domain's cert when resumed" \
	eq "$(openssl x509 -noout -subject <<<"$(tls_sclient_req click.example.com "" -sess_in "$T/sess.12" -showcerts </dev/null)" 2>/dev/null)" "subject=CN = click.example.com"

# ---- a second server with default_cert and the same ticket keys
PORT2=$(free_port)
TLSPORT2=$(free_port)
mkdir -p "$T/d2"
tls_write_config "$T/et2.json" "$PORT2" "$TLSPORT2" \
	"{\"cert_dir\": \"$T/certs\", \"default_cert\": \"click.example.com\", \"ticket_keys\": $TICKETS}" "$DOMAINS"
sed -i -e "s#\"data_dir\": \"$T/data\"#\"data_dir\": \"$T/d2\"#" "$T/et2.json"
FIRST=$ET_PID
start_etd "$T/et2.json" "$PORT2" || exit 1
TLSPORT1=$TLSPORT
TLSPORT=$TLSPORT2
check "default_cert: unknown SNI gets the default cert" eq "$(tls_subject unknown.example)" "subject=CN = click.example.com | DNS:click.example.com"
check "default_cert: no SNI gets the default cert" eq "$(tls_subject "" -noservername)" "subject=CN = click.example.com | DNS:click.example.com"
check "default_cert: known names still get their own cert" eq "$(tls_subject a.track.example.net)" "subject=CN = *.track.example.net | DNS:*.track.example.net"
check "default_cert: unknown host over HTTPS is 421" eq "$(status_of -k --resolve "unknown.example:$TLSPORT:127.0.0.1" "https://unknown.example:$TLSPORT/o/x")" 421
out=$(tls_sclient_req click.example.com "$REQ" -tls1_2 -sess_in "$T/sess.12")
check "a ticket from the first server resumes on the second (shared ticket keys)" contains "$out" "Reused, TLSv1.2"
TLSPORT=$TLSPORT1

stop_etd "$ET_PID"
stop_etd "$FIRST"
check "no sanitizer or error output" bash -c "! grep -E 'ERROR|runtime error|level=error' '$T/etd.log'"
finish
