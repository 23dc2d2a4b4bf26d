#!/bin/bash
# A gateway in route mode keeps G's route for a routing daemon, and only
# while it can deliver: node 1 is a gateway (gateway-mode = route) with a
# link to the out namespace; nodes 2 and 3 may serve G:7200.
#  - no listener anywhere: no route to G in table 203, nor for a routing
#    daemon's BFD and BGP sockets on the wildcard address (ignore-ports);
#    a reload without them in ignore-ports publishes them, and one with
#    them back takes them out again;
#  - a listener on node 2: the route appears; out, routing G to the
#    gateway as a router that learned it would, is served; the gateway
#    answers no ARP for G;
#  - the listener goes: the route goes within 2 s;
#  - route-local (on nodes 1 and 3): the gateway keeps the local
#    network's route too, and out reaches node 3's own address through
#    it, but not node 2's (no route-local there);
#  - a node with egress from G (node 4) needs G's route with no listener
#    anywhere; with egress from its client address, the client
#    network's;
#  - kill -9 of the gateway's daemon: the route goes with its interface,
#    and what still reaches the gateway is dropped (no RST, no ICMP);
#    a restart brings it back;
#  - SIGTERM: the route goes at once, and the gateway goes on forwarding
#    for withdraw-delay (3 s here) while routers move away, then
#    leaves.
. "$(dirname "$0")/lib.sh"
require_root socat jq
G=10.202.0.1
C=10.207.0.1

make_ns 1 2 3 4 out
veth 1 gw0 out up1
ip -n "$(ns 1)" addr add 10.205.1.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.1.2/24 dev up1
ip -n "$(ns out)" addr add $C/32 dev lo
ip -n "$(ns 1)" route add $C/32 via 10.205.1.2

GW=(--set global.gateway=gw0 --set global.gateway-mode=route
    --set global.withdraw-delay=3000 --set global.route-local=yes)
start_node 1 "${GW[@]}"
printf '[global]\n' >"$T_DIR/node2.conf"
start_node 2 --config "$T_DIR/node2.conf"
start_node 3 --set global.route-local=yes
for n in 1 2 3; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done

# routes: the gateway's routes to G in table 203
routes() { ip -n "$(ns 1)" route show table 203 $G 2>/dev/null; }
# wait_route yes|no SECONDS: until the route is there (or gone)
wait_route() {
	local i
	for i in $(seq $(( $2 * 10 ))); do
		if [ "$1" = yes ]; then routes | grep -q "dev shmg0" && return 0
		else [ -z "$(routes)" ] && return 0; fi
		sleep 0.1
	done
	return 1
}

# a routing daemon's sockets, as FRR's bfdd and bgpd open them
bg_ns 2 socat -u UDP-RECV:3784 /dev/null
bg_ns 2 socat TCP-LISTEN:179,fork,reuseaddr SYSTEM:"echo bgp"
bg_ns 1 socat -u UDP-RECV:4784 /dev/null
# published: how many listeners of G's ports 179, 3784 and 4784
published() {
	ctl --json listeners |
	    jq '[.[] | select(.port == 179 or .port == 3784 or .port == 4784)] | length'
}
sleep 1.5 # two ticks with no listener
[ -z "$(routes)" ] || fail "route to G with no listener: $(routes)"
[ "$(published)" = 0 ] || fail "BFD or BGP published: $(ctl listeners)"
say "no listener, BFD's and BGP's sockets: no route to G"
# ignore-ports is live: none publishes them, the default takes them back
hup2() {
	printf '[global]\n%s\n' "$1" >"$T_DIR/node2.conf"
	kill -HUP "$(daemon_pid 2)"
	for _ in $(seq 30); do
		[ "$(published)" = "$2" ] && return
		sleep 0.1
	done
	fail "ignore-ports after '$1': $(published) published, not $2"
}
hup2 "ignore-ports = udp/4784" 2
hup2 "" 0
wait_route no 3 || fail "route to G after BGP went back to ignored: $(routes)"
say "a reload without BFD and BGP in ignore-ports publishes them; back, not"

# arp mode's proxy answer is not there: a client on the link gets none
ip -n "$(ns out)" route add $G/32 dev up1 src $C
bg_ns 2 socat TCP-LISTEN:7200,fork,reuseaddr SYSTEM:"echo node2"
L2=$!
wait_route yes 3 || fail "no route to G after a listener came: $(routes)"
say "a listener on node 2: $(routes)"
[ "$(ctl --json nodes | jq -r '.[] | select(.id == 1) | .gateway + " " + .announced')" = "route G,local" ] ||
    fail "nodes does not show gateway 1 announcing G: $(ctl nodes)"
ctl metrics > "$T_DIR/m.prom"
grep -q '^shmnet_gateway_announces_g{cluster="'"$CLUSTER"'",node="1"} 1$' "$T_DIR/m.prom" ||
    fail "no metric of the announcement: $(grep announces "$T_DIR/m.prom")"
grep -q '^shmnet_gateway_announces_g6{' "$T_DIR/m.prom" &&
    fail "a metric for G6, which is not set: $(grep announces_g6 "$T_DIR/m.prom")"
in_ns out timeout 3 socat -T 2 - TCP:$G:7200,bind=$C </dev/null >/dev/null 2>&1 &&
    fail "the gateway answered ARP for G in route mode"
ip -n "$(ns out)" neigh show dev up1 | grep -q "^$G .*lladdr" &&
    fail "G resolved on the link: $(ip -n "$(ns out)" neigh show dev up1)"
ip -n "$(ns out)" route replace $G/32 via 10.205.1.1 src $C
for i in $(seq 5); do
	r=$(in_ns out timeout 5 socat -T 3 - TCP:$G:7200,bind=$C </dev/null 2>&1)
	[ "$r" = node2 ] || fail "connection $i to G by the routed gateway: '$r'"
done
say "no ARP answer for G; routed to the gateway, 5 connections served"

kill "$L2"; wait "$L2" 2>/dev/null
wait_route no 3 || fail "route to G stays with no listener: $(routes)"
[ "$(ctl --json nodes | jq -r '.[] | select(.id == 1) | .announced')" = "local" ] ||
    fail "nodes shows an announcement withdrawn: $(ctl nodes)"
say "the listener went: the route went"

ip -n "$(ns 1)" route show table 203 10.201.0.0/16 | grep -q "dev shm0" ||
    fail "no route to the local network in table 203: $(ip -n "$(ns 1)" route show table 203)"
ip -n "$(ns out)" route add 10.201.0.0/16 via 10.205.1.1 src $C
in_ns out ping -c 1 -W 2 -q 10.201.0.3 >/dev/null ||
    fail "node 3's local address does not answer from outside"
bg_ns 3 socat TCP-LISTEN:7300,bind=10.201.0.3,fork,reuseaddr SYSTEM:"echo local3"
for _ in $(seq 20); do
	r=$(in_ns out timeout 3 socat -T 2 - TCP:10.201.0.3:7300 </dev/null 2>&1)
	[ "$r" = local3 ] && break; sleep 0.1
done
[ "$r" = local3 ] || fail "TCP to node 3's local address: '$r'"
in_ns out ping -c 1 -W 1 -q 10.201.0.2 >/dev/null 2>&1 &&
    fail "node 2 (no route-local) answered from outside"
say "route-local: node 3's own address answers outside through the gateway, node 2's not"

# a node that reaches the outside from G needs G's route back, listener
# or not; from its client address, the client network's
start_node 4 --set global.egress=yes
wait_state 4 up 5 >/dev/null || fail "node 4 not up"
wait_route yes 3 || fail "no route to G for node 4's egress"
stop_node 4
wait_route no 3 || fail "route to G stays after the egress node left"
start_node 4 --set global.egress=yes --set global.egress-source=node
wait_state 4 up 5 >/dev/null || fail "node 4 not up again"
for _ in $(seq 30); do
	ip -n "$(ns 1)" route show table 203 10.203.0.0/16 | grep -q "dev shmg0" && break
	sleep 0.1
done
ip -n "$(ns 1)" route show table 203 10.203.0.0/16 | grep -q "dev shmg0" ||
    fail "no route to the client network for egress-source = node"
[ -z "$(routes)" ] || fail "route to G for egress from a client address: $(routes)"
stop_node 4
say "egress from G: G announced with no listener; from client addresses: the client network"

bg_ns 3 socat TCP-LISTEN:7200,fork,reuseaddr SYSTEM:"echo node3"
wait_route yes 3 || fail "no route to G with a listener on node 3"
stop_node 1 KILL
wait_route no 2 || fail "route to G outlives its daemon: $(routes)"
[ "$(ctl --json nodes | jq -r '.[] | select(.id == 1) | .state + " " + .announced')" = "down " ] ||
    fail "a dead gateway shown announcing: $(ctl nodes)"
# what routers still send the dead gateway is dropped there, neither
# refused by its stack nor answered with an ICMP error: its blackhole
# rules outlive it
ip -n "$(ns 1)" rule show | grep -q "to $G iif gw0 blackhole" ||
    fail "no blackhole rule on the dead gateway: $(ip -n "$(ns 1)" rule show)"
r=$(in_ns out socat -T 1 - TCP:$G:7200,bind=$C,connect-timeout=1 </dev/null 2>&1)
case $r in
*"timed out"*) ;;
*) fail "a connection through the dead gateway: '$r'" ;;
esac
say "kill -9 of the gateway's daemon: the route went with its interface," \
    "what still reaches it is dropped"

start_node 1 "${GW[@]}"
wait_state 1 up 5 >/dev/null || fail "node 1 not up again"
wait_route yes 3 || fail "no route to G after the gateway's restart"
r=$(in_ns out timeout 5 socat -T 3 - TCP:$G:7200,bind=$C </dev/null 2>&1)
[ "$r" = node3 ] || fail "connection after the restart: '$r'"
say "restart: announced again and served"
t0=$(date +%s%N)
kill -TERM "$(daemon_pid 1)"
wait_route no 1 || fail "route to G 1 s after SIGTERM: $(routes)"
r=$(in_ns out timeout 5 socat -T 3 - TCP:$G:7200,bind=$C </dev/null 2>&1)
[ "$r" = node3 ] || fail "connection during the withdraw delay: '$r'"
kill -0 "$(daemon_pid 1)" 2>/dev/null || fail "the gateway left before its withdraw delay"
wait "${T_PIDS[1]}"; T_PIDS[1]=""
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 2900 ] && [ $ms -lt 9000 ] || fail "the gateway left $ms ms after SIGTERM (withdraw-delay 3000)"
grep -q "route to $G (G) out of table 203: leaving" "$T_DIR/node1.log" ||
    fail "the gateway did not say it withdrew G"
say "SIGTERM: withdrawn at once, served during the delay, left after $ms ms"
# the blackhole rules the killed daemon left were taken over: none stays
n=$(ip -n "$(ns 1)" rule show | grep -c blackhole)
[ "$n" = 0 ] || fail "$n blackhole rules left after a clean stop: $(ip -n "$(ns 1)" rule show)"
say "PASS"
