#!/bin/bash
# 16 nodes with default settings in 64 MiB of shared memory (Docker's
# default /dev/shm): every one of the 240 ordered pairs pings, nothing
# fails for want of memory, and a busy pair still grows its ring (up to
# ring-size) and moves 64 KiB frames.
. "$(dirname "$0")/lib.sh"
require_root socat sha256sum jq du

N=16
small_shm 64
nodes=$(seq $N)
make_ns $nodes
for n in $nodes; do start_node "$n"; done
for n in $nodes; do wait_state "$n" up 10 >/dev/null || fail "node $n not up"; done
ok=$(ping_mesh 20 $nodes) || fail "only $ok of $((N * (N - 1))) pairs answered"
kib=$(seg_kib)
say "$ok pairs answered; segment holds $kib KiB of the 65536 KiB tmpfs"
grep -l "cannot provision" "$T_DIR"/node*.log && fail "a ring could not be provisioned"

head -c $((32 << 20)) /dev/urandom > "$T_DIR/data"
send_file 3 11 7001 "$T_DIR/data"
s=$(pair_slots 3 11)
# how far it grows depends on how fast node 11 drains it (slower under
# sanitizers); at least one step, at most ring-size
[ "$s" -ge 512 ] && [ "$s" -le 4096 ] ||
    fail "busy ring 3 -> 11 has $s slots, want 512-4096"
jumbo=$(ctl --json rings | jq ".[] | select(.kind == \"pair\" and
    .net == \"local\" and .from == 3 and .to == 11) | .bytes / .frames | floor")
[ "$jumbo" -gt 32768 ] || fail "frames 3 -> 11 average $jumbo bytes: no 64 KiB frames"
say "32 MiB 3 -> 11, SHA-256 equal; ring grew to $s slots, frames average $jumbo bytes; segment $(seg_kib) KiB"
grep -l "cannot provision\|cannot grow" "$T_DIR"/node*.log && fail "out of memory on the way"
say "PASS"
