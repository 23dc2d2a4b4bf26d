#!/bin/bash
# The global network: four nodes, G = 10.202.0.1 on each.
#  - nodes 1-3 serve TCP and UDP on 0.0.0.0:8080, answering their node id;
#    300 sequential connections (and 300 datagrams) from node 4 to G:8080
#    reach each server exactly 100 times;
#  - a server bound to G:9090 on node 2 only gets every connection to 9090;
#  - a 64 MiB transfer to G stays with one node (SHA-256 equal);
#  - shmnetctl --json listeners and conns agree with the nodes' sockets.
. "$(dirname "$0")/lib.sh"
require_root socat jq sha256sum
[ -x "$UDPREQ" ] && [ -x "$UDPSRV" ] || fail "no udpreq/udpsrv at $UDPREQ"

G=10.202.0.1

start_cluster 1 2 3 4
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
	bg_ns $n "$UDPSRV" 8080 node$n
	bg_ns $n socat -u TCP-LISTEN:7000,reuseaddr "CREATE:$T_DIR/recv$n"
done
bg_ns 2 socat TCP-LISTEN:9090,bind=$G,fork,reuseaddr SYSTEM:"echo node2"

# wait until every node published its listeners
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080)] | length')" = 6 ] &&
	    [ "$(ctl --json listeners | jq '[.[] | select(.port == 9090)] | length')" = 1 ] && break
	sleep 0.1
done
ctl --json listeners > "$T_DIR/listeners.json"
for n in 1 2 3; do
	for p in tcp udp; do
		jq -e ".[] | select(.node == $n and .proto == \"$p\" and .port == 8080 and .address == \"0.0.0.0\")" \
		    "$T_DIR/listeners.json" >/dev/null || fail "listeners: node $n $p 8080 missing"
	done
done
jq -e ".[] | select(.node == 2 and .port == 9090 and .address == \"$G\")" \
    "$T_DIR/listeners.json" >/dev/null || fail "listeners: node 2 tcp $G:9090 missing"
say "shmnetctl listeners shows the servers' sockets"

# tally PROTO: 300 requests from node 4 (a new socket, so a new flow,
# each time), each answer counted
tally() {
	if [ "$1" = tcp ]; then
		in_ns 4 bash -c 'for i in $(seq 300); do
			exec 3<>/dev/tcp/'"$G"'/8080 || continue
			read -r -t 3 line <&3 && echo "$line"; exec 3>&-
		done'
	else
		in_ns 4 "$UDPREQ" $G 8080 300 3000 41000
	fi | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}
for proto in tcp udp; do
	got=$(tally $proto)
	[ "$got" = "node1=100 node2=100 node3=100 " ] ||
	    fail "$proto: 300 requests to G:8080 were answered $got"
	say "$proto: 300 requests to G:8080 -> $got"
done

in_ns 4 bash -c 'for i in $(seq 20); do exec 3<>/dev/tcp/'$G'/9090 &&
    read -r -t 3 l <&3 && echo "$l"; exec 3>&-; done' |
    sort | uniq -c | grep -q "20 node2" || fail "G:9090 not always node 2"
say "20 connections to G:9090 all reached node 2"

head -c $((64 << 20)) /dev/urandom > "$T_DIR/data"
want=$(sha256sum < "$T_DIR/data" | cut -d' ' -f1)
in_ns 4 timeout 60 socat -u "FILE:$T_DIR/data" TCP:$G:7000 || fail "64 MiB to G:7000"
sleep 0.5
served=""
for n in 1 2 3; do
	[ -s "$T_DIR/recv$n" ] || continue
	[ -z "$served" ] || fail "the transfer reached nodes $served and $n"
	served=$n
	[ "$(sha256sum < "$T_DIR/recv$n" | cut -d' ' -f1)" = "$want" ] ||
	    fail "SHA-256 differs on node $n"
done
[ -n "$served" ] || fail "the transfer reached no node"
say "64 MiB to G stayed on node $served, SHA-256 equal"

# the connection table agrees with the sockets of node $served
ctl --json conns > "$T_DIR/conns.json"
jq -e ".[] | select(.lport == 7000 and .node == $served and .proto == \"tcp\")" \
    "$T_DIR/conns.json" >/dev/null || fail "conns: no 7000 flow on node $served"
say "shmnetctl conns shows the transfer's flow on node $served"
say "PASS"
