#!/bin/sh
# tools/test.sh -- run occ's whole test suite on every supported PostgreSQL.
#
# Targets (OCC_TEST_TARGETS; the default is all of them):
#
#   15      the host's Debian packages (bookworm), with the client examples
#   13      Debian bullseye's packages, in a chroot
#   17      Debian trixie's packages, in a chroot
#   18      Debian sid's packages, in a chroot
#   assert  PostgreSQL 15 built with --enable-cassert from Debian's source
#           package, in a bookworm chroot
#
# e.g. OCC_TEST_TARGETS=17 sh tools/test.sh runs one target.  Each target
# builds occ with -Werror and runs pg_regress, isolation and TAP as separate
# steps (tools/test-target.sh); the closing line counts the steps of every
# target, "occ: N passed, N failed, N skipped", and the script exits non-zero
# if any step failed.
#
# Runs as root (CI) or as a user with sudo.  Chroots (debootstrap
# --variant=minbase from the mirror the host's apt uses), source builds and
# clusters live in one temporary directory, removed at the end with everything
# mounted in it unmounted; servers listen on unix sockets and loopback only.
# The chroots are prepared in the background while the host's target runs.

set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=${OCC_TEST_TARGETS:-15 13 17 18 assert}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The mirror the host's apt uses (deb.debian.org unless it says otherwise).
MIRROR=${OCC_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

TMPROOT=$(as_root mktemp -d /var/tmp/occ-test.XXXXXX)
as_root chmod 755 "$TMPROOT"
RESULTS=$TMPROOT/results
: | as_root tee "$RESULTS" >/dev/null
as_root chmod 666 "$RESULTS"
PREP_PIDS=""
START=$(date +%s)

# End a background preparation and what it started, by their ids.
kill_tree() {
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	as_root kill "$1" 2>/dev/null || true
}

# Unmount everything mounted under TMPROOT, deepest first, then remove it.
cleanup() {
	rc=$?
	for pid in $PREP_PIDS; do kill_tree "$pid"; done
	wait 2>/dev/null || true
	for r in $TMPROOT/chroot-*; do
		[ -d "$r" ] && stop_servers "$r"
	done
	unmount_all
	as_root rm -rf --one-file-system "$TMPROOT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

unmount_all() {
	awk -v p="$TMPROOT/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do as_root umount -l "$m" || true; done
}

# A server left running in a chroot by an interrupted run: stop it by its
# data directory.
stop_servers() {
	for pid in "$1"/tmp/occ.*/data/postmaster.pid; do
		[ -f "$pid" ] || continue
		d=${pid%/postmaster.pid}
		as_root chroot "$1" runuser -u postgres -- "$(cat "$1/occ-pg-bin")/pg_ctl" \
			-D "${d#"$1"}" -m immediate -w stop >/dev/null 2>&1 || true
	done
}

# chroot_prepare SUITE PACKAGES...: a minbase chroot of SUITE with PACKAGES.
chroot_prepare() {
	suite=$1
	shift
	root=$TMPROOT/chroot-$suite
	echo "== debootstrap $suite ($MIRROR)"
	as_root debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$TMPROOT/debootstrap-$suite.log" 2>&1 ||
		{ tail -n 20 "$TMPROOT/debootstrap-$suite.log"; return 1; }
	# no service starts in the chroot, no cluster is created by the
	# packages; sid's Release file may be past its Valid-Until
	printf '#!/bin/sh\nexit 101\n' | as_root tee "$root/usr/sbin/policy-rc.d" >/dev/null
	as_root chmod 755 "$root/usr/sbin/policy-rc.d"
	as_root mkdir -p "$root/etc/postgresql-common"
	echo 'create_main_cluster = false' | as_root tee "$root/etc/postgresql-common/createcluster.conf" >/dev/null
	echo 'Acquire::Check-Valid-Until "false";' | as_root tee "$root/etc/apt/apt.conf.d/99occ" >/dev/null
	as_root mount -t proc proc "$root/proc"
	as_root mount --bind /dev "$root/dev"
	as_root mount --bind /dev/shm "$root/dev/shm"
	in_chroot "$root" apt-get update -q
	in_chroot "$root" apt-get install -y -q --no-install-recommends "$@"
}

in_chroot() {
	root=$1
	shift
	as_root chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# source_get ROOT SUITE PACKAGE: unpack Debian's source package PACKAGE in
# the chroot, in /src, through a deb-src entry of the chroot's own (the
# host's apt configuration is left alone).
source_get() {
	root=$1
	suite=$2
	pkg=$3
	echo "deb-src $MIRROR $suite main" | as_root tee "$root/etc/apt/sources.list.d/occ-src.list" >/dev/null
	in_chroot "$root" apt-get update -q
	in_chroot "$root" sh -c "mkdir -p /src && cd /src && apt-get source -q $pkg"
}

SUITE_13=bullseye
SUITE_17=trixie
SUITE_18=sid
SUITE_assert=bookworm
BASE_PACKAGES="make gcc libc6-dev libipc-run-perl perl libxxhash-dev"

# prepare TARGET: its chroot with PostgreSQL and what the suite needs.
prepare() {
	case $1 in
	13)
		# bullseye's server-dev package has no pg_isolation_regress: build
		# it from the same source package
		chroot_prepare bullseye $BASE_PACKAGES postgresql-13 postgresql-server-dev-13 \
			dpkg-dev bison flex pkg-config
		root=$TMPROOT/chroot-bullseye
		source_get "$root" bullseye postgresql-13
		in_chroot "$root" sh -c '
			set -e
			cd /src/postgresql-13-*/
			./configure --without-readline --without-zlib --without-icu >/src/configure.log
			make -s -j2 -C src/test/isolation >/src/make.log 2>&1
			pgxs=$(/usr/lib/postgresql/13/bin/pg_config --pkglibdir)/pgxs/src/test/isolation
			mkdir -p "$pgxs"
			cp src/test/isolation/pg_isolation_regress src/test/isolation/isolationtester "$pgxs"/'
		echo /usr/lib/postgresql/13/bin >"$root/occ-pg-bin"
		;;
	17 | 18)
		eval suite=\$SUITE_$1
		chroot_prepare "$suite" $BASE_PACKAGES postgresql-$1 postgresql-server-dev-$1
		echo /usr/lib/postgresql/$1/bin >"$TMPROOT/chroot-$suite/occ-pg-bin"
		;;
	assert)
		# everything PostgreSQL's build needs, not the whole build-dep
		# list (documentation, LLVM, PL/Perl, ...)
		chroot_prepare bookworm $BASE_PACKAGES dpkg-dev bison flex zlib1g-dev \
			libreadline-dev pkg-config passwd
		root=$TMPROOT/chroot-bookworm
		source_get "$root" bookworm postgresql-15
		in_chroot "$root" sh -c '
			set -e
			useradd --system --user-group --home-dir /var/lib/postgresql postgres
			cd /src/postgresql-15-*/
			./configure --prefix=/usr/local/pgsql --enable-cassert --enable-tap-tests \
				--without-readline --without-icu >/src/configure.log
			make -s -j2 >/src/make.log 2>&1
			make -s install >/src/install.log 2>&1
			# what the suite uses besides the core: postgres_fdw
			# (row_movement), moddatetime of contrib/spi (ddl,
			# guard_scanner), pg_isolation_regress, the TAP modules
			make -s -C contrib/postgres_fdw install >>/src/install.log 2>&1
			make -s -C contrib/spi install >>/src/install.log 2>&1
			make -s -C src/test/isolation install >>/src/install.log 2>&1
			make -s -C src/test/perl install >>/src/install.log 2>&1
			rm -rf /src'
		echo /usr/local/pgsql/bin >"$root/occ-pg-bin"
		;;
	*)
		echo "unknown target $1" >&2
		return 1
		;;
	esac
}

# Prepare the chroot targets in the background, all at once (downloads are
# their limit), while the host's target runs.
if [ -n "$(echo " $TARGETS " | sed 's/ 15 / /g' | tr -d ' ')" ]; then
	if ! command -v debootstrap >/dev/null 2>&1; then
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
	fi
fi
for t in $TARGETS; do
	[ "$t" = 15 ] && continue
	(
		if prepare "$t" >"$TMPROOT/prepare-$t.log" 2>&1; then
			touch "$TMPROOT/ready-$t"
		else
			touch "$TMPROOT/failed-$t"
		fi
	) &
	PREP_PIDS="$PREP_PIDS $!"
done

run_target() {
	t=$1
	if [ "$t" = 15 ]; then
		WITH_EXAMPLES=yes PG_MAJOR=15 sh "$TOP/tools/test-target.sh" 15 "$RESULTS" || true
		return
	fi
	if [ -e "$TMPROOT/failed-$t" ]; then
		echo "== $t: preparing the chroot failed"
		tail -n 40 "$TMPROOT/prepare-$t.log"
		echo "$t prepare FAILED" >>"$RESULTS"
		return
	fi
	eval suite=\$SUITE_$t
	root=$TMPROOT/chroot-$suite
	case $t in
	assert) env="PG_MAJOR=15 PG_CONFIG=/usr/local/pgsql/bin/pg_config" ;;
	*) env="PG_MAJOR=$t" ;;
	esac
	as_root mkdir -p "$root/occ"
	(cd "$TOP" && tar --exclude=.git --exclude=results --exclude=output_iso \
		--exclude=tmp_check --exclude=node_modules \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - .) | as_root tar -xf - -C "$root/occ"
	: | as_root tee "$root/occ-results" >/dev/null
	in_chroot "$root" $env OCC_SKIP_INSTALL=yes ${OCC_SKIP_STEPS:+OCC_SKIP_STEPS="$OCC_SKIP_STEPS"} \
		sh /occ/tools/test-target.sh "$t" /occ-results || true
	if [ -s "$root/occ-results" ]; then
		cat "$root/occ-results" >>"$RESULTS"
	else
		echo "$t setup FAILED" >>"$RESULTS"
	fi
	stop_servers "$root"
	unmount_chroot "$root"
	as_root rm -rf --one-file-system "$root"
}

unmount_chroot() {
	awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do as_root umount -l "$m" || true; done
}

# The host's target first, then each chroot target as soon as it is ready.
pending=""
for t in $TARGETS; do
	if [ "$t" = 15 ]; then run_target 15; else pending="$pending $t"; fi
done
while [ -n "$pending" ]; do
	next=""
	for t in $pending; do
		if [ -z "$next" ] && { [ -e "$TMPROOT/ready-$t" ] || [ -e "$TMPROOT/failed-$t" ]; }; then
			next=$t
		fi
	done
	if [ -z "$next" ]; then
		sleep 5
		continue
	fi
	run_target "$next"
	pending=$(for t in $pending; do [ "$t" = "$next" ] || printf ' %s' "$t"; done)
done

elapsed=$(($(date +%s) - START))
echo "== results ($((elapsed / 60)) min $((elapsed % 60)) s)"
cat "$RESULTS"
passed=$(grep -c ' ok$' "$RESULTS" || true)
skipped=$(grep -c ' skipped' "$RESULTS" || true)
failed=$(grep -c ' FAILED' "$RESULTS" || true)
echo "occ: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
