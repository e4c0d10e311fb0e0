# Sourced by the tests and benchmarks.
# pick_port [REGISTRY]: prints a TCP port no socket on this machine uses now, below the
# kernel's ephemeral range, so no client connection can come to hold it as its local port
# between the pick and the server's bind. Ports listed in REGISTRY (one per line) are
# skipped, and the picked one is appended to it. Returns 1 after 50 tries.
pick_port() {
	local reg=${1:-} lo p base=10000 span
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	span=$((lo - base))
	# an unusual ephemeral range leaves no room below it: pick anywhere then
	[ "$span" -ge 2000 ] || { base=20000; span=30000; }
	for _ in $(seq 50); do
		p=$((base + RANDOM % span))
		[ -n "$reg" ] && grep -qx "$p" "$reg" 2>/dev/null && continue
		ss -tanH "sport = :$p" 2>/dev/null | grep -q . && continue
		[ -n "$reg" ] && echo "$p" >>"$reg"
		echo "$p"
		return 0
	done
	return 1
}
