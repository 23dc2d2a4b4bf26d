# shellcheck shell=bash
# tools/podman.sh: shmnet in Podman containers started by README's recipe
# ("Running it in Docker"), from a local root filesystem, with no image
# and no registry.  Sourced by tests/integration/local_podman.sh and
# bench/containers.
#
#   podman_init DIR    PODMAN: podman with its storage (vfs), run and
#                      state directories, network configuration and
#                      events log all under DIR, so that what the caller
#                      makes is its own and goes with DIR
#   podman_rootfs DIR BINARY...   a root filesystem in DIR: busybox (and
#                      its applets) and the BINARIES in /bin, with the
#                      shared libraries ldd names for them
#   podman_probe ROOTFS   the run flags this machine needs (PODMAN_RUN),
#                      or 1 with what went wrong in PODMAN_ERR
#   podman_node NAME IPC CLUSTER ID [RUN FLAGS...]   shmnetd as node ID
#                      in container NAME by the recipe; IPC is shareable
#                      for the first node, container:FIRST for the rest
#
# Cgroups go through cgroupfs and events to a file: no systemd needed.

# The recipe's sysctls (README, man/shmnetd.8 CONTAINERS)
SHMNET_SYSCTLS=(--sysctl net.ipv4.conf.default.rp_filter=2
	--sysctl net.ipv4.conf.default.accept_local=1
	--sysctl net.ipv4.conf.all.arp_ignore=1
	--sysctl net.ipv4.tcp_wmem="4096 16384 8388608")
PODMAN=()
PODMAN_RUN=()
PODMAN_ERR=""
PODMAN_ROOTFS=""

podman_init() {
	mkdir -p "$1/storage" "$1/run" "$1/tmp" "$1/net" || return 1
	PODMAN=(podman --root "$1/storage" --runroot "$1/run" --tmpdir "$1/tmp"
	    --network-config-dir "$1/net" --storage-driver vfs
	    --cgroup-manager cgroupfs --events-backend file)
}

podman_rootfs() {
	local r=$1 b l a bb; shift
	bb=$(command -v busybox) || return 1
	mkdir -p "$r"/{bin,dev,etc,proc,run,sys,tmp,var/www} || return 1
	cp "$bb" "$r/bin/busybox" || return 1
	for a in sh cat echo grep httpd ip kill ls mkdir ping sleep timeout wget; do
		ln -s busybox "$r/bin/$a"
	done
	for b in "$@"; do cp "$b" "$r/bin/" || return 1; done
	# "libx.so => /lib/libx.so (0x...)" and "/lib64/ld-linux... (0x...)"
	for l in $(ldd "$bb" "$@" 2>/dev/null | grep -o '/[^ :]*\.so[^ :]*' | sort -u); do
		mkdir -p "$r$(dirname "$l")" && cp -L "$l" "$r$l" || return 1
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	echo shmnet >"$r/var/www/index.html"
	chmod 1777 "$r/tmp"
	PODMAN_ROOTFS=$r
}

# The probe tries the default OCI runtime and runc, each with Podman's
# default limits and then with the caller's own.  Podman raises a root
# container's RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 and 4194304,
# which a runner without CAP_SYS_RESOURCE (a sandbox, a container
# itself) cannot; crun 1.8 refuses a host whose cgroup v2 hierarchy has
# a controller while v1 is mounted ("hybrid mode"), where runc runs.
podman_probe() {
	local rt ul out nofile nproc
	nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
	[ "$nofile" = unlimited ] && nofile=1048576
	[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
	PODMAN_ERR=""
	for ul in "" "--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"; do
		for rt in "" "--runtime runc"; do
			[ -n "$rt" ] && ! command -v runc >/dev/null && continue
			# shellcheck disable=SC2206
			PODMAN_RUN=(--network none $rt $ul)
			if out=$("${PODMAN[@]}" run --rm "${PODMAN_RUN[@]}" \
			    --rootfs "$1" /bin/sh -c 'echo ok' 2>&1) &&
			    [ "$out" = ok ]; then
				return 0
			fi
			PODMAN_ERR+="${PODMAN_ERR:+; }[${rt:-default runtime}${ul:+, ulimits}] $(tail -1 <<<"$out")"
		done
	done
	return 1
}

podman_node() {
	local name=$1 ipc=$2 cluster=$3 id=$4; shift 4
	"${PODMAN[@]}" run -d --name "$name" --ipc="$ipc" "${SHMNET_SYSCTLS[@]}" \
	    --cap-add NET_ADMIN --device /dev/net/tun "${PODMAN_RUN[@]}" "$@" \
	    --rootfs "$PODMAN_ROOTFS" \
	    shmnetd --foreground --cluster "$cluster" --node "$id" >/dev/null
}
