# tools/deps.sh: install the Debian packages shmnet needs (sourced by
# tools/check, tools/demo and bench/run).  Installs only what is missing;
# runs apt-get update first when it installs anything.

SHMNET_BUILD_DEPS="gcc make autoconf automake pkg-config libevent-dev \
libbsd-dev check libmnl-dev liburing-dev libjansson-dev"
# procps: pkill; curl and python3-prometheus-client: global_metrics.sh;
# podman, runc, busybox-static: local_podman.sh; curl and busybox-static
# (httpd): global_egress.sh; bird2 and frr (BIRD 2 and FRR, the routing
# daemons of conf/): routing_ecmp.sh, global_ospf.sh and global_ospf6.sh
SHMNET_TEST_DEPS="iproute2 iputils-ping socat jq util-linux procps strace clang-format \
curl python3-prometheus-client podman runc busybox-static bird2 frr"

deps_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || return 1
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# build_tree DIR [CONFIGURE ARGS...]: configure (once) and build in DIR
build_tree() {
	local dir=$1; shift
	[ -x configure ] || autoreconf -fi >/dev/null || return 1
	mkdir -p "$dir"
	if ! ( cd "$dir" && { [ -f Makefile ] || ../configure -q "$@"; } &&
	    make -j"$(nproc)" ) >"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log"
		return 1
	fi
	if grep -q "warning:" "$dir/build.log"; then
		grep "warning:" "$dir/build.log"
		echo "build has warnings (see $dir/build.log)"
		return 1
	fi
}
