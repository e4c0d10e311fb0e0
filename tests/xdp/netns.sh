# The XDP tests' network, sourced after tests/integration/lib.sh: a server namespace $S and a
# client namespace $C joined by a veth pair ($VS in $S holds $SRV/24, $VC in $C holds the
# client addresses), with bpffs mounted at $T/bpf for the filter's pins ($PIN).
#   xdp_net_up CLIENT_ADDRESS...     the first address is the client's source
#   xdp_net_down                     removes all of it; safe to call more than once
# The caller sets S, C, VS, VC, SRV and PIN first; addresses are in 192.0.2.0/24 (server) and
# 198.51.100.0/24 (clients).

xdp_net_up() {
	local a
	ip netns add "$S" && ip netns add "$C" || return 1
	ip link add "$VS" netns "$S" type veth peer name "$VC" netns "$C" || return 1
	for ns in "$S" "$C"; do
		ip -n "$ns" link set lo up
		# No IPv6 on the pair: its autoconfiguration traffic would blur the packet counts.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	ip -n "$S" addr add "$SRV/24" dev "$VS"
	ip -n "$S" link set "$VS" up
	ip -n "$S" route add 198.51.100.0/24 dev "$VS"
	for a in "$@"; do ip -n "$C" addr add "$a/24" dev "$VC"; done
	ip -n "$C" link set "$VC" up
	ip -n "$C" route add 192.0.2.0/24 dev "$VC" src "$1"
	mkdir -p "$T/bpf" && mount -t bpf bpf "$T/bpf"
}

xdp_net_down() {
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	ip link del "$VS" 2>/dev/null
	if mountpoint -q "$T/bpf"; then
		rm -rf "$PIN"
		umount "$T/bpf"
	fi
	return 0
}
