#!/bin/bash
# The worker loop's cost per operation, two edgetrackd builds side by side: for a before/after
# comparison of a change to the event loop, where what moves is the kernel's part (wake-ups,
# io_uring_enter calls), which callgrind does not see.
#
#   bench/loop.sh BUILD_A BUILD_B [WORKLOAD] [ROUNDS]
#
# WORKLOAD: tls12 or tls13 (full handshakes, four parallel `openssl s_time -new` clients),
# click (the same, TLS 1.3, with a click and its 302 on each connection, which then closes) or
# open (keep-alive, wrk -c$BENCH_CONNS, default 64). Each build runs one worker, journal
# sync=none, pinned to CPU 1, the clients to CPU 0; the builds alternate for ROUNDS rounds
# (default 3) of BENCH_SECONDS (default 10). Per run it prints the operations, the server's CPU per operation (utime +
# stime of all its threads, /proc), its context switches per operation (voluntary and not,
# summed over its threads) and io_uring_enter calls per operation (perf stat on the syscall's
# tracepoint), and for `open` wrk's p99:
#   LOOP <build> <workload> ops=N cpu_us/op=X cs/op=Y enter/op=Z p99=P
set -eu
. "$(dirname "$0")/lib.sh" "${1:?usage: bench/loop.sh BUILD_A BUILD_B [WORKLOAD] [ROUNDS]}"
A=$build
. "$top/bench/lib.sh" "${2:?usage: bench/loop.sh BUILD_A BUILD_B [WORKLOAD] [ROUNDS]}"
B=$build
WL=${3:-tls12}
ROUNDS=${4:-3}
SECS=${BENCH_SECONDS:-10}
case $WL in tls12|tls13|click) need_tools openssl perf taskset ;; open) need_tools wrk perf taskset ;;
*) die "workload: tls12, tls13, click or open" ;; esac
for b in "$A" "$B"; do [ -x "$b/edgetrackd" ] || die "$b/edgetrackd not built"; done

bench_tmpdir loop
ET_BUILD=$A . "$top/tests/tls/lib.sh"
tls_ca "$T/ca" && tls_leaf "$T/ca" "$T/certs" "$HOST" || die "cannot create the cert"

ctx_switches() { # PID: over all its threads
	cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { n += $2 } END { print n }'
}

run() { # BUILD
	local b=$1 port tlsport pid perfpid c0 t0 c1 t1 ops p99=- enters i pids=()
	port=$(free_port) tlsport=$(free_port)
	rm -rf "$T/data"
	cat >"$T/et.json" <<JSON
{ "workers": 1,
  "listen": ["127.0.0.1:$port", {"address": "127.0.0.1:$tlsport", "tls": true}],
  "data_dir": "$T/data", "control_socket": "$T/control.sock",
  "keys": [{"id": 1, "secret": "$KEY", "current": true}],
  "tls": {"cert_dir": "$T/certs", "default_cert": "$HOST"},
  "domains": [{"name": "$HOST"}], "journal": {"sync": "none"} }
JSON
	taskset -c "$SERVER_CPU" "$b/edgetrackd" --config "$T/et.json" >"$T/log" 2>&1 &
	pid=$!
	wait_up "$pid" "http://127.0.0.1:$port/healthz" || { cat "$T/log" >&2; die "$b/edgetrackd did not start"; }
	c0=$(ctx_switches "$pid") t0=$(cpu_ticks "$pid")
	perf stat -e syscalls:sys_enter_io_uring_enter -p "$pid" -o "$T/perf" &
	perfpid=$!
	sleep 0.3
	case $WL in
	tls1[23]|click)
		local v=("-${WL/tls1/tls1_}")
		[ "$WL" != click ] || v=(-tls1_3 -www "$(request_line "/c/$(build=$b click_token)")")
		for i in 1 2 3 4; do
			taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$tlsport" -new \
				"${v[@]}" -time "$SECS" >"$T/st.$i" 2>&1 &
			pids+=($!)
		done
		wait "${pids[@]}"
		ops=$(cat "$T"/st.* | awk '/connections in [0-9.]+s/ { n += $1 } END { print n + 0 }') ;;
	open)
		local open
		open=$(build=$b open_token)
		taskset -c "$CLIENT_CPU" wrk -t1 -c"${BENCH_CONNS:-64}" -d"${SECS}s" --latency -H "Host: $HOST" \
			"http://127.0.0.1:$port/o/$open" >"$T/wrk" 2>&1
		ops=$(awk '/requests in/ { print $1 }' "$T/wrk")
		p99=$(awk '$1 == "99%" { print $2 }' "$T/wrk") ;;
	esac
	kill -INT "$perfpid"; wait "$perfpid" 2>/dev/null || true
	c1=$(ctx_switches "$pid") t1=$(cpu_ticks "$pid")
	enters=$(awk '/io_uring_enter/ { gsub(",", "", $1); print $1 }' "$T/perf")
	stop_pid "$pid"
	[ "${ops:-0}" -gt 0 ] || die "no $WL operations completed against $b"
	awk -v b="$b" -v wl="$WL" -v n="$ops" -v t=$((t1 - t0)) -v hz="$HZ" -v c=$((c1 - c0)) \
		-v e="${enters:-0}" -v p="$p99" 'BEGIN {
		printf "LOOP %s %s ops=%d cpu_us/op=%.1f cs/op=%.2f enter/op=%.2f p99=%s\n",
			b, wl, n, t * 1e6 / hz / n, c / n, e / n, p }'
}

for _ in $(seq "$ROUNDS"); do
	run "$A"
	run "$B"
done
