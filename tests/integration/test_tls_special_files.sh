#!/bin/bash
# A FIFO, a unix socket or a device node where edgetrackd expects a certificate, a key or its
# config never hangs it: each is refused with the reason in the log, at start-up and on
# SIGHUP, while the good domains serve, `edgetrackctl status` answers and SIGTERM stops it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tls/lib.sh"

tls_test_setup || exit 1
C=click.example.com
tls_leaf "$T/ca" "$T/certs" $C || exit 1
tls_leaf "$T/ca" "$T/certs" dev.example.com || exit 1
mkdir -p "$T/special"

# special KIND NAME: makes a FIFO, socket or device in $T/special and links NAME in the
# cert dir to it (the report's case: a symlink in the cert dir to a FIFO elsewhere)
special() {
	local kind=$1 name=$2 target=$T/special/$2
	case $kind in
	fifo) mkfifo "$target" ;;
	socket) python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$target" ;;
	zero) target=/dev/zero ;;
	chardev) mknod "$target" c 1 5 ;; # /dev/zero's numbers
	esac || return 1
	ln -sf "$target" "$T/certs/$name"
}
special fifo fifo.example.com.crt || exit 1
special socket sock.example.com.crt || exit 1
special zero zero.example.com.crt || exit 1
# a good cert with a device node for its key
rm -f "$T/certs/dev.example.com.key"
if special chardev dev.example.com.key; then DEVNODE=yes; else DEVNODE=no; fi
echo "# mknod available: $DEVNODE"

DOMAINS='{"name": "click.example.com"}, {"name": "fifo.example.com"}, {"name": "sock.example.com"},
	{"name": "zero.example.com"}, {"name": "dev.example.com"}'
tls_write_config "$T/et.json" "$PORT" "$TLSPORT" "" "$DOMAINS"
SOCK=$T/data/control.sock
status() { timeout 10 "$ETCTL" --socket "$SOCK" status 2>&1; }
rejected() { # domain: its last cert_rejected line
	grep "cert_rejected domain=$1 " "$T/etd.log" | tail -n 1
}

# ---- start-up
check "start-up: edgetrackd comes up with special files in the cert dir" start_etd "$T/et.json" "$PORT"
check "start-up: FIFO refused with the reason" contains "$(rejected fifo.example.com)" "fifo.example.com.crt is not a regular file (a FIFO)"
check "start-up: socket refused with the reason" contains "$(rejected sock.example.com)" "sock.example.com.crt is not a regular file (a socket)"
check "start-up: symlink to /dev/zero refused with the reason" contains "$(rejected zero.example.com)" "zero.example.com.crt is not a regular file (a character device)"
if [ $DEVNODE = yes ]; then
	check "start-up: device node as a key refused with the reason" contains "$(rejected dev.example.com)" "dev.example.com.key is not a regular file (a character device)"
fi
check "start-up: status answers" contains "$(status)" '"workers":2'
check "start-up: the good domain serves" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "$C:$TLSPORT:127.0.0.1" "https://$C:$TLSPORT/healthz")" 200

# ---- SIGHUP: new special files appear; the reload refuses them and the control loop lives
wait_log() { # PATTERN CMD...: runs CMD, then waits for one more log line matching PATTERN
	local pattern=$1 want
	want=$(($(grep -c -- "$pattern" "$T/etd.log") + 1))
	shift
	"$@"
	for _ in $(seq 200); do
		[ "$(grep -c -- "$pattern" "$T/etd.log")" -ge "$want" ] && return 0
		sleep 0.02
	done
	echo "    no new log line matching $pattern" >&2
	return 1
}
special fifo fifo2.example.com.crt || exit 1
special socket sock2.example.com.crt || exit 1
special zero zero2.example.com.crt || exit 1
check "SIGHUP: the reload finishes" wait_log certs_loaded kill -HUP "$ET_PID"
check "SIGHUP: FIFO refused with the reason" contains "$(rejected fifo2.example.com)" "is not a regular file (a FIFO)"
check "SIGHUP: socket refused with the reason" contains "$(rejected sock2.example.com)" "is not a regular file (a socket)"
check "SIGHUP: device refused with the reason" contains "$(rejected zero2.example.com)" "is not a regular file (a character device)"
check "SIGHUP: status answers" contains "$(status)" '"workers":2'
check "cert reload of the FIFO's domain answers the reason" contains "$(timeout 10 "$ETCTL" --socket "$SOCK" cert reload fifo.example.com 2>&1)" "is not a regular file (a FIFO)"
check "SIGHUP: the good domain still serves" eq "$(status_of --cacert "$T/ca/ca.crt" --resolve "$C:$TLSPORT:127.0.0.1" "https://$C:$TLSPORT/healthz")" 200

# ---- the config itself replaced by a FIFO: the reload is refused, the old config serves
mv "$T/et.json" "$T/et.json.orig"
mkfifo "$T/et.json"
check "SIGHUP with a FIFO as the config: refused" wait_log reload_refused kill -HUP "$ET_PID"
check "... with the reason" contains "$(grep reload_refused "$T/etd.log" | tail -n 1)" "$T/et.json is not a regular file (a FIFO)"
check "... and status answers" contains "$(status)" '"workers":2'
out=$(timeout 10 "$ETD" --config "$T/et.json" 2>&1)
check "start-up with a FIFO as the config: exits 1" eq "$?" 1
check "... with the reason" contains "$out" "$T/et.json is not a regular file (a FIFO)"
rm -f "$T/et.json"
mv "$T/et.json.orig" "$T/et.json"

check "SIGTERM stops edgetrackd" stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR|runtime error' '$T/etd.log'"
finish
