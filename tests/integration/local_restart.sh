#!/bin/bash
# Node 2 is killed with SIGKILL and restarted 20 times while nodes 1 and 3
# ping each other every 10 ms.  Every daemon runs as PID 1 of a PID
# namespace of its own.  Each time: the others see node 2 down within 1 s,
# it comes back with the next generation, and it talks to both within 1 s
# of its start; between 1 and 3 not one echo is lost and none is late.
. "$(dirname "$0")/lib.sh"
require_root jq ping unshare pgrep

T_PIDNS=1
ROUNDS=${ROUNDS:-20}
start_cluster 1 2 3
ping_all 1 2 3
[ "$(in_ns 2 cat /proc/"$(daemon_pid 2)"/status | awk '/^NSpid/ {print $NF}')" = 1 ] ||
    fail "node 2's daemon is not PID 1 of its own PID namespace"

gen() { ctl --json nodes | jq -r ".[] | select(.id == $1) | .generation"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# seen_down ROUND T0: ms until nodes 1 and 3 both logged node 2 down for
# the ROUND-th time (fails after 1 s)
seen_down() {
	local want=$1 t0=$2 a b
	while :; do
		a=$(grep -c "node 2 down" "$T_DIR/node1.log")
		b=$(grep -c "node 2 down" "$T_DIR/node3.log")
		[ "$a" -ge "$want" ] && [ "$b" -ge "$want" ] &&
		    { echo $(( $(now_ms) - t0 )); return 0; }
		[ $(( $(now_ms) - t0 )) -gt 1000 ] && return 1
		sleep 0.02
	done
}

# reach_ms N A B: ms until node N pings both A and B (fails after 1 s)
reach_ms() {
	local n=$1 t0=$2 a b ok
	while :; do
		ok=1
		for b in "${@:3}"; do
			in_ns "$n" ping -c 1 -W 0.1 -q "$(addr "$b")" >/dev/null 2>&1 || ok=0
		done
		[ $ok = 1 ] && { echo $(( $(now_ms) - t0 )); return 0; }
		[ $(( $(now_ms) - t0 )) -gt 1000 ] && return 1
	done
}

bg_out 1 "$T_DIR/p13.out" ping -i 0.01 "$(addr 3)"
P13=$BG_PID
bg_out 3 "$T_DIR/p31.out" ping -i 0.01 "$(addr 1)"
P31=$BG_PID
sleep 0.5

worst_down=0 worst_up=0
for i in $(seq "$ROUNDS"); do
	g=$(gen 2)
	t0=$(now_ms)
	stop_node 2 KILL
	down=$(seen_down "$i" "$t0") || fail "round $i: nodes 1 and 3 did not see node 2 down within 1 s of SIGKILL"
	t0=$(now_ms)
	start_node 2
	up=$(reach_ms 2 "$t0" 1 3) || fail "round $i: restarted node 2 did not reach nodes 1 and 3 within 1 s"
	[ "$(gen 2)" = $(( g + 1 )) ] || fail "round $i: node 2 has generation $(gen 2), wanted $(( g + 1 ))"
	[ "$down" -gt "$worst_down" ] && worst_down=$down
	[ "$up" -gt "$worst_up" ] && worst_up=$up
done
say "$ROUNDS rounds: node 2 seen down within $worst_down ms, talking to 1 and 3 within $worst_up ms of its start"

kill -INT "$P13" "$P31"
wait "$P13" "$P31"
for f in p13 p31; do
	last=$(no_loss "$T_DIR/$f.out") || fail "$f: pings between the other nodes suffered"
	max=$(sed -n 's|^rtt .* = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$T_DIR/$f.out")
	awk -v m="$max" 'BEGIN { exit !(m < 500) }' || fail "$f: an echo took $max ms"
	say "$f: $last echoes, none lost, slowest $max ms"
done
say "PASS"
