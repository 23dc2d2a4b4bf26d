#!/bin/bash
# layers.sh: the files of libshmnet/ and daemon/ call each other only
# downwards, in the order the comment at the top of their header lists
# them (libshmnet/shmnet_private.h, daemon/shmnetd.h): every file calls
# only files listed before it, so there is no call cycle.  The calls are
# read from the built objects (nm): a function defined in one file and
# undefined in another is a call from the second to the first.  Every
# .c file of the directory must be listed.  Run by make check from the
# build tree.
set -u
srcdir=${srcdir:-.}
fail=0

# order HEADER: the .c files named in the header's first comment, in order
order() {
	sed -n '1,/\*\//p' "$1" | grep -oE '\b[a-z_0-9]+\.c\b' | sed 's/\.c$//' |
	    awk '!seen[$0]++'
}

# module OBJ: the source file an object was built from
module() {
	local b
	b=$(basename "$1" .o)
	echo "${b#*_a-}"
}

# check DIR HEADER: one directory against its header's order
check() {
	local dir=$1 header=$srcdir/$2 f o m s t
	declare -A rank def
	local i=0 names
	names=$(order "$header")
	for f in $names; do rank[$f]=$i; i=$((i + 1)); done
	for f in "$srcdir/$dir"/*.c; do
		m=$(basename "$f" .c)
		if [ -z "${rank[$m]+x}" ]; then
			echo "FAIL: $dir/$m.c is not in the order of $2"
			fail=1
		fi
	done
	for o in "$dir"/*.o; do
		[ -f "$o" ] || { echo "FAIL: no objects in $dir (build first)"; fail=1; return; }
		m=$(module "$o")
		for s in $(nm --defined-only "$o" | awk '$2 ~ /^[TDBR]$/ {print $3}'); do
			def[$s]=$m
		done
	done
	for o in "$dir"/*.o; do
		m=$(module "$o")
		for s in $(nm -u "$o" | awk '{print $2}'); do
			t=${def[$s]:-}
			[ -n "$t" ] && [ "$t" != "$m" ] || continue
			if [ "${rank[$t]:-0}" -ge "${rank[$m]:-0}" ]; then
				echo "FAIL: $dir/$m.c calls $s in $t.c, listed" \
				    "after it in $2"
				fail=1
			fi
		done
	done
	echo "$dir: $(echo $names | wc -w) files in order"
}

check libshmnet libshmnet/shmnet_private.h
check daemon daemon/shmnetd.h
exit $fail
