#!/bin/bash
# 64 MiB over TCP each way between two nodes (a third one idle), with
# equal SHA-256 on both ends.
. "$(dirname "$0")/lib.sh"
require_root socat sha256sum jq

start_cluster 1 2 3
head -c $((64 << 20)) /dev/urandom > "$T_DIR/data"

# transfer FROM TO PORT
transfer() {
	send_file "$1" "$2" "$3" "$T_DIR/data"
	say "64 MiB $1 -> $2, SHA-256 equal"
}
ping_all 1 2
transfer 1 2 7001
transfer 2 1 7002
say "PASS"
