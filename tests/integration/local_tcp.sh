#!/bin/bash
# 64 MiB over TCP each way between two nodes (a third one idle), with
# equal SHA-256 on both ends.
. "$(dirname "$0")/lib.sh"
require_root socat sha256sum jq

start_cluster 1 2 3
head -c $((64 << 20)) /dev/urandom > "$T_DIR/data"
want=$(sha256sum < "$T_DIR/data" | cut -d' ' -f1)

# transfer FROM TO PORT
transfer() {
	local from=$1 to=$2 port=$3 got
	rm -f "$T_DIR/recv"
	in_ns "$to" timeout 60 socat -u "TCP-LISTEN:$port,bind=$(addr "$to"),reuseaddr" \
	    "CREATE:$T_DIR/recv" &
	local srv=$!
	for _ in $(seq 50); do
		in_ns "$to" ss -ltn | grep -q ":$port " && break; sleep 0.1
	done
	in_ns "$from" timeout 60 socat -u "FILE:$T_DIR/data" "TCP:$(addr "$to"):$port" ||
	    fail "send $from -> $to"
	wait "$srv" || fail "receive $from -> $to"
	got=$(sha256sum < "$T_DIR/recv" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "SHA-256 differs $from -> $to"
	say "64 MiB $from -> $to, SHA-256 equal"
}
ping_all 1 2
transfer 1 2 7001
transfer 2 1 7002
say "PASS"
