#!/bin/bash
# The listener scan of an idle node: its sock_diag dumps walk the host's
# listening and UDP hash tables, so a node runs them only when a TCP or
# UDP socket of its namespace came or went (/proc/net/sockstat{,6}), and
# at least every 10 s.
#  - idle, node 2's main thread sends at most one scan's 4 sock_diag
#    requests in 3 s (it used to send 4 every second);
#  - a new TCP listener, a new UDP socket and a closed listener are each
#    published within 2.5 s;
#  - a listener that closes as another opens in the same instant
#    (tests/swaplisten: the counts do not move) is published by the
#    10 s full scan, within 12 s.
. "$(dirname "$0")/lib.sh"
require_root jq socat strace

SWAPLISTEN=${SWAPLISTEN:-$(pwd)/tests/swaplisten}
[ -x "$SWAPLISTEN" ] || fail "no test helper at $SWAPLISTEN"
start_cluster 1 2
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# published PROTO PORT: node 2 publishes a PROTO socket on PORT
published() {
	[ "$(ctl --json listeners | jq "[.[] | select(.node == 2 and
	    .proto == \"$1\" and .port == $2)] | length")" -ge 1 ]
}
# within MS WANT PROTO PORT: published PROTO PORT becomes WANT (yes/no)
# within MS milliseconds; prints the time it took
within() {
	local limit=$1 want=$2 t0 now
	t0=$(now_ms)
	while :; do
		if published "$3" "$4"; then [ "$want" = yes ] && break
		else [ "$want" = no ] && break; fi
		now=$(now_ms)
		[ $(( now - t0 )) -gt "$limit" ] && return 1
		sleep 0.05
	done
	echo $(( $(now_ms) - t0 ))
}

sleep 1.5
pid=$(daemon_pid 2)
timeout -s INT 3 strace -qq -p "$pid" -e trace=sendto -o "$T_DIR/strace.out" \
    >/dev/null 2>&1
n=$(grep -c '^sendto(' "$T_DIR/strace.out")
say "idle: $n sock_diag requests in 3 s"
[ "$n" -le 4 ] || fail "an idle node sent $n sock_diag requests in 3 s"

bg_ns 2 socat TCP-LISTEN:9100,fork,reuseaddr SYSTEM:"echo node2"
tcp=${T_PIDS[-1]}
ms=$(within 2500 yes tcp 9100) || fail "a new TCP listener was not published within 2.5 s"
say "new TCP listener published in $ms ms"
bg_ns 2 socat -u UDP-RECV:9101 /dev/null
ms=$(within 2500 yes udp 9101) || fail "a new UDP socket was not published within 2.5 s"
say "new UDP socket published in $ms ms"
kill "$tcp"
ms=$(within 2500 no tcp 9100) || fail "a closed TCP listener was still published after 2.5 s"
say "closed TCP listener withdrawn in $ms ms"

bg_out 2 "$T_DIR/swap.out" "$SWAPLISTEN" 9102 9103
swap=$BG_PID
ms=$(within 2500 yes tcp 9102) || fail "swaplisten's first listener was not published"
sleep 0.3
kill -USR1 "$swap"
for _ in $(seq 20); do grep -q B "$T_DIR/swap.out" && break; sleep 0.05; done
grep -q B "$T_DIR/swap.out" || fail "swaplisten did not swap"
ms=$(within 12000 yes tcp 9103) || fail "a swapped listener was not published within 12 s"
published tcp 9102 && fail "the closed listener of the swap is still published"
say "swapped listener published in $ms ms (the full scan)"
exit 0
