#!/bin/bash
# IPv6 for G: with [global] address6 set, a connection to [G6]:8080 from
# node 4 lands on nodes 1-3 in turn, like IPv4 to G on the same
# dual-stack [::] servers; shmnetctl shows the IPv6 listeners and flows.
. "$(dirname "$0")/lib.sh"
require_root socat jq
G=10.202.0.1
G6=fd53:4d47::1

make_ns 1 2 3 4
for n in 1 2 3 4; do start_node "$n" --set global.address6=$G6; done
for n in 1 2 3 4; do wait_state "$n" up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3; do
	bg_ns $n socat TCP6-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080 and .family == 6)] | length')" = 3 ] && break
	sleep 0.1
done
ctl --json listeners | jq -e '.[] | select(.family == 6 and .address == "::" and .node == 2)' \
    >/dev/null || fail "no IPv6 listener of node 2"
got=$(in_ns 4 bash -c 'for i in $(seq 30); do
    exec 3<>/dev/tcp/'$G6'/8080 && read -r -t 3 l <&3 && echo "$l"; exec 3>&-;
    done' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "IPv6: $got"
say "IPv6: 30 connections to [$G6]:8080 -> $got"
got=$(in_ns 4 bash -c 'for i in $(seq 30); do
    exec 3<>/dev/tcp/'$G'/8080 && read -r -t 3 l <&3 && echo "$l"; exec 3>&-;
    done' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "IPv4 to dual-stack: $got"
say "IPv4: 30 connections to $G:8080 (dual-stack servers) -> $got"
in_ns 4 bash -c 'exec 3<>/dev/tcp/'$G6'/8080; sleep 1' &
holder=$!
sleep 0.5
ctl --json conns | jq -e '.[] | select(.local == "'$G6'" and .lport == 8080)' >/dev/null ||
    fail "shmnetctl conns shows no IPv6 flow"
wait $holder
say "shmnetctl conns shows the IPv6 flow"
say "PASS"
