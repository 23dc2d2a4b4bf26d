#!/bin/bash
# Several cluster addresses, each carried by the nodes configured with it:
# G1 = 10.202.0.1 on nodes 1-3, G2 = 10.202.0.2 on nodes 3 and 4 (node 3
# carries both).
#  - TCP servers on 0.0.0.0:7400 on every node: 30 connections from node
#    4 (a client of G1, which it does not carry) to G1:7400 reach nodes
#    1-3 10 times each; 30 from node 1 to G2:7400 reach nodes 3 and 4 15
#    times each;
#  - a server bound to G2 only on node 3 (7401) takes no connection to
#    G1:7401, which nodes 1 and 2 serve, and every one to G2:7401;
#  - one client port to G1 and to G2 at once: two flows;
#  - shmnetctl services shows G1:7400 and G2:7400 apart with their
#    backends, conns --service filters by address, addresses lists both
#    with the nodes that carry them;
#  - ping reaches an address from a node that does not carry it;
#  - node 1, a gateway carrying G1 only, answers ARP for both on its
#    link to an outside namespace, whose connections to each are
#    balanced over that address's nodes;
#  - a node whose addresses would overflow the table is refused, and
#    takes none.
. "$(dirname "$0")/lib.sh"
require_root socat jq

G1=10.202.0.1
G2=10.202.0.2

make_ns 1 2 3 4 out
veth 1 gw0 out up0
ip -n "$(ns 1)" addr add 10.205.0.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.0.2/24 dev up0
ip -n "$(ns out)" route add $G1/32 dev up0	# on-link: ARP for each
ip -n "$(ns out)" route add $G2/32 dev up0
printf '[global]\naddress = %s, %s\n' $G1 $G2 > "$T_DIR/node3.conf"
printf '[global]\naddress = %s\n' $G2 > "$T_DIR/node4.conf"
start_node 1 --set global.gateway=gw0
start_node 2
start_node 3 --config "$T_DIR/node3.conf"
start_node 4 --config "$T_DIR/node4.conf"
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3 4; do
	bg_ns $n socat TCP-LISTEN:7400,fork,reuseaddr SYSTEM:"echo node$n"
done
for n in 1 2; do
	bg_ns $n socat TCP-LISTEN:7401,fork,reuseaddr SYSTEM:"echo node$n"
done
bg_ns 3 socat TCP-LISTEN:7401,bind=$G2,fork,reuseaddr SYSTEM:"echo node3"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 7400 or .port == 7401)] | length')" = 7 ] && break
	sleep 0.1
done
ctl --json listeners | jq -e ".[] | select(.node == 3 and .port == 7401 and
    .address == \"$G2\")" >/dev/null || fail "listeners: $(ctl listeners)"
say "node 3's socket bound to G2 is published with G2's address"

# tally NODE ADDR PORT N: N sequential connections from node NODE to
# ADDR:PORT, the answers counted by node
tally() {
	in_ns "$1" bash -c 'for i in $(seq '"$4"'); do
		exec 3<>/dev/tcp/'"$2/$3"' || continue
		read -r -t 3 line <&3 && echo "$line"; exec 3>&-
	done' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}

got=$(tally 4 $G1 7400 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] ||
    fail "30 connections from node 4 to G1:7400 were answered $got"
say "G1:7400 from node 4 -> $got"
got=$(tally 1 $G2 7400 30)
[ "$got" = "node3=15 node4=15 " ] ||
    fail "30 connections from node 1 to G2:7400 were answered $got"
say "G2:7400 from node 1 -> $got"
got=$(tally 4 $G1 7401 10)
[ "$got" = "node1=5 node2=5 " ] ||
    fail "10 connections to G1:7401 were answered $got (node 3 binds G2)"
got=$(tally 1 $G2 7401 10)
[ "$got" = "node3=10 " ] ||
    fail "10 connections to G2:7401 were answered $got"
say "a socket bound to G2 serves G2 only: G1:7401 nodes 1 and 2, G2:7401 node 3"

ctl --json services > "$T_DIR/services.json"
svc() { echo ".[] | select(.address == \"$1\" and .port == $2 and .proto == \"tcp\")"; }
for nf in 1:10 2:10 3:10; do
	IFS=: read -r n f <<<"$nf"
	jq -e "$(svc $G1 7400) | .backends[] | select(.node == $n and
	    .flows == $f)" "$T_DIR/services.json" >/dev/null ||
	    fail "services: G1:7400 node $n: $(jq -c "$(svc $G1 7400)" "$T_DIR/services.json")"
done
for nf in 3:15 4:15; do
	IFS=: read -r n f <<<"$nf"
	jq -e "$(svc $G2 7400) | .backends[] | select(.node == $n and
	    .flows == $f)" "$T_DIR/services.json" >/dev/null ||
	    fail "services: G2:7400 node $n: $(jq -c "$(svc $G2 7400)" "$T_DIR/services.json")"
done
[ "$(jq "$(svc $G1 7400) | .backends | length" "$T_DIR/services.json")" = 3 ] &&
    [ "$(jq "$(svc $G2 7400) | .backends | length" "$T_DIR/services.json")" = 2 ] ||
    fail "services: $(jq -c . "$T_DIR/services.json")"
[ "$(jq "$(svc $G2 7401) | .backends | map(.node)" -c "$T_DIR/services.json")" = "[3]" ] ||
    fail "services: G2:7401 $(jq -c "$(svc $G2 7401)" "$T_DIR/services.json")"
ctl services | grep -q "^tcp   $G1:7400 " && ctl services | grep -q "^tcp   $G2:7400 " ||
    fail "services text: $(ctl services)"
say "services: G1:7400 on nodes 1-3, G2:7400 on nodes 3 and 4, apart"

# one source port to both addresses at once: two flows
in_ns 2 socat -T 5 - TCP:$G1:7400,sourceport=45000,reuseaddr >/dev/null &
a=$!
in_ns 2 socat -T 5 - TCP:$G2:7400,sourceport=45000,reuseaddr >/dev/null &
b=$!
wait $a; wait $b
ctl --json conns > "$T_DIR/conns.json"
[ "$(jq '[.[] | select(.fport == 45000 and .lport == 7400)] | length' \
    "$T_DIR/conns.json")" = 2 ] || fail "conns: $(jq -c '.[] | select(.fport == 45000)' "$T_DIR/conns.json")"
jq -e ".[] | select(.fport == 45000 and .local == \"$G2\" and
    (.node == 3 or .node == 4))" "$T_DIR/conns.json" >/dev/null ||
    fail "conns: the flow to G2 $(jq -c '.[] | select(.fport == 45000)' "$T_DIR/conns.json")"
say "port 45000 to G1 and to G2: two flows"

[ "$(ctl --json conns --service $G2:7400 --count | jq .flows)" = 31 ] &&
    [ "$(ctl --json conns --service $G1:7400/tcp --count | jq .flows)" = 31 ] &&
    [ "$(ctl --json conns --service 0.0.0.0:7400 --count | jq .flows)" = 62 ] ||
    fail "conns --service by address: $(ctl --json conns --service $G2:7400 --count | jq -c .) $(ctl --json conns --service $G1:7400/tcp --count | jq -c .) $(ctl --json conns --service 0.0.0.0:7400 --count | jq -c .)"
say "conns --service tells G1:7400 from G2:7400"

ctl --json addresses > "$T_DIR/addresses.json"
for ab in $G1:1-3 $G2:3-4; do
	IFS=: read -r a b <<<"$ab"
	jq -e ".[] | select(.address == \"$a\" and .carried_by == \"$b\" and
	    .family == 4)" "$T_DIR/addresses.json" >/dev/null ||
	    fail "addresses: $(ctl addresses)"
done
[ "$(jq length "$T_DIR/addresses.json")" = 2 ] || fail "addresses: $(ctl addresses)"
say "addresses: G1 on nodes 1-3, G2 on nodes 3-4"

in_ns 1 ping -c 1 -W 2 -q $G2 >/dev/null || fail "node 1 cannot ping G2"
in_ns 4 ping -c 1 -W 2 -q $G1 >/dev/null || fail "node 4 cannot ping G1"
say "node 1 pings G2, node 4 G1"

# the gateway (node 1, G1 only) answers ARP for both and carries both in
got=$(tally out $G2 7400 20)
[ "$got" = "node3=10 node4=10 " ] ||
    fail "20 outside connections to G2:7400 by the gateway were answered $got"
got=$(tally out $G1 7400 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] ||
    fail "30 outside connections to G1:7400 were answered $got"
gwmac=$(ip -n "$(ns 1)" -j link show gw0 | jq -r '.[0].address')
for a in $G1 $G2; do
	[ "$(ip -n "$(ns out)" -j neigh show $a | jq -r '.[0].lladdr')" = "$gwmac" ] ||
	    fail "outside resolves $a to $(ip -n "$(ns out)" neigh show $a)"
done
say "outside, by the gateway that carries G1 only: G2:7400 -> node3=10 node4=10, G1:7400 10 each"

# 15 more addresses do not fit the table (16 in all): refused, no index
# taken
make_ns 5
many=$(seq -s, -f '10.202.1.%g' 15)
start_node 5 --set "global.address=$many"
wait "${T_PIDS[5]}" && fail "node 5 started with 17 cluster addresses"
T_PIDS[5]=""
grep -q "this node's 15 new ones do not fit" "$T_DIR/node5.log" ||
    fail "node 5 did not say why: $(tail -3 "$T_DIR/node5.log")"
[ "$(ctl --json addresses | jq length)" = 2 ] ||
    fail "a refused node left addresses behind: $(ctl addresses)"
say "a node whose addresses do not fit is refused, and takes none"
say "PASS"
