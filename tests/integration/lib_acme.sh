# Shared by the ACME tests, sourced after lib.sh: Debian's pebble (the CA) and
# pebble-challtestsrv (DNS of the test domains) on free loopback ports, an edgetrackd that
# answers HTTP-01 statelessly from the account thumbprint, and the operator's client config.

for b in pebble pebble-challtestsrv openssl python3; do
	command -v "$b" >/dev/null || { echo "$b not installed (scripts/install-deps.sh)"; exit 1; }
done

HTTP=$(free_port); TLSP=$(free_port); ACME=$(free_port); PMGMT=$(free_port)
DNS=$(free_port); CMGMT=$(free_port)
CTS=http://127.0.0.1:$CMGMT
ACFG=$T/acme.json
SOCK=$T/control.sock
CERTS=$T/data/certs

acme() { "$ETCTL" acme --config "$ACFG" "$@" 2>>"$T/acme.log"; }
jq_field() { python3 -c 'import json,sys; d={x["domain"]:x for x in json.load(sys.stdin)}; print(d.get(sys.argv[1],{}).get(sys.argv[2],""))' "$1" "$2"; }
status_field() { acme status --json | jq_field "$1" "$2"; }
cts() { curl -sf -X POST -d "$2" "$CTS/$1" >/dev/null; }
log_count() { grep -c -- "$1" "$2"; } # pattern file: matching lines (0 when none)

# wait_for WHAT PID SECONDS CMD...: runs CMD until it succeeds. Fails at once, naming WHAT, when
# PID (the process that should make CMD succeed) has exited; SECONDS only bounds a hang.
wait_for() {
	local what=$1 pid=$2 secs=$3 i; shift 3
	for ((i = 0; i < secs * 20; i++)); do
		"$@" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { echo "$what: process $pid exited" >&2; return 1; }
		sleep 0.05
	done
	echo "$what: not within $secs s" >&2
	return 1
}

# --- the CA's own TLS certificate (pebble ships none in Debian) ---------------------------
make_ca_tls() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
		-out "$T/ca.pem" -days 2 -subj /CN=acme-test-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/wfe.key" \
		-out "$T/wfe.csr" -subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T/ext.cnf"
	openssl x509 -req -in "$T/wfe.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
		-out "$T/wfe.pem" -days 2 -extfile "$T/ext.cnf" 2>/dev/null
}

# --- DNS: challtestsrv, with track.esp.test (the tracking target) at 127.0.0.1 -------------
start_dns() {
	pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -http01 "" -https01 "" -tlsalpn01 "" \
		-management "127.0.0.1:$CMGMT" -defaultIPv6 "" >"$T/cts.log" 2>&1 &
	ET_PIDS+=($!)
	wait_for "pebble-challtestsrv" $! 30 curl -s -o /dev/null "$CTS/" || return 1
	cts add-a '{"host":"track.esp.test","addresses":["127.0.0.1"]}'
}

cname_to_track() { # domains...
	for d in "$@"; do cts set-cname "{\"host\":\"$d\",\"target\":\"track.esp.test\"}"; done
}

# --- the CA: start_pebble [VAR=value...] (environment for pebble; again after stop_pebble on
# the same ports, with a fresh in-memory state) ----------------------------------------------
start_pebble() {
	cat >"$T/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$ACME", "managementListenAddress": "127.0.0.1:$PMGMT",
  "certificate": "$T/wfe.pem", "privateKey": "$T/wfe.key", "httpPort": $HTTP, "tlsPort": $TLSP,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
	env PEBBLE_VA_NOSLEEP=1 "$@" pebble -config "$T/pebble.json" -dnsserver "127.0.0.1:$DNS" \
		-strict=false >>"$T/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	ET_PIDS+=($PEBBLE_PID)
	wait_for "pebble" "$PEBBLE_PID" 30 \
		curl -sf --cacert "$T/ca.pem" -o /dev/null "https://127.0.0.1:$ACME/dir" || return 1
	curl -sfk "https://127.0.0.1:$PMGMT/roots/0" >"$T/pebble-root.pem"
}

stop_pebble() {
	kill -TERM "$PEBBLE_PID"
	wait "$PEBBLE_PID" 2>/dev/null
	! curl -s -o /dev/null --cacert "$T/ca.pem" "https://127.0.0.1:$ACME/dir"
}

# --- the operator's client config: FILE TARGET BUDGET [STATE_DIR] [CERT_DIR] ------------------
write_acme_config() {
	cat >"$1" <<JSON
{"directory": "https://127.0.0.1:$ACME/dir", "ca_file": "$T/ca.pem",
 "account_key": "$T/account.key", "contact": "mailto:ops@esp.test",
 "caa_identifier": "pebble.test", "tracking_target": "$2",
 "appliance_addresses": ["127.0.0.1"], "resolver": "127.0.0.1:$DNS",
 "cert_dir": "${5:-$CERTS}", "control_socket": "$SOCK", "state_dir": "${4:-$T/state}",
 "failure_budget": $3, "retry_base_seconds": 1,
 "http_timeout_seconds": 5, "poll_timeout_seconds": 30, "dns_timeout_ms": 1000}
JSON
}

# --- the appliance: start_appliance THUMBPRINT yes|no (TLS listener) DOMAINS... ---------------
start_appliance() {
	local tp=$1 listen="\"127.0.0.1:$HTTP\"" domains="" d; shift
	[ "$1" = yes ] && listen="$listen, {\"address\": \"127.0.0.1:$TLSP\", \"tls\": true}"
	shift
	for d in "$@"; do domains="$domains${domains:+, }{\"name\": \"$d\"}"; done
	cat >"$T/etd.json" <<JSON
{"workers": 2, "listen": [$listen], "data_dir": "$T/data", "control_socket": "$SOCK",
 "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
 "acme": {"thumbprints": ["$tp"]},
 "domains": [$domains]}
JSON
	mkdir -p "$CERTS"
	start_etd "$T/etd.json" "$HTTP"
}

# The account's thumbprint (registers the account with the CA).
account_thumbprint() { acme account | sed -n 's/^thumbprint: //p'; }
