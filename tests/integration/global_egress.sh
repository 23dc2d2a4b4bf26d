#!/bin/bash
# Egress: nodes without an uplink reach the outside through the gateways.
# Nodes 1 and 2 are gateways, each with a link to the outside namespace
# (out), whose address X (10.207.0.1, on its loopback) serves HTTP
# (busybox httpd) and a TCP echo (socat); its route to G goes by one
# gateway, moved by the test as a routing daemon would.  Node 4 has
# egress = yes (from G), node 3 egress = yes with egress-source = node,
# node 5 none.
#  - node 4 fetches from X: the flows leave by both gateways, from its
#    share of the ephemeral ports;
#  - four long-lived connections from node 4 echo a line every 0.1 s;
#  - kill -9 of the gateway the last fetch used (the route to G moves to
#    the other): the next fetch succeeds, by the other gateway, and every
#    connection goes on, now entering by the other gateway;
#  - node 3 fetches from its client address (out routes the client
#    network to the gateway left);
#  - node 5 cannot reach X;
#  - IPv6 alike: node 4 from G6, node 3 from its IPv6 client address;
#  - node 4's daemon stops: its port range and default route go.
. "$(dirname "$0")/lib.sh"
require_root socat jq curl busybox
G=10.202.0.1
X=10.207.0.1
CNET=10.203.0.0/16
G6=fd53:4d47::1
X6=fd53:4d99::1
CNET6=fd53:4d47:0:1::/64

make_ns 1 2 3 4 5 6 out
veth 1 gw0 out up1
ip -n "$(ns 1)" addr add 10.205.1.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.1.2/24 dev up1
veth 2 gw0 out up2
ip -n "$(ns 2)" addr add 10.205.2.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.2.2/24 dev up2
ip -n "$(ns out)" addr add $X/32 dev lo
ip -n "$(ns 1)" route add $X/32 via 10.205.1.2
ip -n "$(ns 2)" route add $X/32 via 10.205.2.2
ip -n "$(ns out)" route add $G/32 dev up1 src $X
for n in 1 2; do
	ip -n "$(ns $n)" addr add fd53:4d98:$n::1/64 dev gw0 nodad
	ip -n "$(ns out)" addr add fd53:4d98:$n::2/64 dev up$n nodad
	ip -n "$(ns $n)" route add $X6/128 via fd53:4d98:$n::2
done
ip -n "$(ns out)" addr add $X6/128 dev lo
ip -n "$(ns out)" route add $G6/128 dev up1 src $X6
T_ARGS=(--set global.address6=$G6)
ports_before=$(in_ns 4 cat /proc/sys/net/ipv4/ip_local_port_range)

start_node 1 --set global.gateway=gw0
start_node 2 --set global.gateway=gw0
start_node 3 --set global.egress=yes --set global.egress-source=node
start_node 4 --set global.egress=yes
start_node 5
for n in 1 2 3 4 5; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
mkdir -p "$T_DIR/www"
echo "hello from outside" > "$T_DIR/www/index.html"
bg_ns out busybox httpd -f -p $X:80 -h "$T_DIR/www"
bg_ns out busybox httpd -f -p "[$X6]:80" -h "$T_DIR/www"
bg_ns out socat TCP-LISTEN:7100,bind=$X,fork,reuseaddr \
    SYSTEM:"while read -r l; do echo out \$l; done"
for _ in $(seq 50); do
	in_ns out ss -ltn | grep -q "$X:7100 " && in_ns out ss -ltn | grep -q "$X:80 " && break
	sleep 0.1
done

# node 4's share of 32768-60999 among 64 nodes: 440 ports from 34088
read -r lo hi < <(in_ns 4 cat /proc/sys/net/ipv4/ip_local_port_range)
[ "$lo $hi" = "34088 34527" ] || fail "node 4's port range is $lo $hi"
in_ns 4 ip route show default | grep -q "dev shmg0 .*src $G" ||
    fail "node 4 has no default route through shmg0: $(in_ns 4 ip route)"
in_ns 4 ip -6 route show default | grep -q "dev shmg0 .*src $G6" ||
    fail "node 4 has no IPv6 default route through shmg0: $(in_ns 4 ip -6 route)"

# fetch N: node N fetches X's page; prints the gateway the flow left by
fetch() {
	local port gw
	port=$(in_ns "$1" curl -s --max-time 5 -o "$T_DIR/page" \
	    -w '%{local_port}' "http://$X/") || return 1
	grep -q "hello from outside" "$T_DIR/page" || return 1
	gw=$(ctl --json conns | jq -r ".[] | select(.foreign == \"$X\" and
	    .fport == 80 and .lport == $port and .direction == \"out\") |
	    \"\(.node) \(.ingress)\"")
	set -- $gw
	[ "${1:-}" = 4 ] || return 1
	echo "$2 $port"
}
declare -A by=([1]=0 [2]=0)
for i in $(seq 30); do
	read -r gw port < <(fetch 4) || fail "fetch $i from node 4: $(ctl conns)"
	[ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] ||
	    fail "fetch $i came from port $port, not node 4's share"
	by[$gw]=$(( ${by[$gw]} + 1 ))
	[ "$i" -ge 10 ] && [ "${by[1]}" -ge 1 ] && [ "${by[2]}" -ge 1 ] && break
done
[ "${by[1]}" -ge 1 ] && [ "${by[2]}" -ge 1 ] ||
    fail "$i fetches did not use both gateways: by 1: ${by[1]}, by 2: ${by[2]}"
flows=$(ctl --json nodes | jq '.[] | select(.id == 4) | .global_egress_flows')
[ "$flows" -ge "$i" ] || fail "node 4 counted $flows egress flows"
say "$i fetches from node 4 through the gateways: ${by[1]} by 1, ${by[2]} by 2"

# four long-lived connections, each echo checked (long_conn)
for i in 1 2 3 4; do long_conn 4 $i TCP:$X:7100; done
progress_why() { ctl conns; }
long_by() {
	ctl --json conns | jq "[.[] | select(.fport == 7100 and .node == 4 and
	    .direction == \"out\" and .ingress == $1)] | length"
}
progress 5 1 2 3 4
# the gateway the last fetch used, which one of the connections uses too
for _ in $(seq 30); do
	read -r gw port < <(fetch 4) || fail "a fetch from node 4 failed"
	[ "$(long_by "$gw")" -ge 1 ] && break
done
[ "$(long_by "$gw")" -ge 1 ] || fail "no connection leaves by gateway $gw"
other=$(( 3 - gw ))
say "4 connections from node 4 to $X:7100: $(long_by 1) by gateway 1, $(long_by 2) by 2"

stop_node "$gw" KILL
ip -n "$(ns out)" route replace $G/32 dev up$other src $X
wait_state "$gw" down 5 >/dev/null || fail "gateway $gw not seen down"
read -r now port < <(fetch 4) || fail "fetch after gateway $gw's death: $(ctl conns)"
[ "$now" = "$other" ] || fail "the fetch left by $now, not gateway $other"
progress 10 1 2 3 4
[ "$(long_by "$other")" = 4 ] || fail "the connections did not move to gateway $other: $(ctl conns)"
say "kill -9 of gateway $gw: a fetch by gateway $other, all 4 connections go on by it"

# from node 3's client address: the outside routes the client network
ip -n "$(ns out)" route add $CNET via 10.205.$other.1
in_ns 3 ip route show default | grep -q "src 10.203.0.3" ||
    fail "node 3 has no default route from its client address: $(in_ns 3 ip route)"
in_ns 3 curl -s --max-time 5 "http://$X/" | grep -q "hello from outside" ||
    fail "node 3 cannot fetch from its client address"
[ "$(ctl --json conns | jq "[.[] | select(.node == 3)] | length")" = 0 ] ||
    fail "node 3's flow was recorded: $(ctl conns)"
say "node 3 fetches from its client address, nothing recorded"

# IPv6: node 4 from G6 (a flow recorded), node 3 from its client address
ip -n "$(ns out)" route replace $G6/128 dev up$other src $X6
ip -n "$(ns out)" route add $CNET6 via fd53:4d98:$other::1
in_ns 4 curl -s --max-time 5 "http://[$X6]/" | grep -q "hello from outside" ||
    fail "node 4 cannot fetch from [$X6] by G6: $(ctl conns)"
ctl --json conns | jq -e ".[] | select(.foreign == \"$X6\" and .node == 4 and
    .direction == \"out\" and .local == \"$G6\")" >/dev/null ||
    fail "no IPv6 egress flow of node 4: $(ctl conns)"
in_ns 3 curl -s --max-time 5 "http://[$X6]/" | grep -q "hello from outside" ||
    fail "node 3 cannot fetch from [$X6] by its IPv6 client address"
say "IPv6: node 4 fetches from G6, node 3 from its client address"

# node 5 has no egress: what it sends to shmg0 does not go out
ip -n "$(ns 5)" route add default dev shmg0
ip -n "$(ns 5)" -6 route add default dev shmg0
in_ns 5 curl -s --max-time 2 "http://$X/" >/dev/null 2>&1 &&
    fail "node 5, without egress, reached the outside"
in_ns 5 curl -s --max-time 2 "http://[$X6]/" >/dev/null 2>&1 &&
    fail "node 5, without egress, reached the outside by IPv6"
say "node 5, without egress, cannot reach the outside"

touch "$T_DIR/stop"
for i in 1 2 3 4; do
	wait "${CONN[$i]}" || fail "connection $i: $(cat "$T_DIR/conn$i")"
done
# a kill -9 leaves the share; the restart takes it, and its stop puts
# the kernel's range back
stop_node 4 KILL
start_node 4 --set global.egress=yes
wait_state 4 up 5 >/dev/null || fail "node 4 not up again"
stop_node 4
[ "$(in_ns 4 cat /proc/sys/net/ipv4/ip_local_port_range)" = "$ports_before" ] ||
    fail "node 4's port range not put back: $(in_ns 4 cat /proc/sys/net/ipv4/ip_local_port_range)"
say "node 4 killed, started and stopped: its port range is put back"

# a namespace with a default route of its own (a container's) keeps its
# ephemeral ports
ip -n "$(ns 6)" link add d0 type veth peer name d1
ip -n "$(ns 6)" addr add 192.0.2.6/24 dev d0
ip -n "$(ns 6)" link set d0 up
ip -n "$(ns 6)" link set d1 up
ip -n "$(ns 6)" route add default via 192.0.2.1
start_node 6 --set global.egress=yes
wait_state 6 up 5 >/dev/null || fail "node 6 not up"
[ "$(in_ns 6 cat /proc/sys/net/ipv4/ip_local_port_range)" = "$ports_before" ] ||
    fail "node 6, with its own default route, lost its port range"
in_ns 6 ip route show default | grep -q "via 192.0.2.1" ||
    fail "node 6's default route changed: $(in_ns 6 ip route show default)"
say "a namespace with its own default route keeps it and its port range"
say "PASS"
