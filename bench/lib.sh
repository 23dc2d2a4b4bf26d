# shellcheck shell=bash
# bench/lib.sh: setups and measurements shared by bench/run and bench/ab.
# Sourced, not run.  The caller defines:
#   P      the prefix of every namespace, cluster and temporary file
#   B      the build directory (B/shmnetd, B/bench/...)
#   T      seconds per measurement
#   NS PIDS SPIDS  arrays (namespaces made, processes started, shmnetd
#          processes among them) for its cleanup
#   R      an associative array that the measurements fill
#   CC     iperf3's congestion control arguments (empty or -C NAME)
#   XARGS  shmnetd arguments of the next shmnet_in; XENV its environment
#          (VAR=value words); BIN its binary (default B/shmnetd)

# stop_all: end every process started (PIDS) and remove every namespace
# made (NS); the caller's cleanup removes its own files
stop_all() {
	local p n
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${NS[@]}"; do ns_stop "$n"; ip netns del "$n" 2>/dev/null; done
}

# ns_stop NS: end what still runs in namespace NS, one of ours.  A run
# stopped by a signal leaves the iperf3 or sockperf of the measurement
# it was in: they were started in a $(...) subshell, not listed in
# PIDS, and a namespace's removal does not end its processes.
ns_stop() {
	local p left
	for p in $(ip netns pids "$1" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 20); do
		left=$(ip netns pids "$1" 2>/dev/null)
		[ -z "$left" ] && return
		sleep 0.1
	done
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
}

mkns() { ip netns add "$1" && NS+=("$1") && ip -n "$1" link set lo up; }

# veth SETUP MTU SUBNET: a veth pair between ${P}SETUPa and ${P}SETUPb
veth() {
	local a="$P${1}a" b="$P${1}b"
	mkns "$a"; mkns "$b"
	ip link add "${P}x" netns "$a" type veth peer name "${P}y" netns "$b"
	ip -n "$a" link set "${P}x" mtu "$2" up
	ip -n "$b" link set "${P}y" mtu "$2" up
	ip -n "$a" addr add "$3.1/24" dev "${P}x"
	ip -n "$b" addr add "$3.2/24" dev "${P}y"
}

# shmnet_in CLUSTER N...: nodes N... of CLUSTER in CLUSTERs<N>, with the
# arguments in XARGS and the environment in XENV; node 1 pings the last
shmnet_in() {
	local c=$1 n last; shift
	for n in "$@"; do
		mkns "${c}s$n"
		ip netns exec "${c}s$n" env ${XENV[@]+"${XENV[@]}"} "${BIN:-$B/shmnetd}" \
		    --cluster "$c" --node "$n" --foreground ${XARGS[@]+"${XARGS[@]}"} \
		    >/dev/null 2>&1 &
		PIDS+=($!); SPIDS+=($!)
		last=$n
	done
	for _ in $(seq 50); do
		ip netns exec "${c}s1" ping -c1 -W1 -q "10.201.0.$last" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "shmnet did not come up (cluster $c)"; exit 1
}

# cpu_jiffies: the machine's busy and run jiffies so far (/proc/stat:
# user, nice, system, irq and softirq busy; idle and iowait on top of
# them run; steal, time the hypervisor kept, in neither)
cpu_jiffies() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 }' /proc/stat
}

# cores_since BUSY RUN: how many cores were busy on average since that
# cpu_jiffies (0 to the number of CPUs)
cores_since() {
	local b t
	read -r b t < <(cpu_jiffies)
	awk -v b="$(( b - $1 ))" -v t="$(( t - $2 ))" -v n="$(nproc)" \
	    'BEGIN { printf "%.2f\n", (t > 0 ? n * b / t : 0) }'
}

# iperf CLIENT_NS SERVER_NS SERVER_ADDR ARGS...: one iperf3 run: its
# JSON, then {"cores": the cores busy while the client ran}
iperf() {
	local c=$1 s=$2 addr=$3 srv j; shift 3
	ip netns exec "$s" iperf3 -s -1 -B "$addr" >/dev/null 2>&1 & srv=$!
	sleep 0.5
	read -r -a j < <(cpu_jiffies)
	ip netns exec "$c" iperf3 -c "$addr" "$@" -t "$T" -J
	printf '{"cores": %s}\n' "$(cores_since "${j[@]}")"
	wait $srv
}

# tcp|udp|pp NAME CLIENT_NS SERVER_NS SERVER_ADDR: one measurement, into
# R[NAME.tcp] (Gbit/s) and R[NAME.tcpcpu] (cores busy meanwhile),
# R[NAME.pps] (64-byte packets received per second), R[NAME.avg] and
# R[NAME.p99] (ping-pong half round trip, us)
tcp() {
	read -r "R[$1.tcp]" "R[$1.tcpcpu]" < <(iperf "$2" "$3" "$4" ${CC[@]+"${CC[@]}"} |
	    jq -rs '"\(.[0].end.sum_received.bits_per_second / 1e9) \(.[1].cores)"')
}
udp() {
	R[$1.pps]=$(iperf "$2" "$3" "$4" -u -l 64 -b 0 |
	    jq -s '.[0] | (.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds')
}
# pp_at SUFFIX SERVER_CPU CLIENT_CPU NAME CLIENT_NS SERVER_NS SERVER_ADDR:
# the ping-pong with sockperf's server and client held to those CPUs,
# into R[NAME.avgSUFFIX] and R[NAME.p99SUFFIX], and the round trips it
# timed into R[NAME.nSUFFIX] (a round trip that never came back stops
# the count: far fewer than the others' means a lost datagram); a run
# that gives no figure (a server not up yet, say) is taken again once
pp_at() {
	local sfx=$1 scpu=$2 ccpu=$3 srv out; shift 3
	for _ in 1 2; do
		ip netns exec "$3" taskset -c "$scpu" sockperf sr -i "$4" -p 11111 \
		    >/dev/null 2>&1 & srv=$!
		sleep "${PP_WAIT:-0.5}"
		out=$(ip netns exec "$2" taskset -c "$ccpu" sockperf pp -i "$4" -p 11111 \
		    -t "$T" -m 64 2>&1)
		kill $srv; wait $srv 2>/dev/null
		R[$1.avg$sfx]=$(sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' <<<"$out")
		R[$1.p99$sfx]=$(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' <<<"$out")
		R[$1.n$sfx]=$(sed -n 's/.*Total \([0-9]*\) observations.*/\1/p' <<<"$out")
		[ -n "${R[$1.avg$sfx]}" ] && [ -n "${R[$1.p99$sfx]}" ] && return
	done
	echo "  $1: sockperf gave no figure, twice: $(tail -1 <<<"$out")" >&2
	R[$1.avg$sfx]=; R[$1.p99$sfx]=; R[$1.n$sfx]=0	# no figure, not a 0 us one
}

# the first two CPUs this shell may use (one, if it may use only one)
pp_cpus() {
	awk '/^Cpus_allowed_list:/ {
		n = split($2, r, ",")
		for (i = 1; i <= n && c < 2; i++) {
			split(r[i], e, "-"); hi = (e[2] == "" ? e[1] : e[2])
			for (x = e[1]; x <= hi && c < 2; x++) cpu[c++] = x
		}
		print cpu[0], (c > 1 ? cpu[1] : cpu[0])
	}' /proc/self/status
}
read -r PP_CPU0 PP_CPU1 < <(pp_cpus)

# pp: sockperf's two ends on two CPUs; pp1: both on one CPU (a busy
# machine, or containers held to one CPU).  Left to itself, the
# scheduler of an idle 2-CPU guest chose one or the other from one
# script to the next, and the placement decides the figure: on one CPU
# a veth hands a datagram over with no wake-up across CPUs at all, on
# two it pays one each way (bench/switchcost prices both)
pp() { pp_at "" "$PP_CPU0" "$PP_CPU1" "$@"; }
# gpp NAME CLIENT_NS SERVER_NS SERVER_ADDR: pp through the cluster address
# G, the server bound to G on its node (the global network's connection
# table on every datagram; a veth, which has no G, is measured at
# SERVER_ADDR); the server's node is given 1.5 s to publish its socket
gpp() {
	local a=$4
	[ "$1" = veth ] || a=10.202.0.1
	PP_WAIT=1.5 pp_at g "$PP_CPU0" "$PP_CPU1" "$1" "$2" "$3" "$a"
}
pp1() { pp_at 1 "$PP_CPU0" "$PP_CPU0" "$@"; }

# loaded NAME CLIENT_NS SERVER_NS SERVER_ADDR: the round trip of pings
# every 10 ms while one TCP stream runs the same way: latency under load,
# which a ping-pong, on an idle path, does not see; into R[NAME.lavg]
# and R[NAME.lmax] (us)
loaded() {
	local n srv cli out
	n=$(( T > 1 ? (T - 1) * 100 : 10 ))	# from 0.5 s in, 0.5 s before the end
	ip netns exec "$3" iperf3 -s -1 -B "$4" >/dev/null 2>&1 & srv=$!
	sleep 0.5
	ip netns exec "$2" iperf3 -c "$4" ${CC[@]+"${CC[@]}"} -t "$T" >/dev/null 2>&1 & cli=$!
	sleep 0.5
	out=$(ip netns exec "$2" ping -q -n -i 0.01 -c "$n" "$4" | tail -1)
	wait $cli $srv
	# rtt min/avg/max/mdev = 0.028/0.049/0.115/0.016 ms
	read -r "R[$1.lavg]" "R[$1.lmax]" < <(awk -F'[/ ]' '/^rtt/ {
	    printf "%.0f %.0f\n", $8 * 1000, $9 * 1000 }' <<<"$out")
	if [ -z "${R[$1.lmax]:-}" ]; then
		echo "  $1: no ping came back during the stream" >&2
		R[$1.lavg]=0; R[$1.lmax]=0
	fi
}

# median VALUES...: the middle one (the mean of the two middle ones);
# nothing for no values
median() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
