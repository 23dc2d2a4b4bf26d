#!/bin/bash
# The data threads follow the application's CPU (daemon/follow.c).
# During a request/response exchange (ping from node 1, pinned to one
# CPU) node 1's rx thread keeps to a single CPU of its set: with the
# TAP's steering eBPF program (tun/steer.c) exactly the ping's, and the
# tx thread with it; during a bulk TCP stream both nodes' threads have
# their whole set back, so that the two sides of the stream run in
# parallel; during a flood of small datagrams node 1's tx thread keeps
# to the sender's CPU; with cpu-follow = no the set never narrows and the TAP is
# single-queue.
. "$(dirname "$0")/lib.sh"
require_root socat taskset
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"

PORT=7300

# task N NAME: /proc path of node N's thread NAME (rx-local, tx-local)
task() {
	local t
	for t in /proc/"$(daemon_pid "$1")"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && { echo "$t"; return; }
	done
}

# allowed N [tx]: the CPUs node N's rx-local (tx-local) thread may run on
allowed() {
	local t=${RX[$1]}
	[ "${2:-}" = tx ] && t=${TX[$1]}
	awk '/^Cpus_allowed_list/ { print $2 }' "$t/status"
}

# one_cpu LIST: true if LIST names a single CPU
one_cpu() { [[ $1 =~ ^[0-9]+$ ]]; }

# exchange CPU: ping-pong from node 1 pinned to CPU, 3 s, in the background
exchange() {
	bg_ns 1 taskset -c "$1" ping -q -f -c 200000 -w 3 10.201.0.2
	EX_PID=$!
}

# watch N SECONDS: node N's rx and tx sets every 0.1 s for SECONDS;
# sets SEEN
watch_rx() {
	local i
	SEEN=()
	for i in $(seq $(( $2 * 10 ))); do
		SEEN+=("$(allowed "$1")" "$(allowed "$1" tx)")
		sleep 0.1
	done
}

T_ARGS=(--verbose)
start_cluster 1 2
ping_all 1 2
RX=([1]="$(task 1 rx-local)" [2]="$(task 2 rx-local)")
TX=([1]="$(task 1 tx-local)" [2]="$(task 2 tx-local)")
ALL=$(allowed 1)
say "rx thread's CPU set at rest: $ALL"
one_cpu "$ALL" && fail "rx thread narrowed to CPU $ALL with no traffic"
CPU=$(( $(nproc) - 1 ))
EXACT=""
if grep -q "local: sending CPU of each frame from the steering eBPF" \
    "$T_DIR/node1.log"; then
	EXACT=1
	in_ns 1 ip -d link show shm0 | grep -q "multi_queue numqueues 2" ||
	    fail "steering eBPF said, but shm0 is not a 2-queue TAP"
	# one pfifo_fast, not the kernel's mq with one per tun queue (256,
	# about 6 MiB of kernel memory a TAP)
	qd=$(in_ns 1 tc qdisc show dev shm0)
	[ "$(wc -l <<<"$qd")" = 1 ] && grep -q "^qdisc pfifo_fast .* root" <<<"$qd" ||
	    fail "shm0 has not one root pfifo_fast qdisc: $qd"
else
	say "no steering eBPF here: $(grep 'steering eBPF' "$T_DIR/node1.log")"
fi

# wait_narrow: up to 3 s for node 1's rx thread to keep to one CPU (with
# the steering eBPF: to $CPU, and its tx thread with it); sets narrowed
# (empty if not) and txset
wait_narrow() {
	local a
	narrowed=""
	for _ in $(seq 30); do
		a=$(allowed 1)
		one_cpu "$a" && [ -z "$EXACT" ] && { narrowed=$a; break; }
		one_cpu "$a" && [ -n "$EXACT" ] && [ "$a" = "$CPU" ] &&
		    [ "$(allowed 1 tx)" = "$CPU" ] && { narrowed=$a; break; }
		sleep 0.1
	done
	txset=$(allowed 1 tx)
}

# request/response: the set narrows to one CPU
exchange "$CPU"
wait_narrow
kill "$EX_PID" 2>/dev/null; wait "$EX_PID" 2>/dev/null
[ -n "$narrowed" ] || fail "rx thread kept set $(allowed 1), tx $txset," \
    "during a ping-pong from CPU $CPU (exact CPU: ${EXACT:-no})"
say "during a ping-pong from CPU $CPU node 1's rx thread kept to CPU" \
    "$narrowed, its tx thread to $txset"
grep -q "local: rx thread keeps to CPU $narrowed" "$T_DIR/node1.log" ||
    fail "no debug line for the move to CPU $narrowed"
[ -z "$EXACT" ] || grep -q "local: tx thread keeps to CPU $narrowed" \
    "$T_DIR/node1.log" || fail "no debug line for the tx thread's move"
[ -n "$EXACT" ] || [ "$txset" = "$ALL" ] ||
    fail "tx thread kept to $txset without the steering eBPF"

# sink N UDP|TCP PORT: a socat on node N that throws away what it gets on
# PORT, started in the background (SINK_PID) and listening when it returns
sink() {
	local recv=UDP-RECV:$3 flag=u
	[ "$2" = TCP ] && { recv=TCP-LISTEN:$3,reuseaddr; flag=t; }
	bg_ns "$1" socat -u "$recv" OPEN:/dev/null
	SINK_PID=$!
	for _ in $(seq 50); do
		in_ns "$1" ss -Hl${flag}n "sport = :$3" | grep -q . && break
		sleep 0.1
	done
}

# a flood into node 1 (8 KiB datagrams it only receives) frees its rx
# thread; the same ping-pong from the same CPU afterwards narrows it again
sink 1 UDP $((PORT + 1))
UR_PID=$SINK_PID
bg_ns 2 timeout 2 socat -u /dev/zero UDP-SENDTO:10.201.0.1:$((PORT + 1))
FL_PID=$!
freed=""
for _ in $(seq 15); do
	[ "$(allowed 1)" = "$ALL" ] && { freed=1; break; }
	sleep 0.1
done
wait "$FL_PID" 2>/dev/null
kill "$UR_PID" 2>/dev/null; wait "$UR_PID" 2>/dev/null
[ -n "$freed" ] || fail "rx thread kept to $(allowed 1) during a flood"
exchange "$CPU"
wait_narrow
kill "$EX_PID" 2>/dev/null; wait "$EX_PID" 2>/dev/null
[ -n "$narrowed" ] || fail "after a flood the rx thread kept set" \
    "$(allowed 1), tx $txset, during a ping-pong from CPU $CPU"
say "after a flood into node 1, a ping-pong from CPU $CPU narrowed it to" \
    "$narrowed again"

# a stream: both rx threads get their set back
sink 2 TCP $PORT
bg_ns 1 timeout 20 socat -u /dev/zero TCP:10.201.0.2:$PORT
ST_PID=$!
sleep 1
watch_rx 1 1; s1=("${SEEN[@]}")
watch_rx 2 1; s2=("${SEEN[@]}")
kill -0 "$ST_PID" 2>/dev/null || fail "the stream ended early"
kill "$ST_PID"; wait "$ST_PID" 2>/dev/null
grep -q "local: rx thread free on its CPU set" "$T_DIR/node1.log" ||
    fail "no debug line for the rx thread's set given back"
say "during a stream (rx tx ...): node 1 ${s1[*]}; node 2 ${s2[*]}"
for a in "${s1[@]}" "${s2[@]}"; do
	[ "$a" = "$ALL" ] || fail "a thread kept to CPU $a during a stream"
done

# a flood of small datagrams from node 1, sent from one CPU: node 1's
# tx thread keeps to the sender's CPU (known only from the steering
# eBPF), its rx thread stays free.
# The flood keeps the tx thread's batched reads going for seconds: the
# move must come within the flood, not when it ends.  A busy loop on the
# machine (as on a loaded CI host) slows the thread enough that the TAP
# never runs dry.
if [ -n "$EXACT" ]; then
	sink 2 UDP $((PORT + 2))
	UR_PID=$SINK_PID
	busy_loops 1 4 1
	FL_PIDS=()
	for _ in 1 2 3; do
		bg_ns 1 timeout 3 taskset -c "$CPU" socat -u -b 64 /dev/zero \
		    UDP-SENDTO:10.201.0.2:$((PORT + 2))
		FL_PIDS+=($!)
	done
	kept=""
	for _ in $(seq 25); do
		[ "$(allowed 1 tx)" = "$CPU" ] && { kept=1; break; }
		sleep 0.1
	done
	rxset=$(allowed 1)
	for p in "${FL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	kill "$UR_PID" 2>/dev/null; wait "$UR_PID" 2>/dev/null
	end_busy_loops
	[ -n "$kept" ] || fail "tx thread kept set $(allowed 1 tx) during a" \
	    "flood of small datagrams from CPU $CPU"
	grep -q "local: a flood of small frames from CPU $CPU" \
	    "$T_DIR/node1.log" || fail "no debug line for the small flood"
	[ "$rxset" = "$ALL" ] || fail "rx thread kept to $rxset during a" \
	    "flood of small datagrams it does not receive"
	say "during a flood of small datagrams from CPU $CPU node 1's tx" \
	    "thread kept to CPU $CPU, its rx thread to $rxset"
fi

# a persistent multi-queue TAP (ip tuntap add) is the operator's: node 2
# uses it and leaves the root qdisc configured on it alone
if [ -n "$EXACT" ]; then
	stop_node 2
	in_ns 2 ip tuntap add dev shm0 mode tap multi_queue &&
	    in_ns 2 ip link set shm0 txqueuelen 777 &&
	    in_ns 2 tc qdisc add dev shm0 root handle 1: pfifo limit 77 ||
	    fail "cannot make a persistent TAP with a qdisc"
	start_node 2
	wait_state 2 up 5 >/dev/null || fail "node 2 not up on a persistent TAP"
	ping_all 1 2
	qd=$(in_ns 2 tc qdisc show dev shm0)
	grep -q "^qdisc pfifo 1: root .*limit 77p" <<<"$qd" ||
	    fail "the persistent TAP's qdisc was replaced: $qd"
	grep -q "shm0 is a persistent TAP: its qdisc is left as configured" \
	    "$T_DIR/node2.log" || fail "node 2 did not say it kept the qdisc"
	q=$(in_ns 2 cat /sys/class/net/shm0/tx_queue_len)
	[ "$q" = 777 ] || fail "the persistent TAP's txqueuelen 777 became $q"
	say "a persistent TAP keeps its own qdisc and txqueuelen: $qd"
fi

# cpu-follow = no: the set never narrows
stop_node 1; stop_node 2
in_ns 2 ip link del shm0 2>/dev/null	# the persistent TAP, if made
T_ARGS=(--set local.cpu-follow=no)
start_node 1; start_node 2
wait_state 1 up 5 >/dev/null && wait_state 2 up 5 >/dev/null || fail "restart"
ping_all 1 2
RX=([1]="$(task 1 rx-local)" [2]="$(task 2 rx-local)")
TX=([1]="$(task 1 tx-local)" [2]="$(task 2 tx-local)")
in_ns 1 ip -d link show shm0 | grep -q multi_queue &&
    fail "cpu-follow = no: shm0 is a multi-queue TAP"
exchange "$CPU"
watch_rx 1 2
kill "$EX_PID" 2>/dev/null; wait "$EX_PID" 2>/dev/null
for a in "${SEEN[@]}"; do
	[ "$a" = "$ALL" ] || fail "cpu-follow = no: a thread kept to CPU $a"
done
say "PASS"
