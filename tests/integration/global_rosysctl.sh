#!/bin/bash
# The global network where /proc/sys is read-only (a container's, unless
# privileged): the sysctls it needs cannot be written, so the node stops
# at start with an error that names them and how to preset them, and
# leaves no interface behind; with them preset in the namespace (what
# docker run --sysctl does), it starts, writes nothing, serves G and
# exits without an undo to fail.
. "$(dirname "$0")/lib.sh"
require_root socat unshare mount jq

G=10.202.0.1
sysctl_ns() { in_ns 1 sysctl -n "$1"; }

make_ns 1 2
start_node 2
wait_state 2 up 5 >/dev/null || fail "node 2 not up"

start_node_ro 1
pid=${T_PIDS[1]}
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "node 1 runs its global network on a read-only /proc/sys"
wait "$pid"
rc=$?
T_PIDS[1]=""
[ "$rc" != 0 ] || fail "node 1 exited 0 although its global network could not start"
grep -q "rp_filter: Read-only file system; /proc/sys is read-only here.*--sysctl net.ipv4.conf.default.rp_filter=2 --sysctl net.ipv4.conf.default.accept_local=1 --sysctl net.ipv4.conf.all.arp_ignore=1" \
    "$T_DIR/node1.log" || fail "node 1's error does not say what to preset"
links=$(in_ns 1 ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
[ "$links" = "lo " ] || fail "node 1 left interfaces behind: $links"
say "read-only /proc/sys: exit $rc, an error naming the three sysctls, no interface left"

in_ns 1 sysctl -qw net.ipv4.conf.default.rp_filter=2 \
    net.ipv4.conf.default.accept_local=1 net.ipv4.conf.all.arp_ignore=1 ||
    fail "presetting the sysctls in namespace 1"
mv "$T_DIR/node1.log" "$T_DIR/node1-first.txt"
start_node_ro 1
wait_state 1 up 5 >/dev/null || fail "node 1 not up with the sysctls preset"
gif=$(in_ns 1 ip -o link show | awk -F': ' '$2 != "lo" { print $2 }' |
    while read -r i; do
	in_ns 1 ip -o addr show dev "$i" | grep -q " $G/" && echo "$i"
    done | head -1)
[ -n "$gif" ] || fail "node 1 has no interface with $G"
[ "$(sysctl_ns "net.ipv4.conf.$gif.rp_filter")" = 2 ] &&
    [ "$(sysctl_ns "net.ipv4.conf.$gif.accept_local")" = 1 ] ||
    fail "$gif did not inherit the preset values"
bg_ns 1 socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node1"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.node == 1 and .port == 8080)] | length')" -ge 1 ] && break
	sleep 0.1
done
got=$(in_ns 2 bash -c "exec 3<>/dev/tcp/$G/8080 && read -r -t 3 l <&3 && echo \$l")
[ "$got" = node1 ] || fail "a connection from node 2 to G:8080 got '$got', not node1"
say "preset: up, $gif inherited them, G:8080 from node 2 reached node 1"

stop_node 1
grep -q "could not be undone" "$T_DIR/node1.log" && fail "node 1 failed to undo at exit"
say "exit: nothing to undo, nothing failed"
say "PASS"
