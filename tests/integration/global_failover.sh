#!/bin/bash
# Failures on the global network:
#  - kill -9 node 2: within 1 s new connections to G:8080 reach only nodes
#    1 and 3, and no established connection to node 1 or 3 breaks;
#  - a listener that closes (node 3's) stops receiving new flows within 1 s.
. "$(dirname "$0")/lib.sh"
require_root socat jq
G=10.202.0.1

start_cluster 1 2 3 4
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
	bg_ns $n socat TCP-LISTEN:7100,fork,reuseaddr \
	    SYSTEM:"while read l; do echo node$n \$l; done"
done
bg_ns 3 socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:"echo node3"
srv3_8081=${T_PIDS[-1]}
bg_ns 1 socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:"echo node1"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 7100 or .port == 8080)] | length')" = 6 ] && break
	sleep 0.1
done

# six long connections from node 4 to G:7100, pinging every 100 ms for
# 6 s; each reports its node, and BROKEN if an echo stops coming
in_ns 4 bash -c '
	for i in 1 2 3 4 5 6; do exec {fd}<>/dev/tcp/'$G'/7100; fds[$i]=$fd; done
	declare -A node
	for ((t = 0; t < 60; t++)); do
		for i in 1 2 3 4 5 6; do
			[ "${node[$i]}" = dead ] && continue
			echo "p$t" >&${fds[$i]}
			if read -r -t 2 who rest <&${fds[$i]}; then
				node[$i]=${node[$i]:-$who}
			else
				echo "BROKEN ${node[$i]}"; node[$i]=dead
			fi
		done
		sleep 0.1
	done
	for i in 1 2 3 4 5 6; do [ "${node[$i]}" = dead ] || echo "ALIVE ${node[$i]}"; done
' > "$T_DIR/long.out" 2>&1 &
long=$!
sleep 1.5
stop_node 2 KILL
t0=$(date +%s%N)
sleep 1
got=$(in_ns 4 bash -c 'for i in $(seq 30); do exec 3<>/dev/tcp/'$G'/8080 &&
    read -r -t 3 l <&3 && echo "$l"; exec 3>&-; done' | sort | uniq -c |
    awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=15 node3=15 " ] || fail "1 s after kill -9 of node 2: $got"
say "1 s after kill -9 of node 2, 30 new connections -> $got"
wait $long
grep -E "BROKEN node(1|3)" "$T_DIR/long.out" && fail "a connection to node 1 or 3 broke"
[ "$(grep -c "ALIVE node" "$T_DIR/long.out")" -ge 1 ] || fail "no long connection survived: $(cat "$T_DIR/long.out")"
say "long connections: $(sort "$T_DIR/long.out" | uniq -c | tr -s ' ' | tr '\n' ';')"

kill "$srv3_8081"
sleep 1
got=$(in_ns 4 bash -c 'for i in $(seq 10); do exec 3<>/dev/tcp/'$G'/8081 &&
    read -r -t 3 l <&3 && echo "$l"; exec 3>&-; done' | sort | uniq -c |
    awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$got" = "node1=10 " ] || fail "1 s after node 3's listener closed: $got"
say "1 s after node 3 closed its 8081 listener, 10 connections -> $got"
say "PASS"
