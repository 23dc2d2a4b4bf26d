#!/bin/bash
# An idle receive thread sleeps until it is rung, on no timer: over 4 idle
# seconds node 2's rx-local thread is not scheduled more than once (IPv6
# is off in both namespaces and the neighbours are static, so that no
# router solicitation, MLD report or ARP probe rings it; the daemon used
# to wake it every second).  Then a wake-up is
# lost: tests/stopwake claims it (sleeping 1 -> 0) and exits, as a sender
# killed between the two steps of bell_ring would, so that every later
# sender leaves the wake-up to it.  Node 2's main loop must make it good:
# node 1's ping is answered within 4 s, node 2 counts one wakes_recovered
# and says so once in its log, and traffic goes on as before.  Last, a
# ring that grew for one large ping shrinks back when idle and its memory
# goes back: the sender, moving to the new ring, must wake the sleeping
# receiver to see the old one retired.
. "$(dirname "$0")/lib.sh"
require_root jq ping

[ -x "$STOPWAKE" ] || fail "no test helper at $STOPWAKE"
make_ns 1 2
for n in 1 2; do
	in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1 || fail "sysctl in node $n"
done
T_ARGS=(--set local.ring-shrink-after=1)
for n in 1 2; do start_node "$n"; done
for n in 1 2; do wait_state "$n" up 5 >/dev/null || fail "node $n not up"; done
mac() { ctl --json nodes | jq -r ".[] | select(.id == $1) | .mac"; }
in_ns 1 ip neigh replace "$(addr 2)" lladdr "$(mac 2)" nud permanent dev shm0 &&
    in_ns 2 ip neigh replace "$(addr 1)" lladdr "$(mac 1)" nud permanent dev shm0 ||
    fail "static neighbours"
ping_all 1 2
SEG=/dev/shm/shmnet.$CLUSTER
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
recovered() {
	ctl --json nodes | jq -r '.[] | select(.id == 2) | .wakes_recovered'
}

# the rx-local thread of node 2 and how often it was scheduled
pid=$(daemon_pid 2)
tid=
for t in /proc/"$pid"/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = rx-local ] && tid=${t##*/}
done
[ -n "$tid" ] || fail "node 2 has no rx-local thread"
switches() {
	awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s }' \
	    "/proc/$pid/task/$tid/status"
}
sleep 1		# the pings' busy-poll windows and ARP are over
s0=$(switches)
sleep 4
s1=$(switches)
say "rx-local of node 2 was scheduled $(( s1 - s0 )) times in 4 idle seconds"
[ $(( s1 - s0 )) -le 1 ] || fail "an idle receive thread woke $(( s1 - s0 )) times in 4 s"

[ "$(recovered)" = 0 ] || fail "wakes_recovered is $(recovered) before any was lost"
"$STOPWAKE" "$SEG" 2 >"$T_DIR/stopwake.out" 2>&1 ||
    fail "stopwake: $(cat "$T_DIR/stopwake.out")"
t0=$(now_ms)
in_ns 1 ping -c 1 -W 5 -q "$(addr 2)" >/dev/null 2>&1 ||
    fail "node 2 never answered after its wake-up was lost"
ms=$(( $(now_ms) - t0 ))
say "answered $ms ms after the wake-up was lost"
[ "$ms" -le 4000 ] || fail "the lost wake-up took $ms ms to make good"
[ "$(recovered)" = 1 ] || fail "wakes_recovered is $(recovered), not 1"
n=$(grep -c "did not make it" "$T_DIR/node2.log")
[ "$n" = 1 ] || fail "node 2 logged the lost wake-up $n times, not once"
t0=$(now_ms)
for i in 1 2 3; do pings 1 2 || fail "ping $i after the recovery"; done
ms=$(( $(now_ms) - t0 ))
[ "$ms" -le 1000 ] || fail "3 pings after the recovery took $ms ms"

kib0=$(seg_kib)
in_ns 1 ping -c 1 -s 30000 -W 2 -q "$(addr 2)" >/dev/null 2>&1 ||
    fail "a 30000-byte ping"
[ "$(pair_slots 1 2)" -gt 64 ] || fail "ring 1 -> 2 did not grow for a 30000-byte frame"
# shrink after 1-2 idle ticks, the sender moves at its next tick, the
# memory goes back a second after the old ring is freed: 3-6 s here
t0=$(now_ms) ms=0
while [ "$ms" -le 15000 ]; do
	[ "$(pair_slots 1 2)" = 64 ] && [ "$(seg_kib)" -le $((kib0 + 8)) ] && break
	sleep 0.1
	ms=$(( $(now_ms) - t0 ))
done
[ "$(pair_slots 1 2)" = 64 ] || fail "ring 1 -> 2 did not shrink (still $(pair_slots 1 2) slots)"
[ "$(seg_kib)" -le $((kib0 + 8)) ] ||
    fail "segment holds $(seg_kib) KiB $ms ms after the large ping, $kib0 before it"
say "a ring grew and shrank; the segment was back to $(seg_kib) KiB in $ms ms"
exit 0
