#!/bin/bash
# No node can inject into, or tear down, a flow another node serves.
# Node 1 is the gateway (veth gw0 to "out"); only node 2 serves G:8080
# (TCP echo) and G:5353 (UDP).  A client in "out" holds a TCP connection
# and a UDP flow to G.  From node 3, tests/rawip writes into shmg0, as a
# process with CAP_NET_RAW there could: a RST and a UDP datagram "from
# G" to the client, and a RST "from the client" to G.  Node 3's daemon
# drops all three and counts them as foreign; the client receives
# nothing, both flows stay established and keep working.
. "$(dirname "$0")/lib.sh"
require_root socat jq ss
[ -x "$RAWIP" ] && [ -x "$UDPSRV" ] || fail "no rawip/udpsrv"
G=10.202.0.1
C=10.205.0.2

make_ns 1 2 3 out
veth 1 gw0 out up0
ip -n "$(ns 1)" addr add 10.205.0.1/24 dev gw0
ip -n "$(ns out)" addr add $C/24 dev up0
ip -n "$(ns out)" route add $G/32 dev up0
start_node 1 --set global.gateway=gw0
start_node 2
start_node 3
for n in 1 2 3; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
bg_ns 2 socat TCP-LISTEN:8080,fork,reuseaddr EXEC:cat
bg_ns 2 "$UDPSRV" 5353 node2
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080 or .port == 5353)] | length')" = 2 ] && break
	sleep 0.1
done

coproc TCPC { in_ns out socat - TCP:$G:8080; }
T_PIDS+=($TCPC_PID)
coproc UDPC { in_ns out socat - UDP:$G:5353,sourceport=47000; }
T_PIDS+=($UDPC_PID)
echo one >&"${TCPC[1]}"
read -r -t 5 l <&"${TCPC[0]}" && [ "$l" = one ] || fail "no TCP echo from G:8080"
echo one >&"${UDPC[1]}"
read -r -t 5 l <&"${UDPC[0]}" && [ "$l" = node2 ] || fail "no UDP answer from G:5353 ($l)"
fport=$(in_ns out ss -tnH state established dst $G | awk '{ print $3 }' |
    sed 's/.*://' | head -1)
[ -n "$fport" ] || fail "no client port"

flow() {	# the state of the client's flow to G:$1
	ctl --json conns | jq -r ".[] | select(.lport == $1 and .foreign == \"$C\") | .state"
}
foreign() { ctl --json nodes | jq ".[] | select(.id == 3) | .global_foreign"; }
[ "$(flow 8080)" = established ] || fail "TCP flow: $(flow 8080)"
[ "$(foreign)" = 0 ] || fail "foreign before: $(foreign)"

in_ns 3 "$RAWIP" send shmg0 $G 8080 $C "$fport" tcp 4 || fail "rawip RST from G"
in_ns 3 "$RAWIP" send shmg0 $G 5353 $C 47000 udp 5 || fail "rawip UDP from G"
in_ns 3 "$RAWIP" send shmg0 $C "$fport" $G 8080 tcp 4 || fail "rawip RST to G"
for _ in $(seq 20); do [ "$(foreign)" = 3 ] && break; sleep 0.1; done
[ "$(foreign)" = 3 ] || fail "node 3 counted $(foreign) foreign packets, not 3"
l=; read -r -t 1 l <&"${UDPC[0]}"	# the injected one has no newline
[ -z "$l" ] || fail "the client received an injected datagram ($l)"
[ "$(flow 8080)" = established ] || fail "TCP flow became $(flow 8080)"
[ "$(flow 5353)" = udp ] || fail "UDP flow: $(flow 5353)"
echo two >&"${TCPC[1]}"
read -r -t 5 l <&"${TCPC[0]}" && [ "$l" = two ] || fail "TCP flow broken after the RSTs"
echo two >&"${UDPC[1]}"
read -r -t 5 l <&"${UDPC[0]}" && [ "$l" = node2 ] || fail "UDP flow broken ($l)"
grep -q "dropped a packet from G of a flow node 2 serves" "$T_DIR/node3.log" ||
    fail "node 3 did not say why it dropped"
say "node 3's RST and datagram from G and RST to G: dropped, counted as foreign (3);" \
    "the client saw none, its flows stayed established"
say "PASS"
