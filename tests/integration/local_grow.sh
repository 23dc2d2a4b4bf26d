#!/bin/bash
# Ring growth and shrink (DESIGN 3.3): pair rings start at ring-min-size,
# grow under a 64 MiB TCP transfer (how far depends on how fast the
# receiver drains: 512 slots or ring-size, 1024 slots of 256 bytes here,
# never more) through the request / replace / drain handover without
# losing or reordering a byte, shrink back when idle, and the freed
# memory goes back to /dev/shm.
. "$(dirname "$0")/lib.sh"
require_root socat sha256sum jq

T_ARGS=(--set local.ring-shrink-after=2 --set local.ring-size=256K --verbose)
start_cluster 1 2

ping_all 1 2
[ "$(pair_slots 1 2)" = 64 ] || fail "ring 1 -> 2 starts with $(pair_slots 1 2) slots, want 64"
idle_kib=$(seg_kib)
say "new rings: 64 slots each; segment holds $idle_kib KiB"

head -c $((64 << 20)) /dev/urandom > "$T_DIR/data"
send_file 1 2 7001 "$T_DIR/data"
grown=$(pair_slots 1 2)
[ "$grown" -ge 512 ] && [ "$grown" -le 1024 ] ||
    fail "ring 1 -> 2 has $grown slots after the transfer, want 512-1024 (ring-size)"
grep -q "ring from node 1 grow: 64 -> " "$T_DIR/node2.log" ||
    fail "node 2 did not log the growth"
busy_kib=$(seg_kib)
say "64 MiB 1 -> 2 with equal SHA-256; ring grew to $grown slots; segment holds $busy_kib KiB"
[ "$busy_kib" -ge $((idle_kib + 128)) ] || fail "the grown ring takes no memory?"

# idle: back to 64 slots within ring-shrink-after (2 s) + 2 s, and the
# memory returns once the quarantine is over
for _ in $(seq 40); do [ "$(pair_slots 1 2)" = 64 ] && break; sleep 0.1; done
[ "$(pair_slots 1 2)" = 64 ] || fail "ring 1 -> 2 did not shrink (still $(pair_slots 1 2) slots)"
for _ in $(seq 30); do [ "$(seg_kib)" -le $((idle_kib + 64)) ] && break; sleep 0.1; done
kib=$(seg_kib)
[ "$kib" -le $((idle_kib + 64)) ] ||
    fail "segment holds $kib KiB after the shrink, $idle_kib before the transfer"
say "idle: shrank to 64 slots; segment back to $kib KiB"

# the replaced rings are all gone: no frame lost on the way, pings pass
ping_all 1 2
drops=$(ctl --json rings | jq '[.[] | select(.kind == "pair") | .drops] | add')
[ "$drops" = 0 ] || fail "$drops frames dropped by pair rings"
say "PASS"
