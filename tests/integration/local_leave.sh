#!/bin/bash
# SIGTERM one node: the others show it down within 1 s and keep talking;
# start it again: all pairs talk.  Then the same with SIGKILL.  The last
# node out leaves no segment behind.
. "$(dirname "$0")/lib.sh"
require_root ping jq

start_cluster 1 2 3
ping_all 1 2 3

for sig in TERM KILL; do
	stop_node 2 "$sig"
	ms=$(wait_state 2 down 1) || fail "node 2 not down within 1 s after SIG$sig"
	say "SIG$sig: node 2 down after ${ms} ms"
	if [ "$sig" = KILL ]; then
		# the peers' own scan must notice the death within 1 s
		for i in $(seq 20); do
			grep -q "node 2 died" "$T_DIR/node1.log" "$T_DIR/node3.log" && break
			sleep 0.05
		done
		grep -q "node 2 died" "$T_DIR/node1.log" "$T_DIR/node3.log" ||
		    fail "no peer reaped node 2 within 1 s of SIGKILL"
		say "a peer reaped node 2's rings within $((i * 50)) ms"
	fi
	ip -n "$(ns 2)" link show shm0 >/dev/null 2>&1 && fail "shm0 left behind in node 2"
	ping_all 1 3
	gen=$(ctl --json nodes | jq '.[] | select(.id == 2) | .generation')
	start_node 2
	wait_state 2 up 5 >/dev/null || fail "node 2 not up after restart"
	gen2=$(ctl --json nodes | jq '.[] | select(.id == 2) | .generation')
	[ "$gen2" -gt "$gen" ] || fail "generation did not grow ($gen -> $gen2)"
	ping_all 1 2 3
	say "node 2 restarted (generation $gen -> $gen2); all pairs talk"
done
for n in 1 2 3; do stop_node "$n"; done
[ -e "/dev/shm/shmnet.$CLUSTER" ] && fail "the last node out left the segment"
say "last node out removed the segment"
say "PASS"
