# routers.sh: routing daemons for shmnet integration tests (sourced, bash,
# after lib.sh).
#
# $ROUTING picks the kind: bird (BIRD 2, the default) or frr (FRR: zebra,
# bfdd, ospfd and ospf6d).  Every daemon runs in the foreground in one of
# the test's namespaces, with its sockets, PID files and logs in $T_DIR,
# never in /run, /etc or systemd's hands; cleanup ends it with the rest of
# T_PIDS.  The configurations are the shipped ones of conf/, with the
# test's router ids, interfaces and addresses put in by router_conf, so
# that the tests exercise what is installed.

ROUTING=${ROUTING:-bird}
RT_CONFDIR=${RT_CONFDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../conf" && pwd)}
RT_FRR=${RT_FRR:-/usr/lib/frr}
declare -A RT_PIDS	# node -> PIDs of its routing daemons

# FRR keeps, outside $T_DIR, a directory per pathspace in /run/frr and one
# per daemon in /var/tmp/frr (removed by a daemon that exits, not by one
# killed): router_kill removes the latter, rt_tidy at exit the former
rt_tidy() {
	[ "$ROUTING" = frr ] && rm -rf /var/run/frr/"$T_PFX"*
}
trap 'rt_tidy; cleanup' EXIT

# require_routing: skip unless the routing daemons of $ROUTING are there
require_routing() {
	case "$ROUTING" in
	bird)
		command -v bird >/dev/null && command -v birdc >/dev/null ||
		    skip "BIRD 2 not installed (bird2; tools/check installs it)"
		;;
	frr)
		local d
		for d in zebra bfdd ospfd ospf6d; do
			[ -x "$RT_FRR/$d" ] ||
			    skip "FRR's $d not installed (frr; tools/check installs it)"
		done
		command -v vtysh >/dev/null || skip "FRR's vtysh not installed"
		id frr >/dev/null 2>&1 || skip "no user frr (the frr package makes it)"
		;;
	*) fail "ROUTING=$ROUTING: bird or frr" ;;
	esac
}

# router_conf ROLE NODE [OLD=NEW]...: conf/$ROUTING-ROLE.conf with every
# OLD replaced by NEW (literal strings, in order), written for NODE; prints
# its path.  Logs go to stderr (the daemon's log in $T_DIR), not syslog.
router_conf() {
	local role=$1 node=$2 src out kv old new; shift 2
	src=$RT_CONFDIR/$ROUTING-$role.conf
	out=$T_DIR/$ROUTING-$node.conf
	[ -f "$src" ] || fail "no $src"
	cp "$src" "$out"
	for kv in "$@"; do
		old=${kv%%=*} new=${kv#*=}
		grep -qF -- "$old" "$out" || fail "$src has no \"$old\" to replace"
		old=$(printf '%s' "$old" | sed 's/[][\.*^$/]/\\&/g')
		new=$(printf '%s' "$new" | sed 's/[\&/]/\\&/g')
		sed -i "s/$old/$new/g" "$out"
	done
	case "$ROUTING" in
	bird) sed -i 's/^log syslog all;/log stderr all;/' "$out" ;;
	frr) sed -i 's/^log syslog.*/log stdout informational/' "$out" ;;
	esac
	echo "$out"
}

# gateway_conf NODE N: router_conf for a gateway whose uplink has
# 10.205.N.1/24, which is its router id
gateway_conf() {
	local extra=()
	[ "$ROUTING" = frr ] && extra=(10.205.1.0/24=10.205.$2.0/24)
	router_conf gateway "$1" 10.205.1.1=10.205.$2.1 "${extra[@]}"
}

# router_start NODE CONF: start $ROUTING's daemons in namespace NODE with
# CONF; their PIDs go to RT_PIDS[NODE] and T_PIDS.  Waits until they take
# commands.
router_start() {
	local node=$1 conf=$2 d i dir
	RT_PIDS[$node]=""
	case "$ROUTING" in
	bird)
		rm -f "$T_DIR/bird-$node.ctl"
		bg_out "$node" "$T_DIR/bird-$node.log" bird -f -c "$conf" \
		    -s "$T_DIR/bird-$node.ctl" -P "$T_DIR/bird-$node.pid"
		RT_PIDS[$node]=$BG_PID
		for i in $(seq 100); do
			birdc -s "$T_DIR/bird-$node.ctl" show status >/dev/null 2>&1 &&
			    return 0
			kill -0 "$BG_PID" 2>/dev/null || break
			sleep 0.05
		done
		fail "BIRD in $node did not start"
		;;
	frr)
		# the daemons drop root for user frr (in group frrvty, which
		# vtysh's sockets need): their directory is theirs
		# sockets a killed FRR left would be taken for the new ones
		dir=$T_DIR/frr-$node
		rm -rf "$dir"
		mkdir -p "$dir"
		chown frr:frr "$dir"
		chmod o+x "$T_DIR"
		for d in zebra bfdd ospfd ospf6d; do
			local extra=()
			[ "$d" = bfdd ] && extra=(--bfdctl "$dir/bfdd.sock")
			bg_out "$node" "$T_DIR/frr-$node-$d.log" "$RT_FRR/$d" \
			    -N "$T_PFX$node" -P 0 -f /dev/null --log stdout \
			    --vty_socket "$dir" -z "$dir/zserv.api" \
			    -i "$dir/$d.pid" "${extra[@]}"
			RT_PIDS[$node]+=" $BG_PID"
			if [ "$d" = zebra ]; then
				for i in $(seq 100); do
					[ -S "$dir/zserv.api" ] && break
					sleep 0.05
				done
			fi
		done
		for d in zebra bfdd ospfd ospf6d; do
			for i in $(seq 100); do
				[ -S "$dir/$d.vty" ] && break
				sleep 0.05
			done
		done
		vtysh --vty_socket "$dir" -f "$conf" >"$T_DIR/frr-$node-vtysh.log" 2>&1 ||
		    fail "vtysh could not load $conf into $node's FRR"
		;;
	esac
}

# gw_start N: gateway N's routing daemon (gateway_conf N N) in
# namespace N
gw_start() {
	router_start "$1" "$(gateway_conf "$1" "$1")"
}

# router_cmd NODE CMD...: a command to NODE's routing daemons (birdc or
# vtysh -c), for the logs of a failing test
router_cmd() {
	local node=$1; shift
	case "$ROUTING" in
	bird) birdc -s "$T_DIR/bird-$node.ctl" "$@" ;;
	frr) vtysh --vty_socket "$T_DIR/frr-$node" -c "$*" ;;
	esac
}

# router_dump NODE...: what the routing daemons of the nodes know, on
# stderr, for a failing test's log; RT_SAVE=DIR keeps their whole logs
router_dump() {
	local n
	[ -n "${RT_SAVE:-}" ] && cp "$T_DIR"/*.log "$RT_SAVE"
	for n in "$@"; do
		echo "---- routing daemons of $n"
		case "$ROUTING" in
		bird)
			router_cmd "$n" show ospf neighbors
			router_cmd "$n" show route all
			;;
		frr)
			router_cmd "$n" show ip ospf neighbor
			router_cmd "$n" show ipv6 ospf6 neighbor
			router_cmd "$n" show ip route
			router_cmd "$n" show ipv6 route
			;;
		esac
	done >&2
}

# bfd_up NODE: how many BFD sessions of NODE's routing daemons are up
bfd_up() {
	case "$ROUTING" in
	bird) router_cmd "$1" show bfd sessions | grep -cw Up ;;
	frr) router_cmd "$1" show bfd peers brief | grep -cw up ;;
	esac
}

# wait_bfd NODE N SECONDS: until NODE has N BFD sessions up (a session
# comes up a second or two after its OSPF neighbour: until then a dead
# neighbour is found by OSPF's dead interval only)
wait_bfd() {
	local i
	for i in $(seq $(( $3 * 10 ))); do
		[ "$(bfd_up "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# router_kill NODE: kill -9 NODE's routing daemons, as if they crashed (a
# test that killed them itself calls it too, to forget them)
router_kill() {
	local node=$1 pid
	for pid in ${RT_PIDS[$node]}; do kill -KILL "$pid" 2>/dev/null; done
	for pid in ${RT_PIDS[$node]}; do
		wait "$pid" 2>/dev/null
		[ "$ROUTING" = frr ] && rm -rf /var/tmp/frr/*."$pid"
	done
	RT_PIDS[$node]=""
}

# route_nexthops NODE PREFIX [-6]: how many next hops the main table of
# namespace NODE has for PREFIX exactly (0 without a route)
route_nexthops() {
	ip -n "$(ns "$1")" ${3:+"$3"} -j route show exact "$2" table main |
	    jq '[.[] | select(.type == null or .type == "unicast") |
	        if .nexthops then .nexthops | length else 1 end] | add // 0'
}

# rt_mark: the time from which the next wait_nexthops counts (set it just
# before the change it waits for the effect of); rt_unmark forgets it
RT_T0=""
rt_mark() { RT_T0=${EPOCHREALTIME/./}; }
rt_unmark() { RT_T0=""; }

# wait_nexthops NODE PREFIX N SECONDS [-6]: wait (polling every 10 ms)
# until NODE's route to PREFIX has N next hops; prints the milliseconds
# it took (since rt_mark, or since the call), fails after SECONDS
wait_nexthops() {
	local node=$1 prefix=$2 want=$3 secs=$4 fam=${5:-} t0 now
	t0=${RT_T0:-${EPOCHREALTIME/./}}
	while :; do
		now=${EPOCHREALTIME/./}
		[ "$(route_nexthops "$node" "$prefix" "$fam")" = "$want" ] && break
		if [ $(( now - t0 )) -ge $(( secs * 1000000 )) ]; then
			say "$node: $prefix has $(route_nexthops "$node" "$prefix" \
			    "$fam") next hops after ${secs} s, not $want" >&2
			return 1
		fi
		sleep 0.01
	done
	echo $(( (now - t0) / 1000 ))
}
