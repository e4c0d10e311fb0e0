# Sourced by the fleet's tests and benchmark: a NATS JetStream cluster of real nats-server
# processes on free loopback ports, each node with its own store under a directory the
# caller owns (and removes).
#   nats_cluster DIR N [REGISTRY]   writes DIR/n<i>.conf, starts N nodes, waits for a
#                                   JetStream meta leader; sets NATS_URLS (comma list),
#                                   NATS_PORT[i], NATS_MON[i], NATS_PID[i]
#   nats_start DIR I                (re)starts node I on its config
#   nats_kill I [SIGNAL]            signal node I (default KILL) and reap it
#   nats_wait_js DIR I... [SECONDS] until each node names a JetStream meta leader; prints
#                                   the reason and returns 1 when the time runs out
# shellcheck source=scripts/lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

NATS_PORT=() NATS_MON=() NATS_PID=() NATS_CLUSTER=()
NATS_URLS=

nats_conf() { # DIR I N
	local d=$1 i=$2 n=$3 routes="" j
	for j in $(seq "$n"); do
		[ "$j" -eq "$i" ] && continue
		routes="$routes
    nats-route://127.0.0.1:${NATS_CLUSTER[$j]}"
	done
	cat >"$d/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:${NATS_PORT[$i]}
http: 127.0.0.1:${NATS_MON[$i]}
jetstream { store_dir: "$d/n$i" }
CONF
	# a single node runs JetStream on its own, without a cluster block
	[ "$n" -gt 1 ] && cat >>"$d/n$i.conf" <<CONF
cluster {
  name: edgetrack
  listen: 127.0.0.1:${NATS_CLUSTER[$i]}
  routes: [$(printf "%b" "$routes")
  ]
}
CONF
	return 0
}

nats_start() { # DIR I
	nats-server -c "$1/n$2.conf" >>"$1/n$2.log" 2>&1 &
	NATS_PID[$2]=$!
}

nats_kill() { # I [SIGNAL]
	kill -"${2:-KILL}" "${NATS_PID[$1]}" 2>/dev/null
	wait "${NATS_PID[$1]}" 2>/dev/null
	NATS_PID[$1]=
}

nats_has_leader() { # I: a cluster's meta leader, or a lone node's JetStream up
	local j
	j=$(curl -sf "http://127.0.0.1:${NATS_MON[$1]}/jsz" 2>/dev/null) || return 1
	grep -q '"leader": *"n[0-9]*"' <<<"$j" && return 0
	[ "${#NATS_PORT[@]}" -eq 1 ] && grep -q '"config"' <<<"$j"
}

nats_wait_js() { # DIR I... [SECONDS]: the last argument is the time limit when numeric
	local d=$1 limit=30 nodes=() i t0=$SECONDS
	shift
	for i in "$@"; do nodes+=("$i"); done
	[ "${#nodes[@]}" -gt 1 ] && limit=${nodes[-1]} && unset 'nodes[-1]'
	while [ $((SECONDS - t0)) -lt "$limit" ]; do
		local ok=1
		for i in "${nodes[@]}"; do
			nats_has_leader "$i" || { ok=0; break; }
		done
		[ "$ok" -eq 1 ] && return 0
		for i in "${nodes[@]}"; do
			[ -n "${NATS_PID[$i]}" ] && ! kill -0 "${NATS_PID[$i]}" 2>/dev/null && {
				echo "nats node n$i exited: $(tail -3 "$d/n$i.log")" >&2; return 1; }
		done
		sleep 0.1
	done
	echo "no JetStream meta leader on nodes ${nodes[*]} within ${limit}s" >&2
	return 1
}

nats_cluster() { # DIR N [REGISTRY]
	local d=$1 n=$2 reg=${3:-} i urls=""
	command -v nats-server >/dev/null || { echo "nats-server not found (scripts/install-deps.sh)" >&2; return 1; }
	for i in $(seq "$n"); do
		NATS_PORT[$i]=$(pick_port "$reg") && NATS_MON[$i]=$(pick_port "$reg") &&
			NATS_CLUSTER[$i]=$(pick_port "$reg") || return 1
		urls="$urls,nats://127.0.0.1:${NATS_PORT[$i]}"
	done
	NATS_URLS=${urls#,}
	for i in $(seq "$n"); do
		nats_conf "$d" "$i" "$n"
		nats_start "$d" "$i"
	done
	# shellcheck disable=SC2046
	nats_wait_js "$d" $(seq "$n") 30
}

nats_json_urls() { # the URLs as a JSON list
	echo "[\"${NATS_URLS//,/\", \"}\"]"
}
