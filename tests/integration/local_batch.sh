#!/bin/bash
# Batched TAP I/O (io-batch): a flood of small UDP datagrams from node 1
# to node 2 arrives in order, and the daemons move it with far fewer read
# and write system calls than frames (/proc/PID/io syscr and syscw count
# readv(2)/writev(2), not io_uring).  The same flood with io-batch = 0 is
# the control: there each frame costs its own system call.  And a node
# whose io_uring is forbidden (seccomp, as Docker's default profile does)
# says so once and carries the flood one call per frame.  After the flood
# the transmit thread's busy-poll window closes: it does not spin on.  A
# lone frame is written with writev, not an io_uring batch of one.
. "$(dirname "$0")/lib.sh"
require_root jq

N=20000
PORT=7100

# io_calls N FIELD: syscr or syscw of node N's daemon
io_calls() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$(daemon_pid "$1")/io"; }

# frames N FIELD: a counter of node N's local network
frames() { ctl --json nodes | jq ".[] | select(.id == $1) | .$2"; }

# flood: N numbered datagrams 1 -> 2, unpaced; sets GOT (received),
# READS (node 1 read calls per frame read), WRITES (node 2 write calls
# per frame written), in per cent
flood() {
	local r0 w0 t0 x0 r1 w1 t1 x1
	bg_out 2 "$T_DIR/recv" "$MCAST" recv "$(ifname)" 10.201.0.2 "$PORT" \
	    "$N" 1000 nojoin
	for _ in $(seq 50); do grep -q ready "$T_DIR/recv" && break; sleep 0.1; done
	r0=$(io_calls 1 syscr); w0=$(io_calls 2 syscw)
	t0=$(frames 1 tx_frames); x0=$(frames 2 rx_frames)
	in_ns 1 "$MCAST" send "$(ifname)" 10.201.0.2 "$PORT" "$N" 0 ||
	    fail "send"
	wait "$BG_PID"
	r1=$(io_calls 1 syscr); w1=$(io_calls 2 syscw)
	t1=$(frames 1 tx_frames); x1=$(frames 2 rx_frames)
	grep -v ready "$T_DIR/recv" > "$T_DIR/seq"
	GOT=$(wc -l < "$T_DIR/seq")
	sort -n -c "$T_DIR/seq" 2>/dev/null || fail "datagrams out of order"
	[ "$(sort -n -u "$T_DIR/seq" | wc -l)" = "$GOT" ] || fail "duplicates"
	READS=$(( 100 * (r1 - r0) / (t1 - t0) ))
	WRITES=$(( 100 * (w1 - w0) / (x1 - x0) ))
	say "$GOT of $N in order; node 1: $((t1 - t0)) frames read with" \
	    "$((r1 - r0)) read calls; node 2: $((x1 - x0)) written with" \
	    "$((w1 - w0)) write calls"
}

ifname() { echo shm0; }
MCAST=${MCAST:-$(pwd)/tests/mcast}
NOIOURING=${NOIOURING:-$(pwd)/tests/noiouring}
[ -x "$MCAST" ] && [ -x "$NOIOURING" ] || fail "no tests/mcast or tests/noiouring"


# thread_ms N NAME: CPU milliseconds node N's thread NAME has run
thread_ms() {
	local t
	for t in /proc/"$(daemon_pid "$1")"/task/*; do
		[ "$(cat "$t/comm")" = "$2" ] && { awk '{ printf "%d", $1 / 1e6 }' "$t/schedstat"; return; }
	done
	echo 0
}

start_cluster 1 2
ping_all 1 2
flood
[ "$GOT" -ge 1000 ] || fail "only $GOT datagrams arrived"
[ "$READS" -lt 50 ] || fail "$READS read calls per 100 frames: not batched"
[ "$WRITES" -lt 10 ] || fail "$WRITES write calls per 100 frames: not batched"
# the flood opened busy-poll windows on node 1's tx thread: once it is
# over the thread blocks again instead of polling on
sleep 0.5
c0=$(thread_ms 1 tx-local); sleep 1; c1=$(thread_ms 1 tx-local)
say "node 1's tx thread ran $((c1 - c0)) ms in the second after the flood"
[ $((c1 - c0)) -lt 50 ] || fail "tx thread still polls after the flood"

# a lone frame (a ping, its reply) is written with one writev, not an
# io_uring batch of one, which costs more: node 2 writes each of 20 echo
# requests, one at a time, with a write call of its own
w0=$(io_calls 2 syscw)
in_ns 1 ping -c 20 -i 0.05 -W 2 -q "$(addr 2)" >/dev/null || fail "ping 1 -> 2"
w1=$(io_calls 2 syscw)
say "node 2 wrote 20 lone echo requests with $((w1 - w0)) write calls"
[ $((w1 - w0)) -ge 20 ] || fail "lone frames went through io_uring"

# the control: one system call per frame
stop_node 1; stop_node 2
T_ARGS=(--set local.io-batch=0)
start_node 1; start_node 2
wait_state 1 up 5 >/dev/null && wait_state 2 up 5 >/dev/null || fail "restart"
ping_all 1 2
flood
[ "$READS" -ge 90 ] || fail "io-batch = 0: $READS read calls per 100 frames"
[ "$WRITES" -ge 90 ] || fail "io-batch = 0: $WRITES write calls per 100 frames"

# io_uring forbidden on node 2: the fallback
stop_node 1; stop_node 2
T_ARGS=()
start_node 1
ip netns exec "$(ns 2)" "$NOIOURING" "$SHMNETD" --cluster "$CLUSTER" --node 2 \
    --foreground >>"$T_DIR/node2.log" 2>&1 &
T_PIDS[2]=$!
wait_state 1 up 5 >/dev/null && wait_state 2 up 5 >/dev/null || fail "restart"
ping_all 1 2
flood
[ "$READS" -lt 50 ] || fail "node 1: $READS read calls per 100 frames"
[ "$WRITES" -ge 90 ] || fail "no io_uring: $WRITES write calls per 100 frames"
[ "$(grep -c 'local: no io_uring (Operation not permitted)' "$T_DIR/node2.log")" = 1 ] ||
    fail "node 2 did not say once that it has no io_uring"
say "PASS"
