#!/bin/bash
# Two clusters, two segments, one router between them: the way to grow
# past one host.  Cluster A (nodes 1-3, G_A): nodes 1 and 2 are gateways
# in route mode linked to the router (gw1, gw2), node 3 reaches the
# outside by them (egress = yes).  Cluster B (nodes 1-3 in namespaces
# b1-b3, its own segment, G_B and G6_B, its own local and client
# networks, route-local = yes): node 1 is its gateway, linked to the
# router (gw3).  Servers on B's three nodes listen on port P.
# Each gateway has the routing daemon of conf/ beside it (BIRD 2, or FRR
# with ROUTING=frr), and one beside the router: nothing else joins the
# two clusters.
#  - the router has G_A (G6_A) by both of A's gateways and G_B (G6_B) by
#    B's, and each cluster's gateways learn the other's from it;
#  - 30 connections from node 3 of A to G_B:P are served by B's three
#    nodes in turn (10 each), leave A as node 3's egress flows and enter
#    B by its gateway; 12 to G6_B:P likewise (4 each);
#  - gateway 1 of A reaches G_B too, from its uplink's address;
#  - node 3 of A reaches each node of B by its own local address
#    (route-local).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/routers.sh"
require_root socat jq
require_routing
G_A=10.202.0.1
G_B=10.212.0.1
G6_A=fd53:4d47::1	# A keeps the default client-network6
G6_B=fd53:4d48::1
CNET6_B=fd53:4d48:0:1::/64
LNET_B=10.211.0.0/16	# B's [local] network; A keeps the default 10.201
CNET_B=10.213.0.0/16	# B's client network; A keeps the default 10.203
P=7500
# cluster B: a cluster name and a segment of its own (in $T_DIR, which
# cleanup removes, whatever becomes of B's daemons)
CLUSTER_B=${CLUSTER}b
SEG_B=$T_DIR/shmnet.$CLUSTER_B
GW=(--set global.gateway=gw0 --set global.gateway-mode=route)
T_ARGS=(--set global.address6=$G6_A)	# A's nodes (start_node)

make_ns 1 2 3 b1 b2 b3 router
# links to the router: A's gateways on gw1 and gw2, B's on gw3
for nr in 1:1 2:2 b1:3; do
	IFS=: read -r n r <<<"$nr"
	veth $n gw0 router gw$r
	ip -n "$(ns $n)" addr add 10.205.$r.1/24 dev gw0
	ip -n "$(ns router)" addr add 10.205.$r.2/24 dev gw$r
done
in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv6.conf.all.forwarding=1 net.ipv6.fib_multipath_hash_policy=1

# start_b N [ARGS...]: node N of cluster B in namespace bN (T_PIDS past
# A's node ids)
start_b() {
	local n=$1; shift
	ip netns exec "$(ns b$n)" "$SHMNETD" --cluster "$CLUSTER_B" --node "$n" \
	    --foreground --set "cluster.segment=$SEG_B" \
	    --set "global.address=$G_B" --set "global.client-network=$CNET_B" \
	    --set "local.address=10.211.0.$n/16" --set global.route-local=yes \
	    --set "global.address6=$G6_B" --set "global.client-network6=$CNET6_B" \
	    "$@" >>"$T_DIR/nodeb$n.log" 2>&1 &
	T_PIDS[$((100 + n))]=$!
}
ctl_b() { "$SHMNETCTL" -S "$SEG_B" "$@"; }

for n in 1 2; do start_node $n "${GW[@]}"; done
start_node 3 --set global.egress=yes
start_b 1 "${GW[@]}"
start_b 2
start_b 3
for n in 1 2 3; do
	wait_state $n up 5 >/dev/null || fail "node $n of A not up"
	for _ in $(seq 100); do
		[ "$(ctl_b --json nodes 2>/dev/null | jq -r ".[] | select(.id == $n) | .state")" = up ] &&
		    break
		sleep 0.05
	done
	[ "$(ctl_b --json nodes | jq -r ".[] | select(.id == $n) | .state")" = up ] ||
	    fail "node $n of B not up"
done

# B's listeners first: its gateway announces G_B once a node listens
for n in 1 2 3; do
	bg_ns b$n socat TCP6-LISTEN:$P,fork,reuseaddr SYSTEM:"echo b$n"
done

rt_mark
router_start 1 "$(gateway_conf 1 1)"
router_start 2 "$(gateway_conf 2 2)"
# B's gateway: its own G, local and client networks, and (route-local)
# its local network announced beside G_B
case "$ROUTING" in
bird)
	conf=$(router_conf gateway b1 10.205.1.1=10.205.3.1 \
	    10.202.0.1/32=$G_B/32 10.201.0.0/16=$LNET_B 10.203.0.0/16=$CNET_B \
	    fd53:4d47::1/128=$G6_B/128 fd53:4d47:0:1::/64=$CNET6_B)
	;;
frr)
	conf=$(router_conf gateway b1 10.205.1.1=10.205.3.1 \
	    10.205.1.0/24=10.205.3.0/24 10.202.0.1/32=$G_B/32 \
	    fd53:4d47::1/128=$G6_B/128)
	cat >>"$conf" <<-EOF
	ip prefix-list SHMNET-LOCAL seq 5 permit $LNET_B
	route-map SHMNET-LOCAL permit 10
	 match ip address prefix-list SHMNET-LOCAL
	exit
	router ospf
	 redistribute connected route-map SHMNET-LOCAL
	exit
	EOF
	;;
esac
router_start b1 "$conf"
conf=$(router_conf router router)
# FRR's router has a block per link to a gateway: gw3's is gw2's
[ "$ROUTING" = frr ] &&
    sed -n '/^interface gw2$/,/^exit$/p' "$conf" | sed 's/gw2/gw3/' >>"$conf"
router_start router "$conf"

# routes NODE PREFIX N [-6]: wait until NODE's route to PREFIX has N next
# hops, within 20 s of the routing daemons' start; prints the
# milliseconds, or what the routing daemons know on stderr
routes() {
	wait_nexthops "$1" "$2" "$3" 20 ${4:-} || { router_dump "$1"; return 1; }
}
ms=$(routes router $G_B/32 1) || fail "the router has no route to G_B"
ms6=$(routes router $G6_B/128 1 -6) || fail "the router has no route to G6_B"
say "the router: G_B by B's gateway after $ms ms, G6_B after $ms6 ms"
ms=$(routes router $G_A/32 2) || fail "the router has no ECMP route to G_A"
ms6=$(routes router $G6_A/128 2 -6) || fail "the router has no ECMP route to G6_A"
say "the router: G_A by A's two gateways after $ms ms, G6_A after $ms6 ms"
for n in 1 2; do
	routes $n $G_B/32 1 >/dev/null || fail "gateway $n of A has no route to G_B"
	routes $n $G6_B/128 1 -6 >/dev/null || fail "gateway $n of A has no route to G6_B"
done
routes b1 $G_A/32 1 >/dev/null || fail "B's gateway has no route to G_A"
routes b1 $G6_A/128 1 -6 >/dev/null || fail "B's gateway has no route to G6_A"
rt_unmark

# b_listeners: how many of B's nodes publish a listener on port P
b_listeners() {
	ctl_b --json listeners | jq "[.[] | select(.port == $P) | .node] | unique | length"
}
for _ in $(seq 50); do [ "$(b_listeners)" = 3 ] && break; sleep 0.1; done
[ "$(b_listeners)" = 3 ] || fail "B publishes $(b_listeners) listeners on $P: $(ctl_b listeners)"

# tally NODE ADDR PORT N: N sequential connections from node NODE of A
# to ADDR:PORT, the answers counted by node
tally() {
	in_ns "$1" bash -c 'for i in $(seq '"$4"'); do
		if exec 3<>/dev/tcp/'"$2/$3"' && read -r -t 3 l <&3; then
			echo "$l"
		else echo FAIL; fi
		exec 3>&-
	done' 2>/dev/null | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}
got=$(tally 3 $G_B $P 30)
[ "$got" = "b1=10 b2=10 b3=10 " ] || {
	router_dump router; fail "30 connections from node 3 of A to G_B:$P were answered $got"; }
out=$(ctl --json conns | jq "[.[] | select(.foreign == \"$G_B\" and
    .fport == $P and .node == 3 and .direction == \"out\")] | length")
[ "$out" = 30 ] || fail "A recorded $out egress flows of node 3 to G_B: $(ctl conns)"
inb=$(ctl_b --json conns --service $G_B:$P | jq "[.[] | select(.foreign == \"$G_A\" and
    .ingress == 1)] | length")
[ "$inb" = 30 ] || fail "B recorded $inb flows from G_A by its gateway: $(ctl_b conns)"
say "node 3 of A -> G_B:$P 30 times: $got(egress flows of A, entering B by its gateway)"
got=$(tally 3 $G6_B $P 12)
[ "$got" = "b1=4 b2=4 b3=4 " ] || {
	router_dump router; fail "12 connections from node 3 of A to G6_B:$P were answered $got"; }
say "node 3 of A -> G6_B:$P 12 times: $got"
# a gateway of A reaches G_B by the routes its routing daemon installed,
# from its uplink's address
got=$(tally 1 $G_B $P 3)
[ "$got" = "b1=1 b2=1 b3=1 " ] ||
    fail "3 connections from gateway 1 of A to G_B:$P were answered $got"
say "gateway 1 of A -> G_B:$P 3 times: $got"

wait_nexthops router $LNET_B 1 10 >/dev/null ||
    { router_dump router b1; fail "the router has no route to B's local network"; }
for n in 1 2 3; do
	got=$(tally 3 10.211.0.$n $P 2)
	[ "$got" = "b$n=2 " ] ||
	    fail "node 3 of A to node $n of B at 10.211.0.$n:$P was answered $got"
done
say "node 3 of A reaches each node of B by its local address (route-local)"
say "PASS"
