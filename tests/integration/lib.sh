# Shared helpers for integration tests: a private directory, a free port, an edgetrackd
# started on a config the test writes, and cleanup that runs however the test ends.
# Tests source this file and call `pass`/`fail`/`check`; the test exits non-zero on failure.

set -u
ET_BUILD=${ET_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
ETD=$ET_BUILD/edgetrackd
ETCTL=$ET_BUILD/edgetrackctl
CLOSE_CHECK=$(dirname "${BASH_SOURCE[0]}")/close_check.py
T=$(mktemp -d /tmp/edgetrack-test.XXXXXX)
ET_PIDS=()
ET_NETNS=() # network namespaces the test made; deleted by cleanup
FAILS=0
CHECKS=0
# A fixed test key (hex, 32 bytes) and a second one for rotation tests.
KEY1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
KEY2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
THUMB=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs

cleanup() {
	for p in "${ET_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in "${ET_NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

check() { # description, then a command that must succeed
	local what=$1; shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then
		echo "ok   - $what"
	else
		echo "FAIL - $what"
		FAILS=$((FAILS + 1))
	fi
}

eq() { # actual expected
	[ "$1" = "$2" ] && return 0
	echo "    expected: $2" >&2
	echo "    actual:   $1" >&2
	return 1
}

contains() { # haystack needle
	case "$1" in *"$2"*) return 0 ;; esac
	echo "    missing \"$2\" in: ${1:0:400}" >&2
	return 1
}

# wait_until SECONDS WHAT CMD...: until CMD succeeds; after SECONDS it fails, saying WHAT it
# waited for (no test waits on the machine's speed without a limit and a reason)
wait_until() {
	local limit=$1 what=$2 t0=$SECONDS
	shift 2
	while [ $((SECONDS - t0)) -lt "$limit" ]; do
		"$@" && return 0
		sleep 0.1
	done
	echo "    timed out after ${limit}s waiting for: $what" >&2
	return 1
}

finish() {
	echo "$((CHECKS - FAILS)) passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# A port nothing listens on and this test has not handed out yet (callers run in $(...)
# subshells, so the ports already given are remembered in a file).
# shellcheck source=scripts/lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/ports.sh"
free_port() { pick_port "$T/.ports"; }

# write_config FILE PORT [extra JSON members, already comma-led]
write_config() {
	local file=$1 port=$2 extra=${3:-}
	cat >"$file" <<JSON
{
  "workers": 2,
  "listen": ["127.0.0.1:$port"],
  "data_dir": "$T/data",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "acme": {"thumbprints": ["$THUMB"]},
  "domains": [
    {"name": "click.example.com"},
    {"name": "*.track.example.net"},
    {"name": "secure.example.org", "https_redirect": true,
     "hsts": {"max_age": 31536000, "include_subdomains": true}}
  ]$extra
}
JSON
}

# spawn_etd CONFIG: starts edgetrackd in the background ($ET_PID), logging to $T/etd.log
spawn_etd() {
	"$ETD" --config "$1" >>"$T/etd.out" 2>>"$T/etd.log" &
	ET_PID=$!
	ET_PIDS+=("$ET_PID")
}

# start_etd CONFIG PORT: starts edgetrackd, waits until it answers
start_etd() {
	spawn_etd "$1"
	wait_up "$2"
}

# wait_up PORT: waits until the edgetrackd $ET_PID answers on PORT; fails at once if it exits
wait_up() {
	local port=$1
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		kill -0 "$ET_PID" 2>/dev/null || { cat "$T/etd.log" >&2; return 1; }
		sleep 0.05
	done
	echo "edgetrackd did not come up" >&2
	return 1
}

stop_etd() { # pid
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.05; done
	return 1
}

# mint KIND HOST [URL] [extra args]: a token signed with KEY1
mint() {
	local kind=$1 host=$2 url=${3:-}; shift 3 2>/dev/null || shift $#
	if [ -n "$url" ]; then
		"$ETCTL" token encode --host "$host" --key-id 1 --key "$KEY1" --kind "$kind" \
			--message 7 --recipient 9 --link 2 --url "$url" "$@"
	else
		"$ETCTL" token encode --host "$host" --key-id 1 --key "$KEY1" --kind "$kind" \
			--message 7 --recipient 9 --link 2 "$@"
	fi
}

# raw PORT DATA [SECONDS]: sends bytes, prints everything the server answers until it closes
raw() {
	local port=$1 data=$2 secs=${3:-3}
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf '%b' "$data" >&$fd
	timeout "$secs" cat <&$fd | tr -d '\0'
	exec {fd}>&-
}

status_of() { # curl args...: prints the status code
	curl -s -o /dev/null -w '%{http_code}' "$@"
}

events() { "$ETCTL" events tail -n 1000000 --dir "$T/data/journal" 2>/dev/null; }
event_count() { events | wc -l; }

wait_events() { # N: waits until the event log holds N lines
	for _ in $(seq 100); do
		[ "$(event_count)" -ge "$1" ] && return 0
		sleep 0.02
	done
	eq "$(event_count)" "$1"
}
