#!/bin/bash
# Paused peers: node 2's daemon is stopped (SIGSTOP, as docker pause) at
# PAUSED_COUNT random moments (40) for 0.5-3 s each while
#  - nodes 1, 3 and 4 exchange UDP requests with each other every 10 ms
#    (tests/udpprobe: 1 -> 3, 3 -> 4, 4 -> 1),
#  - every node pings node 2 and node 2 pings every node, nodes 1 and 4
#    send it 30000-byte pings (too large for its starting rings: they
#    grow, or wait for node 2 to grow them) and node 3 streams TCP to it,
#  - node 1 sends 30000-byte pings to node 3 (rings among the others
#    grow too) and nodes 1 and 4 send UDP requests to the global address
#    G, served by nodes 1, 2 and 3,
#  - and every 5th pause node 5 joins or leaves (PAUSED_JOIN=0: not).
# No request among nodes 1, 3 and 4 waits more than PAUSED_LIMIT_MS
# (100) for its answer, or is lost; nothing hangs: every start and stop
# of node 5 ends within 5 s, the other daemons' main loops tick on
# (heartbeat) and answer shmnetctl status; after the last SIGCONT node 2
# and every other node reach each other within 1 s.  The measured worst
# waits are printed.  PAUSED_SEED=N replays the moments.
. "$(dirname "$0")/lib.sh"
require_root ping socat jq

[ -x "$UDPPROBE" ] || fail "no test helper at $UDPPROBE"
[ -x "$UDPREQ" ] && [ -x "$UDPSRV" ] || fail "no udpreq/udpsrv"
PAUSES=${PAUSED_COUNT:-40}
LIMIT_MS=${PAUSED_LIMIT_MS:-100}
JOIN=${PAUSED_JOIN:-1}
SEED=${PAUSED_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
say "seed $SEED (PAUSED_SEED=$SEED replays it): $PAUSES pauses of node 2"
G=10.202.0.1
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_cluster 1 2 3 4
make_ns 5
# T_PIDS[n] is node n's daemon; helpers started with bg_ns go after
# the nodes this test may start
T_PIDS[9]=""
ping_all 1 2 3 4
pid2=$(daemon_pid 2)

# stacks N: node N's daemon's threads, in its log (when gdb is here)
stacks() {
	command -v gdb >/dev/null || return 0
	timeout 30 gdb -p "$(daemon_pid "$1")" -batch -ex "thread apply all bt" \
	    2>&1 | grep -E "^(Thread|#)" >>"$T_DIR/node$1.log"
}

# the probes and their echo servers run at a real-time priority where
# they can: what they measure is the network's wait, not their own
RT=()
chrt -f 1 true 2>/dev/null && RT=(chrt -f 1)
for n in 1 2 3 4; do bg_ns "$n" "${RT[@]}" "$UDPPROBE" echo 7000; done
# event TEXT: what happened when, to match with the probes' worst waits
event() { echo "$(now_ms) $*" >>"$T_DIR/events"; }
for n in 1 2 3; do bg_ns "$n" "$UDPSRV" 8080 "node$n"; done
bg_ns 2 socat -u TCP-LISTEN:5001,bind="$(addr 2)",reuseaddr,fork /dev/null
sleep 0.3
for n in 1 3 4; do
	bg_ns "$n" ping -q -i 0.1 -W 1 "$(addr 2)"
	bg_ns 2 ping -q -i 0.1 -W 1 "$(addr "$n")"
done
for n in 1 4; do bg_ns "$n" ping -q -i 0.2 -s 30000 -W 1 "$(addr 2)"; done
bg_ns 1 ping -q -i 0.2 -s 30000 -W 1 "$(addr 3)"
bg_ns 3 bash -c 'while :; do
	timeout 10 socat -u /dev/zero TCP:'"$(addr 2)"':5001,connect-timeout=1
	sleep 0.2; done'
for n in 1 4; do
	bg_ns "$n" bash -c 'while :; do "$0" '$G' 8080 1 500; sleep 0.2; done' \
	    "$UDPREQ"
done
PROBES=()
for p in "1 3" "3 4" "4 1"; do
	set -- $p
	bg_out "$1" "$T_DIR/probe$1$2.out" "${RT[@]}" "$UDPPROBE" "$(addr "$2")" \
	    7000 3600 10
	PROBES+=("$BG_PID")
done

# heartbeats: the main loops of nodes 1, 3, 4 (and 5 while up) tick on
declare -A HB HBT
ticking() {
	local now n v json
	now=$(now_ms)
	json=$(timeout 5 "$SHMNETCTL" --cluster "$CLUSTER" --json nodes) ||
	    fail "shmnetctl nodes did not answer within 5 s"
	for n in 1 3 4; do
		v=$(jq -r ".[] | select(.id == $n) | .heartbeat" <<<"$json")
		if [ "$v" != "${HB[$n]:-}" ]; then HB[$n]=$v; HBT[$n]=$now; fi
		[ $(( now - HBT[$n] )) -le 5000 ] || {
			stacks "$n"; fail "node $n's main loop stood still for 5 s"
		}
		kill -0 "${T_PIDS[$n]}" 2>/dev/null || fail "node $n's daemon died"
	done
}

# node5 start|stop: within 5 s
node5() {
	local pid
	if [ "$1" = start ]; then
		event "node 5 starts"
		start_node 5
		wait_state 5 up 5 >/dev/null || {
			stacks 5; fail "node 5 not up within 5 s (node 2 stopped: $2)"
		}
	else
		pid=${T_PIDS[5]}
		event "node 5 stops"
		kill -TERM "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && {
			stacks 5; fail "node 5 did not stop within 5 s (node 2 stopped: $2)"
		}
		wait "$pid"
		T_PIDS[5]=""
	fi
}

t0=$(now_ms)
joins=0
for i in $(seq "$PAUSES"); do
	sleep "0.$(( 1 + RANDOM % 5 ))"
	ticking
	kill -STOP "$pid2" || fail "cannot stop node 2's daemon"
	event "node 2 stopped"
	ms=$(( 500 + RANDOM % 2501 ))
	start=$(now_ms)
	if [ "$JOIN" = 1 ] && [ $(( i % 5 )) = 0 ]; then
		if [ -n "${T_PIDS[5]:-}" ]; then node5 stop yes; else node5 start yes; fi
		joins=$((joins + 1))
	fi
	left=$(( ms - ($(now_ms) - start) ))
	[ "$left" -gt 0 ] && sleep "$(( left / 1000 )).$(printf %03d $(( left % 1000 )))"
	kill -CONT "$pid2"
	event "node 2 continued"
	if [ "$JOIN" = 1 ] && [ $(( i % 5 )) = 3 ] && [ $(( RANDOM % 2 )) = 0 ]; then
		if [ -n "${T_PIDS[5]:-}" ]; then node5 stop no; else node5 start no; fi
		joins=$((joins + 1))
	fi
done
say "$PAUSES pauses of node 2 and $joins joins or leaves of node 5 in $(( ($(now_ms) - t0) / 1000 )) s"

# after the last SIGCONT: node 2 and every other node reach each other
# within 1 s
t0=$(now_ms)
peers=(1 3 4)
[ -n "${T_PIDS[5]:-}" ] && peers+=(5)
R=()
for n in "${peers[@]}"; do
	for pair in "2 $n" "$n 2"; do
		set -- $pair
		in_ns "$1" bash -c 'end=$(( $(date +%s%N) / 1000000 + 1000 ))
			until ping -c 1 -W 0.2 -q "$0" >/dev/null 2>&1; do
				[ $(( $(date +%s%N) / 1000000 )) -ge $end ] && exit 1
			done' "$(addr "$2")" &
		R+=("$!:$1->$2")
	done
done
for r in "${R[@]}"; do
	wait "${r%%:*}" || fail "node ${r#*:} not reached within 1 s of the last SIGCONT"
done
say "after the last SIGCONT node 2 and nodes ${peers[*]} reach each other within $(( $(now_ms) - t0 )) ms"

kill -INT "${PROBES[@]}"
wait "${PROBES[@]}"
for p in 13 34 41; do
	say "probe ${p:0:1} -> ${p:1:1}: $(cat "$T_DIR/probe$p.out")"
done
for p in 13 34 41; do
	set -- $(cat "$T_DIR/probe$p.out")
	[ "$#" = 14 ] || fail "probe ${p:0:1} -> ${p:1:1}: $*"
	[ "$6" = 0 ] || fail "probe ${p:0:1} -> ${p:1:1}: $6 requests never answered"
	awk -v t="$8" -v l="$LIMIT_MS" 'BEGIN { exit !(t <= l) }' || {
		at=${14}
		say "what happened around the worst wait (sent at $at):"
		awk -v a="$at" '$1 > a - 4000 && $1 < a + 1000 {
		    printf "  %+d ms: %s\n", $1 - a, substr($0, length($1) + 2) }' \
		    "$T_DIR/events"
		fail "probe ${p:0:1} -> ${p:1:1}: a request waited $8 ms (limit $LIMIT_MS)"
	}
done
ticking
for n in 1 2 3 4; do
	in_ns "$n" timeout 5 "$SHMNETCTL" --cluster "$CLUSTER" status >/dev/null ||
	    fail "shmnetctl status in node $n did not answer within 5 s"
done
ping_all 1 2 3 4
say "PASS"
