#!/bin/bash
# README's container recipe, run for real under Podman (tools/podman.sh):
# a root filesystem of the built shmnetd, shmnetctl and busybox, no image.
# Three containers under the engine's default seccomp profile ping each
# other over shm0, one serves HTTP on the cluster address G and another
# fetches it, and `podman rm -f` of one leaves the segment saying the
# node is down within 1 s (another daemon logs it on its next tick).
# The daemons say they fell back to one system call per frame and to
# heartbeats; two more started with conf/seccomp-shmnetd.json say they
# use io_uring and futex_waitv, and a SIGKILL of one (podman rm -f -t 0)
# is logged by the other within 1 s.  Everything the test makes
# (containers, storage, root filesystem) lives in its scratch directory
# and goes, failure or not.
. "$(dirname "$0")/lib.sh"
require_root jq
command -v podman >/dev/null || skip "podman not installed (tools/check installs it)"
command -v busybox >/dev/null || skip "busybox not installed (busybox-static)"
. "$(dirname "$0")/../../tools/podman.sh"
PROFILE=$(cd "$(dirname "$0")/../.." && pwd)/conf/seccomp-shmnetd.json
G=10.202.0.1

C=()	# containers made, first node last (the others share its IPC)
pm_cleanup() {
	local i
	for ((i = ${#C[@]} - 1; i >= 0; i--)); do
		"${PODMAN[@]}" rm -f -t 0 "${C[$i]}" >/dev/null 2>&1
	done
	# anything podman left mounted in its directories
	findmnt -rn -o TARGET | grep "^$T_DIR/" | sort -r |
	    while read -r m; do umount -l "$m"; done
}
trap 'pm_cleanup; cleanup' EXIT

podman_init "$T_DIR/pm" || fail "podman directories"
podman_rootfs "$T_DIR/rootfs" "$SHMNETD" "$SHMNETCTL" || fail "root filesystem"
podman_probe "$T_DIR/rootfs" || skip "podman cannot run a container here: $PODMAN_ERR"
say "podman run ${PODMAN_RUN[*]}"
if ldd "$SHMNETD" | grep -q libasan; then
	say "shmnetd is built with AddressSanitizer (its libraries go in the root filesystem)"
fi

# node N [FLAGS...]: container ${T_PFX}nN, node N, by the recipe; its
# log in node N.log (podman's k8s-file format), seen there by cleanup's
# sanitizer check.  busybox ping needs a raw socket: Docker's default
# capabilities have NET_RAW, Podman's do not.
node() {
	local n=$1 ipc=container:${T_PFX}n1; shift
	[ "$n" = 1 ] && ipc=shareable
	C+=("${T_PFX}n$n")
	podman_node "${T_PFX}n$n" "$ipc" "$CLUSTER" "$n" --cap-add NET_RAW \
	    --log-driver k8s-file --log-opt "path=$T_DIR/node$n.log" "$@" ||
	    fail "podman run node $n"
}
# pid N: node N's daemon as the host sees it
pid() { "${PODMAN[@]}" inspect -f '{{.State.Pid}}' "${T_PFX}n$1"; }
ex() { local n=$1; shift; "${PODMAN[@]}" exec "${T_PFX}n$n" "$@"; }
cping() { ex "$1" ping -c 1 -W 2 "$(addr "$2")" >/dev/null 2>&1; }

start=$SECONDS
node 1
for _ in $(seq 50); do
	p1=$(pid 1)
	[ -n "$p1" ] && [ "$p1" != 0 ] && [ -e "/proc/$p1/root/dev/shm/shmnet.$CLUSTER" ] && break
	sleep 0.1
done
# the cluster's /dev/shm is the containers' own: shmnetctl reads the
# segment through node 1's root
T_SEG=/proc/$p1/root/dev/shm/shmnet.$CLUSTER
node 2
node 3
for n in 1 2 3; do
	wait_state "$n" up 5 >/dev/null || fail "node $n not up"
done
say "3 containers up in $((SECONDS - start)) s"

for a in 1 2 3; do for b in 1 2 3; do
	[ "$a" = "$b" ] && continue
	cping "$a" "$b" || { sleep 0.5; cping "$a" "$b"; } ||
	    fail "container $a cannot ping container $b over shm0"
done; done
say "3 containers ping each other over shm0"

ex 2 httpd -p 8080 -h /var/www || fail "httpd in container 2"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.node == 2 and .port == 8080)] | length')" -ge 1 ] && break
	sleep 0.1
done
# timeout, not wget -T: busybox 1.35's wget -T crashes
got=$(ex 3 timeout 10 wget -q -O - "http://$G:8080/") ||
    fail "container 3 could not fetch http://$G:8080/"
[ "$got" = shmnet ] || fail "container 3 fetched '$got' from G, not the page"
say "container 3 fetched http://$G:8080/ from container 2's busybox httpd"

for n in 1 2 3; do
	grep -q "local: no io_uring (" "$T_DIR/node$n.log" &&
	    grep -q "futex_waitv: .*: deaths of peers are seen by heartbeat" \
	    "$T_DIR/node$n.log" ||
	    fail "node $n does not say it fell back (default seccomp profile)"
done
say "default seccomp profile: the daemons fall back to a system call per frame and heartbeats"

# gone N W RMFLAGS...: podman rm RMFLAGS container N; the ms from its
# daemon's exit until the segment says node N is down (STATE_MS: what
# shmnetctl and every peer read), and until node W's daemon logs it
# (LOG_MS: on a wake-up by futex_waitv, or else on its next 1 s tick)
gone() {
	local n=$1 w=$2 p t0 i; shift 2
	p=$(pid "$n")
	"${PODMAN[@]}" rm "$@" "${T_PFX}n$n" >/dev/null 2>&1 &
	for ((i = 0; i < 400; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
	t0=$(date +%s%N)
	kill -0 "$p" 2>/dev/null && fail "node $n's daemon still runs 4 s after podman rm $*"
	STATE_MS="" LOG_MS=""
	for ((i = 0; i < 300; i++)); do
		[ -z "$STATE_MS" ] && [ "$(node_state "$n")" = down ] &&
		    STATE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ -z "$LOG_MS" ] && grep -q "node $n down" "$T_DIR/node$w.log" &&
		    LOG_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ -n "$STATE_MS" ] && [ -n "$LOG_MS" ] && break
		sleep 0.01
	done
	wait $!
	[ -n "$STATE_MS" ] || fail "node $n not down in the segment 3 s after its exit"
	[ -n "$LOG_MS" ] || fail "node $w did not log node $n down within 3 s of its exit"
}
gone 3 1 -f
[ "$STATE_MS" -le 1000 ] || fail "node 3 down $STATE_MS ms after podman rm -f, not within 1 s"
[ "$LOG_MS" -le 2000 ] || fail "node 1 logged node 3 down $LOG_MS ms after podman rm -f, not within its tick"
say "podman rm -f: node 3 down $STATE_MS ms after its daemon exited; node 1 logged it after $LOG_MS ms (its tick)"

node 4 --security-opt "seccomp=$PROFILE"
node 5 --security-opt "seccomp=$PROFILE"
for n in 4 5; do
	wait_state "$n" up 5 >/dev/null || fail "node $n not up"
done
for n in 4 5; do
	grep -q "local: io_uring: up to [0-9]* frames per system call on shm0" "$T_DIR/node$n.log" &&
	    grep -q "futex_waitv: deaths of peers are seen at once" "$T_DIR/node$n.log" ||
	    fail "node $n does not say it uses io_uring and futex_waitv under $(basename "$PROFILE")"
	grep -q "no io_uring\|seen by heartbeat" "$T_DIR/node$n.log" &&
	    fail "node $n fell back under $(basename "$PROFILE")"
done
for a in 4 5; do for b in 1 2 4 5; do
	[ "$a" = "$b" ] && continue
	cping "$a" "$b" || { sleep 0.5; cping "$a" "$b"; } ||
	    fail "container $a cannot ping container $b over shm0"
done; done
say "$(basename "$PROFILE"): nodes 4 and 5 use io_uring and futex_waitv, and ping nodes 1, 2, 4, 5"

gone 5 4 -f -t 0
[ "$STATE_MS" -le 1000 ] || fail "node 5 down $STATE_MS ms after a SIGKILL, not within 1 s"
[ "$LOG_MS" -le 1000 ] || fail "node 4 logged node 5 down $LOG_MS ms after a SIGKILL, not within 1 s"
reaper=$(grep -l "node 5 died; reaped" "$T_DIR"/node[124].log | sed 's/.*node\([0-9]\).log/\1/' | tr '\n' ' ')
say "podman rm -f -t 0 (SIGKILL): node 5 down $STATE_MS ms after its daemon died; node 4 logged it after $LOG_MS ms; reaped by node ${reaper:-?}"

for n in 1 2 4; do
	[ "$("${PODMAN[@]}" inspect -f '{{.State.Running}}' "${T_PFX}n$n")" = true ] ||
	    fail "container $n stopped"
done
say "PASS in $((SECONDS - start)) s"
