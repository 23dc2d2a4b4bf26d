#!/bin/bash
# SIGHUP reloads the configuration (shmnetd.conf(5), RELOAD):
#  - a bad file changes nothing and is said in one line with its file
#    and line;
#  - live keys take effect: log-level debug brings debug lines, a
#    shorter ring-shrink-after shrinks a grown ring sooner than the
#    default would, a shorter udp-timeout expires an echo flow to G;
#  - a key that needs a restart (mtu) is said and kept;
#  - the service manager hears RELOADING=1 (with MONOTONIC_USEC) and
#    then READY=1 for each reload, the bad one too.
. "$(dirname "$0")/lib.sh"
require_root socat ping jq

CONF=$T_DIR/node1.conf
LOG=$T_DIR/node1.log
NOTE=$T_DIR/notify.out
G=10.202.0.1

make_ns 1 2
printf '[cluster]\nlog-level = info\n' >"$CONF"
bg_out 2 "$NOTE" socat -u UNIX-RECV:"$T_DIR/notify" -
for _ in $(seq 50); do [ -S "$T_DIR/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T_DIR/notify start_node 1 --config "$CONF"
start_node 2
wait_state 1 up 5 >/dev/null || fail "node 1 not up"
wait_state 2 up 5 >/dev/null || fail "node 2 not up"
for _ in $(seq 100); do grep -q READY=1 "$NOTE" && break; sleep 0.1; done
grep -q READY=1 "$NOTE" || fail "no READY=1 from node 1"

# hup N: SIGHUP node 1 and wait for its Nth READY=1 (the first was the
# start's); the datagrams run together in $NOTE
hup() {
	kill -HUP "$(daemon_pid 1)" || fail "SIGHUP"
	for _ in $(seq 100); do
		[ "$(grep -o READY=1 "$NOTE" | wc -l)" -ge "$1" ] && return
		sleep 0.1
	done
	fail "no READY=1 after reload $(( $1 - 1 )): $(cat "$NOTE")"
}

# 1. a bad file: one line with file and line, nothing changes
printf '[cluster]\nlog-level = debug\n[local]\nmtu = 70000\n' >"$CONF"
hup 2
grep -qF "reload: $CONF:4: mtu 70000 out of range (576-65535); configuration unchanged" \
    "$LOG" || fail "the bad file's line is not logged"
n=$(grep -c "reload: " "$LOG")
[ "$n" = 1 ] || fail "$n lines about the bad reload"
grep -q "reload failed, running as before: $CONF:4:" "$NOTE" ||
    fail "no STATUS for the bad reload: $(cat "$NOTE")"
seq=$(grep -o 'RELOADING=1\|READY=1' "$NOTE" | tr '\n' ' ')
[ "$seq" = "READY=1 RELOADING=1 READY=1 " ] || fail "notifications: $seq"
grep -q 'MONOTONIC_USEC=[0-9]' "$NOTE" || fail "no MONOTONIC_USEC"
pings 1 2 || pings 1 2 || fail "node 1 stopped serving after a bad reload"
say "a bad file: one line naming $(basename "$CONF"):4, nothing changed," \
    "RELOADING=1 then READY=1"

# 2. at info, a ring grows without a debug line
in_ns 2 ping -c 1 -W 2 -q -s 30000 "$(addr 1)" >/dev/null || fail "large ping"
grep -q "ring from node 2 grow" "$LOG" && fail "a debug line at log-level info"
# an echo flow to G, recorded by node 1 with the udp timeout
in_ns 1 ping -c 1 -W 2 -q "$G" >/dev/null || fail "node 1 cannot ping G"
flows() { ctl --json conns | jq '[.[] | select(.ingress == 1)] | length'; }
[ "$(flows)" -ge 1 ] || fail "no echo flow to G in the table"

# 3. live keys and a restart key
printf '%s\n' '[cluster]' 'log-level = debug' '[local]' 'mtu = 9000' \
    'ring-shrink-after = 1' '[global]' 'udp-timeout = 2' >"$CONF"
t0=$SECONDS
hup 3
for want in "reload: [cluster] log-level changed (info -> debug)" \
    "reload: [local] mtu changed (65520 -> 9000): needs a restart; kept 65520" \
    "reload: [local] ring-shrink-after changed (10 -> 1)" \
    "reload: [global] udp-timeout changed (30 -> 2)" \
    "reloaded: 3 changes in effect, 1 kept until a restart"; do
	grep -qF "$want" "$LOG" || fail "not logged: $want"
done
ip -n "$(ns 1)" link show shm0 | grep -q "mtu 65520 " ||
    fail "mtu changed without a restart"
grep -q "up; reloaded: 3 changes in effect" "$NOTE" || fail "no STATUS"
say "live keys logged as changed, mtu kept at 65520 until a restart"

# the grown ring shrinks 1 s after its last frame (the default: 10 s),
# said at debug level
for _ in $(seq 100); do
	grep -q "ring from node 2 shrink" "$LOG" && break; sleep 0.1
done
grep -q "local: ring from node 2 shrink" "$LOG" ||
    fail "no debug line for the ring's shrink within 10 s"
say "a debug line: the ring shrank $(( SECONDS - t0 )) s after the reload"

# the echo flow expires after 2 idle seconds (the default: 30)
for _ in $(seq 100); do [ "$(flows)" = 0 ] && break; sleep 0.1; done
[ "$(flows)" = 0 ] || fail "the echo flow outlived udp-timeout = 2"
say "the echo flow to G expired $(( SECONDS - t0 )) s after the reload"

seq=$(grep -o 'RELOADING=1\|READY=1' "$NOTE" | tr '\n' ' ')
[ "$seq" = "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 " ] ||
    fail "notifications: $seq"
pings 2 1 || pings 2 1 || fail "node 1 stopped serving after the reload"
say "PASS"
