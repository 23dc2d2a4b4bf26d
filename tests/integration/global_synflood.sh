#!/bin/bash
# A SYN flood through a gateway denies no one: node 1 is the gateway
# (veth gw0 to the namespace "out"), nodes 1-3 serve G:8080 and G:9090.
# From "out", tests/rawip sends SYNs to G:8080 from spoofed sources of
# 10.207.0.0/16, FLOOD_PPS a second (default 50000: 7 times the
# connection table of 7168 flows each second; 0 = as fast as the machine
# sends), until the gateway has seen more than ten times the table's size
# in new flows and FLOOD_PROBES probes are done.  Meanwhile
#  - a client in "out" opens a new connection to G:8080 every 100 ms and
#    reads its answer: every one succeeds (within 5 s);
#  - a connection to G:9090 made before the flood echoes a line every
#    100 ms throughout: it is never reset and never loses a line.
# The default rate is well below what a 2-CPU machine's gateway routes
# (about 250000 a second here): a flood beyond that makes the gateway
# drop every client's packets alike before it reads them (TCP's retries
# then take longer than the 5 s), which is packet-rate overload, not
# what this test is about.  The flooder runs at nice 19: an attacker's
# CPU is not the gateway's.
. "$(dirname "$0")/lib.sh"
require_root socat jq
[ -x "$RAWIP" ] || fail "no rawip"
G=10.202.0.1
SLOTS=7168
PROBES=${FLOOD_PROBES:-40}
PPS=${FLOOD_PPS:-50000}

make_ns 1 2 3 out
veth 1 gw0 out up0
ip -n "$(ns 1)" addr add 10.205.0.1/24 dev gw0
ip -n "$(ns out)" addr add 10.205.0.2/24 dev up0
ip -n "$(ns out)" route add $G/32 dev up0		# on-link: ARP for G
# answers to the spoofed sources go back to "out", which drops them
ip -n "$(ns 1)" route add 10.207.0.0/16 via 10.205.0.2

T_ARGS=(--set global.connections=$SLOTS)	# whichever node creates it
start_node 1 --set global.gateway=gw0
start_node 2
start_node 3
for n in 1 2 3; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
	bg_ns $n socat TCP-LISTEN:9090,fork,reuseaddr EXEC:cat
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080 or .port == 9090)] | length')" = 6 ] && break
	sleep 0.1
done
[ "$(ctl --json status | jq .flow_slots)" = $SLOTS ] || fail "table size"

# probe: one new connection to G:8080 from "out"; prints the answer
probe() {
	in_ns out timeout 6 bash -c "exec 3<>/dev/tcp/$G/8080 &&
	    read -r -t 5 l <&3 && echo \$l" 2>/dev/null
}
probe | grep -q '^node' || fail "no answer from G:8080 before the flood"

# the established connection, kept open in a coprocess
coproc EST { in_ns out socat - TCP:$G:9090; }
T_PIDS+=($EST_PID)
echo hello >&"${EST[1]}"
read -r -t 5 line <&"${EST[0]}" && [ "$line" = hello ] ||
    fail "no echo on G:9090 before the flood"

bg_out out "$T_DIR/flood.out" nice -n 19 "$RAWIP" flood $G 8080 10.207.0.0 120 "$PPS"
FLOOD=$BG_PID
diag() {	# what the nodes counted, when a check fails
	ctl --json nodes | jq -c '.[] | {id, tx_frames, rx_frames, drop_full,
	    drop_tap, drop_down, global_unrouted, global_foreign}' >&2
	ctl --json status | jq -c '{flows, flows_evicted, flows_refused}' >&2
	ctl --json conns | jq -c '.[] | select(.lport == 9090)' >&2
	kill "$FLOOD"; wait "$FLOOD"; echo "flooder: $(cat "$T_DIR/flood.out")" >&2
}
new_flows() {	# new flows the gateway saw: recorded, evicted or not
	ctl --json status | jq '.flows + .flows_evicted + .flows_refused'
}
ok=0 bad=0 echoes=0 maxms=0 i=0
while :; do
	i=$((i + 1))
	t0=$(date +%s%N)
	if probe | grep -q '^node'; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $ms -gt $maxms ] && maxms=$ms
	echo "line $i" >&"${EST[1]}" 2>/dev/null || fail "G:9090 closed under the flood"
	read -r -t 5 line <&"${EST[0]}" && [ "$line" = "line $i" ] ||
	    { diag; fail "G:9090 lost line $i under the flood (got '${line:-nothing}')"; }
	echoes=$((echoes + 1))
	if [ $i -ge "$PROBES" ] && [ "$(new_flows)" -ge $((10 * SLOTS)) ]; then
		break
	fi
	[ $i -ge 600 ] && { diag; fail "the gateway saw only $(new_flows) new flows in $i probes (< 10 x $SLOTS)"; }
	sleep 0.1
done
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null
st=$(ctl --json status)
say "flood: $(cat "$T_DIR/flood.out") SYNs sent, $(new_flows) new flows seen by the" \
    "gateway (table $SLOTS: $(jq .flows <<<"$st") in it, $(jq .flows_evicted <<<"$st")" \
    "evicted, $(jq .flows_refused <<<"$st") not recorded)"
say "during it: $ok of $i new connections answered (slowest $maxms ms)," \
    "$echoes of $i lines echoed on the established one"
[ $bad = 0 ] || fail "$bad of $i new connections to G:8080 failed under the flood"
[ "$(jq .flows_evicted <<<"$st")" -gt 0 ] || fail "nothing evicted: was the table full?"
probe | grep -q '^node' || fail "no answer from G:8080 after the flood"
exec {EST[1]}>&-
say "PASS"
