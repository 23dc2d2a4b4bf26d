#!/bin/bash
# Squatters.  /dev/shm is everybody's: another user (uid 65534) may make
# the cluster's segment or lock file there first, mode 0666, or either
# may be a symbolic link to a file of ours.  Each time the daemon
# refuses to start, within 5 s, with one line that names the file, and
# changes no file it did not make: contents, mode, owner and link
# targets are as they were.
# A user who may read the segment (segment-mode 0644) cannot open the
# lock file (0600), and their OFD read lock on the segment delays no
# start or stop.  A user who holds OFD read locks on the lock file
# itself (it was made readable to them; the next start makes it 0600
# again) keeps no dead node alive and delays no start or stop: a start
# is refused at once, saying why, and a stop ends; each within
# SQUAT_WAIT_S (3) seconds.
. "$(dirname "$0")/lib.sh"
require_root setpriv

[ -x "$OFDREAD" ] || fail "no test helper at $OFDREAD"
WAIT_S=${SQUAT_WAIT_S:-3}
SEG=/dev/shm/shmnet.$CLUSTER
LOCK=$SEG.lock
UID2=65534
AS_OTHER=(setpriv --reuid "$UID2" --regid "$UID2" --clear-groups)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# snap PATH: what a file is: type, mode, owner, size, contents; for a
# link, its target too
snap() {
	if [ -L "$1" ]; then
		printf 'link -> %s; ' "$(readlink "$1")"
		snap "$(readlink "$1")"
	elif [ -e "$1" ]; then
		printf '%s %s %s:%s %s %s\n' "$(stat -c %F "$1")" "$(stat -c %a "$1")" \
		    "$(stat -c %u "$1")" "$(stat -c %g "$1")" "$(stat -c %s "$1")" \
		    "$(sha256sum <"$1" | cut -c1-16)"
	else
		echo absent
	fi
}

# refused CASE: node 1 does not start on the files as they are: it exits
# within 5 s, non-zero, having logged one line that names a file, and
# the files it did not make are unchanged
refused() {
	local c=$1 before_seg before_lock lines pid rc
	before_seg=$(snap "$SEG")
	before_lock=$(snap "$LOCK")
	lines=$(cat "$T_DIR/node1.log" 2>/dev/null | wc -l)
	start_node 1
	pid=${T_PIDS[1]}
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$c: node 1 started (or hangs) on them"
	wait "$pid"
	rc=$?
	T_PIDS[1]=""
	[ "$rc" != 0 ] || fail "$c: node 1 exited 0"
	msg=$(tail -n +$(( lines + 1 )) "$T_DIR/node1.log")
	[ "$(grep -c . <<<"$msg")" = 1 ] || fail "$c: node 1 said: $msg"
	grep -q "$SEG" <<<"$msg" || fail "$c: the message names no file: $msg"
	[ "$before_seg" = absent ] || [ "$(snap "$SEG")" = "$before_seg" ] ||
	    fail "$c: the segment changed: $before_seg / $(snap "$SEG")"
	[ "$before_lock" = absent ] || [ "$(snap "$LOCK")" = "$before_lock" ] ||
	    fail "$c: the lock file changed: $before_lock / $(snap "$LOCK")"
	say "$c: refused: $msg"
}

# squat FILE...: FILE made by the other user, mode 0666, with contents
squat() {
	local f
	for f in "$@"; do
		"${AS_OTHER[@]}" sh -c 'umask 0; head -c 4096 /dev/urandom >"$0"' "$f" ||
		    fail "cannot make $f as uid $UID2"
	done
}

clear_files() { rm -f "$SEG" "$LOCK"; }

make_ns 1 2 3
# T_PIDS[n] is node n's daemon; helpers started with bg_ns go after
# the nodes this test may start
T_PIDS[9]=""
squat "$SEG" "$LOCK"
refused "segment and lock file another user's"
clear_files
squat "$SEG"
refused "segment another user's"
clear_files
squat "$LOCK"
refused "lock file another user's"
clear_files

echo "ours" >"$T_DIR/target"
chmod 0640 "$T_DIR/target"
ln -s "$T_DIR/target" "$SEG"
refused "segment a link to a file of ours"
clear_files
ln -s "$T_DIR/target" "$LOCK"
refused "lock file a link to a file of ours"
clear_files
ln -s "$T_DIR/target" "$SEG"
ln -s "$T_DIR/target" "$LOCK"
refused "both links to a file of ours"
clear_files
[ "$(snap "$T_DIR/target")" = "regular file 640 0:0 5 $(echo ours | sha256sum | cut -c1-16)" ] ||
    fail "the link target changed: $(snap "$T_DIR/target")"

# timed WHAT CMD...: CMD ends within WAIT_S seconds
timed() {
	local what=$1 t0; shift
	t0=$(now_ms)
	"$@" || fail "$what failed"
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -le $(( WAIT_S * 1000 )) ] || fail "$what took $ms ms"
	say "$what: $ms ms"
}
start_up() { start_node "$1" "${@:2}"; wait_state "$1" up "$WAIT_S" >/dev/null; }
stop_bounded() {
	local pid=${T_PIDS[$1]}
	kill -TERM "$pid"
	for _ in $(seq $(( WAIT_S * 10 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && return 1
	wait "$pid"
	T_PIDS[$1]=""
}

# a reader of the segment: may not open the lock file; its read lock on
# the segment changes nothing
timed "node 1 starts (segment-mode 0644)" start_up 1 --set cluster.segment-mode=0644
[ "$(stat -c '%a %u' "$LOCK")" = "600 0" ] ||
    fail "lock file is $(stat -c '%a %u' "$LOCK"), not 600 root's"
out=$("${AS_OTHER[@]}" "$OFDREAD" "$LOCK")
case $out in *"Permission denied"*) ;; *) fail "uid $UID2 on the lock file: $out" ;; esac
bg_out 1 "$T_DIR/rdseg.out" "${AS_OTHER[@]}" "$OFDREAD" "$SEG"
for _ in $(seq 50); do grep -q . "$T_DIR/rdseg.out" && break; sleep 0.1; done
grep -q locked "$T_DIR/rdseg.out" || fail "uid $UID2 on the segment: $(cat "$T_DIR/rdseg.out")"
say "uid $UID2 may not open the lock file; it read-locks the segment"
timed "node 2 starts" start_up 2
timed "node 2 stops" stop_bounded 2
timed "node 1 stops, last out" stop_bounded 1
[ -e "$SEG" ] || [ -e "$LOCK" ] && fail "the last node out left $(ls "$SEG"*)"
kill "$BG_PID"

# a reader of the lock file itself (made readable to it), with a read
# lock on byte 0 (the init lock) and on every free node byte: a dead
# node's byte it takes does not keep that node alive; a start is
# refused at once, saying why (a daemon takes the init lock to join,
# and nobody can while the read lock holds it), and a stop is not
# delayed (the last node out leaves the files: it cannot remove them
# safely without the init lock).  SQUAT_READER_START=1 asks more: the
# start succeeds despite the reader (not so by design today).
timed "node 1 starts" start_up 1
timed "node 3 starts" start_up 3
chmod 0644 "$LOCK"
# node 3 dies while node 1 is stopped, and the reader takes its byte
# before node 1 looks
kill -STOP "${T_PIDS[1]}"
pid3=${T_PIDS[3]}
kill -KILL "$pid3"
wait "$pid3" 2>/dev/null
T_PIDS[3]=""
bg_out 1 "$T_DIR/rdlock.out" "${AS_OTHER[@]}" "$OFDREAD" "$LOCK" 0:1 2:0
READER=$BG_PID
for _ in $(seq 50); do grep -q . "$T_DIR/rdlock.out" && break; sleep 0.1; done
kill -CONT "${T_PIDS[1]}"
grep -q locked "$T_DIR/rdlock.out" || fail "uid $UID2 on the lock file: $(cat "$T_DIR/rdlock.out")"
say "uid $UID2 holds a read lock on every byte of the lock file but node 1's"
ms=$(wait_state 3 down 2) || fail "killed node 3 still up 2 s later: the read lock on its byte keeps it alive"
for _ in $(seq 20); do grep -q "node 3 died" "$T_DIR/node1.log" && break; sleep 0.1; done
grep -q "node 3 died" "$T_DIR/node1.log" || fail "node 1 did not reap killed node 3 within 2 s"
say "killed node 3 seen down after $ms ms, reaped by node 1"
if [ "${SQUAT_READER_START:-0}" = 1 ]; then
	timed "node 2 starts" start_up 2
	in_ns 1 ping -c 1 -W 2 -q "$(addr 2)" >/dev/null || fail "node 1 cannot ping node 2"
	timed "node 2 stops" stop_bounded 2
else
	lines=$(cat "$T_DIR/node2.log" 2>/dev/null | wc -l)
	t0=$(now_ms)
	start_node 2
	pid=${T_PIDS[2]}
	for _ in $(seq $(( WAIT_S * 10 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "node 2's start still runs after $WAIT_S s"
	wait "$pid" && fail "node 2 started while a read lock held the init lock"
	T_PIDS[2]=""
	msg=$(tail -n +$(( lines + 1 )) "$T_DIR/node2.log")
	[ "$(grep -c . <<<"$msg")" = 1 ] && grep -q "read lock" <<<"$msg" ||
	    fail "node 2's refused start said: $msg"
	say "node 2's start refused after $(( $(now_ms) - t0 )) ms: $msg"
fi
[ "$(stat -c %a "$LOCK")" = 600 ] || fail "lock file mode $(stat -c %a "$LOCK") after a start"
timed "node 1 stops" stop_bounded 1
kill "$READER"
say "PASS"
