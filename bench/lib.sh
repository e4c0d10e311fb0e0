# Shared by the bench scripts: build directory, pinning, a private temp directory with
# cleanup, free ports, /proc readings and the BENCH line format.
#   . bench/lib.sh BUILD_DIR         sets top, build, SERVER_CPU, CLIENT_CPU, HZ, HOST, KEY
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
HOST=click.example.com
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
DEST='https://www.example.com/landing?utm_source=newsletter&utm_medium=email'
SERVER_CPU=1
CLIENT_CPU=0
# The cipher lists edgetrackd's OpenSSL backend serves; nginx is given the same.
CIPHERS12=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
CIPHERS13=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
HZ=$(getconf CLK_TCK)
PIDS=()

note() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
	done
	[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: servers on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU"
}

bench_cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${T:-}" ] && rm -rf "$T"
}

# bench_tmpdir NAME: sets T; nginx's worker runs unprivileged and must read files in it.
bench_tmpdir() {
	T=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/edgetrack-$1.XXXXXX")
	chmod 755 "$T"
	trap bench_cleanup EXIT
	ulimit -n 8192 2>/dev/null || true
}

# nginx_ssl CERTDIR: the ssl_* directives of an nginx server that terminates TLS as
# edgetrackd does (the same cert and key, protocols, cipher lists and groups); session tickets
# stay at nginx's default (on, with OpenSSL's own keys).
nginx_ssl() {
	cat <<CONF
		ssl_certificate $1/$HOST.crt;
		ssl_certificate_key $1/$HOST.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ciphers $CIPHERS12;
		ssl_conf_command Ciphersuites $CIPHERS13;
		ssl_ecdh_curve X25519:prime256v1:secp384r1;
		ssl_prefer_server_ciphers on;
CONF
}

# nginx_http DIR: the http-level settings both bench peers share: no access log, keep-alive
# without a request cap, temporary files under DIR.
nginx_http() {
	cat <<CONF
	access_log off;
	server_tokens off;
	keepalive_timeout 60s;
	keepalive_requests 1000000;
	client_body_temp_path $1/cb;
	proxy_temp_path $1/px;
	fastcgi_temp_path $1/fc;
	uwsgi_temp_path $1/uw;
	scgi_temp_path $1/sc;
CONF
}

# shellcheck source=scripts/lib/ports.sh
. "$top/scripts/lib/ports.sh"
free_port() { pick_port || die "no free port"; }

# wait_up PID URL: until URL answers 2xx (curl -k, Host: $HOST); 1 if PID exits or 10 s pass
wait_up() {
	for _ in $(seq 200); do
		curl -sfk -o /dev/null -H "Host: $HOST" "$2" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# utime+stime (clock ticks) summed over the given processes; /proc/PID/stat of a process
# counts all of its threads.
cpu_ticks() {
	local sum=0 p
	for p in "$@"; do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$sum"
}

rss_kib() { # VmRSS summed over the given processes
	local sum=0 p
	for p in "$@"; do
		sum=$((sum + $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status")))
	done
	echo "$sum"
}

# client_busy TIMES_LINE SECONDS WHAT: notes how busy the clients kept their CPU, from the
# children line of `times`. Near 100% the client is the ceiling: then the servers' CPU per
# request (and its inverse, per_cpu_s) is the figure that compares them.
client_busy() {
	local t
	t=$(awk -v hz="$HZ" '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' <<<"$1")
	note "  $3 kept CPU $CLIENT_CPU $((t * 100 / ($2 * HZ)))% busy"
}

# run_wrk CONNS URL SECONDS PID...: prints "rps p99_ms requests cpu_us_per_req", and on
# stderr how busy wrk kept its own CPU (near 100%: the client is the ceiling, and the CPU
# figures are the ones that compare the servers). With WRK_PATHS (a file of paths, one per
# line) the requests take those paths in turn instead of URL's (bench/paths.lua).
run_wrk() {
	local conns=$1 url=$2 secs=$3 out t0 t1
	shift 3
	t0=$(cpu_ticks "$@")
	out=$( (taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency \
		${WRK_PATHS:+-s "$top/bench/paths.lua"} -H "Host: $HOST" "$url" \
		${WRK_PATHS:+-- "$WRK_PATHS"} && times) )
	t1=$(cpu_ticks "$@")
	if grep -q 'Non-2xx or 3xx' <<<"$out"; then
		echo "$out" >&2
		die "$url: some answers were not 2xx/3xx"
	fi
	grep -q 'Socket errors' <<<"$out" && note "$url: $(grep 'Socket errors' <<<"$out")"
	client_busy "$(tail -n1 <<<"$out")" "$secs" "wrk -c$conns"
	awk -v ticks=$((t1 - t0)) -v hz="$HZ" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		$1 == "99%" { p99 = ms($2) }
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		END {
			if (!n) exit 1
			printf "%.0f %.2f %d %.2f\n", rps, p99, n, ticks * 1e6 / hz / n
		}' <<<"$out" || die "$url: could not read wrk output"
}

# click_token / open_token: the tokens every bench requests, for HOST under KEY (id 1).
click_token() {
	"$build/edgetrackctl" token encode --host "$HOST" --key-id 1 --key "$KEY" --kind click \
		--message 4242 --recipient 77 --link 3 --url "$DEST"
}
open_token() {
	"$build/edgetrackctl" token encode --host "$HOST" --key-id 1 --key "$KEY" --kind open \
		--message 4242 --recipient 77
}
# click_paths N: N click paths ("/c/<token>"), each of another message, recipient and link,
# for WRK_PATHS: the events of a run then differ as a point of presence's do.
click_paths() {
	local i
	for i in $(seq "$1"); do
		printf '/c/%s\n' "$("$build/edgetrackctl" token encode --host "$HOST" --key-id 1 \
			--key "$KEY" --kind click --message $((90000 + i * 13)) \
			--recipient $((5000000 + i * 7919)) --link $((i % 12)) --url "$DEST")"
	done
}

# request_line PATH: what s_time -www sends, made a complete HTTP/1.1 request with a Host
# header and Connection: close (s_time appends " HTTP/1.0" and a blank line to its -www
# argument, which the last header swallows).
request_line() {
	printf '%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nX-Request:' "$1" "$HOST"
}

per_cpu_s() { # US_PER_OP: operations per CPU-second
	awk -v us="$1" 'BEGIN { printf "%.0f", (us > 0 ? 1e6 / us : 0) }'
}

# Every measurement of every round is a line "NAME VALUE..." in $T/results; med NAME FIELD
# prints the median of field FIELD (1 = first value) over the rounds. On a shared machine
# single runs move by tens of percent; the median of alternating rounds moves much less.
record() { # NAME VALUES...: also noted on stderr, so a round that stands out can be seen
	# a measurement that failed in its command substitution left no values
	[ -n "${2:-}" ] || die "$1: no measurement"
	echo "$*" >>"$T/results"
	note "  $*"
}
med() {
	awk -v n="$1" -v f="$2" '$1 == n { v[++c] = $(f + 1) + 0 }
		END {
			if (!c) exit 1
			for (i = 2; i <= c; i++) {
				x = v[i]
				for (j = i - 1; j > 0 && v[j] > x; j--) v[j + 1] = v[j]
				v[j + 1] = x
			}
			print (c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2)
		}' "$T/results"
}

med_line() { # NAME A B FIELD: the BENCH line of the medians of A's and B's FIELD
	bench_line "$1" "$(med "$2" "$4")" "$(med "$3" "$4")"
}

per_cpu_line() { # NAME A B FIELD: the same for operations per CPU-second, FIELD in us/op
	bench_line "$1" "$(per_cpu_s "$(med "$2" "$4")")" "$(per_cpu_s "$(med "$3" "$4")")"
}

bench_line() { # NAME OURS PEER
	awk -v n="$1" -v a="$2" -v b="$3" \
		'BEGIN { printf "BENCH %s %s %s %.2f\n", n, a, b, (b > 0 ? a / b : 0) }'
}
