#!/bin/bash
# The TCP send buffer ceiling of a node's namespace (net.ipv4.tcp_wmem's
# maximum): raised to [namespace] tcp-wmem-max (8 MiB) at start, never
# lowered, left alone at 0, put back at exit unless changed meanwhile;
# a read-only /proc/sys (a container's) costs a warning, not the start.
. "$(dirname "$0")/lib.sh"
require_root ping unshare mount

KERNEL="4096 16384 4194304"	# the kernel's own default
wmem() { in_ns "$1" sysctl -n net.ipv4.tcp_wmem | tr -s ' \t' ' '; }
set_wmem() { in_ns "$1" sysctl -qw net.ipv4.tcp_wmem="$2" || fail "sysctl in ns $1"; }
up() { wait_state "$1" up 5 >/dev/null || fail "node $1 not up"; }

make_ns 1 2 3 4
set_wmem 1 "$KERNEL"
set_wmem 2 "4096 16384 33554432"
set_wmem 3 "$KERNEL"
set_wmem 4 "$KERNEL"
start_node 1
start_node 2
start_node 3 --set namespace.tcp-wmem-max=0
up 1; up 2; up 3
ping_all 1 2 3
[ "$(wmem 1)" = "4096 16384 8388608" ] || fail "node 1: tcp_wmem $(wmem 1), not raised to 8 MiB"
grep -q 'tcp_wmem in this network namespace: "4096 16384 8388608", was "4096 16384 4194304"' \
    "$T_DIR/node1.log" || fail "node 1 did not log the raise"
say "raised from 4 MiB to 8 MiB, and logged"
[ "$(wmem 2)" = "4096 16384 33554432" ] || fail "node 2: tcp_wmem $(wmem 2), lowered"
grep -q tcp_wmem "$T_DIR/node2.log" && fail "node 2 logged a change it did not make"
[ "$(wmem 3)" = "$KERNEL" ] || fail "node 3 (tcp-wmem-max 0): tcp_wmem $(wmem 3)"
say "a higher ceiling is kept; tcp-wmem-max = 0 leaves it alone"

stop_node 1
[ "$(wmem 1)" = "$KERNEL" ] || fail "node 1 left tcp_wmem at $(wmem 1)"
grep -q 'tcp_wmem put back to "4096 16384 4194304"' "$T_DIR/node1.log" ||
    fail "node 1 did not log putting it back"
stop_node 2
[ "$(wmem 2)" = "4096 16384 33554432" ] || fail "node 2 changed tcp_wmem at exit"
say "put back at exit, and only by the node that raised it"

start_node 1
up 1
[ "$(wmem 1)" = "4096 16384 8388608" ] || fail "node 1 restarted: tcp_wmem $(wmem 1)"
set_wmem 1 "4096 16384 12582912"	# an operator's change meanwhile
stop_node 1
[ "$(wmem 1)" = "4096 16384 12582912" ] || fail "node 1 undid an operator's change: $(wmem 1)"
grep -q "tcp_wmem changed since the start; left as it is" "$T_DIR/node1.log" ||
    fail "node 1 did not say why it left tcp_wmem"
say "a value changed while the node ran is left as it is"

# node 4 as in a container: /proc/sys read-only (the global network sets
# rp_filter through it, so only the local one here; global_rosysctl.sh
# has the global one)
start_node_ro 4 --set global.enabled=no
up 4
ping_all 3 4
grep -q "cannot raise net.ipv4.tcp_wmem's maximum to 8388608.*Read-only file system.*--sysctl" \
    "$T_DIR/node4.log" || fail "node 4 did not warn about a read-only /proc/sys"
[ "$(wmem 4)" = "$KERNEL" ] || fail "node 4: tcp_wmem $(wmem 4)"
stop_node 4
grep -q "cannot put net.ipv4.tcp_wmem back" "$T_DIR/node4.log" &&
    fail "node 4 tried to put back what it never raised"
say "a read-only /proc/sys: a warning that says how to set it, and the node runs"
say "PASS"
