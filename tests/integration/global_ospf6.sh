#!/bin/bash
# Routed gateways announce G6 over OSPFv3: global_ospf.sh's cluster with
# [global] address6 set and an IPv6 client.  Nodes 1 and 2 are gateways in
# route mode linked to the router, with the routing daemon of conf/ (BIRD
# 2, or FRR with ROUTING=frr); nodes 3 and 4 serve G6.
#  - no listener: no route to G6 at the router (BIRD; FRR 8.4 announces
#    G6 while shmnetd runs); listeners: a route with two next hops;
#  - 100 connections to G6 from the client are served, entering by both
#    gateways;
#  - kill -9 of gateway 1 (its shmnetd and its routing daemon): one next
#    hop left within $WITHDRAW_MS, and connections to G6 are still served;
#  - gateway 1 restarted: two next hops again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/routers.sh"
require_root socat jq
require_routing
# BIRD announces the route shmnetd keeps while a node listens; FRR 8.4 can
# only announce shmg0's address, while shmnetd runs (conf/frr-gateway.conf)
LISTENERS=yes
[ "$ROUTING" = frr ] && LISTENERS=no
G6=fd53:4d47::1
C6=fd53:4d50:ff::1
WITHDRAW_MS=${WITHDRAW_MS:-2500}
GW=(--set global.address6=$G6 --set global.gateway=gw0
    --set global.gateway-mode=route)

make_ns 1 2 3 4 router client
for n in 1 2; do
	veth $n gw0 router gw$n
	ip -n "$(ns $n)" addr add 10.205.$n.1/24 dev gw0
	ip -n "$(ns router)" addr add 10.205.$n.2/24 dev gw$n
done
veth router cl0 client up0
ip -n "$(ns router)" addr add 10.207.0.254/24 dev cl0
ip -n "$(ns router)" addr add fd53:4d50:ff::fe/64 dev cl0 nodad
ip -n "$(ns client)" addr add $C6/64 dev up0 nodad
ip -n "$(ns client)" -6 route add default via fd53:4d50:ff::fe
in_ns router sysctl -qw net.ipv6.conf.all.forwarding=1 \
    net.ipv6.fib_multipath_hash_policy=1

for n in 1 2; do start_node $n "${GW[@]}"; done
start_node 3 --set global.address6=$G6
start_node 4 --set global.address6=$G6
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
gw_start 1
gw_start 2
router_start router "$(router_conf router router)"

for n in 1 2; do
	wait_nexthops $n fd53:4d50:ff::/64 1 20 -6 >/dev/null ||
	    fail "gateway $n learnt no route to the client"
done
if [ $LISTENERS = yes ]; then
	sleep 1.5
	[ "$(route_nexthops router $G6/128 -6)" = 0 ] ||
	    fail "a route to G6 with no listener: $(ip -n "$(ns router)" -6 route show $G6)"
	say "no listener: the router has no route to G6"
fi

for n in 3 4; do
	bg_ns $n socat TCP6-LISTEN:7100,fork,reuseaddr SYSTEM:"echo node$n"
done
ms=$(wait_nexthops router $G6/128 2 15 -6) ||
    fail "no ECMP route to G6: $(ip -n "$(ns router)" -6 route show $G6)"
say "listeners on nodes 3 and 4: G6 with two next hops at the router after $ms ms"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 7100)] | length')" = 2 ] && break
	sleep 0.1
done

connect() {
	in_ns client bash -c 'for i in $(seq '"$1"'); do
		if exec 3<>/dev/tcp/'$G6'/7100 && read -r -t 3 l <&3; then
			echo "$l"
		else echo FAIL; fi
		exec 3>&-
	done' 2>/dev/null
}
ingress() {
	ctl --json conns --service 7100 | jq "[.[] | select(.ingress == $1)] | length"
}
got=$(connect 100 | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
case "$got" in *FAIL*) fail "100 connections to G6: $got" ;; esac
in1=$(ingress 1) in2=$(ingress 2)
[ "$in1" -ge 10 ] && [ "$in2" -ge 10 ] ||
    fail "100 connections entered by gateway 1 $in1 times, by gateway 2 $in2"
say "100 connections to G6 served ($got), entered by gateway 1 $in1 and 2 $in2 times"

# BFD up to both gateways, for IPv4 and IPv6
wait_bfd router 4 10 || fail "$(bfd_up router) BFD sessions up at the router, not 4"
rt_mark
kill -KILL "$(daemon_pid 1)" ${RT_PIDS[1]}
ms=$(wait_nexthops router $G6/128 1 10 -6) ||
    fail "the router keeps gateway 1: $(ip -n "$(ns router)" -6 route show $G6)"
rt_unmark
wait "${T_PIDS[1]}" 2>/dev/null
T_PIDS[1]=""
router_kill 1
[ "$ms" -le "$WITHDRAW_MS" ] ||
    fail "gateway 1 left the router's route after $ms ms (bound $WITHDRAW_MS)"
say "kill -9 of gateway 1: one next hop left at the router after $ms ms"
got=$(connect 50 | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
case "$got" in *FAIL*) fail "50 connections to G6 by gateway 2: $got" ;; esac
say "50 connections to G6 served by gateway 2 alone ($got)"

start_node 1 "${GW[@]}"
wait_state 1 up 5 >/dev/null || fail "node 1 not up again"
rt_mark
gw_start 1
ms=$(wait_nexthops router $G6/128 2 20 -6) ||
    fail "gateway 1 is not back in the route: $(ip -n "$(ns router)" -6 route show $G6)"
rt_unmark
say "gateway 1 restarted: two next hops again after $ms ms"
say "PASS"
