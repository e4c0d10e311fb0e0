#!/bin/bash
# Applying a bundle of 10,000 new certificates (BENCH_BUNDLE_CERTS) over the management API
# while wrk drives click requests at the same edgetrackd. One line per figure on stdout:
#   BENCH bundle_apply_ms_10k <push of the 10,000-cert bundle, ms> <push of a 1-cert bundle, ms> <ratio>
#       wall time of `edgetrackctl bundle push` until the answer "applied": upload over
#       loopback, verification, staging, commit, reload and the health probe
#   BENCH bundle_apply_p99_ms_10k <click p99 during the 10,000-cert apply> <click p99 without an apply> <ratio>
#       wrk's p99 over a window from 0.5 s before the push to its answer, against a window of
#       the same length with no push
#
#   bench/bundle.sh [BUILD_DIR]
# Each round starts a fresh edgetrackd (workers 1, on CPU 1) from the same data directory
# (identity and keyring), pushes the 1-cert bundle (serial 1), measures the window without an
# apply, then pushes the 10,000-cert bundle (serial 2, whose config lists the new domains).
# Each figure is the median of BENCH_ROUNDS rounds (default 3); BENCH_CONNS wrk connections
# (default 64).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
ETD=$build/edgetrackd
ETCTL=$build/edgetrackctl
N=${BENCH_BUNDLE_CERTS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-64}
SUFFIX=bundle.example.net

need_tools wrk curl openssl taskset ss
[ -x "$ETD" ] && [ -x "$ETCTL" ] || die "$ETD not built (run make first)"
make -s -C "$top" O="${build#"$top"/}" "${build#"$top"/}/tests/tls/mintcerts" >&2
bench_tmpdir bundle
# shellcheck source=tests/tls/lib.sh
ET_BUILD=$build . "$top/tests/tls/lib.sh"
cd "$T"
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- operator keys and certs
issue() { # CA NAME EXTENSIONS: NAME.crt/.key issued by CA
	openssl ecparam -name prime256v1 -genkey -noout -out "$2.key" 2>/dev/null &&
		openssl req -new -key "$2.key" -subj "/CN=$2" -out "$2.csr" 2>/dev/null &&
		printf '%b' "$3" >"$2.ext" &&
		openssl x509 -req -in "$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -days 30 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$2.ext" -out "$2.crt" 2>/dev/null
}
tls_ca opca && tls_ca ca || die "cannot create the CAs"
issue opca mgmt 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' &&
	issue opca operator 'extendedKeyUsage=clientAuth\n' || die "cannot issue the mgmt certs"
"$ETCTL" keys gen --unencrypted --pub root.pub --sec root.key >/dev/null &&
	"$ETCTL" keys gen --unencrypted --pub op.pub --sec op.key >/dev/null &&
	"$ETCTL" keys certify --root-key root.key --keyring keyring --pub op.pub --not-after 1d >/dev/null ||
	die "cannot make the signing keys"
tls_leaf ca certs "$HOST" && tls_leaf ca one one.$SUFFIX || die "cannot make the certs"
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key 2>/dev/null
t0=$(now_ms)
mkdir -p many && "$MINTCERTS" -n "$N" -s "$SUFFIX" ca/ca.crt ca/ca.key leaf.key many >/dev/null || die "mintcerts failed"
note "minted $N cert pairs in $(($(now_ms) - t0)) ms"

# ---------------------------------------------------------------- the appliance
PORT=$(free_port) TLSPORT=$(free_port) MPORT=$(free_port)
MURL=https://127.0.0.1:$MPORT
served_json() { # DOMAINS (JSON members after $HOST's): the config a bundle carries
	cat <<JSON
{"workers": 1,
 "listen": ["127.0.0.1:$PORT", {"address": "127.0.0.1:$TLSPORT", "tls": true}],
 "keys": [{"id": 1, "secret": "$KEY", "current": true}],
 "journal": {"sync": "none"},
 "tls": {"default_cert": "$HOST"},
 "domains": [{"name": "$HOST"}$1]}
JSON
}
served_json "" | python3 -c "
import json, sys
c = json.load(sys.stdin)
c['data_dir'] = '$T/data0'
c['tls']['cert_dir'] = '$T/certs'
c['management'] = {'listen': '127.0.0.1:$MPORT', 'cert': '$T/mgmt.crt', 'key': '$T/mgmt.key',
    'client_ca': '$T/opca/ca.crt', 'root_key': '$T/root.pub', 'max_bundle_bytes': 1 << 30}
json.dump(c, open('et.json', 'w'), indent=1)" || die "cannot write the config"
mkdir -p data0 && cp keyring data0/keyring

etd_start() { # DATA_DIR: sets ETD_PID
	sed "s|$T/data0|$T/$1|" et.json >"$1.json"
	taskset -c "$SERVER_CPU" "$ETD" --config "$1.json" >>etd.out 2>>etd.log &
	ETD_PID=$!
	PIDS+=("$ETD_PID")
	wait_up "$ETD_PID" "http://127.0.0.1:$PORT/healthz" || { tail -5 etd.log >&2; die "edgetrackd did not come up"; }
}
etd_start data0 # makes the appliance's identity
RCPT=$("$ETCTL" id --data-dir data0 | sed -n 's/^recipient: //p')
[ -n "$RCPT" ] || die "no appliance identity in data0"
stop_pid "$ETD_PID"

# ---------------------------------------------------------------- bundles
bundle() { # SERIAL OUT create-args...
	local serial=$1 out=$2; shift 2
	"$ETCTL" bundle create --serial "$serial" --signer op.pub --scope "${RCPT%%:*}" \
		--recipient "$RCPT" --out "$out" "$@" >/dev/null &&
		"$ETCTL" bundle sign --key op.key "$out" >/dev/null
}
served_json ", {\"name\": \"one.$SUFFIX\"}" >one.json # the 10,000 come on top of it
bundle 1 one.bundle --config one.json --cert-dir one || die "cannot make the 1-cert bundle"
awk -v n="$N" -v s="$SUFFIX" 'BEGIN { printf ", {\"name\": \"one.%s\"}", s
	for (i = 0; i < n; i++) printf ", {\"name\": \"d%d.%s\"}", i, s }' >many.domains
served_json "$(cat many.domains)" >many.json
t0=$(now_ms)
bundle 2 many.bundle --config many.json --cert-dir many || die "cannot make the $N-cert bundle"
note "$N-cert bundle: $(($(stat -c %s many.bundle) / 1024)) KiB, made and signed in $(($(now_ms) - t0)) ms"

# ---------------------------------------------------------------- measuring
CLICK=$(click_token)
URL=http://127.0.0.1:$PORT/c/$CLICK
push() { # BUNDLE: prints the push's wall time in ms; dies unless applied
	local t0 out
	t0=$(now_ms)
	out=$("$ETCTL" bundle push --to "$MURL" --cert operator.crt --key operator.key \
		--ca opca/ca.crt "$1" 2>&1) || die "push $1: $out"
	case $out in *" applied serial="*) ;; *) die "push $1: $out" ;; esac
	echo $(($(now_ms) - t0))
}

# window CMD...: wrk on the click from 0.5 s before CMD until CMD returns; prints CMD's
# output, then wrk's p99 in ms
window() {
	local w out res
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d600s --latency -H "Host: $HOST" "$URL" >wrk.out 2>&1 &
	w=$!
	PIDS+=("$w")
	sleep 0.5
	out=$("$@")
	kill -INT "$w"
	wait "$w" || true
	grep -q 'Non-2xx or 3xx' wrk.out && { cat wrk.out >&2; die "some clicks were not answered 2xx/3xx"; }
	grep -q 'Socket errors' wrk.out && note "$(grep 'Socket errors' wrk.out)"
	res=$(awk '$1 == "99%" { v = $2
		if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000
		printf "%.2f", v }' wrk.out)
	[ -n "$res" ] || { cat wrk.out >&2; die "could not read wrk output"; }
	echo "$out $res"
}
sleep_ms() { sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"; echo -; }

note "$(nproc) CPUs, edgetrackd on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; wrk -t1 -c$CONNS"
for r in $(seq "$ROUNDS"); do
	note "round $r/$ROUNDS"
	rm -rf "data$r" && cp -a data0 "data$r"
	etd_start "data$r"
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$URL" >/dev/null
	read -r one_ms one_p99 <<<"$(window push one.bundle)"
	read -r many_ms many_p99 <<<"$(window push many.bundle)"
	read -r _ idle_p99 <<<"$(window sleep_ms "$many_ms")"
	[ -n "$one_p99" ] && [ -n "$many_p99" ] && [ -n "$idle_p99" ] || die "round $r: a measurement failed"
	record one "$one_ms $one_p99"
	record many "$many_ms $many_p99"
	record idle "- $idle_p99"
	note "  phases: $(grep -o 'serial=2 .*' etd.log | tail -n 1 | grep -o '[a-z]*_ms=[0-9]*' | tr '\n' ' ')"
	[ "$(tls_fingerprint "d$((N - 1)).$SUFFIX")" = "$(file_fingerprint "many/d$((N - 1)).$SUFFIX.crt")" ] ||
		die "round $r: the last new domain is not served its cert"
	stop_pid "$ETD_PID"
	rm -rf "data$r"
done

bench_line bundle_apply_ms_10k "$(med many 1)" "$(med one 1)"
bench_line bundle_apply_p99_ms_10k "$(med many 2)" "$(med idle 2)"
