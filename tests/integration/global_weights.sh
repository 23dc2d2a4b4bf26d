#!/bin/bash
# Weights and draining of the cluster address, as an operator uses them:
#  - weights 3:1:1 ([global] weight on node 1) give 300:100:100 of 500
#    connections, and shmnetctl services counts them so;
#  - shmnetctl drain 2 under 20 long-lived flows: every one of them goes
#    on to its end, no new flow reaches node 2, services says draining,
#    then drained once its flows are gone; undrain brings it back;
#  - a weight per port (--port) leaves the node's other ports alone;
#  - a reload with a new [global] weight takes effect for the next
#    connections; a reload of a bad file changes nothing;
#  - without write access to the segment, weight says what it needs.
. "$(dirname "$0")/lib.sh"
require_root socat jq setpriv

G=10.202.0.1
T_ARGS=(--set global.tcp-closing-timeout=1)

make_ns 1 2 3 4
printf '[global]\nweight = 3\n' > "$T_DIR/node1.conf"
start_node 1 --config "$T_DIR/node1.conf"
for n in 2 3 4; do start_node $n; done
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo node$n"
	bg_ns $n socat TCP-LISTEN:7070,fork,reuseaddr \
	    SYSTEM:"while read -r l; do echo node$n \$l; done"
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080 or .port == 7070)] | length')" = 6 ] && break
	sleep 0.1
done

# tally PORT N: N sequential connections from node 4 to G:PORT, the
# answers counted by node (8080 answers at once and closes: a line sent
# to it could meet the close, and the RST would drop the answer)
tally() {
	local say=x
	[ "$1" = 8080 ] && say=""
	in_ns 4 bash -c 'for i in $(seq '"$2"'); do
		exec 3<>/dev/tcp/'"$G/$1"' || continue
		[ -n "'$say'" ] && echo x >&3
		read -r -t 3 line <&3 && echo "${line%% *}"; exec 3>&-
	done' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}

got=$(tally 8080 500)
[ "$got" = "node1=300 node2=100 node3=100 " ] ||
    fail "weights 3:1:1: 500 connections were answered $got"
say "weights 3:1:1: 500 connections -> $got"

ctl --json services > "$T_DIR/services.json"
svc='.[] | select(.port == 8080 and .proto == "tcp" and .family == 4)'
[ "$(jq "$svc | .flows" "$T_DIR/services.json")" = 500 ] ||
    fail "services: G:8080 flows $(jq -c "$svc" "$T_DIR/services.json")"
for nw in 1:3:300 2:1:100 3:1:100; do
	IFS=: read -r n w f <<<"$nw"
	jq -e "$svc | .backends[] | select(.node == $n and .weight == $w and
	    .flows == $f and .state == \"active\")" "$T_DIR/services.json" \
	    >/dev/null || fail "services: node $n: $(jq -c "$svc | .backends" "$T_DIR/services.json")"
done
ctl services | grep -q "^  -> 1 " || fail "services text: $(ctl services)"
say "services: G:8080 500 flows, backends 3/300, 1/100, 1/100"

ctl weight 1 1 | grep -q "node 1: weight 1 (was 3)" || fail "weight 1 1"

# 20 long-lived flows: a line every 0.1 s for 4 s, each echoed
for i in $(seq 20); do
	bg_out 4 "$T_DIR/long$i" bash -c 'exec 3<>/dev/tcp/'"$G"'/7070 || exit 1
	for k in $(seq 40); do
		echo "$k" >&3; read -r -t 3 r <&3 || { echo "lost at $k"; exit 1; }
		[ "${r#* }" = "$k" ] || { echo "got $r for $k"; exit 1; }
		echo "$r" > '"$T_DIR/last$i"'
		sleep 0.1
	done; echo "done ${r%% *}"'
	LONG[$i]=$BG_PID
done
for _ in $(seq 50); do
	[ "$(ctl --json conns --service 7070/tcp --count | jq .established)" = 20 ] && break
	sleep 0.1
done
on2=$(ctl --json conns --service $G:7070/tcp --node 2 --count | jq .established)
[ "$on2" -ge 1 ] || fail "no long-lived flow on node 2 ($on2)"
ctl drain 2 | grep -q "node 2 drained" || fail "drain 2"
ctl --json services | jq -e '.[] | select(.port == 7070) | .backends[] |
    select(.node == 2 and .state == "draining")' >/dev/null ||
    fail "services: node 2 not draining: $(ctl services)"
got=$(tally 7070 30)
[ "$got" = "node1=15 node3=15 " ] || fail "drained node 2: 30 new connections -> $got"
say "drain 2 under $on2 of 20 long-lived flows: 30 new connections -> $got"
for i in $(seq 20); do
	wait "${LONG[$i]}" || fail "long-lived flow $i: $(cat "$T_DIR/long$i")"
done
say "all 20 long-lived flows ran to their end"
for _ in $(seq 50); do
	ctl --json services | jq -e '.[] | select(.port == 7070) | .backends[] |
	    select(.node == 2 and .state == "drained")' >/dev/null && break
	sleep 0.1
done
ctl --json services | jq -e '.[] | select(.port == 7070) | .backends[] |
    select(.node == 2 and .state == "drained" and .active == 0)' >/dev/null ||
    fail "services: node 2 not drained: $(ctl services)"
say "services: node 2 drained once its flows ended"
ctl undrain 2 | grep -q "node 2 undrained: weight 1" || fail "undrain 2"
got=$(tally 7070 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "undrained: 30 connections -> $got"
say "undrain 2: 30 connections -> $got"

ctl weight 3 0 --port 8080 | grep -q "node 3 port 8080: weight 0" ||
    fail "weight 3 0 --port 8080"
got=$(tally 8080 20)
[ "$got" = "node1=10 node2=10 " ] || fail "port 8080 weight 0 on node 3: $got"
got=$(tally 7070 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "port 7070 after 8080's weight: $got"
ctl weight 3 default --port 8080 >/dev/null || fail "weight 3 default --port 8080"
got=$(tally 8080 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "port 8080 default again: $got"
say "weight 0 on node 3 port 8080 only: 8080 -> nodes 1, 2; 7070 and then 8080 -> all three"

# reload: a bad file changes nothing, a new weight takes effect
printf '[global]\nweight = 7\nmtu = 99\n' > "$T_DIR/node1.conf"
kill -HUP "$(daemon_pid 1)"
for _ in $(seq 50); do grep -q "configuration unchanged" "$T_DIR/node1.log" && break; sleep 0.1; done
grep -q "node1.conf:3: .*configuration unchanged" "$T_DIR/node1.log" ||
    fail "reload of a bad file: $(grep reload "$T_DIR/node1.log")"
got=$(tally 8080 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "after a bad reload: $got"
printf '[global]\nweight = 2\n' > "$T_DIR/node1.conf"
kill -HUP "$(daemon_pid 1)"
for _ in $(seq 50); do grep -q "weight changed (3 -> 2)" "$T_DIR/node1.log" && break; sleep 0.1; done
grep -q "reload: \[global\] weight changed (3 -> 2)" "$T_DIR/node1.log" ||
    fail "reload of weight 2: $(grep reload "$T_DIR/node1.log")"
got=$(tally 8080 40)
[ "$got" = "node1=20 node2=10 node3=10 " ] || fail "after reloading weight 2: $got"
say "reload: a bad file changed nothing; weight 2 -> $got"

out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$SHMNETCTL" \
    --cluster "$CLUSTER" drain 1 2>&1) && fail "drain without write access: $out"
case $out in
*"needs write access"*) ;;
*) fail "drain without write access said: $out" ;;
esac
say "without write access: $out"
say "PASS"
