#!/bin/bash
# Three nodes: every one of the 6 ordered pairs pings, with small and
# multi-slot frames; shmnetctl agrees that all three are up.
. "$(dirname "$0")/lib.sh"
require_root ping jq

start_cluster 1 2 3
ping_all 1 2 3
say "6 ordered pairs ping"
in_ns 1 ping -c 3 -i 0.2 -s 40000 -q "$(addr 3)" >/dev/null ||
    fail "40000-byte ping 1 -> 3"
in_ns 3 ping -c 3 -i 0.2 -s 9000 -q "$(addr 2)" >/dev/null ||
    fail "9000-byte ping 3 -> 2"
say "large frames cross"
[ "$(ctl --json nodes | jq '[.[] | select(.state == "up")] | length')" = 3 ] ||
    fail "shmnetctl nodes does not show 3 up"
[ "$(ctl --json rings | jq '[.[] | select(.kind == "pair" and .net == "local" and .state == "up")] | length')" = 6 ] ||
    fail "shmnetctl rings does not show 6 local pair rings"
[ "$(ctl --json rings | jq '[.[] | select(.kind == "pair" and .net == "global" and .state == "up")] | length')" = 6 ] ||
    fail "shmnetctl rings does not show 6 global pair rings"
ctl status | grep -q "3 up" || fail "shmnetctl status"
[ "$(stat -c %a "/dev/shm/shmnet.$CLUSTER")" = 600 ] &&
    [ "$(stat -c %a "/dev/shm/shmnet.$CLUSTER.lock")" = 600 ] ||
    fail "segment files are not mode 0600"
say "segment and lock file are mode 0600"

# qlen: the transmit queue length of node $1's interface $2
qlen() { in_ns "$1" cat "/sys/class/net/$2/tx_queue_len"; }
for n in 1 2 3; do
	[ "$(qlen $n shm0)" = 2048 ] && [ "$(qlen $n shmg0)" = 2048 ] ||
	    fail "node $n: txqueuelen $(qlen $n shm0)/$(qlen $n shmg0), not 2048"
done
stop_node 3
start_node 3 --set local.txqueuelen=300
wait_state 3 up 5 >/dev/null || fail "node 3 did not come back"
[ "$(qlen 3 shm0)" = 300 ] && [ "$(qlen 3 shmg0)" = 2048 ] ||
    fail "node 3: txqueuelen $(qlen 3 shm0)/$(qlen 3 shmg0), not 300/2048"
ping_all 1 2 3
say "txqueuelen 2048 by default, 300 where configured"
say "PASS"
