# Helpers of the TLS integration tests and bench, sourced after tests/integration/lib.sh
# (which provides $T, $ETD, $ETCTL, check, start_etd...). Certificates come from the openssl
# CLI (one CA, per-domain leaves) or, by the thousand, from $ET_BUILD/tests/tls/mintcerts.
#
#   tls_ca DIR                          DIR/ca.crt + DIR/ca.key (EC P-256, self-signed)
#   tls_leaf CADIR CERTDIR DOMAIN [KEYTYPE] [NAME...]
#                                       CERTDIR/<file>.crt (leaf, then CA) + .key for DOMAIN
#                                       ("*.x" -> _wildcard.x); SANs = NAMEs or DOMAIN;
#                                       KEYTYPE ec (default) or rsa; random serial
#   tls_write_config FILE PORT TLSPORT [TLS_JSON] [DOMAINS_JSON]
#   tls_get ARGS...                     curl over HTTPS trusting the test CA
#   tls_subject HOST [s_client args]    "subject=... | DNS:..." of the cert served for SNI HOST
#   tls_fingerprint HOST                SHA-256 fingerprint of the cert served for SNI HOST
#   tls_sclient_req HOST REQUEST [args] sends one HTTP request through openssl s_client

# shellcheck disable=SC2034
TLS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MINTCERTS=${ET_BUILD}/tests/tls/mintcerts

tls_backend() { # prints openssl or mbedtls: what the build under test was configured with
	if grep -q 'define CONFIG_TLS_MBEDTLS 1' "$ET_BUILD/include/generated/autoconf.h" 2>/dev/null
	then echo mbedtls; else echo openssl; fi
}

tls_ca() {
	local dir=$1
	mkdir -p "$dir"
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null &&
		openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=edgetrack test CA" -days 30 \
			-sha256 -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt" 2>/dev/null
}

tls_file_base() { # domain -> file name without extension
	case "$1" in
	'*.'*) echo "_wildcard.${1#\*.}" ;;
	*) echo "$1" ;;
	esac
}

tls_leaf() {
	local ca=$1 out=$2 domain=$3 type=${4:-ec}
	shift 3; [ $# -gt 0 ] && shift
	local names=("$@") base tmp san n
	[ ${#names[@]} -eq 0 ] && names=("$domain")
	base=$out/$(tls_file_base "$domain")
	tmp=$(mktemp -d "$T/leaf.XXXXXX")
	san=
	for n in "${names[@]}"; do san="${san:+$san,}DNS:$n"; done
	mkdir -p "$out"
	if [ "$type" = rsa ]; then
		openssl genrsa -out "$tmp/k" 2048 2>/dev/null || return 1
	else
		openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/k" 2>/dev/null || return 1
	fi
	printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
		"$san" >"$tmp/ext"
	openssl req -new -key "$tmp/k" -subj "/CN=${names[0]}" -out "$tmp/csr" 2>/dev/null &&
		openssl x509 -req -in "$tmp/csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$tmp/ext" \
			-out "$tmp/crt" 2>/dev/null || return 1
	# Key first, then the chain: a reload that sees the new cert also finds its key.
	cat "$tmp/k" >"$base.key.new" && mv "$base.key.new" "$base.key"
	cat "$tmp/crt" "$ca/ca.crt" >"$base.crt.new" && mv "$base.crt.new" "$base.crt"
	rm -rf "$tmp"
}

# tls_write_config FILE PORT TLSPORT [TLS_JSON] [DOMAINS_JSON]
tls_write_config() {
	local file=$1 port=$2 tlsport=$3 tls=${4:-}
	local domains=${5:-'{"name": "click.example.com"}'}
	[ -n "$tls" ] || tls="{\"cert_dir\": \"$T/certs\"}"
	cat >"$file" <<JSON
{
  "workers": 2,
  "listen": ["127.0.0.1:$port", {"address": "127.0.0.1:$tlsport", "tls": true}],
  "data_dir": "$T/data",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "acme": {"thumbprints": ["$THUMB"]},
  "tls": $tls,
  "domains": [$domains]
}
JSON
}

tls_get() { # curl over HTTPS trusting the test CA
	curl -s --cacert "$T/ca/ca.crt" "$@"
}

# The served leaf, as "subject=CN = x | DNS:x, DNS:y"; extra args go to s_client.
tls_subject() {
	local host=$1; shift
	local pem sni=(-servername "$host")
	[ -n "$host" ] || sni=()
	pem=$(timeout 10 openssl s_client -connect "127.0.0.1:$TLSPORT" "${sni[@]}" "$@" </dev/null 2>/dev/null | openssl x509 2>/dev/null) || return 1
	[ -n "$pem" ] || return 1
	printf '%s | %s\n' "$(openssl x509 -noout -subject <<<"$pem")" \
		"$(openssl x509 -noout -ext subjectAltName <<<"$pem" | tail -n +2 | tr -d ' ')"
}

tls_fingerprint() {
	timeout 10 openssl s_client -connect "127.0.0.1:$TLSPORT" -servername "$1" </dev/null \
		2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}

# tls_sclient_req HOST REQUEST [s_client args]: prints the handshake summary and the response.
tls_sclient_req() {
	local host=$1 req=$2 wait=(-ign_eof); shift 2
	# With a request, read the answer to the end; with none, -ign_eof would hold the
	# connection open until the timeout kills the client.
	[ -n "$req" ] || wait=()
	printf '%b' "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$TLSPORT" \
		-servername "$host" -CAfile "$T/ca/ca.crt" -verify_return_error "${wait[@]}" "$@" 2>&1 |
		tr -d '\0'
}

file_fingerprint() { # cert file -> SHA-256 fingerprint of its first cert
	openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2
}

matches() { # haystack extended-regex
	grep -qE -- "$2" <<<"$1" && return 0
	echo "    no match for /$2/ in: ${1:0:400}" >&2
	return 1
}

# tls_test_setup: for an integration test (after tests/integration/lib.sh): sets PORT,
# TLSPORT and BACKEND, says which backend runs, and makes the test CA in $T/ca.
tls_test_setup() {
	PORT=$(free_port)
	TLSPORT=$(free_port)
	BACKEND=$(tls_backend)
	echo "# backend: $BACKEND"
	tls_ca "$T/ca"
}
