# tools/common.sh -- shared by tools/demo.sh and tools/test.sh (sourced).
#
# Installs what occ needs from Debian's packages, builds and installs occ,
# and runs a throwaway PostgreSQL cluster owned by an unprivileged OS user,
# listening only on a unix socket in a private temporary directory.  The
# cluster is stopped, by its data directory, and removed on exit.

set -eu

PG_MAJOR=${PG_MAJOR:-15}
PACKAGES="make gcc postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libipc-run-perl libxxhash-dev"
# for the client examples (examples/run.sh; it installs node and npm
# itself if the machine has none)
EXAMPLE_PACKAGES="python3-psycopg default-jdk-headless libpostgresql-jdbc-java
	python3-psycopg2 python3-sqlalchemy python3-django ruby-activerecord ruby-pg
	libhibernate3-java libjavassist-java"
TOP=$(cd "$(dirname "$0")/.." && pwd)

# Run a command as root: directly if we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
	missing=""
	for p in $PACKAGES ${WITH_EXAMPLES:+$EXAMPLE_PACKAGES}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "== installing Debian packages:$missing"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
	fi
	# PG_CONFIG may name another installation (a relocated copy, a chroot)
	PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
	PG_BIN=$($PG_CONFIG --bindir)
	export PG_CONFIG
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# "postgres" user that Debian's server package creates.
if [ "$(id -u)" -eq 0 ]; then RUN_AS=postgres; else RUN_AS=$(id -un); fi

as_cluster_user() {
	if [ "$(id -un)" = "$RUN_AS" ]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

# Copy the source tree to a private directory owned by the cluster user, and
# build and install occ from there, leaving the checkout untouched.
WORK=$(mktemp -d /tmp/occ.XXXXXX)
chmod 755 "$WORK"
BUILD=$WORK/build

copy_tree() {
	mkdir -p "$BUILD"
	(cd "$TOP" && tar --exclude=.git --exclude=results --exclude=output_iso \
		--exclude=node_modules \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - .) | tar -xf - -C "$BUILD"
	[ "$RUN_AS" = "$(id -un)" ] || chown -R "$RUN_AS" "$WORK"
}

build_and_install() {
	copy_tree
	echo "== building and installing occ"
	as_cluster_user make -s -C "$BUILD" PG_CONFIG="$PG_CONFIG"
	install_built
}

# Install the build in $BUILD.  Scripts of other occ versions left by an
# earlier install would offer versions and upgrade paths this tree does not
# have: they go first.
install_built() {
	as_root rm -f "$($PG_CONFIG --sharedir)"/extension/occ--*.sql
	as_root make -s -C "$BUILD" PG_CONFIG="$PG_CONFIG" install
}

# The cluster listens on a unix socket in $WORK and, for clients that
# cannot use one (pgJDBC), on 127.0.0.1 at a free port: OCC_TCP_HOST and
# OCC_TCP_PORT.  A port that turns out to be taken makes the start fail, and
# the next one is tried.
#
# Optional, for callers that need a cluster set up otherwise (bench/):
#   CLUSTER_TCP=no        the unix socket only, no TCP port at all
#   CLUSTER_INITDB_OPTS   encoding and locale options for initdb (default
#                         "-E UTF8 --locale=C.UTF-8")
#   CLUSTER_CONF          lines appended to postgresql.conf before the start
start_cluster() {
	PGDATA_DIR=$WORK/data
	export PGHOST=$WORK PGUSER=$RUN_AS PGDATABASE=postgres
	if [ "${CLUSTER_TCP:-yes}" = no ]; then
		listen=""
	else
		listen=127.0.0.1
		export OCC_TCP_HOST=127.0.0.1
	fi
	echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster in $PGDATA_DIR"
	as_cluster_user "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$RUN_AS" -A trust \
		--no-sync ${CLUSTER_INITDB_OPTS:--E UTF8 --locale=C.UTF-8} >"$WORK/initdb.log" 2>&1 ||
		{ cat "$WORK/initdb.log"; exit 1; }
	[ -z "${CLUSTER_CONF:-}" ] ||
		printf '%s\n' "$CLUSTER_CONF" >>"$PGDATA_DIR/postgresql.conf"
	for try in 1 2 3 4 5 6 7 8; do
		PGPORT=$((20000 + ($$ * 7 + try * 997) % 40000))
		export PGPORT
		[ -z "$listen" ] || export OCC_TCP_PORT=$PGPORT
		if as_cluster_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/server.log" -w \
			-o "-c listen_addresses='$listen' -k $WORK -p $PGPORT -c fsync=off" \
			start >/dev/null 2>&1; then
			return 0
		fi
	done
	tail -n 20 "$WORK/server.log"
	exit 1
}

# restart_cluster OPTIONS...: stop the cluster and start it again on the
# same socket and port, with OPTIONS ("-c name=value ...") added.
restart_cluster() {
	as_cluster_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
	as_cluster_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/server.log" -w \
		-o "-c listen_addresses='$listen' -k $WORK -p $PGPORT -c fsync=off $*" \
		start >/dev/null
}

cleanup() {
	rc=$?
	if [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		as_cluster_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT INT TERM
