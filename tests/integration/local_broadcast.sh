#!/bin/bash
# A UDP broadcast from node 1 reaches nodes 2 and 3.
. "$(dirname "$0")/lib.sh"
require_root socat jq

start_cluster 1 2 3
for n in 2 3; do
	in_ns "$n" timeout 10 socat -u UDP-RECV:7100,reuseaddr "CREATE:$T_DIR/got$n" &
done
sleep 0.5
for i in 1 2 3; do
	echo "hello-$i" | in_ns 1 socat -u - UDP-DATAGRAM:10.201.255.255:7100,broadcast
	sleep 0.1
done
for _ in $(seq 50); do
	grep -q hello-3 "$T_DIR/got2" 2>/dev/null && grep -q hello-3 "$T_DIR/got3" 2>/dev/null && break
	sleep 0.1
done
for n in 2 3; do
	for i in 1 2 3; do
		grep -q "hello-$i" "$T_DIR/got$n" 2>/dev/null ||
		    fail "node $n did not receive broadcast hello-$i"
	done
done
say "broadcasts reached nodes 2 and 3"
say "PASS"
