#!/bin/bash
# The shipped routing configurations without shmnetd: two gateways, each
# with a stand-in shmg0 (a veth end) holding G and G6 as addresses and
# G/32 and G6/128 in table 203, as shmnetd does, each linked (gw0) to a
# router (gw1, gw2) with a client behind it (cl0).  With BIRD (ROUTING=bird, the default) or FRR
# (ROUTING=frr), for G over OSPFv2 and G6 over OSPFv3:
#  - the router has one route with two next hops, one per gateway;
#  - the route deleted on gateway 1 leaves the router with one next hop,
#    and put back makes two again (BIRD: FRR follows shmg0's address);
#  - shmg0 deleted on gateway 1 (shmnetd killed: its TAP goes, and with it
#    the routes, IPv4's without a netlink notice) does the same;
#  - kill -9 of gateway 1's routing daemons does the same (BFD), and their
#    restart brings gateway 1 back.
# Each time is measured; ROUNDS=N repeats the rounds and prints the median
# and range of each.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/routers.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v jq >/dev/null || skip "jq not installed (tools/check installs it)"
require_routing
G=10.202.0.1
G6=fd53:4d47::1
ROUNDS=${ROUNDS:-1}
# seconds between a route's return and its next withdrawal: an OSPF router
# takes no new instance of an LSA within MinLSArrival (1 s) of the last,
# and BIRD originates none within MinLSInterval (5 s)
SETTLE=${SETTLE:-0}
TABLE=203	# [global] announce-table
# a withdrawal or a return slower than this fails the test: BFD's 300 ms
# plus BIRD's OSPF tick (1 s), with room for a loaded machine
LIMIT=${LIMIT:-5}
# a return may take longer: a router that has just started or changed
# originates its router-LSA again only MinLSInterval (5 s) later
BACK=${BACK:-12}

# g_addrs N: shmnetd's addresses on gateway N's shmg0
g_addrs() {
	ip -n "$(ns $1)" addr add $G/32 dev shmg0
	ip -n "$(ns $1)" addr add $G6/128 dev shmg0 nodad
}

make_ns 1 2 router client
for n in 1 2; do
	veth $n gw0 router gw$n
	ip -n "$(ns $n)" addr add 10.205.$n.1/24 dev gw0
	ip -n "$(ns router)" addr add 10.205.$n.2/24 dev gw$n
	ip link add "${T_PFX}s" type veth peer name "${T_PFX}p" || fail "veth"
	ip link set "${T_PFX}s" netns "$(ns $n)"
	ip link set "${T_PFX}p" netns "$(ns $n)"
	ip -n "$(ns $n)" link set "${T_PFX}s" name shmg0 up
	ip -n "$(ns $n)" link set "${T_PFX}p" name shmg0p up
	g_addrs $n
done
veth router cl0 client up0
ip -n "$(ns router)" addr add 10.207.0.254/24 dev cl0
ip -n "$(ns client)" addr add 10.207.0.1/24 dev up0
ip -n "$(ns router)" addr add fd53:4d50:ff::fe/64 dev cl0 nodad
ip -n "$(ns client)" addr add fd53:4d50:ff::1/64 dev up0 nodad
for n in 1 2 router; do
	in_ns $n sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
in_ns router sysctl -qw net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv6.fib_multipath_hash_policy=1

# g_routes N add|del: shmnetd's routes on gateway N
g_routes() {
	ip -n "$(ns $1)" route "$2" $G/32 dev shmg0 proto static table $TABLE
	ip -n "$(ns $1)" -6 route "$2" $G6/128 dev shmg0 proto static table $TABLE
}
# shmg0_new N: a new shmg0 on gateway N with shmnetd's routes
shmg0_new() {
	ip link add "${T_PFX}s" type veth peer name "${T_PFX}p" || fail "veth"
	ip link set "${T_PFX}s" netns "$(ns $1)"
	ip link set "${T_PFX}p" netns "$(ns $1)"
	ip -n "$(ns $1)" link set "${T_PFX}s" name shmg0 up
	ip -n "$(ns $1)" link set "${T_PFX}p" name shmg0p up
	g_addrs "$1"
	sleep 0.05	# IPv6 takes a route only on an interface it has set up
	g_routes "$1" add
}
g_routes 1 add
g_routes 2 add

start_routers() {
	local n
	for n in "$@"; do
		if [ "$n" = router ]; then
			router_start router "$(router_conf router router)"
		else
			router_start $n "$(gateway_conf $n $n)"
		fi
	done
}
start_routers 1 2 router

# settle: wait SETTLE seconds and a random fraction of one, so that a
# change does not fall at the same point of the daemons' timers each round
settle() {
	sleep "$SETTLE.$(printf '%03d' $(( RANDOM % 1000 )))"
}

# both N WHAT [SECONDS]: wait until the router has N next hops for G and for G6
# (measured at once); records and prints the two times
declare -A MS
both() {
	local want=$1 what=$2 secs=${3:-$LIMIT} a b
	wait_nexthops router $G/32 "$want" "$secs" >"$T_DIR/w4" &
	a=$!
	wait_nexthops router $G6/128 "$want" "$secs" -6 >"$T_DIR/w6" &
	b=$!
	wait $a || { router_dump router 1 2; fail "$what: G"; }
	wait $b || { router_dump router 1 2; fail "$what: G6"; }
	rt_unmark
	MS[$what/4]+=" $(cat "$T_DIR/w4")"
	MS[$what/6]+=" $(cat "$T_DIR/w6")"
	say "$what: G $(cat "$T_DIR/w4") ms, G6 $(cat "$T_DIR/w6") ms"
}

# the first adjacency takes OSPF's hello and database exchange
both 2 "first ECMP" 20
[ -z "$(ip -n "$(ns router)" -j route show exact $G/32 | jq -r '.[].nexthops[].dev' |
    sort | tr -d '\n' | sed 's/gw1gw2//')" ] || fail "G's next hops are not gw1 and gw2"

for r in $(seq "$ROUNDS"); do
	# FRR 8.4 announces shmg0's address, not shmnetd's route
	# (conf/frr-gateway.conf)
	if [ "$ROUTING" = bird ]; then
		settle
		rt_mark
		g_routes 1 del
		both 1 "route deleted"
		rt_mark
		g_routes 1 add
		both 2 "route back" "$BACK"
	fi

	settle
	rt_mark
	ip -n "$(ns 1)" link del shmg0
	both 1 "shmg0 deleted"
	rt_mark
	shmg0_new 1
	both 2 "shmg0 back" "$BACK"

	settle
	wait_bfd router 4 10 || fail "$(bfd_up router) BFD sessions up at the router, not 4"
	rt_mark
	router_kill 1
	both 1 "kill -9 of the routing daemon"
	rt_mark
	start_routers 1
	both 2 "routing daemon restarted" "$BACK"
done

# stats: median, least and most of each measure
for k in "first ECMP" "route deleted" "route back" "shmg0 deleted" "shmg0 back" \
    "kill -9 of the routing daemon" "routing daemon restarted"; do
	for f in 4 6; do
		[ -n "${MS[$k/$f]:-}" ] || continue
		read -r -a v <<<"${MS[$k/$f]}"
		mapfile -t v < <(printf '%s\n' "${v[@]}" | sort -n)
		say "$ROUTING IPv$f $k: median ${v[$(( ${#v[@]} / 2 ))]} ms, " \
		    "range ${v[0]}-${v[-1]} ms over ${#v[@]}"
	done
done
say "PASS"
