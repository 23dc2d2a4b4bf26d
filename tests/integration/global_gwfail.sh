#!/bin/bash
# Flows outlive their gateway, and a restart of their server's daemon.
# Nodes 1 and 2 are gateways, each with a link to the client's namespace
# (out); nodes 3 and 4 serve G:7100.  The client (10.207.0.1, on its
# loopback) reaches G by gateway 1, and keeps 10 connections busy, each
# echoing a line every 0.1 s:
#  - kill -9 gateway 1, and the client's route moves to gateway 2 (as a
#    routing daemon's would): every connection goes on, none is reset;
#    the flows now enter by gateway 2;
#  - SIGTERM node 3's daemon and start it again (an upgrade): its
#    connections go on too.
. "$(dirname "$0")/lib.sh"
require_root socat jq
G=10.202.0.1
C=10.207.0.1

make_ns 1 2 3 4 out
veth 1 gw0 out up1
ip -n "$(ns 1)" addr add 10.205.1.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.1.2/24 dev up1
veth 2 gw0 out up2
ip -n "$(ns 2)" addr add 10.205.2.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.2.2/24 dev up2
ip -n "$(ns out)" addr add $C/32 dev lo
ip -n "$(ns 1)" route add $C/32 via 10.205.1.2
ip -n "$(ns 2)" route add $C/32 via 10.205.2.2
ip -n "$(ns out)" route add $G/32 dev up1 src $C

start_node 1 --set global.gateway=gw0
start_node 2 --set global.gateway=gw0
start_node 3
start_node 4
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 3 4; do
	bg_ns $n socat TCP-LISTEN:7100,fork,reuseaddr \
	    SYSTEM:"while read -r l; do echo node$n \$l; done"
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 7100)] | length')" = 2 ] && break
	sleep 0.1
done

# 10 connections from the client, each echo checked (long_conn)
for i in $(seq 10); do long_conn out $i TCP:$G:7100,bind=$C; done
progress_why() { ctl conns --service 7100; }
progress 5 $(seq 10)
on3=$(grep -l "served by node3" "$T_DIR"/conn* | wc -l)
[ "$on3" -ge 1 ] && [ "$on3" -le 9 ] || fail "node 3 serves $on3 of 10"
[ "$(ctl --json conns --service 7100 | jq '[.[] | select(.ingress == 1)] | length')" = 10 ] ||
    fail "not all 10 flows entered by gateway 1: $(ctl conns)"
say "10 connections to G by gateway 1, $on3 served by node 3"

stop_node 1 KILL
ip -n "$(ns out)" route replace $G/32 dev up2 src $C
progress 10 $(seq 10)
for _ in $(seq 30); do
	[ "$(ctl --json conns --service 7100 | jq '[.[] | select(.ingress == 2)] | length')" = 10 ] && break
	sleep 0.1
done
[ "$(ctl --json conns --service 7100 | jq '[.[] | select(.ingress == 2)] | length')" = 10 ] ||
    fail "the flows were not taken over by gateway 2: $(ctl conns)"
say "kill -9 of gateway 1: all 10 connections go on, now entering by gateway 2"

stop_node 3
start_node 3
wait_state 3 up 5 >/dev/null || fail "node 3 not up again"
progress 10 $(seq 10)
say "node 3's daemon restarted: all 10 connections go on ($on3 of them its own)"

touch "$T_DIR/stop"
for i in $(seq 10); do
	wait "${CONN[$i]}" || fail "connection $i: $(cat "$T_DIR/conn$i")"
done
say "PASS"
