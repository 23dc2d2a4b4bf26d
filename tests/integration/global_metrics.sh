#!/bin/bash
# Prometheus metrics of a live cluster with the global network: node 1
# serves /metrics on 127.0.0.1:9482 of its namespace, node 2 serves TCP
# on G:8080.
#  - 30 pings 1 -> 3 on the local network: node 1's tx frames and node
#    3's rx frames grow by at least 30, the pair ring 1 -> 3 carried them;
#  - 20 TCP connections 3 -> G:8080: the connection table holds 20 flows,
#    all served by node 2, as shmnetctl conns says; node 2's global rx
#    frames grew by at least 20;
#  - shmnetctl metrics and --textfile's file parse with prometheus_client;
#    --textfile replaces its file whole and leaves no temporary file; a
#    missing DIR or a file as DIR is an error naming it;
#  - GET /metrics from inside node 1's namespace, with curl, while a
#    ping flood runs: the Content-Type, a parsable text whose counters
#    move between two fetches; another path is 404;
#  - a metrics-listen address the namespace does not have stops a start.
. "$(dirname "$0")/lib.sh"
require_root jq curl socat
PY=/usr/bin/python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
    skip "python3-prometheus-client not installed (tools/check installs it)"

G=10.202.0.1
PORT=9482

# mval FILE NAME [LABEL=VALUE...]: the sum of the samples NAME of FILE
# (the text format, parsed by prometheus_client) whose labels include
# those given; fails when the text does not parse or no sample matches
mval() {
	"$PY" - "$@" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, name, want = sys.argv[1], sys.argv[2], sys.argv[3:]
want = dict(w.split("=", 1) for w in want)
total, n = 0, 0
with open(path) as f:
    for fam in text_string_to_metric_families(f.read()):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v
                                      for k, v in want.items()):
                total += s.value
                n += 1
if n == 0:
    sys.exit("no sample %s %s in %s" % (name, want, path))
print(int(total))
EOF
}

# scrape FILE: node 1's /metrics, fetched in its namespace, into FILE
# (headers in FILE.hdr)
scrape() {
	in_ns 1 curl -sS --max-time 5 -D "$1.hdr" -o "$1" \
	    "http://127.0.0.1:$PORT/metrics" || fail "GET /metrics"
}

make_ns 1 2 3
# the 20 flows below stay in the table until read, however slow the run
T_ARGS=(--set global.tcp-closing-timeout=120)
start_node 1 --set cluster.metrics-listen=127.0.0.1:$PORT
start_node 2
start_node 3
for n in 1 2 3; do wait_state $n up 5 >/dev/null || fail "node $n not up"; done
grep -q "serving metrics on http://127.0.0.1:$PORT/metrics" "$T_DIR/node1.log" ||
    fail "node 1 does not say it serves metrics"
bg_ns 2 socat TCP-LISTEN:8080,bind=$G,fork,reuseaddr SYSTEM:"echo node2"
for _ in $(seq 50); do
	[ "$(ctl --json listeners | jq '[.[] | select(.port == 8080)] | length')" = 1 ] && break
	sleep 0.1
done
ping_all 1 3

ctl metrics > "$T_DIR/before.prom" || fail "shmnetctl metrics"
tx1=$(mval "$T_DIR/before.prom" shmnet_node_tx_frames_total node=1 network=local) ||
    fail "shmnetctl metrics does not parse"
rx3=$(mval "$T_DIR/before.prom" shmnet_node_rx_frames_total node=3 network=local) || fail
grx2=$(mval "$T_DIR/before.prom" shmnet_node_rx_frames_total node=2 network=global) || fail
[ "$(mval "$T_DIR/before.prom" shmnet_conn_entries)" = 0 ] || fail "flows before any"
say "shmnetctl metrics parses (prometheus_client)"

# known traffic
in_ns 1 ping -c 30 -i 0.01 -q "$(addr 3)" >/dev/null || fail "ping 1 -> 3"
in_ns 3 bash -c 'for i in $(seq 20); do
	exec 3<>/dev/tcp/'$G'/8080 && read -r -t 3 l <&3 && echo "$l"; exec 3>&-
done' | grep -c node2 | grep -qx 20 || fail "20 connections to G:8080"

# the last connections' FINs may still be on their way: scrape until
# every flow of the 20 has closed (5 s at most)
for _ in $(seq 50); do
	ctl metrics > "$T_DIR/after.prom" || fail "shmnetctl metrics"
	[ "$(mval "$T_DIR/after.prom" shmnet_backend_inactive_flows \
	    "service=$G:8080/tcp" node=2)" = 20 ] && break
	sleep 0.1
done
ctl --json conns > "$T_DIR/conns.json"
a=$(mval "$T_DIR/after.prom" shmnet_node_tx_frames_total node=1 network=local) || fail
b=$(mval "$T_DIR/after.prom" shmnet_node_rx_frames_total node=3 network=local) || fail
[ $((a - tx1)) -ge 30 ] || fail "node 1 tx frames grew by $((a - tx1)), not 30"
[ $((b - rx3)) -ge 30 ] || fail "node 3 rx frames grew by $((b - rx3)), not 30"
r=$(mval "$T_DIR/after.prom" shmnet_ring_frames_total node=3 peer=1 network=local kind=pair) || fail
[ "$r" -ge 30 ] || fail "pair ring 1 -> 3 carried $r frames"
say "30 pings 1 -> 3: tx +$((a - tx1)) on node 1, rx +$((b - rx3)) on node 3, ring 1 -> 3 $r"

e=$(mval "$T_DIR/after.prom" shmnet_conn_entries) || fail
f2=$(mval "$T_DIR/after.prom" shmnet_conn_flows node=2) || fail
f3=$(mval "$T_DIR/after.prom" shmnet_conn_flows node=3) || fail
c=$(jq '[.[] | select(.lport == 8080 and .node == 2)] | length' "$T_DIR/conns.json")
[ "$e" = 20 ] && [ "$f2" = 20 ] && [ "$f3" = 0 ] && [ "$c" = 20 ] ||
    fail "20 connections: entries $e, flows of node 2 $f2 (node 3 $f3), conns $c"
g=$(mval "$T_DIR/after.prom" shmnet_node_rx_frames_total node=2 network=global) || fail
[ $((g - grx2)) -ge 20 ] || fail "node 2 global rx frames grew by $((g - grx2))"
[ "$(mval "$T_DIR/after.prom" shmnet_conn_refused_total)" = 0 ] || fail "flows refused"
say "20 connections to G: 20 entries, 20 flows of node 2, node 2 global rx +$((g - grx2))"
sv="service=$G:8080/tcp"
sf=$(mval "$T_DIR/after.prom" shmnet_service_flows_total "$sv") || fail
bf=$(mval "$T_DIR/after.prom" shmnet_backend_flows_total "$sv" node=2) || fail
ba=$(mval "$T_DIR/after.prom" shmnet_backend_inactive_flows "$sv" node=2) || fail
br=$(mval "$T_DIR/after.prom" shmnet_backend_in_rotation "$sv" node=2) || fail
bw=$(mval "$T_DIR/after.prom" shmnet_backend_weight "$sv" node=2) || fail
[ "$sf" = 20 ] && [ "$bf" = 20 ] && [ "$ba" = 20 ] && [ "$br" = 1 ] && [ "$bw" = 1 ] ||
    fail "service metrics: flows $sf, node 2: flows $bf, inactive $ba, in rotation $br, weight $bw"
say "service $G:8080/tcp: 20 flows, all picked for node 2 (weight 1, in rotation)"

# the textfile collector's file
mkdir "$T_DIR/tf"
echo stale > "$T_DIR/tf/shmnet_$CLUSTER.prom"
ctl metrics --textfile "$T_DIR/tf" || fail "metrics --textfile"
[ "$(ls -A "$T_DIR/tf")" = "shmnet_$CLUSTER.prom" ] ||
    fail "textfile directory holds: $(ls -A "$T_DIR/tf")"
[ "$(stat -c %a "$T_DIR/tf/shmnet_$CLUSTER.prom")" = 644 ] || fail "textfile mode"
[ "$(mval "$T_DIR/tf/shmnet_$CLUSTER.prom" shmnet_node_up node=1 cluster="$CLUSTER")" = 1 ] ||
    fail "textfile does not parse"
out=$(ctl metrics --textfile "$T_DIR/none" 2>&1) && fail "a missing DIR was taken"
grep -q "$T_DIR/none: No such file or directory" <<<"$out" || fail "missing DIR: $out"
out=$(ctl metrics --textfile "$T_DIR/tf/shmnet_$CLUSTER.prom" 2>&1) && fail "a file as DIR was taken"
grep -q "not a directory" <<<"$out" || fail "file as DIR: $out"
ctl metrics --textfile 2>/dev/null; [ $? = 2 ] || fail "--textfile without DIR: not a usage error"
ctl nodes extra 2>/dev/null; [ $? = 2 ] || fail "nodes took an argument"
say "--textfile: a whole, parsable shmnet_$CLUSTER.prom (0644), clear errors for a bad DIR"

# /metrics over HTTP while traffic runs
bg_out 3 "$T_DIR/flood" ping -i 0.002 -c 3000 -q "$(addr 1)"
sleep 0.5
t0=$(date +%s%N)
scrape "$T_DIR/http1.prom"
scrape "$T_DIR/http1b.prom"
t1=$(date +%s%N)
# two scrapes within a second: the second gets the first's text (one
# rendering a second at most), unless the machine was too slow to ask
[ $(( (t1 - t0) / 1000000 )) -ge 900 ] || cmp -s "$T_DIR/http1.prom" "$T_DIR/http1b.prom" ||
    fail "two scrapes within a second rendered twice"
sleep 1.1	# the daemon renders at most once a second
scrape "$T_DIR/http2.prom"
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$T_DIR/http1.prom.hdr" ||
    fail "Content-Type: $(grep -i content-type "$T_DIR/http1.prom.hdr")"
h1=$(mval "$T_DIR/http1.prom" shmnet_node_rx_frames_total node=1 network=local) ||
    fail "/metrics does not parse"
h2=$(mval "$T_DIR/http2.prom" shmnet_node_rx_frames_total node=1 network=local) || fail
[ "$h2" -gt "$h1" ] || fail "node 1 rx frames did not move between scrapes ($h1, $h2)"
code=$(in_ns 1 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")
[ "$code" = 404 ] || fail "GET /other: $code"
kill -INT "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null
say "GET /metrics during a ping flood: parsable, node 1 rx $h1 -> $h2; /other 404"

# a metrics-listen address the namespace does not have
make_ns 4
start_node 4 --set cluster.metrics-listen=10.99.99.99:$PORT
wait "${T_PIDS[4]}"
rc=$?
T_PIDS[4]=""
[ "$rc" = 1 ] || fail "node 4 started with a bad metrics-listen (exit $rc)"
grep -q "metrics-listen 10.99.99.99:$PORT: bind: Cannot assign requested address" \
    "$T_DIR/node4.log" || fail "no clear bind error: $(tail -2 "$T_DIR/node4.log")"
[ "$(node_state 4)" = "" ] || fail "node 4 joined"
say "a metrics-listen address not in the namespace stops the start"
say "PASS"
