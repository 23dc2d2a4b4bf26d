#!/bin/bash
# A peer scribbles random bytes over a live ring: 8 times over the header
# of the ring from node 1 into node 2 (the last 3 times over its
# descriptors too) while traffic flows on it.  Each time exactly one
# daemon reports it, once; the ring is marked down and replaced and node 1
# reaches node 2 again; no daemon crashes; nodes 2 and 3 keep talking
# without losing an echo.
. "$(dirname "$0")/lib.sh"
require_root jq ping

[ -x "$SCRIBBLE" ] || fail "no test helper at $SCRIBBLE"
start_cluster 1 2 3
ping_all 1 2 3
SEG=/dev/shm/shmnet.$CLUSTER
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
reports() { cat "$T_DIR"/node*.log | grep -c "marked down"; }
alive() { local n; for n in 1 2 3; do kill -0 "${T_PIDS[$n]}" 2>/dev/null || fail "node $n died: $1"; done; }

bg_out 2 "$T_DIR/p23.out" ping -i 0.01 "$(addr 3)"
P23=$BG_PID
bg_out 3 "$T_DIR/p32.out" ping -i 0.01 "$(addr 2)"
P32=$BG_PID
bg_out 1 "$T_DIR/p12.out" ping -i 0.01 "$(addr 2)"
P12=$BG_PID
sleep 0.5

worst=0
for round in $(seq 8); do
	before=$(reports)
	mode=; [ "$round" -gt 5 ] && mode=descs
	"$SCRIBBLE" "$SEG" 2 1 "$round" $mode >/dev/null || fail "round $round: scribble"
	t0=$(now_ms)
	until [ "$(reports)" -gt "$before" ]; do
		[ $(( $(now_ms) - t0 )) -gt 2000 ] && fail "round $round: nobody reported the scribbled ring"
		sleep 0.05
	done
	until in_ns 1 ping -c 1 -W 0.2 -q "$(addr 2)" >/dev/null 2>&1; do
		[ $(( $(now_ms) - t0 )) -gt 3000 ] && fail "round $round: node 1 does not reach node 2 again"
	done
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.3
	[ "$(reports)" = $(( before + 1 )) ] ||
	    fail "round $round: $(( $(reports) - before )) reports for one scribbled ring"
	alive "round $round"
done
say "8 scribbles: each reported once, ring replaced, node 1 reached node 2 again within $worst ms"
grep -h "marked down" "$T_DIR"/node*.log | sort | uniq -c

kill -INT "$P23" "$P32" "$P12"
wait "$P23" "$P32" "$P12"
alive "after the rounds"
for f in p23 p32; do
	last=$(no_loss "$T_DIR/$f.out") || fail "$f: pings between the other nodes suffered"
	say "$f: $last echoes, none lost"
done
state=$(ctl --json rings | jq -r '.[] | select(.kind == "pair" and .from == 1 and .to == 2 and .net == "local") | .state')
[ "$state" = up ] || fail "ring 1 -> 2 is $state after the rounds"
say "PASS"
