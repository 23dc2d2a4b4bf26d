#!/bin/bash
# Bad starts give one clear line, a non-zero exit and leave nothing
# behind: no CAP_NET_ADMIN, no /dev/net/tun, a segment of another layout
# version, a node id in use, /dev/shm too full, a bad config value.
. "$(dirname "$0")/lib.sh"
require_root jq setpriv unshare

make_ns 1 2 3

# expect_fail N PATTERN CMD...: CMD fails, prints PATTERN, leaves no shm0
expect_fail() {
	local n=$1 pat=$2 out; shift 2
	out=$("$@" 2>&1) && fail "succeeded: $*"
	grep -q -- "$pat" <<<"$out" || fail "wanted '$pat', got: $out"
	grep -qE "Sanitizer|runtime error:" <<<"$out" && fail "sanitizer: $out"
	ip -n "$(ns "$n")" link show shm0 >/dev/null 2>&1 && fail "shm0 left behind"
	say "refused: $(head -n1 <<<"$out")"
}
D=(--cluster "$CLUSTER" --foreground)

expect_fail 1 "CAP_NET_ADMIN" in_ns 1 setpriv --bounding-set=-net_admin \
    --inh-caps=-net_admin "$SHMNETD" "${D[@]}" --node 1
[ -e "/dev/shm/shmnet.$CLUSTER" ] && fail "segment created without CAP_NET_ADMIN"

expect_fail 1 "no /dev/net/tun" in_ns 1 unshare -m sh -c \
    "mount -t tmpfs none /dev/net && exec $SHMNETD ${D[*]} --node 1"

printf 'mtu = 70000\n' > "$T_DIR/bad.conf"
sed -i '1i [local]' "$T_DIR/bad.conf"
expect_fail 1 "$T_DIR/bad.conf:2: mtu 70000 out of range (576-65535)" \
    in_ns 1 "$SHMNETD" "${D[@]}" --node 1 --config "$T_DIR/bad.conf"
expect_fail 1 "node 'x' must be auto or 1-256" in_ns 1 "$SHMNETD" "${D[@]}" --node x
out=$(in_ns 1 "$SHMNETD" "${D[@]}" --node 1 --set local.mtu=9000 --check-config) ||
    fail "--check-config of a good configuration"
[ "$out" = "configuration OK" ] || fail "--check-config printed: $out"

expect_fail 1 "No space left on device" in_ns 1 unshare -m sh -c \
    "mount -t tmpfs -o size=256k none /dev/shm && $SHMNETD ${D[*]} --node 1; \
     rc=\$?; ls /dev/shm | grep -q . && echo LEFTOVER: \$(ls /dev/shm); exit \$rc"

start_node 1
wait_state 1 up 5 >/dev/null || fail "node 1 not up"
expect_fail 2 "node 1 of cluster $CLUSTER is already in use" \
    in_ns 2 "$SHMNETD" "${D[@]}" --node 1
[ "$(node_state 1)" = up ] || fail "node 1 disturbed by the failed claim"
stop_node 1

# a segment of a future layout version: magic "SHMNTNSG", version 9.0
printf 'SHMNTNSG\000\011\000\000' > "/dev/shm/shmnet.$CLUSTER"
truncate -s 1M "/dev/shm/shmnet.$CLUSTER"
expect_fail 3 "layout version 9.0, this build speaks" \
    in_ns 3 "$SHMNETD" "${D[@]}" --node 3
[ -s "/dev/shm/shmnet.$CLUSTER" ] || fail "a foreign segment was removed"
out=$("$SHMNETCTL" --cluster "$CLUSTER" nodes 2>&1) && fail "shmnetctl read a v9 segment"
grep -q "layout version 9.0" <<<"$out" || fail "shmnetctl: $out"
say "PASS"
