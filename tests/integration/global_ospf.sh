#!/bin/bash
# Routed gateways announce G over OSPF, and a router spreads outside
# clients over them.  Nodes 1 and 2 are gateways in route mode, each with a
# link (gw0) to the router (gw1, gw2) and the routing daemon of conf/ beside
# it (BIRD 2, or FRR with ROUTING=frr); the client is behind the router;
# nodes 3 and 4 serve G.
#  - no listener anywhere: the router has no route to G (BIRD); listeners
#    on nodes 3 and 4: a route with two next hops, one per gateway;
#  - 200 connections from the client are all served and enter by both
#    gateways;
#  - 20 long-lived connections echo a line every 0.1 s; kill -9 of gateway
#    1 (its shmnetd and its routing daemon): the router is down to one next
#    hop within $WITHDRAW_MS, every connection goes on, none is reset, and
#    new connections fail for at most $OUTAGE_MS;
#  - gateway 1 restarted: back in the route, and new connections enter by
#    it again;
#  - the listeners go: the route goes; one comes back: so does the route
#    (BIRD only: FRR 8.4 announces G while shmnetd runs, conf/frr-gateway.conf).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/routers.sh"
require_root socat jq
require_routing
# BIRD announces the route shmnetd keeps while a node listens; FRR 8.4 can
# only announce shmg0's address, while shmnetd runs (conf/frr-gateway.conf)
LISTENERS=yes
[ "$ROUTING" = frr ] && LISTENERS=no
G=10.202.0.1
C=10.207.0.1
# measured with routing_ecmp.sh (ROUNDS=5 SETTLE=6): BFD's 300 ms and at
# most 1 s of OSPF (BIRD's tick; FRR ospfd's external route computation),
# 0.3-1.3 s; the bounds leave room for a loaded machine
WITHDRAW_MS=${WITHDRAW_MS:-2500}
OUTAGE_MS=${OUTAGE_MS:-3000}
GW=(--set global.gateway=gw0 --set global.gateway-mode=route)

make_ns 1 2 3 4 router client
for n in 1 2; do
	veth $n gw0 router gw$n
	ip -n "$(ns $n)" addr add 10.205.$n.1/24 dev gw0
	ip -n "$(ns router)" addr add 10.205.$n.2/24 dev gw$n
done
veth router cl0 client up0
ip -n "$(ns router)" addr add 10.207.0.254/24 dev cl0
ip -n "$(ns client)" addr add $C/24 dev up0
ip -n "$(ns client)" route add default via 10.207.0.254
in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1

for n in 1 2; do start_node $n "${GW[@]}"; done
start_node 3
start_node 4
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
gw_start 1
gw_start 2
router_start router "$(router_conf router router)"

# the gateways learn the way to the client: OSPF is up
for n in 1 2; do
	wait_nexthops $n 10.207.0.0/24 1 20 >/dev/null ||
	    fail "gateway $n learnt no route to the client: $(router_cmd $n show route)"
done
if [ $LISTENERS = yes ]; then
	sleep 1.5 # a daemon's tick or two: nothing to announce yet
	[ "$(route_nexthops router $G/32)" = 0 ] ||
	    fail "a route to G with no listener: $(ip -n "$(ns router)" route show $G) $(ctl listeners)"
	say "no listener: the router has no route to G"
fi

# servers on nodes 3 and 4: 7100 answers one line, 7101 echoes lines,
# 7102 answers one line (for the connections after the restart)
for n in 3 4; do
	bg_ns $n socat TCP-LISTEN:7100,fork,reuseaddr SYSTEM:"echo node$n"
	L[$n]="$!"
	bg_ns $n socat TCP-LISTEN:7101,fork,reuseaddr \
	    SYSTEM:"while read -r l; do echo node$n \$l; done"
	L[$n]+=" $!"
	bg_ns $n socat TCP-LISTEN:7102,fork,reuseaddr SYSTEM:"echo node$n"
	L[$n]+=" $!"
done
ms=$(wait_nexthops router $G/32 2 15) || {
	router_dump router 1 2; fail "no ECMP route to G: $(ip -n "$(ns router)" route show $G)"; }
say "listeners on nodes 3 and 4: G with two next hops at the router after $ms ms"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port >= 7100 and .port <= 7102)] | length')" = 6 ] &&
	    break
	sleep 0.1
done

# connect PORT N: N connections from the client to G:PORT, one at a
# time; prints who served each ("FAIL" for none)
connect() {
	in_ns client bash -c 'for i in $(seq '"$2"'); do
		if exec 3<>/dev/tcp/'$G'/'"$1"' && read -r -t 3 l <&3; then
			echo "$l"
		else echo FAIL; fi
		exec 3>&-
	done' 2>/dev/null
}
# ingress PORT GW: flows to G:PORT in the connection table that entered by GW
ingress() {
	ctl --json conns --service "$1" | jq "[.[] | select(.ingress == $2)] | length"
}
got=$(connect 7100 200 | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
case "$got" in *FAIL*) fail "200 connections to G: $got" ;; esac
in1=$(ingress 7100 1) in2=$(ingress 7100 2)
[ "$in1" -ge 20 ] && [ "$in2" -ge 20 ] ||
    fail "200 connections entered by gateway 1 $in1 times, by gateway 2 $in2"
say "200 connections to G served ($got), entered by gateway 1 $in1 and 2 $in2 times"

# 20 connections from the client, each echo checked (long_conn)
for i in $(seq 20); do long_conn client $i TCP:$G:7101; done
# rsts: TCP resets the stack of gateway 1's namespace sent (a flow of G
# that its kernel took for its own, with shmnetd gone)
rsts() {
	in_ns 1 nstat -saz TcpOutRsts | awk '/TcpOutRsts/ { print $2 }'
}
progress_why() {
	echo "gateway 1 sent $(rsts) TCP resets; $(ctl conns --service 7101)"
}
progress 5 $(seq 20)
in1=$(ingress 7101 1)
[ "$in1" -ge 1 ] && [ "$in1" -le 19 ] ||
    fail "$in1 of 20 long-lived connections entered by gateway 1"
say "20 long-lived connections, $in1 of them entering by gateway 1"

# new connections, one every 50 ms, each line "START_MS END_MS ok|fail",
# until $T_DIR/stop_probe
bg_out client "$T_DIR/probe" bash -c '
	while [ ! -e '"$T_DIR"'/stop_probe ]; do
		t0=${EPOCHREALTIME/./}
		if timeout 2 bash -c "exec 3<>/dev/tcp/'$G'/7100 && read -r -t 2 l <&3 && [ -n \"\$l\" ]" 2>/dev/null
		then r=ok; else r=fail; fi
		echo "$(( t0 / 1000 )) $(( ${EPOCHREALTIME/./} / 1000 )) $r"
		sleep 0.05
	done'
PROBE=$BG_PID
sleep 1

# BFD up to both gateways, for IPv4 and IPv6
wait_bfd router 4 10 || fail "$(bfd_up router) BFD sessions up at the router, not 4"
# the whole gateway 1 dies: its shmnetd and its routing daemons
rt_mark
kill -KILL "$(daemon_pid 1)" ${RT_PIDS[1]}
ms=$(wait_nexthops router $G/32 1 10) ||
    fail "the router keeps gateway 1: $(ip -n "$(ns router)" route show $G)"
rt_unmark
wait "${T_PIDS[1]}" 2>/dev/null
T_PIDS[1]=""
router_kill 1
[ "$ms" -le "$WITHDRAW_MS" ] ||
    fail "gateway 1 left the router's route after $ms ms (bound $WITHDRAW_MS)"
say "kill -9 of gateway 1: one next hop left at the router after $ms ms"
progress 10 $(seq 20)
say "all 20 connections go on"
sleep 1
touch "$T_DIR/stop_probe"
wait "$PROBE"
# the longest time from a failed attempt's start to the end of the last
# failure after it with no success in between
out=$(awk '$3 == "fail" { if (!s) s = $1; e = $2 }
	$3 == "ok" && s { if (e - s > m) m = e - s; s = 0 }
	END { if (s && e - s > m) m = e - s; print m + 0 }' "$T_DIR/probe")
n=$(grep -c ok "$T_DIR/probe")
slow=$(awk '$3 == "ok" && $2 - $1 > m { m = $2 - $1 } END { print m + 0 }' "$T_DIR/probe")
[ "$out" -le "$OUTAGE_MS" ] ||
    fail "new connections failed for $out ms (bound $OUTAGE_MS): $(grep -c fail "$T_DIR/probe") failures"
[ "$(tail -3 "$T_DIR/probe" | grep -c ok)" = 3 ] ||
    fail "new connections still fail: $(tail -3 "$T_DIR/probe")"
say "new connections: $n served (the slowest in $slow ms), none failing for more than $out ms"

start_node 1 "${GW[@]}"
wait_state 1 up 5 >/dev/null || fail "node 1 not up again"
rt_mark
gw_start 1
ms=$(wait_nexthops router $G/32 2 20) ||
    fail "gateway 1 is not back in the route: $(ip -n "$(ns router)" route show $G)"
rt_unmark
say "gateway 1 restarted: two next hops again after $ms ms"
# BIRD may drop it again for a few seconds, while the restarted gateway's
# LSAs replace those it announced before it died (each router originates
# an LSA at most once in 5 s): connect until gateway 1 has taken some
n=0
for _ in $(seq 15); do
	got=$(connect 7102 20 | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
	case "$got" in *FAIL*) fail "20 connections after the restart: $got" ;; esac
	n=$((n + 20))
	in1=$(ingress 7102 1)
	[ "$in1" -ge 5 ] && break
	sleep 0.5
done
[ "$in1" -ge 5 ] || fail "gateway 1 took $in1 of $n new connections after its restart"
say "after the restart: $n connections served, $in1 entering by gateway 1"
progress 5 $(seq 20)

touch "$T_DIR/stop"
for i in $(seq 20); do
	wait "${CONN[$i]}" || fail "connection $i: $(cat "$T_DIR/conn$i")"
done
grep -q BROKEN "$T_DIR"/conn* && fail "a connection broke"
say "all 20 connections ended as they should"

if [ $LISTENERS = no ]; then
	say "FRR announces G while shmnetd runs, with or without listeners"
	say "PASS"
	exit 0
fi
# the listeners go: no node can deliver, so no gateway announces G
for n in 3 4; do
	for p in ${L[$n]}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
done
ms=$(wait_nexthops router $G/32 0 10) ||
    fail "G stays announced with no listener: $(ip -n "$(ns router)" route show $G)"
say "no listener left: G withdrawn from the router after $ms ms"
bg_ns 3 socat TCP-LISTEN:7100,fork,reuseaddr SYSTEM:"echo node3"
ms=$(wait_nexthops router $G/32 2 15) ||
    fail "a listener came back and G did not: $(ip -n "$(ns router)" route show $G)"
[ "$(connect 7100 1)" = node3 ] || fail "G not served by the new listener"
say "a listener on node 3: G announced by both gateways again after $ms ms"
say "PASS"
