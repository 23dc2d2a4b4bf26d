#!/bin/bash
# While a node sends a TCP stream, its transmit thread, which polls the
# TAP, also delivers what arrives in its rings (the stream's ACKs, other
# traffic) when the receive thread is not at it (rx_help in
# daemon/rxpath.c).  Node 1 sends 64 MiB to node 2, up to 4 times, while
# node 2 pings node 1 every 10 ms: the transfers arrive whole, no echo
# is lost, and node 1 says its transmit thread delivered frames.
. "$(dirname "$0")/lib.sh"
require_root socat sha256sum

T_ARGS=(--verbose)
start_cluster 1 2
ping_all 1 2
head -c $((64 << 20)) /dev/urandom > "$T_DIR/data"

bg_out 2 "$T_DIR/ping" ping -i 0.01 10.201.0.1
PING=$BG_PID
for i in 1 2 3 4; do
	send_file 1 2 $((7400 + i)) "$T_DIR/data"
	say "64 MiB 1 -> 2 (transfer $i), SHA-256 equal"
	grep -q "transmit thread delivers received frames" "$T_DIR/node1.log" && break
done
# at least 100 echoes, whatever the transfers took (and however slow a
# loaded host makes ping's 10 ms)
for _ in $(seq 100); do
	[ "$(grep -c 'icmp_seq=' "$T_DIR/ping")" -gt 100 ] && break
	sleep 0.1
done
kill -INT "$PING"; wait "$PING" 2>/dev/null
n=$(no_loss "$T_DIR/ping") || fail "echoes lost during the transfers"
say "$n echoes from node 2 answered, none lost"
grep -q "transmit thread delivers received frames" "$T_DIR/node1.log" ||
	fail "node 1's transmit thread never delivered a received frame"
say "node 1's transmit thread delivered received frames"
say "PASS"
