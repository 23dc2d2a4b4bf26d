#!/bin/bash
# IPv6 on the local network: neighbour discovery over the broadcast ring
# (solicited-node groups never take a multicast ring), ping -6 between
# every pair over link-local addresses and over configured ones
# (local.address6 = a /64 network: node N gets network::N).
. "$(dirname "$0")/lib.sh"
require_root jq ping

T_ARGS=(--set local.address6=fd53:4d4c::/64)
start_cluster 1 2 3

# lladdr N: node N's link-local address on shm0, once DAD is done
lladdr() {
	in_ns "$1" ip -6 -j addr show dev shm0 scope link -tentative |
	    jq -r '.[0].addr_info // [] | .[] | select(.family == "inet6") | .local' 2>/dev/null | head -1
}
declare -A LL
for n in 1 2 3; do
	for _ in $(seq 60); do LL[$n]=$(lladdr "$n"); [ -n "${LL[$n]}" ] && break; sleep 0.1; done
	[ -n "${LL[$n]}" ] || fail "node $n has no usable link-local address on shm0"
	in_ns "$n" ip -6 addr show dev shm0 | grep -q "fd53:4d4c::$n/64" ||
	    fail "node $n lacks fd53:4d4c::$n/64: $(in_ns "$n" ip -6 -br addr show dev shm0)"
done
say "link-local: ${LL[1]} ${LL[2]} ${LL[3]}"

for a in 1 2 3; do for b in 1 2 3; do
	[ "$a" = "$b" ] && continue
	in_ns "$a" ping -6 -c 2 -i 0.2 -W 2 -q "${LL[$b]}%shm0" >/dev/null ||
	    fail "node $a cannot ping -6 node $b at ${LL[$b]}%shm0"
	in_ns "$a" ping -6 -c 2 -i 0.2 -W 2 -q "fd53:4d4c::$b" >/dev/null ||
	    fail "node $a cannot ping -6 node $b at fd53:4d4c::$b"
done; done
in_ns 1 ip -6 neigh show dev shm0 | grep -q "${LL[2]} lladdr 02:53:4d:4c:00:02" ||
    fail "node 1 did not learn node 2's MAC by neighbour discovery: $(in_ns 1 ip -6 neigh show dev shm0)"
ring=$(ctl --json rings | jq -r '[.[] | select(.kind == "multicast" and .label != "-")] | length')
[ "$ring" = 0 ] || fail "neighbour discovery took $ring multicast rings"
say "ping -6 between all 6 pairs over link-local and fd53:4d4c::/64; no multicast ring taken"
say "PASS"
