#!/bin/bash
# An operator's day with the cluster address, while a client connects to
# G without pause and counts every failure:
#  - drain node 2, wait until services says drained, stop its daemon
#    (an upgrade), start it again: it takes new flows again at once, as
#    its configuration says, and the client saw no error;
#  - node 3's daemon stops answering (SIGSTOP; it lives, its heartbeat
#    stands still): within 6 s the others give it no new flow, and the
#    client saw no error; SIGCONT brings it back.
. "$(dirname "$0")/lib.sh"
require_root socat jq

G=10.202.0.1
T_ARGS=(--set global.tcp-closing-timeout=1)

start_cluster 1 2 3 4
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080)] | length')" = 3 ] && break
	sleep 0.1
done

# the client: connections to G:8080 one after another until $T_DIR/stop
# exists; each answer's node, or "error", on a line of $T_DIR/client
bg_out 4 "$T_DIR/client" bash -c 'while [ ! -e '"$T_DIR"'/stop ]; do
	line=$(socat -u -T 3 TCP:'"$G"':8080,connect-timeout=2 - 2>/dev/null)
	echo "${line:-error}"
	sleep 0.02
done'
CLIENT=$BG_PID
# served N: the nodes that answered the client's last N connections
served() { tail -n "$1" "$T_DIR/client" | sort -u | tr '\n' ' '; }
# wait_client N: N more answers
wait_client() {
	local want=$(($(wc -l < "$T_DIR/client") + $1))
	for _ in $(seq 100); do
		[ "$(wc -l < "$T_DIR/client")" -ge "$want" ] && return
		sleep 0.1
	done
	fail "the client stopped answering: $(tail -3 "$T_DIR/client")"
}
wait_client 30
[ "$(served 30)" = "node1 node2 node3 " ] || fail "before: $(served 30)"

ctl drain 2 >/dev/null || fail "drain 2"
wait_client 3	# a connection given to node 2 just before may answer
wait_client 30
[ "$(served 30)" = "node1 node3 " ] || fail "drained: $(served 30)"
for _ in $(seq 50); do
	ctl --json services | jq -e '.[] | select(.port == 8080) | .backends[] |
	    select(.node == 2 and .state == "drained")' >/dev/null && break
	sleep 0.1
done
ctl --json services | jq -e '.[] | select(.port == 8080) | .backends[] |
    select(.node == 2 and .state == "drained")' >/dev/null ||
    fail "node 2 not drained: $(ctl services)"
stop_node 2
wait_client 20
start_node 2
wait_state 2 up 5 >/dev/null || fail "node 2 not up again"
for _ in $(seq 100); do
	tail -n 3 "$T_DIR/client" | grep -q node2 && break
	sleep 0.1
done
wait_client 30
[ "$(served 30)" = "node1 node2 node3 " ] || fail "after the restart: $(served 30)"
grep -q error "$T_DIR/client" && fail "the client saw $(grep -c error "$T_DIR/client") errors"
say "drain 2, drained, stopped, started: back in rotation; $(wc -l < "$T_DIR/client") connections, no error"

kill -STOP "$(daemon_pid 3)"
for _ in $(seq 80); do
	grep -q "node 3 stopped answering" "$T_DIR/node4.log" && break
	sleep 0.1
done
grep -q "node 3 stopped answering" "$T_DIR/node4.log" ||
    { kill -CONT "$(daemon_pid 3)"; fail "node 4 did not see node 3 stop answering"; }
wait_client 3	# a connection given to node 3 just before may still fail
wait_client 30
got=$(served 30)
kill -CONT "$(daemon_pid 3)"
[ "$got" = "node1 node2 " ] || fail "node 3 stopped: $got"
say "node 3 stopped: the others give it no new flow ($got)"
for _ in $(seq 60); do
	grep -q "node 3 answers again" "$T_DIR/node4.log" && break
	sleep 0.1
done
wait_client 30
[ "$(served 30)" = "node1 node2 node3 " ] || fail "node 3 continued: $(served 30)"
touch "$T_DIR/stop"
wait "$CLIENT"
n=$(grep -c error "$T_DIR/client")
# a connection the rotation gave node 3 before the others saw it stop
# fails (its SYN waits in a ring nobody reads; the client gives up after
# 2 s): one in three for the 4-5 s the heartbeat needs (5 at most)
[ "$n" -le 5 ] || fail "the client saw $n errors"
say "node 3 continued: back in rotation; $(wc -l < "$T_DIR/client") connections, $n failed while node 3 was stopped and not yet seen so"
say "PASS"
