#!/bin/bash
# Where the CPU goes on one fixed workload, with symbols: for before/after comparisons that
# hold on a loaded machine (instruction counts do not depend on the machine's speed).
#
#   bench/profile.sh BUILD_DIR WORKLOAD [N]
#
# WORKLOAD: click, open (N keep-alive requests over 16 connections), tls13, tls12 (N full
# handshakes, one s_client each), https_click (N clicks, each on a new TLS connection).
# edgetrackd runs with one worker and journal sync=none. PROFILE_TOOL picks the tool:
#   callgrind (default)  edgetrackd under valgrind; counters are zeroed after a warm-up and
#                        dumped after the workload. Prints "PROFILE <workload> <Ir per op>",
#                        then the Ir split by object (ours, libcrypto, libssl, libc, ...) and
#                        the top functions.
#   perf                 perf record --call-graph dwarf on the running edgetrackd (kernel
#                        included), then perf report --no-children --sort dso,sym.
# Build with EXTRA_CFLAGS=-fno-omit-frame-pointer for readable stacks. BUILD_DIR may be an
# mbedTLS build (tls12 and https_click only).
# PROFILE_SERVER=nginx profiles Debian's nginx instead (one process: master_process off),
# configured as bench/tls.sh and bench/http.sh configure it (the same cert, cipher lists and
# groups, session tickets on, no access log), so both servers' Ir per op can be compared;
# BUILD_DIR then only makes the tokens.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" "${1:?usage: bench/profile.sh BUILD_DIR WORKLOAD [N]}"
WL=${2:?workload: click, open, tls13, tls12 or https_click}
TOOL=${PROFILE_TOOL:-callgrind}
SERVER=${PROFILE_SERVER:-edgetrackd}
case $TOOL in
callgrind) need_tools h2load openssl curl valgrind callgrind_annotate ;;
perf) need_tools h2load openssl curl perf ;;
*) die "PROFILE_TOOL: callgrind or perf" ;;
esac
case $SERVER in
edgetrackd) ;;
nginx) need_tools nginx ;;
*) die "PROFILE_SERVER: edgetrackd or nginx" ;;
esac

bench_tmpdir profile
ET_BUILD=$build . "$top/tests/tls/lib.sh"
tls_ca "$T/ca" && tls_leaf "$T/ca" "$T/certs" "$HOST" || die "cannot create the cert"

PORT=$(free_port); TLSPORT=$(free_port)
cat >"$T/et.json" <<JSON
{
  "workers": 1,
  "listen": ["127.0.0.1:$PORT", {"address": "127.0.0.1:$TLSPORT", "tls": true}],
  "data_dir": "$T/data",
  "control_socket": "$T/control.sock",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "tls": {"cert_dir": "$T/certs", "default_cert": "$HOST"},
  "domains": [{"name": "$HOST"}],
  "journal": {"sync": "none"}
}
JSON
CLICK=$(click_token)
OPEN=$(open_token)

# nginx with the routes of bench/nginx.conf.in on PORT and the TLS of bench/tls.sh on TLSPORT,
# in one process so that the tool sees the process that does the work.
nginx_conf() {
	mkdir -p "$T/nginx/root"
	# the 43-byte transparent GIF edgetrackd serves
	printf 'GIF89a\1\0\1\0\200\0\0\0\0\0\377\377\377!\371\4\1\0\0\0\0,\0\0\0\0\1\0\1\0\0\2\2D\1\0;' \
		>"$T/nginx/root/pixel.gif"
	cat <<CONF
daemon off;
master_process off;
worker_rlimit_nofile 8192;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
$(nginx_http "$T/nginx")
	server {
		listen 127.0.0.1:$PORT;
		listen 127.0.0.1:$TLSPORT ssl;
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
			root $T/nginx/root;
			rewrite ^ /pixel.gif break;
		}
	}
}
CONF
}

case $SERVER in
edgetrackd) cmd=("$build/edgetrackd" --config "$T/et.json") ;;
nginx)
	nginx_conf >"$T/nginx.conf"
	cmd=(nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx.conf") ;;
esac
case $TOOL in
callgrind)
	N=${3:-2000}
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "${cmd[@]}" \
		>"$T/out" 2>"$T/log" & ;;
perf)
	N=${3:-200000}
	"${cmd[@]}" >"$T/out" 2>"$T/log" & ;;
esac
PID=$!
# valgrind does not deliver a blocked SIGTERM to edgetrackd's signalfd: stop it hard
trap 'kill -KILL "$PID" 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 600); do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
	kill -0 "$PID" 2>/dev/null || { cat "$T/log" >&2; die "$SERVER did not start"; }
	sleep 0.1
done

h1() { # N CONNS URL
	h2load --h1 -n "$1" -c "$2" -t 1 -H ":authority: $HOST" "$3" >"$T/h2load" 2>&1 ||
		{ cat "$T/h2load" >&2; die "h2load failed"; }
	grep -q "$1 succeeded" "$T/h2load" || { cat "$T/h2load" >&2; die "h2load: not all succeeded"; }
}
handshakes() { # N VERSIONFLAG
	for _ in $(seq "$1"); do
		openssl s_client -connect "127.0.0.1:$TLSPORT" -servername "$HOST" "$2" \
			</dev/null >/dev/null 2>&1 || die "handshake failed"
	done
}
workload() { # N
	case $WL in
	click) h1 "$1" 16 "http://127.0.0.1:$PORT/c/$CLICK" ;;
	open) h1 "$1" 16 "http://127.0.0.1:$PORT/o/$OPEN" ;;
	tls13) handshakes "$1" -tls1_3 ;;
	tls12) handshakes "$1" -tls1_2 ;;
	https_click) h1 "$1" "$1" "https://127.0.0.1:$TLSPORT/c/$CLICK" ;;
	*) die "unknown workload $WL" ;;
	esac
}

workload 20 # warm-up: first-use costs (lazy fetches, pools) are not per-request costs
case $TOOL in
callgrind)
	callgrind_control -z "$PID" >/dev/null
	workload "$N"
	callgrind_control -d "$WL" "$PID" >/dev/null
	sleep 1
	out=$(ls "$T"/cg.out.* | head -n1)
	ir=$(callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	echo "PROFILE $WL $((ir / N)) Ir/op ($N ops)"
	# self cost by object (entry points such as clone, start_thread or nginx's main carry the
	# whole program inclusively: 100.0%)
	callgrind_annotate --threshold=100 "$out" 2>/dev/null | awk '
		/^ *[0-9,]+ \([ 0-9.]+%\)  .*\[.*\]$/ && !/clone|start_thread|\(100\.0%\)/ {
			v = $1; gsub(",", "", v); o = $0; sub(/.*\[/, "", o); sub(/\]$/, "", o)
			n = split(o, p, "/"); by[p[n]] += v; tot += v }
		END { for (o in by) printf "  %5.1f%%  %s\n", by[o] * 100 / tot, o }' | sort -rn
	echo "inclusive, named functions:"
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		sed -n '/file:function/,$p' | grep -v '???:0x\|clone\|start_thread' | sed -n 3,30p |
		cut -c1-150
	[ -z "${PROFILE_KEEP:-}" ] || cp "$out" "$PROFILE_KEEP"
	;;
perf)
	perf record -q -F 2000 --call-graph dwarf -p "$PID" -o "$T/perf.data" 2>/dev/null &
	rec=$!
	sleep 1
	workload "$N"
	kill -INT "$rec"; wait "$rec" 2>/dev/null || true
	echo "PROFILE $WL perf ($N ops)"
	perf report -i "$T/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 12
	perf report -i "$T/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 40
	# who sleeps and wakes: on a virtual machine a context switch costs more than a request
	perf report -i "$T/perf.data" --no-children --sort sym --stdio -G -S finish_task_switch.isra.0 \
		2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60
	[ -z "${PROFILE_KEEP:-}" ] || cp "$T/perf.data" "$PROFILE_KEEP"
	;;
esac
