#!/bin/bash
# HTTPS: edgetrackd next to Debian's nginx with the same ECDSA P-256 cert, the same cipher
# lists and one worker each (server on CPU 1, clients on CPU 0). One line per figure on stdout:
#   BENCH <name> <edgetrack> <nginx> <ratio>       ratio = edgetrack / nginx
#   tls13_handshakes, tls12_handshakes   full handshakes/s (parallel `openssl s_time -new`)
#   https_keepalive_rps                  keep-alive HTTPS requests/s on the open pixel (wrk)
#   tls13_resumed_per_cpu_s              TLS 1.3 resumptions (`s_time -reuse`, each server
#                                        with its own tickets, a /healthz request each)
#   https_click_new_conn_per_cpu_s       a click on a new TLS 1.3 connection each: full
#                                        handshake, request, 302, close
#   *_crypto_floor_per_cpu_s             what a handshake's public-key operations alone allow
#                                        on this CPU (`openssl speed`), next to nginx's figure
#   *_cpu_us                             server CPU microseconds per handshake / request
#                                        (/proc utime+stime; lower is better)
#   *_per_cpu_s                          handshakes / requests per second of server CPU
#                                        (the clients saturate CPU 0 first: stderr says
#                                        how busy they kept it)
#   mbedtls_tls12_handshakes, mbedtls_https_keepalive_rps, mbedtls_*_cpu_us
#                                        the same with the mbedTLS 2.28 backend
#                                        (built into build/bench-mbedtls; TLS 1.2 only)
# Then the 100,000-domain scale figures on the OpenSSL build (bench/scale.sh; BENCH_SCALE=0
# skips them).
#
#   bench/tls.sh [BUILD_DIR]        (BUILD_DIR: an optimized OpenSSL build, default build)
# Each figure is the median of BENCH_ROUNDS alternating rounds (default 3).
# Environment: BENCH_SECONDS (per run, default 5; SOAK=1 makes it 60), BENCH_CONNS (wrk
# connections, default 64), BENCH_CLIENTS (parallel s_time processes, default 4),
# BENCH_TMPDIR (default /var/tmp), BENCH_SCALE (default 1).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:-build}"
mbuild=$top/build/bench-mbedtls

if [ "${SOAK:-0}" = 1 ]; then SECS=${BENCH_SECONDS:-60}; else SECS=${BENCH_SECONDS:-5}; fi
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-64}
CLIENTS=${BENCH_CLIENTS:-4}

need_tools wrk nginx curl openssl taskset ss
[ -x "$build/edgetrackd" ] || die "$build/edgetrackd not built (run make first)"
grep -q 'define CONFIG_TLS_OPENSSL 1' "$build/include/generated/autoconf.h" ||
	die "$build is not an OpenSSL build"
note "building the mbedTLS backend into ${mbuild#"$top"/}"
make -s -C "$top" O=build/bench-mbedtls KCONFIG_CONFIG=build/bench-mbedtls/.config \
	host_mbedtls_defconfig >&2
make -s -C "$top" O=build/bench-mbedtls KCONFIG_CONFIG=build/bench-mbedtls/.config all >&2

bench_tmpdir tlsbench



# ---------------------------------------------------------------- cert (one for both servers)
# shellcheck source=tests/tls/lib.sh
ET_BUILD=$build . "$top/tests/tls/lib.sh"
tls_ca "$T/ca" || die "cannot create the test CA"
tls_leaf "$T/ca" "$T/certs" "$HOST" || die "cannot create the cert"
chmod 644 "$T/certs/$HOST.key"

# ---------------------------------------------------------------- servers
# The journal does not fsync here (sync=none): nginx records nothing durably, so both servers
# answer from memory; what durability costs is bench/http.sh's journal_* figures.
etd_start() { # BUILD PORT TLSPORT: sets SRV_PID
	local b=$1 dir=$T/etd-$(basename "$1")
	mkdir -p "$dir"
	cat >"$dir/et.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:$2", {"address": "127.0.0.1:$3", "tls": true}],
  "data_dir": "$dir/data",
  "control_socket": "$dir/control.sock",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "tls": {"cert_dir": "$T/certs", "default_cert": "$HOST"},
  "domains": [{"name": "$HOST"}],
  "journal": {"sync": "none"}
}
JSON
	taskset -c "$SERVER_CPU" "$b/edgetrackd" --config "$dir/et.json" >"$dir/out" 2>"$dir/log" &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_up "$SRV_PID" "http://127.0.0.1:$2/healthz" && return 0
	cat "$dir/log" >&2
	die "edgetrackd ($b) did not come up"
}

nginx_start() { # TLSPORT: sets SRV_PID
	local dir=$T/nginx
	mkdir -p "$dir/root"
	cp "$T/pixel.gif" "$dir/root/pixel.gif"
	chmod -R a+rX "$dir"
	cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
$(nginx_http "$dir")
	server {
		listen 127.0.0.1:$1 ssl reuseport;
		server_name $HOST;
$(nginx_ssl "$T/certs")
		location = /healthz { return 200 "ok\n"; }
		location /c/ {
			add_header Cache-Control no-store always;
			return 302 "$DEST";
		}
		location /o/ {
			add_header Cache-Control no-store always;
			types { }
			default_type image/gif;
			open_file_cache max=16;
			root $dir/root;
			rewrite ^ /pixel.gif break;
		}
	}
}
CONF
	taskset -c "$SERVER_CPU" nginx -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/stderr" &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_up "$SRV_PID" "https://127.0.0.1:$1/healthz" && return 0
	cat "$dir/stderr" "$dir/error.log" >&2 2>/dev/null
	die "nginx did not come up"
}

# The nginx master only forks; the worker does the work. CPU figures sum both.
srv_pids() { echo "$1 $(pgrep -P "$1" || true)"; }
srv_ticks() {
	local sum=0 p
	for p in $(srv_pids "$1"); do sum=$((sum + $(cpu_ticks "$p"))); done
	echo "$sum"
}

# handshakes PID TLSPORT VERSIONFLAG [MODE [REQUEST [BYTES]]]: prints "handshakes_per_s
# cpu_us_per_handshake". MODE is -new (full handshakes, the default) or -reuse (each connection
# resumes the last one's session; a TLS 1.3 client learns its ticket only by reading, so give
# a REQUEST). REQUEST is sent on every connection (request_line) and read to the server's
# close; BYTES, if given, is the answer's size, which every connection must have read.
handshakes() {
	local pid=$1 port=$2 v=$3 mode=${4:--new} www=() t0 t1 tm
	[ -n "${5:-}" ] && www=(-www "$5")
	# warm-up: the first second of a fresh server or client is slower than the rest
	taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$port" "$mode" "$v" \
		"${www[@]}" -time 1 >/dev/null 2>&1 || true
	t0=$(srv_ticks "$pid")
	tm=$(
		for i in $(seq "$CLIENTS"); do
			taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$port" "$mode" "$v" \
				"${www[@]}" -time "$SECS" >"$T/stime.$i" 2>&1 &
		done
		wait
		times
	)
	t1=$(srv_ticks "$pid")
	client_busy "$(tail -n1 <<<"$tm")" "$SECS" "$CLIENTS x s_time $mode"
	# s_time prints a character per connection: r resumed, * a full TLS 1.2/1.3 handshake
	if [ "$mode" = -reuse ] && grep -q '^starting' "$T"/stime.* &&
		[ "$(sed -n '/^starting/{n;p}' "$T"/stime.* | tr -d 'r\n' | wc -c)" != 0 ]; then
		die "port $port: s_time -reuse made full handshakes (sessions not resumed)"
	fi
	cat "$T"/stime.* | awk -v ticks=$((t1 - t0)) -v hz="$HZ" -v want="${6:-}" '
		/connections in [0-9.]+ real seconds/ {
			n += $1; s = $4 > s ? $4 : s
			if (want != "" && $7 != want) bad = $7
		}
		END {
			if (bad != "") { print "read " bad " bytes per connection, not " want > "/dev/stderr"; exit 1 }
			if (!n || !s) exit 1
			printf "%.0f %.1f\n", n / s, ticks * 1e6 / hz / n
		}' || { cat "$T"/stime.* >&2; die "s_time against port $port failed"; }
	rm -f "$T"/stime.*
}

# answer_bytes TLSPORT REQUEST STATUS: the size of the server's answer to one such request,
# after checking its status line (and a 302's Location: the click's destination).
answer_bytes() {
	local status
	printf 'GET %s HTTP/1.0\r\n\r\n' "$2" |
		timeout 10 openssl s_client -connect "127.0.0.1:$1" -quiet >"$T/answer" 2>/dev/null || true
	status=$(head -n1 "$T/answer" | tr -d '\r')
	case $status in "HTTP/1.1 $3 "*) ;; *) die "port $1 answered '$status', not $3" ;; esac
	[ "$3" != 302 ] || grep -qiF "Location: $DEST" "$T/answer" ||
		die "port $1: the click does not redirect to $DEST"
	wc -c <"$T/answer"
}

# keepalive PID URL: prints "rps cpu_us_per_request"
keepalive() {
	local pid=$1 url=$2 out t0 t1
	t0=$(srv_ticks "$pid")
	out=$( (taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency \
		-H "Host: $HOST" "$url" && times) )
	t1=$(srv_ticks "$pid")
	client_busy "$(tail -n1 <<<"$out")" "$SECS" "wrk"
	grep -q 'Non-2xx or 3xx' <<<"$out" && { echo "$out" >&2; die "$url: non-2xx answers"; }
	awk -v ticks=$((t1 - t0)) -v hz="$HZ" '
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		END { if (!n) exit 1; printf "%.0f %.2f\n", rps, ticks * 1e6 / hz / n }' <<<"$out" ||
		{ echo "$out" >&2; die "$url: could not read wrk output"; }
}

warm_up() { # URL
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "Host: $HOST" "$1" >/dev/null
}

# wrk sends SNI "127.0.0.1" (the URL host), so edgetrackd answers with its default_cert and
# the Host header picks the domain, as with nginx's default server.
OPEN=$(open_token)
CLICK=$(click_token)
note "$(nproc) CPUs; servers on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU; ${SECS}s per run;" \
	"$CLIENTS s_time clients; wrk -t1 -c$CONNS"

# crypto_floor: handshakes per CPU-second if a handshake cost its public-key operations alone
# (`openssl speed` on the servers' CPU), next to nginx's figure: the most any server on this
# OpenSSL could reach. A full handshake signs once (ECDSA P-256) and does two X25519
# operations (key generation is one scalar multiplication, as the shared secret is); a TLS 1.3
# resumption (psk_dhe_ke) does the two X25519 operations only.
crypto_floor() {
	local sp sign x
	sp=$(taskset -c "$SERVER_CPU" openssl speed -seconds 2 ecdsap256 ecdhx25519 2>/dev/null)
	sign=$(awk '/ecdsa \(nistp256\)/ { print $(NF - 1) }' <<<"$sp")
	x=$(awk '/ecdh \(X25519\)/ { print $NF }' <<<"$sp")
	[ -n "$sign" ] && [ -n "$x" ] || die "openssl speed gave no ECDSA P-256 / X25519 figures"
	note "crypto on CPU $SERVER_CPU: ECDSA P-256 sign ${sign}/s, X25519 ${x}/s"
	bench_line tls13_crypto_floor_per_cpu_s \
		"$(awk -v s="$sign" -v x="$x" 'BEGIN { printf "%.0f", 1 / (1 / s + 2 / x) }')" \
		"$(per_cpu_s "$(med ng_h13 2)")"
	bench_line tls13_resumed_crypto_floor_per_cpu_s \
		"$(awk -v x="$x" 'BEGIN { printf "%.0f", x / 2 }')" "$(per_cpu_s "$(med ng_r13 2)")"
}

# All three servers run side by side (idle ones cost nothing) and the runs alternate between
# them, so a change in the machine's speed during the bench hits both sides alike.
start_both() { # BUILD: sets SRV_PID and SRV_TLS (the TLS port)
	local p
	p=$(free_port); SRV_TLS=$(free_port)
	etd_start "$1" "$p" "$SRV_TLS"
	[ -f "$T/pixel.gif" ] || curl -sf -H "Host: $HOST" -o "$T/pixel.gif" "http://127.0.0.1:$p/o/$OPEN"
}
start_both "$build"; ET_PID=$SRV_PID; ET_TLS=$SRV_TLS
start_both "$mbuild"; MB_PID=$SRV_PID; MB_TLS=$SRV_TLS
NP=$(free_port)
nginx_start "$NP"; NG_PID=$SRV_PID

# The requests of the resumed and the click-per-connection runs, and the size of each server's
# answer, which every connection of those runs must read in full.
HEALTH=$(request_line /healthz)
CLICK_REQ=$(request_line "/c/$CLICK")
ET_HEALTH_BYTES=$(answer_bytes "$ET_TLS" "$HEALTH" 200)
NG_HEALTH_BYTES=$(answer_bytes "$NP" "$HEALTH" 200)
ET_CLICK_BYTES=$(answer_bytes "$ET_TLS" "$CLICK_REQ" 302)
NG_CLICK_BYTES=$(answer_bytes "$NP" "$CLICK_REQ" 302)

for r in $(seq "$ROUNDS"); do
	note "round $r of $ROUNDS"
	note "edgetrackd: TLS 1.3 handshakes"
	record et_h13 "$(handshakes "$ET_PID" "$ET_TLS" -tls1_3)"
	note "nginx: TLS 1.3 handshakes"
	record ng_h13 "$(handshakes "$NG_PID" "$NP" -tls1_3)"
	note "edgetrackd: TLS 1.2 handshakes"
	record et_h12 "$(handshakes "$ET_PID" "$ET_TLS" -tls1_2)"
	note "nginx: TLS 1.2 handshakes"
	record ng_h12 "$(handshakes "$NG_PID" "$NP" -tls1_2)"
	note "edgetrackd (mbedTLS): TLS 1.2 handshakes"
	record mb_h12 "$(handshakes "$MB_PID" "$MB_TLS" -tls1_2)"
	note "edgetrackd: TLS 1.3 resumed (ticket), /healthz"
	record et_r13 "$(handshakes "$ET_PID" "$ET_TLS" -tls1_3 -reuse "$HEALTH" "$ET_HEALTH_BYTES")"
	note "nginx: TLS 1.3 resumed (its own tickets), /healthz"
	record ng_r13 "$(handshakes "$NG_PID" "$NP" -tls1_3 -reuse "$HEALTH" "$NG_HEALTH_BYTES")"
	note "edgetrackd: a click on a new TLS 1.3 connection"
	record et_nc "$(handshakes "$ET_PID" "$ET_TLS" -tls1_3 -new "$CLICK_REQ" "$ET_CLICK_BYTES")"
	note "nginx: a click on a new TLS 1.3 connection"
	record ng_nc "$(handshakes "$NG_PID" "$NP" -tls1_3 -new "$CLICK_REQ" "$NG_CLICK_BYTES")"
	if [ "$r" = 1 ]; then
		for u in "https://127.0.0.1:$ET_TLS/o/$OPEN" "https://127.0.0.1:$NP/o/$OPEN" \
			"https://127.0.0.1:$MB_TLS/o/$OPEN"; do warm_up "$u"; done
	fi
	note "edgetrackd: keep-alive HTTPS (open pixel)"
	record et_ka "$(keepalive "$ET_PID" "https://127.0.0.1:$ET_TLS/o/$OPEN")"
	note "nginx: keep-alive HTTPS (open pixel)"
	record ng_ka "$(keepalive "$NG_PID" "https://127.0.0.1:$NP/o/$OPEN")"
	note "edgetrackd (mbedTLS): keep-alive HTTPS (open pixel)"
	record mb_ka "$(keepalive "$MB_PID" "https://127.0.0.1:$MB_TLS/o/$OPEN")"
done
for p in "$ET_PID" "$MB_PID" "$NG_PID"; do kill -TERM "$p"; wait "$p" 2>/dev/null || true; done

# handshakes and keepalive fields: 1 per second, 2 CPU us per handshake or request
med_line tls13_handshakes et_h13 ng_h13 1
med_line tls12_handshakes et_h12 ng_h12 1
med_line https_keepalive_rps et_ka ng_ka 1
med_line tls13_handshake_cpu_us et_h13 ng_h13 2
med_line tls12_handshake_cpu_us et_h12 ng_h12 2
med_line https_request_cpu_us et_ka ng_ka 2
per_cpu_line tls13_handshakes_per_cpu_s et_h13 ng_h13 2
per_cpu_line tls12_handshakes_per_cpu_s et_h12 ng_h12 2
per_cpu_line https_req_per_cpu_s et_ka ng_ka 2
per_cpu_line tls13_resumed_per_cpu_s et_r13 ng_r13 2
per_cpu_line https_click_new_conn_per_cpu_s et_nc ng_nc 2
crypto_floor
med_line mbedtls_tls12_handshakes mb_h12 ng_h12 1
med_line mbedtls_https_keepalive_rps mb_ka ng_ka 1
med_line mbedtls_tls12_handshake_cpu_us mb_h12 ng_h12 2
med_line mbedtls_https_request_cpu_us mb_ka ng_ka 2

if [ "${BENCH_SCALE:-1}" = 1 ]; then
	"$top/bench/scale.sh" "$build"
fi
