#!/bin/bash
# A wildcard UDP socket's routing rules go in without a gap.  For a UDP
# socket bound to the wildcard address the global network publishes
# "iif lo ipproto udp sport PORT lookup <global table>", and while any
# such rule exists, one before it that keeps datagrams to directly
# connected networks on the main table (suppress_prefixlength 0).  An
# unconnected socket routes every datagram anew, and a UDP client bound to
# the wildcard address is such a socket: when the port's rule came first,
# the datagram sent in between to a node of shm0 left through the global
# interface and was lost (bench/ab's pp1, a sockperf ping-pong with both
# ends on one CPU, stalled in about 4 runs of 10 that way, as sockperf
# does not resend).  Watched with `ip monitor rule` in node 2's namespace:
#  - the main-table rule is added before the port's rule;
#  - the port's rule is deleted before the main-table rule.
# Then node 2's daemon is killed while the rules are in: they stay, and a
# new daemon removes them as it starts (no socket serves the port now).
. "$(dirname "$0")/lib.sh"
require_root socat
PORT=9201
start_cluster 1 2
in_ns 2 ip rule | grep -q suppress_prefixlength &&
	fail "setup: node 2 already has a wildcard UDP socket's rules"
bg_out 2 "$T_DIR/rules.log" ip monitor rule
sleep 0.3
bg_ns 2 socat -u UDP-RECV:$PORT /dev/null
udp=${T_PIDS[-1]}
# seen RE: a line of the monitor's log matches RE within 5 s
seen() {
	local _
	for _ in $(seq 100); do
		grep -q -E "$1" "$T_DIR/rules.log" && return 0
		sleep 0.05
	done
	return 1
}
# line RE: the number of the first line of the log matching RE
line() { grep -n -m1 -E "$1" "$T_DIR/rules.log" | cut -d: -f1; }
seen "^[0-9]+:.*sport $PORT " || fail "no rule for UDP port $PORT within 5 s"
seen "^[0-9]+:.*suppress_prefixlength 0" ||
	fail "no main-table rule beside the rule for port $PORT"
add_main=$(line "^[0-9]+:.*suppress_prefixlength 0")
add_port=$(line "^[0-9]+:.*sport $PORT ")
say "added: main-table rule at line $add_main, port rule at line $add_port"
[ "$add_main" -lt "$add_port" ] ||
	fail "the rule for port $PORT came before the main-table rule"
kill "$udp"
seen "^Deleted.*suppress_prefixlength 0" ||
	fail "the main-table rule stayed after the last wildcard UDP socket closed"
del_port=$(line "^Deleted.*sport $PORT ")
del_main=$(line "^Deleted.*suppress_prefixlength 0")
say "deleted: port rule at line ${del_port:-none}, main-table rule at line $del_main"
[ -n "$del_port" ] && [ "$del_port" -lt "$del_main" ] ||
	fail "the main-table rule went before the rule for port $PORT"

# port_rules: node 2's per-port UDP rules and the main-table rule
port_rules() { in_ns 2 ip rule | grep -c -E "sport $PORT |suppress_prefixlength 0"; }
bg_ns 2 socat -u UDP-RECV:$PORT /dev/null
udp=${T_PIDS[-1]}
for _ in $(seq 100); do [ "$(port_rules)" = 2 ] && break; sleep 0.05; done
[ "$(port_rules)" = 2 ] || fail "no rules for port $PORT the second time"
stop_node 2 KILL
kill "$udp"
sleep 0.3
[ "$(port_rules)" = 2 ] || fail "the rules went with the killed daemon?"
start_node 2
wait_state 2 up 5 >/dev/null || fail "node 2 not up again"
[ "$(port_rules)" = 0 ] ||
	fail "$(port_rules) rules a killed daemon left are still there"
grep -q "removed 2 UDP port rules a previous daemon left" "$T_DIR"/node2.log ||
	fail "node 2 did not say it removed the rules"
say "rules a killed daemon left: removed by the next one as it started"
exit 0
