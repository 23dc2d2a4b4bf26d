#!/bin/bash
# The receive thread follows the application's CPU (daemon/follow.c).
# During a request/response exchange (ping from node 1, pinned to one
# CPU) node 1's rx thread keeps to a single CPU of its set; during a bulk
# TCP stream both nodes' rx threads have their whole set back, so that
# the two sides of the stream run in parallel; with cpu-follow = no the
# set never narrows.
. "$(dirname "$0")/lib.sh"
require_root socat taskset
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"

PORT=7300

# rx_task N: /proc path of node N's rx-local thread
rx_task() {
	local t
	for t in /proc/"$(daemon_pid "$1")"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = rx-local ] && { echo "$t"; return; }
	done
}

# allowed N: the CPUs node N's rx-local thread may run on ("0-1", "1")
allowed() { awk '/^Cpus_allowed_list/ { print $2 }' "${RX[$1]}/status"; }

# one_cpu LIST: true if LIST names a single CPU
one_cpu() { [[ $1 =~ ^[0-9]+$ ]]; }

# exchange CPU: ping-pong from node 1 pinned to CPU, 3 s, in the background
exchange() {
	bg_ns 1 taskset -c "$1" ping -q -f -c 200000 -w 3 10.201.0.2
	EX_PID=$!
}

# watch N SECONDS: node N's rx set every 0.1 s for SECONDS; sets SEEN
watch_rx() {
	local i
	SEEN=()
	for i in $(seq $(( $2 * 10 ))); do SEEN+=("$(allowed "$1")"); sleep 0.1; done
}

T_ARGS=(--verbose)
start_cluster 1 2
ping_all 1 2
RX=([1]="$(rx_task 1)" [2]="$(rx_task 2)")
ALL=$(allowed 1)
say "rx thread's CPU set at rest: $ALL"
one_cpu "$ALL" && fail "rx thread narrowed to CPU $ALL with no traffic"
CPU=$(( $(nproc) - 1 ))

# request/response: the set narrows to one CPU
exchange "$CPU"
narrowed=""
for _ in $(seq 30); do
	a=$(allowed 1)
	one_cpu "$a" && { narrowed=$a; break; }
	sleep 0.1
done
kill "$EX_PID" 2>/dev/null; wait "$EX_PID" 2>/dev/null
[ -n "$narrowed" ] || fail "rx thread kept set $(allowed 1) during a ping-pong"
say "during a ping-pong from CPU $CPU node 1's rx thread kept to CPU $narrowed"
grep -q "local: rx thread keeps to CPU $narrowed" "$T_DIR/node1.log" ||
    fail "no debug line for the move to CPU $narrowed"

# a stream: both rx threads get their set back
bg_ns 2 socat -u TCP-LISTEN:$PORT,reuseaddr OPEN:/dev/null
for _ in $(seq 50); do
	in_ns 2 ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done
bg_ns 1 timeout 20 socat -u /dev/zero TCP:10.201.0.2:$PORT
ST_PID=$!
sleep 1
watch_rx 1 1; s1=("${SEEN[@]}")
watch_rx 2 1; s2=("${SEEN[@]}")
kill -0 "$ST_PID" 2>/dev/null || fail "the stream ended early"
kill "$ST_PID"; wait "$ST_PID" 2>/dev/null
grep -q "local: rx thread free on its CPU set" "$T_DIR/node1.log" ||
    fail "no debug line for the rx thread's set given back"
say "during a stream: node 1 ${s1[*]}; node 2 ${s2[*]}"
for a in "${s1[@]}" "${s2[@]}"; do
	[ "$a" = "$ALL" ] || fail "rx thread kept to CPU $a during a stream"
done

# cpu-follow = no: the set never narrows
stop_node 1; stop_node 2
T_ARGS=(--set local.cpu-follow=no)
start_node 1; start_node 2
wait_state 1 up 5 >/dev/null && wait_state 2 up 5 >/dev/null || fail "restart"
ping_all 1 2
RX=([1]="$(rx_task 1)" [2]="$(rx_task 2)")
exchange "$CPU"
watch_rx 1 2
kill "$EX_PID" 2>/dev/null; wait "$EX_PID" 2>/dev/null
for a in "${SEEN[@]}"; do
	[ "$a" = "$ALL" ] || fail "cpu-follow = no: rx thread kept to CPU $a"
done
say "PASS"
