# lib.sh: helpers for shmnet integration tests (sourced, bash).
#
# Every test gets private names: namespaces "<prefix><n>", a cluster
# "<prefix>" and a scratch directory, where the prefix is built from the
# test's name and PID, so that tests never collide with each other or with
# anything else on the machine.  cleanup runs on every exit: it stops the
# daemons this test started (by PID), deletes its namespaces and removes
# its segment files.  Exit 77 means skipped (automake convention).

set -u
T_NAME=$(basename "$0" .sh)
T_PFX="sh$(printf '%s' "$T_NAME" | cksum | cut -c1-4)$$"
T_PFX=${T_PFX:0:12}
CLUSTER=$T_PFX
T_DIR=$(mktemp -d "/tmp/shmnet-it-$T_NAME-XXXXXX")
SHMNETD=${SHMNETD:-$(pwd)/shmnetd}
SHMNETCTL=${SHMNETCTL:-$(pwd)/shmnetctl}
UDPREQ=${UDPREQ:-$(pwd)/tests/udpreq}
UDPSRV=${UDPSRV:-$(pwd)/tests/udpsrv}
MCAST=${MCAST:-$(pwd)/tests/mcast}
CASTLOCK=${CASTLOCK:-$(pwd)/tests/castlock}
SCRIBBLE=${SCRIBBLE:-$(pwd)/tests/scribble}
STOPWAKE=${STOPWAKE:-$(pwd)/tests/stopwake}
RAWIP=${RAWIP:-$(pwd)/tests/rawip}
HOSTILE=${HOSTILE:-$(pwd)/tests/hostile}
UDPPROBE=${UDPPROBE:-$(pwd)/tests/udpprobe}
OFDREAD=${OFDREAD:-$(pwd)/tests/ofdread}
HUNGSRV=${HUNGSRV:-$(pwd)/tests/hungsrv}
T_PIDS=()
T_NS=()
T_MOUNTS=()
T_SEG=""	# segment path when not /dev/shm/shmnet.$CLUSTER (small_shm)

say() { printf '%s: %s\n' "$T_NAME" "$*"; }

skip() { say "SKIP: $*"; exit 77; }

fail() {
	say "FAIL: $*"
	for f in "$T_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f")"; tail -n 30 "$f"
	done
	exit 1
}

cleanup() {
	local pid ns
	for pid in "${T_PIDS[@]}"; do
		[ -n "$pid" ] || continue
		pkill -TERM -P "$pid" 2>/dev/null	# forked servers' children
		kill -TERM "$pid" 2>/dev/null
		# a test may have stopped it: TERM waits for a CONT
		pkill -CONT -P "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		[ -n "$pid" ] || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -f "/dev/shm/shmnet.$CLUSTER" "/dev/shm/shmnet.$CLUSTER.lock"
	for ns in "${T_MOUNTS[@]}"; do umount "$ns" 2>/dev/null; done
	# a sanitizer report from any daemon fails the test
	local bad
	bad=$(grep -l -E "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$T_DIR"/*.log 2>/dev/null)
	if [ -n "$bad" ]; then
		say "FAIL: sanitizer report in $(basename -a $bad | tr '\n' ' ')"
		grep -h -A 20 -E "ERROR: [A-Za-z]+Sanitizer|runtime error:" $bad | head -60
		rm -rf "$T_DIR"
		exit 1
	fi
	rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TAP)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	local c
	for c in ip "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed (tools/check installs it)"
	done
	[ -x "$SHMNETD" ] || fail "no shmnetd at $SHMNETD"
}

# ns N: the name of namespace N
ns() { printf '%s%s' "$T_PFX" "$1"; }

# make_ns N...: create namespaces with loopback up
make_ns() {
	local n
	for n in "$@"; do
		ip netns add "$(ns "$n")" || fail "ip netns add $(ns "$n")"
		T_NS+=("$(ns "$n")")
		ip -n "$(ns "$n")" link set lo up
	done
}

# in_ns N CMD...: run a command in namespace N
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# bg_ns N CMD...: run CMD in namespace N in the background; cleanup ends
# it (ip netns exec execs CMD, so $! is CMD's own PID)
bg_ns() {
	local n=$1; shift
	ip netns exec "$(ns "$n")" "$@" >/dev/null 2>&1 &
	T_PIDS+=($!)
}

# busy_loops N SECONDS COUNT: COUNT shell busy loops in namespace N for
# at most SECONDS, PIDs in BUSY_PIDS: a loaded machine, as a busy CI
# host is (end_busy_loops, or cleanup, ends them)
busy_loops() {
	local i
	BUSY_PIDS=()
	for i in $(seq "$3"); do
		bg_ns "$1" timeout "$2" sh -c 'while :; do :; done'
		BUSY_PIDS+=($!)
	done
}
end_busy_loops() {
	kill "${BUSY_PIDS[@]}" 2>/dev/null; wait "${BUSY_PIDS[@]}" 2>/dev/null
}

# bg_out N FILE CMD...: like bg_ns, with stdout and stderr in FILE; the
# PID is in BG_PID
bg_out() {
	local n=$1 f=$2; shift 2
	ip netns exec "$(ns "$n")" "$@" >"$f" 2>&1 &
	BG_PID=$!
	T_PIDS+=($BG_PID)
}

# Extra arguments for every daemon start_node starts (e.g. --set ...).
T_ARGS=()
# T_PIDNS=1: start every daemon in a PID namespace of its own, as PID 1
# (unshare --pid --fork; the daemon dies with the unshare process).
T_PIDNS=0

# start_node N [ARGS...]: start shmnetd as node N in namespace N
start_node() {
	local n=$1 pre=(); shift
	[ "$T_PIDNS" = 1 ] && pre=(unshare --pid --fork --kill-child)
	ip netns exec "$(ns "$n")" "${pre[@]}" "$SHMNETD" --cluster "$CLUSTER" \
	    --node "$n" --foreground "${T_ARGS[@]}" "$@" \
	    >>"$T_DIR/node$n.log" 2>&1 &
	T_PIDS[$n]=$!
}

# start_node_ro N [ARGS...]: start_node with /proc/sys read-only in the
# daemon's view, as in a container (a mount namespace of its own)
start_node_ro() {
	local n=$1; shift
	ip netns exec "$(ns "$n")" unshare -m --propagation private sh -c \
	    'mount --bind -o ro /proc/sys /proc/sys && exec "$0" "$@"' \
	    "$SHMNETD" --cluster "$CLUSTER" --node "$n" --foreground \
	    "${T_ARGS[@]}" "$@" >>"$T_DIR/node$n.log" 2>&1 &
	T_PIDS[$n]=$!
}

# daemon_pid N: the PID (in our namespace) of node N's shmnetd
daemon_pid() {
	local pid=${T_PIDS[$1]} child
	if [ "$T_PIDNS" = 1 ]; then
		for _ in $(seq 50); do
			child=$(pgrep -P "$pid" | head -1)
			[ -n "$child" ] && break
			sleep 0.02
		done
		pid=$child
	fi
	echo "$pid"
}

# start_cluster N...: namespaces and nodes N..., each seen up within 5 s
start_cluster() {
	local n
	make_ns "$@"
	for n in "$@"; do start_node "$n"; done
	for n in "$@"; do
		wait_state "$n" up 5 >/dev/null || fail "node $n not up"
	done
}

# stop_node N [SIGNAL]: signal node N's daemon and wait for it to exit
stop_node() {
	local n=$1 sig=${2:-TERM} pid=${T_PIDS[$1]}
	kill "-$sig" "$(daemon_pid "$n")" 2>/dev/null
	wait "$pid" 2>/dev/null
	T_PIDS[$n]=""
}

# veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces at MTU
# 1500, created in the root namespace with private names, moved, renamed
veth() {
	ip link add "${T_PFX}a" type veth peer name "${T_PFX}b" || fail "veth"
	ip link set "${T_PFX}a" netns "$(ns "$1")"
	ip link set "${T_PFX}b" netns "$(ns "$3")"
	ip -n "$(ns "$1")" link set "${T_PFX}a" name "$2" mtu 1500 up
	ip -n "$(ns "$3")" link set "${T_PFX}b" name "$4" mtu 1500 up
}

ctl() {
	if [ -n "$T_SEG" ]; then "$SHMNETCTL" -S "$T_SEG" "$@"
	else "$SHMNETCTL" --cluster "$CLUSTER" "$@"; fi
}

# small_shm MIB: put the segment on a tmpfs of MIB MiB of its own (as a
# container's /dev/shm: Docker gives 64 MiB); cleanup unmounts it
small_shm() {
	mkdir -p "$T_DIR/shm"
	mount -t tmpfs -o "size=${1}m,mode=1777" "$T_NAME" "$T_DIR/shm" ||
	    fail "mount a ${1} MiB tmpfs"
	T_MOUNTS+=("$T_DIR/shm")
	T_SEG="$T_DIR/shm/shmnet.$CLUSTER"
	T_ARGS+=(--set "cluster.segment=$T_SEG")
}

# seg_kib: KiB of memory the segment file holds
seg_kib() {
	du -k "${T_SEG:-/dev/shm/shmnet.$CLUSTER}" | cut -f1
}

# pair_slots FROM TO: slots of the local pair ring FROM -> TO
pair_slots() {
	ctl --json rings | jq -r ".[] | select(.kind == \"pair\" and
	    .net == \"local\" and .from == $1 and .to == $2) | .slots"
}

# send_file FROM TO PORT FILE: FILE over TCP from node FROM to node TO
# (socat), received whole with equal SHA-256
send_file() {
	local from=$1 to=$2 port=$3 file=$4 srv
	rm -f "$T_DIR/recv"
	in_ns "$to" timeout 60 socat -u "TCP-LISTEN:$port,bind=$(addr "$to"),reuseaddr" \
	    "CREATE:$T_DIR/recv" &
	srv=$!
	for _ in $(seq 50); do
		in_ns "$to" ss -ltn | grep -q ":$port " && break; sleep 0.1
	done
	in_ns "$from" timeout 60 socat -u "FILE:$file" "TCP:$(addr "$to"):$port" ||
	    fail "send $from -> $to"
	wait "$srv" || fail "receive $from -> $to"
	[ "$(sha256sum < "$T_DIR/recv" | cut -d' ' -f1)" = \
	    "$(sha256sum < "$file" | cut -d' ' -f1)" ] || fail "SHA-256 differs $from -> $to"
}

# ping_mesh SECONDS N...: every ordered pair among the nodes pings, all
# sources at once, each pair retrying until SECONDS have passed since
# the call; prints how many pairs answered, returns 1 unless all did
ping_mesh() {
	local secs=$1 a pids=() ok=0; shift
	for a in "$@"; do
		in_ns "$a" bash -c '
			end=$(( SECONDS + $1 )); self=$2; shift 2; pids=()
			for b in "$@"; do
				[ "$b" = "$self" ] && continue
				( until ping -c 1 -W 1 -q "10.201.$((b / 256)).$((b % 256))" \
				    >/dev/null 2>&1; do
					[ $SECONDS -ge $end ] && exit 1; sleep 0.1
				done ) &
				pids+=($!)
			done
			n=0
			for p in "${pids[@]}"; do wait "$p" && n=$((n + 1)); done
			echo "$n"' _ "$secs" "$a" "$@" >"$T_DIR/mesh.$a" 2>&1 &
		pids+=($!)
	done
	for a in "${pids[@]}"; do wait "$a"; done
	for a in "$@"; do ok=$(( ok + $(cat "$T_DIR/mesh.$a" 2>/dev/null || echo 0) )); done
	echo "$ok"
	[ "$ok" = $(( $# * ($# - 1) )) ]
}

# node_state ID: "up", "down" or "" from shmnetctl --json nodes
node_state() {
	ctl --json nodes 2>/dev/null | jq -r ".[] | select(.id == $1) | .state"
}

# wait_state ID STATE TIMEOUT_S: poll every 50 ms; prints elapsed ms
wait_state() {
	local id=$1 want=$2 limit=$(( $3 * 20 )) i
	for ((i = 0; i <= limit; i++)); do
		if [ "$(node_state "$id")" = "$want" ]; then
			echo $(( i * 50 )); return 0
		fi
		sleep 0.05
	done
	return 1
}

# addr N: the local address of node N
addr() { printf '10.201.%d.%d' $(( $1 / 256 )) $(( $1 % 256 )); }

# pings FROM TO: succeed when FROM reaches TO's local address
pings() { in_ns "$1" ping -c 1 -W 2 -q "$(addr "$2")" >/dev/null 2>&1; }

# ping_all N...: every ordered pair among the nodes pings
ping_all() {
	local a b
	for a in "$@"; do for b in "$@"; do
		[ "$a" = "$b" ] && continue
		pings "$a" "$b" || { sleep 0.5; pings "$a" "$b"; } ||
		    fail "node $a cannot ping node $b"
	done; done
}

# no_loss FILE: FILE holds the output of a ping stopped with SIGINT; every
# echo up to the last one answered was answered (at least 100 of them).
# Prints that count; on failure says why on stderr and returns 1.
no_loss() {
	local f=$1 seqs last n
	seqs=$(grep -o 'icmp_seq=[0-9]*' "$f" | cut -d= -f2)
	last=$(tail -1 <<<"$seqs")
	n=$(grep -c . <<<"$seqs")
	if [ "${last:-0}" -le 100 ]; then
		say "$(basename "$f"): only ${last:-0} echoes answered" >&2; return 1
	fi
	if [ "$n" != "$last" ]; then
		say "$(basename "$f"): $(( last - n )) of $last echoes lost" >&2; return 1
	fi
	echo "$last"
}

# long_conn NS I SOCAT_ADDR: connection I from namespace NS (socat's
# address, e.g. TCP:10.202.0.1:7100), a line every 0.1 s until
# $T_DIR/stop, each echo checked against a server that answers
# "WHO N" for line N.  Its output ($T_DIR/connI): "served by WHO", then
# "done after K" or, when an echo is lost or wrong, "BROKEN at ..." and
# it ends.  The lines echoed so far are count I's; its PID is CONN[I].
long_conn() {
	local ns=$1 i=$2 to=$3
	bg_out "$ns" "$T_DIR/conn$i" bash -c '
	coproc S { socat -T 30 - '"$to"'; }
	k=0
	while [ ! -e '"$T_DIR"'/stop ]; do
		k=$((k + 1))
		echo "$k" >&"${S[1]}"
		if ! read -r -t 8 who n <&"${S[0]}" || [ "$n" != "$k" ]; then
			echo "BROKEN at $k ($who $n) $(date +%T.%N)"; exit 1
		fi
		[ $k = 1 ] && echo "served by $who"
		echo "$k" > '"$T_DIR"'/count'"$i"'.new
		mv -f '"$T_DIR"'/count'"$i"'.new '"$T_DIR"'/count'"$i"'
		sleep 0.1
	done
	echo "done after $k"'
	CONN[$i]=$BG_PID
}
# count I: lines connection I has echoed (its writer renames the file
# into place, so a read never sees it half written)
count() {
	cat "$T_DIR/count$1" 2>/dev/null || echo 0
}
# progress N I...: each of connections I... (long_conn) echoes at least N
# more lines than when asked, within 15 s (all counted at once); fails
# naming what they said, and what progress_why prints (a test may
# define it: the state that explains a connection's end)
progress_why() { :; }
progress() {
	local n=$1 i want=() behind; shift
	for i in "$@"; do want[$i]=$(( $(count "$i") + n )); done
	for _ in $(seq 150); do
		behind=""
		for i in "$@"; do
			kill -0 "${CONN[$i]}" 2>/dev/null ||
			    fail "connection $i: $(cat "$T_DIR/conn$i"); $(progress_why)"
			[ "$(count "$i")" -ge "${want[$i]}" ] || behind+=" $i"
		done
		[ -z "$behind" ] && return 0
		sleep 0.1
	done
	for i in $behind; do
		say "connection $i stalled at $(count "$i") (wanted ${want[$i]}): $(cat "$T_DIR/conn$i")"
	done
	fail "connections stalled:$behind; $(progress_why)"
}
