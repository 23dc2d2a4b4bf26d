#!/bin/bash
# UDP multicast on the local network.  One multicast ring: the first group
# takes it; a second group travels on the broadcast ring.  Members receive
# every datagram of a paced sequence in order; nobody else receives any,
# and a node that has not joined a ring's group does not even read it.
# The label outlives the node that set it.  Joins are followed at once.
. "$(dirname "$0")/lib.sh"
require_root jq

[ -x "$MCAST" ] || fail "no test client at $MCAST"
T_ARGS=(--set local.multicast-rings=1)
start_cluster 1 2 3 4
ping_all 1 2 3 4
N=300

# stat NODE FIELD: a counter of node NODE from shmnetctl nodes
stat() { ctl --json nodes | jq -r ".[] | select(.id == $1) | .$2"; }

# expect_seq FILE COUNT: FILE holds exactly 1..COUNT, one per line
expect_seq() {
	local got
	got=$(grep -c . "$1")
	seq "$2" | cmp -s - <(grep -E '^[0-9]+$' "$1") ||
	    fail "$(basename "$1"): $got datagrams, not 1..$2 in order" \
		"(first lines: $(head -3 "$1" | tr '\n' ' '))"
}

# wait_ready FILE...: every receiver has joined
wait_ready() {
	local f
	for f in "$@"; do
		for _ in $(seq 50); do grep -q ready "$f" && break; sleep 0.1; done
		grep -q ready "$f" || fail "receiver $(basename "$f") not ready"
	done
	# the kernel tells the daemons of a join (mcwatch.c): they follow it
	# within milliseconds.  The tick that re-reads the groups as well
	# comes once a second: without the notifications each receiver has
	# a 1 in 10 chance of following in time, and the stages below have
	# five receivers
	sleep 0.1
}

# --- group A (239.1.2.3) on nodes 2 and 3: it takes the multicast ring
R=()
for n in 2 3; do
	bg_out "$n" "$T_DIR/a$n.out" "$MCAST" recv shm0 239.1.2.3 5000 $N 3000
	R+=($BG_PID)
done
for n in 1 4; do
	bg_out "$n" "$T_DIR/a$n.out" "$MCAST" recv shm0 239.1.2.3 5000 $N 3000 nojoin
	R+=($BG_PID)
done
wait_ready "$T_DIR"/a1.out "$T_DIR"/a2.out "$T_DIR"/a3.out "$T_DIR"/a4.out
rx4=$(stat 4 rx_frames)
in_ns 1 "$MCAST" send shm0 239.1.2.3 5000 $N 2000 || fail "send to group A"
wait "${R[@]}"
for n in 2 3; do expect_seq "$T_DIR/a$n.out" $N; done
for n in 1 4; do
	[ "$(grep -cE '^[0-9]+$' "$T_DIR/a$n.out")" = 0 ] ||
	    fail "node $n received group A without joining it"
done
drx4=$(( $(stat 4 rx_frames) - rx4 ))
[ "$drx4" -lt 30 ] ||
    fail "node 4 delivered $drx4 frames while group A was sent: it read a ring it does not follow"
ring=$(ctl --json rings | jq -c '.[] | select(.kind == "multicast" and .net == "local")')
[ "$(jq -r .label <<<"$ring")" = 01:00:5e:01:02:03 ] ||
    fail "multicast ring not labelled with group A: $ring"
[ "$(jq -r .frames <<<"$ring")" -ge $N ] || fail "multicast ring counted too few frames: $ring"
say "group A: $N datagrams in order on nodes 2 and 3, none elsewhere; node 4 delivered $drx4 frames"

# --- group B (239.1.2.4) on node 4: the ring is taken, so it goes through
# the broadcast ring and nodes 2 and 3 filter it out
f2=$(stat 2 multicast_filtered)
bg_out 4 "$T_DIR/b4.out" "$MCAST" recv shm0 239.1.2.4 5001 $N 3000
R=($BG_PID)
bg_out 2 "$T_DIR/b2.out" "$MCAST" recv shm0 239.1.2.4 5001 $N 3000 nojoin
R+=($BG_PID)
wait_ready "$T_DIR/b4.out" "$T_DIR/b2.out"
in_ns 1 "$MCAST" send shm0 239.1.2.4 5001 $N 2000 || fail "send to group B"
wait "${R[@]}"
expect_seq "$T_DIR/b4.out" $N
[ "$(grep -cE '^[0-9]+$' "$T_DIR/b2.out")" = 0 ] || fail "node 2 received group B"
df2=$(( $(stat 2 multicast_filtered) - f2 ))
[ "$df2" -ge $N ] || fail "node 2 filtered only $df2 frames of group B"
say "group B (no ring left): $N datagrams in order on node 4 via the broadcast ring; node 2 filtered $df2"

# --- node 1, which took the ring for group A, dies: the label is nobody's,
# so node 4 sending to group A still uses that ring and reaches 2 and 3
stop_node 1 KILL
wait_state 1 down 2 >/dev/null || fail "node 1 not down"
fr=$(ctl --json rings | jq -r '.[] | select(.kind == "multicast" and .net == "local") | .frames')
R=()
for n in 2 3; do
	bg_out "$n" "$T_DIR/c$n.out" "$MCAST" recv shm0 239.1.2.3 5002 100 3000
	R+=($BG_PID)
done
wait_ready "$T_DIR/c2.out" "$T_DIR/c3.out"
in_ns 4 "$MCAST" send shm0 239.1.2.3 5002 100 2000 || fail "send to group A from node 4"
wait "${R[@]}"
for n in 2 3; do expect_seq "$T_DIR/c$n.out" 100; done
ring=$(ctl --json rings | jq -c '.[] | select(.kind == "multicast" and .net == "local")')
[ "$(jq -r .label <<<"$ring")" = 01:00:5e:01:02:03 ] || fail "group A lost its ring: $ring"
[ "$(jq -r .frames <<<"$ring")" -ge $(( fr + 100 )) ] || fail "node 4's datagrams did not use group A's ring: $ring"
say "after node 1 died: group A keeps its ring; 100 datagrams from node 4 in order on nodes 2 and 3"

# --- a kernel without join notifications (tests/nomcnotify makes every
# netlink subscription fail as before Linux 6.13): node 3 re-reads its
# groups every 250 ms instead, and still follows a join in time
NOMCNOTIFY=${NOMCNOTIFY:-$(pwd)/tests/nomcnotify}
[ -x "$NOMCNOTIFY" ] || fail "no test wrapper at $NOMCNOTIFY"
stop_node 3
ip netns exec "$(ns 3)" "$NOMCNOTIFY" "$SHMNETD" --cluster "$CLUSTER" \
    --node 3 --foreground -v "${T_ARGS[@]}" >>"$T_DIR/node3.log" 2>&1 &
T_PIDS[3]=$!
wait_state 3 up 5 >/dev/null || fail "node 3 not up under nomcnotify"
grep -q "no multicast join notifications (Invalid argument" "$T_DIR/node3.log" ||
    fail "node 3 did not say it has no join notifications"
for port in 5003 5004; do
	bg_out 3 "$T_DIR/d$port.out" "$MCAST" recv shm0 239.1.2.3 $port 100 3000
	R=($BG_PID)
	wait_ready "$T_DIR/d$port.out"
	sleep 0.25		# the 250 ms re-read (the tick alone: 1 s)
	in_ns 2 "$MCAST" send shm0 239.1.2.3 $port 100 2000 || fail "send to group A from node 2"
	wait "${R[@]}"
	expect_seq "$T_DIR/d$port.out" 100
done
say "without join notifications: node 3 followed two joins within 350 ms"
ctl rings | grep -E '^(KIND|broadcast|multicast)'
say "PASS"
