#!/bin/bash
# A hostile segment writer (tests/hostile) writes random bytes at random
# places of a live 4-node cluster's segment: the header (all but its
# magic and geometry), node table, directory, broadcast and multicast
# rings, connection and listener tables, page map, pair rings, anywhere;
# 200 bursts over HOSTILE_SECONDS (60 s), while every node pings every
# other, a TCP stream runs from node 1 to node 3 and node 4 sends UDP
# requests to the global address G, served by nodes 2 and 3.
#  - During the bursts no daemon dies, every node answers shmnetctl
#    status within 5 s, and each node's heartbeat (main loop), tx_frames
#    (its transmit thread) and rx_frames (its receive thread) advance:
#    none stands still for HOSTILE_STALL seconds (5).
#  - Within 5 s of the last burst every pair pings again and G answers.
#  - Then the header's magic and geometry are overwritten: every daemon
#    leaves with one message saying so (exit 1) within 5 s, the last one
#    out removes the files, and a cluster started anew works.
# No sanitizer report from any daemon (lib.sh).  The seed is printed;
# HOSTILE_SEED=N replays a run.
. "$(dirname "$0")/lib.sh"
require_root jq ping socat

[ -x "$HOSTILE" ] || fail "no test helper at $HOSTILE"
[ -x "$UDPREQ" ] && [ -x "$UDPSRV" ] || fail "no udpreq/udpsrv"
SECS=${HOSTILE_SECONDS:-60}
BURSTS=${HOSTILE_BURSTS:-200}
STALL=${HOSTILE_STALL:-5}
SEED=${HOSTILE_SEED:-$(( $(date +%s%N) / 1000 % 4294967296 ))}
say "seed $SEED (HOSTILE_SEED=$SEED replays it): $BURSTS bursts over $SECS s"
G=10.202.0.1
NODES=(1 2 3 4)
SEG=/dev/shm/shmnet.$CLUSTER
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_cluster "${NODES[@]}"
ping_all "${NODES[@]}"

# traffic: every pair pings, a TCP stream 1 -> 3 (a new connection every
# 20 s, or when the scribbling broke one), UDP requests from node 4 to G
# (nodes 2 and 3)
for a in "${NODES[@]}"; do for b in "${NODES[@]}"; do
	[ "$a" = "$b" ] || bg_ns "$a" ping -q -i 0.2 -W 1 "$(addr "$b")"
done; done
bg_ns 3 socat -u TCP-LISTEN:5001,bind="$(addr 3)",reuseaddr,fork /dev/null
for n in 2 3; do bg_ns "$n" "$UDPSRV" 8080 "node$n"; done
bg_out 1 "$T_DIR/stream.out" bash -c 'while :; do
	timeout 20 socat -u /dev/zero TCP:'"$(addr 3)"':5001 2>/dev/null
	[ $? = 124 ] || echo broken; sleep 0.2; done'
bg_out 4 "$T_DIR/greq.out" bash -c 'while :; do
	"$0" '$G' 8080 1 300 || echo unanswered; sleep 0.3; done' "$UDPREQ"
sleep 1
in_ns 4 "$UDPREQ" $G 8080 2 1000 >/dev/null || fail "G does not answer node 4"

# alive_all PHASE: every daemon still runs
alive_all() {
	local n
	for n in "${NODES[@]}"; do
		kill -0 "${T_PIDS[$n]}" 2>/dev/null ||
		    fail "$1: node $n's daemon died (seed $SEED)"
	done
}

# status_all PHASE: shmnetctl status answers in every node within 5 s
status_all() {
	local n
	for n in "${NODES[@]}"; do
		in_ns "$n" timeout 5 "$SHMNETCTL" --cluster "$CLUSTER" status \
		    >"$T_DIR/status.out" 2>&1 ||
		    fail "$1: shmnetctl status in node $n: $(head -3 "$T_DIR/status.out") (seed $SEED)"
	done
}

# stacks N: into node N's log, its daemon's threads (when gdb is here), its
# interface counters and neighbours, and the node table
stacks() {
	command -v gdb >/dev/null &&
	    timeout 30 gdb -p "${T_PIDS[$1]}" -batch -ex "thread apply all bt" \
	    2>&1 | grep -E "^(Thread|#)" >>"$T_DIR/node$1.log"
	{ ip -n "$(ns "$1")" -s link show shm0; ip -n "$(ns "$1")" neigh
	  ctl nodes; } >>"$T_DIR/node$1.log" 2>&1
}

# Sign of life per node: heartbeat (main loop), tx_frames (transmit
# thread), rx_frames (receive thread); SEEN[n.k] is the value last seen,
# MOVED[n.k] when it last changed.
declare -A SEEN MOVED
KEYS=(heartbeat tx_frames rx_frames)
sample() {
	local now n k v rows text
	now=$(now_ms)
	rows=$(timeout 5 "$SHMNETCTL" --cluster "$CLUSTER" --json nodes 2>/dev/null) &&
	    text=$(timeout 5 "$SHMNETCTL" --cluster "$CLUSTER" nodes 2>/dev/null) ||
	    fail "$1: shmnetctl nodes did not answer within 5 s (seed $SEED)"
	# the counters as printed, not through jq's doubles (which cannot
	# tell 2^62 from 2^62 + 30); the text table's counters are exact,
	# JSON's stop at 2^63 - 1, so a heartbeat scribbled that high tells
	# nothing until it wraps
	rows=$(awk -F'[:, ]+' '$2 == "\"id\"" { id = $3 }
	    $2 == "\"heartbeat\"" && $3 != "9223372036854775807" {
		print id ".heartbeat=" $3 }' <<<"$rows"
	    awk '$1 ~ /^[0-9]+$/ { print $1 ".tx_frames=" $(NF - 2)
		print $1 ".rx_frames=" $(NF - 1) }' <<<"$text")
	for n in "${NODES[@]}"; do for k in "${KEYS[@]}"; do
		v=$(sed -n "s/^$n\.$k=//p" <<<"$rows")
		if [ -z "$v" ] || [ "$v" != "${SEEN[$n.$k]:-}" ]; then
			SEEN[$n.$k]=$v
			MOVED[$n.$k]=$now
		fi
		[ $(( now - ${MOVED[$n.$k]:-$now} )) -le $(( STALL * 1000 )) ] || {
			stacks "$n"
			fail "$1: node $n's $k stood still for $STALL s (seed $SEED)"
		}
	done; done
}

bg_out 1 "$T_DIR/hostile.out" "$HOSTILE" "$SEG" "$SEED" "$BURSTS" "$SECS"
WRITER=$BG_PID
t0=$(now_ms)
while kill -0 "$WRITER" 2>/dev/null; do
	alive_all "during the bursts"
	status_all "during the bursts"
	sample "during the bursts"
	sleep 1
done
wait "$WRITER" || fail "hostile writer: $(tail -3 "$T_DIR/hostile.out")"
say "$(grep -c '^burst' "$T_DIR/hostile.out") runs written in" \
    "$(( ($(now_ms) - t0) / 1000 )) s:" \
    "$(sed -n 's/^burst [0-9]*: \([a-z]*\) .*/\1/p' "$T_DIR/hostile.out" |
    sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }')"

t0=$(now_ms)
got=$(ping_mesh 5 "${NODES[@]}") ||
    fail "$got of 12 pairs ping within 5 s of the last burst (seed $SEED)"
until in_ns 4 "$UDPREQ" $G 8080 1 300 >/dev/null; do
	[ $(( $(now_ms) - t0 )) -gt 5000 ] &&
	    fail "G does not answer node 4 within 5 s of the last burst (seed $SEED)"
done
say "all 12 pairs ping and G answers $(( $(now_ms) - t0 )) ms after the last burst"
alive_all "after the bursts"
status_all "after the bursts"
sample "after the bursts"
say "reports: $(cat "$T_DIR"/node*.log | grep -c 'marked down') rings marked down," \
    "$(grep -c broken "$T_DIR/stream.out") TCP connections broken," \
    "$(grep -c unanswered "$T_DIR/greq.out") unanswered requests to G"

# the header itself: every daemon leaves, saying so once
"$HOSTILE" "$SEG" "$SEED" header >>"$T_DIR/hostile.out" ||
    fail "hostile writer: $(tail -3 "$T_DIR/hostile.out")"
for n in "${NODES[@]}"; do
	pid=${T_PIDS[$n]}
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && {
		stacks "$n"; fail "node $n still runs 5 s after its header was overwritten (seed $SEED)"
	}
	wait "$pid"
	rc=$?
	T_PIDS[$n]=""
	[ "$rc" = 1 ] || fail "node $n exited with $rc after its header was overwritten"
	c=$(grep -c "header was overwritten\|header's version or geometry changed" "$T_DIR/node$n.log")
	[ "$c" = 1 ] || fail "node $n said $c times that its header was overwritten"
done
say "header overwritten: every daemon left, saying: $(grep -h -m1 'header was overwritten\|geometry changed' "$T_DIR/node1.log")"
[ -e "$SEG" ] || [ -e "$SEG.lock" ] && fail "the last node out left $(ls "$SEG"*)"
for n in 1 2; do start_node "$n"; done
for n in 1 2; do wait_state "$n" up 5 >/dev/null || fail "node $n not up on a new segment"; done
ping_all 1 2
say "a cluster started anew works"
say "PASS"
