#!/bin/bash
# The XDP filter in front of edgetrackd on a veth pair between two network namespaces:
# tracking requests pass, a blocked CIDR gets nothing, a SYN flood from one source is cut to
# its configured rate while another source keeps being served, and the counters add up to
# the packets sent. Namespaces, links and the bpffs mount go away however the test ends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../xdp/netns.sh"

SYNFLOOD=$ET_BUILD/tests/xdp/synflood
XDPCTL=("$ETCTL" xdp)
skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, XDP)"
[ -x "$SYNFLOOD" ] && [ -x "${XDPCTL[0]}" ] || skip "built without CONFIG_XDP"
command -v ip >/dev/null || skip "needs iproute2"

S=ets$$ C=etc$$           # server and client namespaces
VS=etvs$$ VC=etvc$$       # server and client ends of the veth pair
SRV=192.0.2.1
GOOD=198.51.100.10 BAD=198.51.100.200 FLOOD=198.51.100.66 # FLOOD is spoofed: no host owns it
PIN=$T/bpf/edgetrack
RATE=50 BURST=20

xdp_cleanup() {
	[ -d "$PIN" ] && ip netns exec "$S" "${XDPCTL[@]}" --pin-dir "$PIN" detach >/dev/null 2>&1
	xdp_net_down
}
trap 'xdp_cleanup; cleanup' EXIT
trap 'exit 130' INT TERM HUP PIPE

in_s() { ip netns exec "$S" "$@"; }
in_c() { ip netns exec "$C" "$@"; }
xdpctl() { in_s "${XDPCTL[@]}" --pin-dir "$PIN" "$@"; }
counter() { xdpctl stats | awk -v r="$1" '$1 == r { print $2 }'; }
total() { xdpctl stats | awk '$1 == "total_pass" || $1 == "total_drop" { n += $2 } END { print n }'; }

# ------------------------------------------------------------------ network
xdp_net_up $GOOD $BAD || exit 1
mkdir -p "$T/data"

# ------------------------------------------------------------------ edgetrackd behind XDP
cat >"$T/et.json" <<JSON
{
  "workers": 1,
  "listen": ["$SRV:80"],
  "data_dir": "$T/data",
  "keys": [{"id": 1, "secret": "$KEY1", "current": true}],
  "domains": [{"name": "click.example.com"}],
  "xdp": {
    "interfaces": ["$VS"],
    "mode": "native",
    "pin_dir": "$PIN",
    "service": {"addresses": ["$SRV"], "ports": [80]},
    "blocklist": ["198.51.100.192/26"],
    "syn": {"per_source": $RATE, "burst": $BURST, "global": 100000}
  }
}
JSON
# Not through in_s: a shell function run with & is a subshell, and $! would be its pid, not
# edgetrackd's (ip netns exec execs the command, so here $! is edgetrackd).
ip netns exec "$S" "$ETD" --config "$T/et.json" >>"$T/etd.out" 2>>"$T/etd.log" &
ET_PIDS+=($!)
H=click.example.com
get() { # source path [curl args]: prints the status code (000 when nothing came back)
	local src=$1 path=$2; shift 2
	in_c curl -s -o /dev/null -w '%{http_code}' --interface "$src" --max-time "${WAIT:-3}" \
		--resolve "$H:80:$SRV" "$@" "http://$H$path"
}
for _ in $(seq 100); do
	[ "$(WAIT=1 get $GOOD /healthz)" = 200 ] && break
	sleep 0.05
done
check "edgetrackd serves before XDP" eq "$(get $GOOD /healthz)" 200

# edgetrackd attaches by itself when it runs the XDP runtime; otherwise attach with the CLI.
[ -e "$PIN/link_$VS" ] || check "xdp attach" xdpctl attach --config "$T/et.json"
check "attached in native mode" contains "$(ip -n "$S" -d link show "$VS")" "prog/xdp id"
check "not in generic mode" eq "$(ip -n "$S" link show "$VS" | grep -c xdpgeneric)" 0

# ------------------------------------------------------------------ tracking through XDP
CLICK=$(mint click $H "https://shop.example.com/p?id=1")
check "health check through XDP" eq "$(get $GOOD /healthz)" 200
check "click through XDP" eq "$(get $GOOD "/c/$CLICK")" 302
check "click answer reaches the client" contains "$(in_c curl -si --interface $GOOD \
	--resolve "$H:80:$SRV" "http://$H/c/$CLICK")" "Location: https://shop.example.com/p?id=1"
check "service traffic counted" test "$(counter pass_service)" -gt 0

# ------------------------------------------------------------------ blocklist
before=$(counter drop_blocklist)
check "blocked CIDR gets nothing" eq "$(WAIT=2 get $BAD /healthz)" 000
check "blocked SYNs counted" test "$(counter drop_blocklist)" -gt "$before"
check "dynamic block" xdpctl block $GOOD/32
check "blocked source gets nothing" eq "$(WAIT=2 get $GOOD /healthz)" 000
check "rules list the dynamic block" contains "$(xdpctl rules)" "block $GOOD/32 dynamic"
check "unblock" xdpctl unblock $GOOD/32
check "unblocked source served again" eq "$(get $GOOD /healthz)" 200

# ------------------------------------------------------------------ SYN flood, counted
# Nothing but ARP crosses the link during the flood (the flood source is spoofed, so no
# SYN-ACK is answered), so every other packet the filter sees is one of ours. A new source
# starts with a full bucket: BURST tokens.
N=3000
pass0=$(counter pass_service) drop0=$(counter drop_syn_source_rate) all0=$(total)
arp0=$(counter pass_arp)
t0=$(date +%s%N)
out=$(in_c "$SYNFLOOD" -s $FLOOD -d $SRV -p 80 -n $N)
t1=$(date +%s%N)
check "flood sent" eq "$out" "sent $N"
sleep 0.2
admitted=$(( $(counter pass_service) - pass0 ))
dropped=$(( $(counter drop_syn_source_rate) - drop0 ))
ms=$(( (t1 - t0) / 1000000 ))
allowed=$(( BURST + RATE * (ms + 200) / 1000 + 1 ))
echo "    flood: $N SYNs in $ms ms: $admitted admitted, $dropped dropped (allowed <= $allowed)"
check "every flood packet counted once" eq "$(( $(total) - all0 - $(counter pass_arp) + arp0 ))" $N
check "admitted + rate-dropped = sent" eq $(( admitted + dropped )) $N
check "flood cut to burst + rate" test $admitted -le $allowed
check "burst admitted" test $admitted -ge $BURST

# ------------------------------------------------------------------ flood while serving
in_c "$SYNFLOOD" -s $FLOOD -d $SRV -p 80 -n 20000 -r 10000 >"$T/flood2.out" &
fpid=$!
served=0
for i in $(seq 20); do
	[ "$(get $GOOD /healthz)" = 200 ] && served=$((served + 1))
	sleep 0.05
done
wait $fpid
check "another source served during the flood" eq $served 20
check "flood source still limited" test $(( $(counter drop_syn_source_rate) - drop0 - dropped )) -gt 15000

# ------------------------------------------------------------------ clean detach
check "the pid to stop is edgetrackd's" eq "$(cat "/proc/${ET_PIDS[0]}/comm" 2>/dev/null)" edgetrackd
check "edgetrackd stops on SIGTERM" stop_etd "${ET_PIDS[0]}"
if [ -e "$PIN/link_$VS" ]; then
	check "xdp detach" xdpctl detach
fi
check "no program left on the link" eq "$(ip -n "$S" link show "$VS" | grep -c 'xdp')" 0
finish
