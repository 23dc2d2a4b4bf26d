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
say "PASS"
