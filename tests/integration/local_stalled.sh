#!/bin/bash
# A peer that does not run (docker pause, SIGSTOP) costs its own frames,
# not everybody's.  With node 2's daemon stopped, frames from node 1 too
# large for node 2's starting ring (16 KiB) ask for a larger ring that
# does not come: node 1's transmit thread waits for it once (50 ms) and
# then drops such frames at once, so a ping from node 1 to node 3 sent
# behind a burst of them (three senders, each about 7 frames ahead: its
# socket's send buffer) is answered within 250 ms; waiting 50 ms for
# each, the burst holds it up about 1 s.  Node 2 resumed, its ring
# grows and large frames pass again.
. "$(dirname "$0")/lib.sh"
require_root ping

start_cluster 1 2 3
ping_all 1 2 3
pid2=$(daemon_pid 2)
kill -STOP "$pid2" || fail "cannot stop node 2's daemon"

BURST=()
for i in 1 2 3; do
	bg_out 1 "$T_DIR/burst$i.out" ping -q -c 10 -i 0.001 -s 30000 -W 1 \
	    "$(addr 2)"
	BURST+=("$BG_PID")
done
sleep 0.05
probe=$(in_ns 1 ping -c 1 -W 5 "$(addr 3)" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p')
wait "${BURST[@]}"
[ -n "$probe" ] || fail "node 1's ping to node 3 got no answer"
say "ping 1 -> 3 behind frames too large for stopped node 2: $probe ms"
awk -v t="$probe" 'BEGIN { exit !(t < 250) }' ||
    fail "ping 1 -> 3 took $probe ms: the frames to stopped node 2 held it up"
grep -q "marked down" "$T_DIR"/node1.log &&
    fail "node 1 reported a ring problem"

kill -CONT "$pid2"
for _ in $(seq 10); do
	in_ns 1 ping -c 1 -s 30000 -W 1 -q "$(addr 2)" >/dev/null 2>&1 && break
done || fail "no large ping 1 -> 2 after node 2 resumed"
[ "$(pair_slots 1 2)" -gt 64 ] ||
    fail "ring 1 -> 2 did not grow after node 2 resumed ($(pair_slots 1 2) slots)"
ping_all 1 2 3
say "node 2 resumed: its ring grew to $(pair_slots 1 2) slots; all pings pass"
say "PASS"
