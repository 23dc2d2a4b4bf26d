#!/bin/bash
# Health checks of the cluster address's backends, as an operator uses
# them (interval 1 s, rise 2, fall 2):
#  - node 2 checks its ports with a script (check = exec:...) that fails
#    while a file of the test exists: failing, node 2's check goes down
#    within interval x fall (and a tick), services shows it down, and 30
#    new connections to G:8080 from node 4 all go to nodes 1 and 3; the
#    script passing again, it comes back up after rise successes and
#    takes its share again;
#  - node 3 checks with a TCP connect (check = tcp) on loopback: its
#    server on G:8080 is bound to G, out of a tcp check's reach (none);
#    its server on port 9090 (the wildcard address) is up, then replaced
#    by one that hangs: it listens with a backlog of 1 and never accepts,
#    its queue full.  Node 3 goes down (full queue, failed connects) and
#    30 new connections go to nodes 1 and 2.
. "$(dirname "$0")/lib.sh"
require_root socat jq

G=10.202.0.1
CHECK=(--set global.check-interval=1 --set global.check-timeout=1
    --set global.check-rise=2 --set global.check-fall=2)
[ -x "$HUNGSRV" ] || fail "no hungsrv at $HUNGSRV"

# the script: its arguments and environment recorded, exit 1 while
# $T_DIR/fail.PORT exists
cat > "$T_DIR/check.sh" <<EOF
#!/bin/sh
echo "\$# \$1 \$SHMNET_PORT \$SHMNET_PROTO \$SHMNET_FAMILY" > "$T_DIR/args.\$1"
[ ! -e "$T_DIR/fail.\$1" ]
EOF
chmod 755 "$T_DIR/check.sh"

make_ns 1 2 3 4
start_node 1
start_node 2 --set "global.check=exec:$T_DIR/check.sh" "${CHECK[@]}"
start_node 3 --set global.check=tcp "${CHECK[@]}"
start_node 4
for n in 1 2 3 4; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
for n in 1 2 3; do
	bg_ns $n socat TCP-LISTEN:8080,bind=$G,fork,reuseaddr SYSTEM:"echo node$n"
done
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080)] | length')" = 3 ] && break
	sleep 0.1
done

# backend PORT NODE: "check state" of NODE under G:PORT/tcp in services
backend() {
	ctl --json services | jq -r ".[] | select(.port == $1 and
	    .proto == \"tcp\" and .family == 4) | .backends[] |
	    select(.node == $2) | \"\(.check) \(.state)\""
}

# wait_backend PORT NODE WANT SECONDS: poll every 50 ms until backend
# says WANT; prints the elapsed ms
wait_backend() {
	local i
	for ((i = 0; i <= $4 * 20; i++)); do
		[ "$(backend "$1" "$2")" = "$3" ] && { echo $(( i * 50 )); return 0; }
		sleep 0.05
	done
	return 1
}

# tally PORT N: N sequential connections from node 4 to G:PORT, the
# answers counted by node
tally() {
	in_ns 4 bash -c 'for i in $(seq '"$2"'); do
		exec 3<>/dev/tcp/'"$G/$1"' || continue
		read -r -t 3 line <&3 && echo "$line"; exec 3>&-
	done' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}

wait_backend 8080 2 "up active" 5 >/dev/null ||
    fail "node 2's script check not up: $(backend 8080 2)"
[ "$(backend 8080 1)" = "none active" ] || fail "node 1: $(backend 8080 1)"
[ "$(backend 8080 3)" = "none active" ] || fail "node 3: $(backend 8080 3)"
grep -q "port 8080/tcp is bound to G: no tcp check" "$T_DIR/node3.log" ||
    fail "node 3 does not say why 8080 has no tcp check"
[ "$(cat "$T_DIR/args.8080")" = "1 8080 8080 tcp 4" ] ||
    fail "the script got: $(cat "$T_DIR/args.8080")"
say "node 2's script check up (port, SHMNET_* given); nodes 1, 3 none (3: bound to G)"

touch "$T_DIR/fail.8080"
ms=$(wait_backend 8080 2 "down down" 3) ||
    fail "node 2 not down 3 s after its script fails: $(backend 8080 2)"
say "script failing: node 2 down in $ms ms (interval 1 s x fall 2)"
grep -q "port 8080/tcp check down (2 failures: exit status 1)" \
    "$T_DIR/node2.log" || fail "no check down line in node 2's log"
got=$(tally 8080 30)
[ "$got" = "node1=15 node3=15 " ] || fail "node 2 down: 30 connections -> $got"
say "node 2 down: 30 connections -> $got"

rm -f "$T_DIR/fail.8080"
ms=$(wait_backend 8080 2 "up active" 4) ||
    fail "node 2 not up again: $(backend 8080 2)"
say "script passing: node 2 up again in $ms ms (rise 2)"
grep -q "port 8080/tcp check up (2 successes)" "$T_DIR/node2.log" ||
    fail "no check up line in node 2's log"
got=$(tally 8080 30)
[ "$got" = "node1=10 node2=10 node3=10 " ] || fail "node 2 up: 30 connections -> $got"
say "node 2 up: 30 connections -> $got"

for n in 1 2 3; do
	bg_out $n /dev/null socat TCP-LISTEN:9090,fork,reuseaddr SYSTEM:"echo node$n"
done
SRV3=$BG_PID
ms=$(wait_backend 9090 3 "up active" 5) ||
    fail "node 3's tcp check of 9090 not up: $(backend 9090 3)"
say "node 3's tcp check of 9090 (wildcard) up in $ms ms"
kill "$SRV3"; wait "$SRV3" 2>/dev/null
bg_ns 3 "$HUNGSRV" 0.0.0.0 9090 3
ms=$(wait_backend 9090 3 "down down" 8) ||
    fail "node 3's hung server not down: $(backend 9090 3)"
say "hung server on node 3: check down, state down in $ms ms"
grep -q "port 9090/tcp check down (2 failures: timed out after 1 s)" \
    "$T_DIR/node3.log" || fail "no check down line in node 3's log"
got=$(tally 9090 30)
[ "$got" = "node1=15 node2=15 " ] || fail "node 3 hung: 30 connections -> $got"
say "node 3 hung: 30 connections -> $got"
[ "$(backend 8080 3)" = "none active" ] || fail "node 3 on 8080: $(backend 8080 3)"
say "PASS"
