# Sourced by the domain doctor's test and benchmark: Knot serving one zone, "test.", from a
# file the caller writes, and Unbound resolving in front of it, both on loopback ports in a
# private directory. No system service or file is touched.
#   dns_servers_start DIR ZONEFILE KNOT_PORT UNBOUND_PORT   sets KNOT_PID UNBOUND_PID
#   knot_ctl DIR ARGS...                                      knotc on that instance
# Unbound keeps no cache (cache-max-ttl 0), so a change served by Knot is seen at once.

knot_ctl() { # DIR ARGS...
	local dir=$1; shift
	knotc -c "$dir/knot.conf" -s "$dir/knot.sock" "$@"
}

dns_servers_start() { # DIR ZONEFILE KNOT_PORT UNBOUND_PORT
	local dir=$1 zone=$2 kport=$3 uport=$4 ok=""
	mkdir -p "$dir/zones" "$dir/db"
	cp "$zone" "$dir/zones/test.zone"
	cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$kport
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$dir/db"
control:
    listen: "$dir/knot.sock"
zone:
  - domain: test
    storage: "$dir/zones"
    file: test.zone
    zonefile-sync: -1
    journal-content: changes
EOF
	cat >"$dir/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $uport
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    local-zone: "test." nodefault
    domain-insecure: "test."
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-host-ttl: 1
stub-zone:
    name: "test."
    stub-addr: 127.0.0.1@$kport
    stub-first: no
EOF
	knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 &
	KNOT_PID=$!
	unbound -c "$dir/unbound.conf" >"$dir/unbound.log" 2>&1 &
	UNBOUND_PID=$!
	# up when Unbound answers a name only Knot knows (fails fast if either one died)
	for _ in $(seq 200); do
		if kdig +short +timeout=1 +retry=0 -p "$uport" @127.0.0.1 ns.test A 2>/dev/null |
			grep -q .; then ok=1; break; fi
		kill -0 "$KNOT_PID" 2>/dev/null || { cat "$dir/knot.log" >&2; return 1; }
		kill -0 "$UNBOUND_PID" 2>/dev/null || { cat "$dir/unbound.log" >&2; return 1; }
		sleep 0.05
	done
	[ -n "$ok" ] || { echo "knot/unbound did not answer ns.test" >&2; cat "$dir"/*.log >&2; return 1; }
}
