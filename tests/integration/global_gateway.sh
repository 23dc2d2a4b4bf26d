#!/bin/bash
# A gateway: node 1 has a veth (gw0) to an outside namespace at MTU 1500.
#  - outside clients reach G:8080 (TCP and UDP) and are balanced over nodes
#    1-3 like inside ones; the answers come back through the gateway;
#  - the gateway answers ARP for G on gw0; node 2, with an interface of its
#    own toward a probe namespace, does not;
#  - a 3000-byte UDP request crosses the 1500-byte link as fragments and
#    reaches its server whole (later fragments follow the first).
. "$(dirname "$0")/lib.sh"
require_root socat jq
[ -x "$UDPREQ" ] && [ -x "$UDPSRV" ] || fail "no udpreq/udpsrv"
G=10.202.0.1

make_ns 1 2 3 out probe
veth 1 gw0 out up0
veth 2 eth9 probe up0
ip -n "$(ns 1)" addr add 10.205.0.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.0.2/24 dev up0
ip -n "$(ns out)" route add $G/32 dev up0		# on-link: ARP for G
ip -n "$(ns 2)" addr add 10.206.0.1/24 dev eth9
ip -n "$(ns probe)" addr add 10.206.0.2/24 dev up0
ip -n "$(ns probe)" route add $G/32 dev up0

start_node 1 --set global.gateway=gw0
start_node 2
start_node 3
for n in 1 2 3; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
	bg_ns $n "$UDPSRV" 8080 node$n
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080)] | length')" = 6 ] && break
	sleep 0.1
done

got=$(in_ns out bash -c 'for i in $(seq 30); do exec 3<>/dev/tcp/'$G'/8080 &&
    read -r -t 3 l <&3 && echo "$l"; exec 3>&-; done' | sort | uniq -c |
    awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "outside TCP: $got"
say "outside TCP: 30 connections to G:8080 -> $got"
got=$(in_ns out "$UDPREQ" $G 8080 30 3000 42000 | sort | uniq -c |
    awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "outside UDP: $got"
say "outside UDP: 30 requests to G:8080 -> $got"

gwmac=$(ip -n "$(ns 1)" -j link show gw0 | jq -r '.[0].address')
mac=$(ip -n "$(ns out)" -j neigh show $G | jq -r '.[0].lladdr')
[ "$mac" = "$gwmac" ] || fail "outside resolves G to $mac, not the gateway's $gwmac"
in_ns probe ping -c 1 -W 1 -q $G >/dev/null 2>&1 && fail "node 2 answered for G on eth9"
state=$(ip -n "$(ns probe)" -j neigh show $G | jq -r '.[0].state[0] // "NONE"')
case "$state" in REACHABLE|STALE|DELAY|PROBE) fail "node 2 answered ARP for G ($state)";; esac
say "ARP for G: answered by the gateway on gw0 ($gwmac), not by node 2 ($state)"

in_ns out "$UDPREQ" $G 8080 6 3000 43000 3000 >/dev/null ||
    fail "3000-byte UDP requests (fragmented at MTU 1500) were not all answered"
say "fragmented 3000-byte UDP requests reached their servers and were answered"
say "PASS"
