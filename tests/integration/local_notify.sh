#!/bin/bash
# The daemon tells a service manager how it is (sd_notify(3)), as a
# systemd unit of Type=notify needs: READY=1 once the node has joined
# (its interfaces up: a peer can ping it at once), WATCHDOG=1 every tick
# when WATCHDOG_USEC is set, STOPPING=1 when it leaves; and nothing when
# NOTIFY_SOCKET is unset.
. "$(dirname "$0")/lib.sh"
require_root socat ping

make_ns 1 2
start_node 1
wait_state 1 up 5 >/dev/null || fail "node 1 not up"
bg_out 2 "$T_DIR/notify.out" socat -u UNIX-RECV:"$T_DIR/notify" -
for _ in $(seq 50); do [ -S "$T_DIR/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T_DIR/notify WATCHDOG_USEC=3000000 start_node 2
for _ in $(seq 50); do grep -q READY=1 "$T_DIR/notify.out" && break; sleep 0.1; done
grep -q READY=1 "$T_DIR/notify.out" || fail "no READY=1 from node 2"
in_ns 1 ping -c 1 -W 1 -q "$(addr 2)" >/dev/null ||
    fail "node 2 said READY=1 but does not answer a ping"
grep -q "^STATUS=node 2 of cluster $CLUSTER: up" "$T_DIR/notify.out" ||
    fail "no STATUS line: $(cat "$T_DIR/notify.out")"
sleep 3.5
n=$(grep -o WATCHDOG=1 "$T_DIR/notify.out" | wc -l)	# datagrams run together
[ "$n" -ge 2 ] || fail "$n WATCHDOG=1 in 3.5 s"
stop_node 2
grep -q STOPPING=1 "$T_DIR/notify.out" || fail "no STOPPING=1 from node 2"
grep -q READY=1 "$T_DIR/node1.log" && fail "node 1 (no NOTIFY_SOCKET) notified"
say "READY=1 after joining, $n WATCHDOG=1 in 3.5 s, STOPPING=1 on leaving"
say "PASS"
