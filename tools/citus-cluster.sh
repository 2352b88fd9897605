#!/bin/sh
# tools/citus-cluster.sh -- a throwaway Citus cluster with occ: a coordinator
# and two workers on this machine.
#
#   PG_CONFIG=/path/to/pg_config sh tools/citus-cluster.sh start
#       builds and installs occ into that PostgreSQL (CITUS_NO_INSTALL=1
#       skips this), starts the three nodes, adds the workers, creates the
#       extensions citus and occ in database "occ" (CITUS_DB), and prints
#       how to connect and how to stop it.  The nodes keep running.
#   sh tools/citus-cluster.sh stop DIR
#       stops the nodes started in DIR (printed by start), by their data
#       directories, and removes DIR.
#   PG_CONFIG=... sh tools/citus-cluster.sh run COMMAND [ARG...]
#       starts the cluster, runs COMMAND with PGHOST, PGPORT (the
#       coordinator's), PGUSER, PGDATABASE, CITUS_WORKER_PORTS and
#       CITUS_CLUSTER_DIR set, then stops and removes everything it started;
#       exits with COMMAND's status.
#
# Citus must already be installed for that PostgreSQL: citus.so in
# "pg_config --pkglibdir" (Citus is not packaged for Debian; see the
# README's section "Citus" for how to build it).  The nodes belong to an
# unprivileged OS user as the other tools' clusters do (tools/common.sh:
# "postgres" when run as root), listen on a unix socket in a private
# temporary directory and on 127.0.0.1 only (the nodes reach each other
# over TCP), at free ports from CITUS_PORT_BASE (default 36400) upwards.
# Nothing else on the machine is touched: only the clusters this script
# started are ever stopped.

set -eu

CMD=${1:-}
[ $# -gt 0 ] && shift

if [ "$CMD" = stop ]; then
	DIR=${1:?usage: citus-cluster.sh stop DIR}
	[ -f "$DIR/citus-cluster.env" ] || { echo "$DIR: not a cluster of citus-cluster.sh" >&2; exit 1; }
	. "$DIR/citus-cluster.env"
	for node in coordinator worker1 worker2; do
		[ -f "$DIR/$node/postmaster.pid" ] || continue
		if [ "$(id -un)" = "$CITUS_RUN_AS" ]; then
			"$CITUS_PG_BIN/pg_ctl" -D "$DIR/$node" -m fast -w stop >/dev/null || true
		else
			runuser -u "$CITUS_RUN_AS" -- "$CITUS_PG_BIN/pg_ctl" -D "$DIR/$node" -m fast -w stop >/dev/null || true
		fi
	done
	rm -rf "$DIR"
	echo "stopped and removed $DIR"
	exit 0
fi

case "$CMD" in
start | run) ;;
*)
	sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
[ "$CMD" = start ] || [ $# -gt 0 ] || { echo "usage: citus-cluster.sh run COMMAND [ARG...]" >&2; exit 2; }

: "${PG_CONFIG:?set PG_CONFIG to the pg_config of the PostgreSQL that has Citus}"
# as_root, as_cluster_user, RUN_AS, WORK (a new private directory),
# build_and_install; its cleanup trap is replaced by ours below.
. "$(dirname "$0")/common.sh"
trap - EXIT INT TERM
[ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$WORK"

PG_BIN=$($PG_CONFIG --bindir)
if [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
	echo "Citus is not installed for $($PG_CONFIG --version): no citus.so in $($PG_CONFIG --pkglibdir)" >&2
	rm -rf "$WORK"
	exit 1
fi
CITUS_DB=${CITUS_DB:-occ}
NODES="coordinator worker1 worker2"

# Stop what this run started (by data directory) and remove its directory.
stop_all() {
	for node in $NODES; do
		[ -f "$WORK/$node/postmaster.pid" ] &&
			as_cluster_user "$PG_BIN/pg_ctl" -D "$WORK/$node" -m fast -w stop >/dev/null 2>&1
	done
	rm -rf "$WORK"
}
on_exit() {
	rc=$?
	if [ "$rc" -ne 0 ] || [ "$CMD" = run ]; then stop_all; fi
	exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

if [ -z "${CITUS_NO_INSTALL:-}" ]; then
	build_and_install
	rm -rf "$BUILD"
fi

# Is something listening on this TCP port, or is its socket file in use?
port_taken() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q . || [ -e "$WORK/.s.PGSQL.$1" ]
}

port=${CITUS_PORT_BASE:-36400}
last=$((port + 49))
PORTS=""
for node in $NODES; do
	as_cluster_user "$PG_BIN/initdb" -D "$WORK/$node" -U "$RUN_AS" -A trust --no-sync \
		-E UTF8 --locale=C.UTF-8 >"$WORK/$node.initdb.log" 2>&1 ||
		{ cat "$WORK/$node.initdb.log"; exit 1; }
	cat >>"$WORK/$node/postgresql.conf" <<-EOF
		# occ loaded in every session: it sees every write start, to refuse
		# an occ.if_match that Citus would not carry to the shards, and it
		# keeps conflict statistics before PostgreSQL 17 (README, "Citus")
		shared_preload_libraries = 'citus,occ'
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$WORK'
		fsync = off
		max_connections = 100
		max_prepared_transactions = 100
		wal_level = logical
	EOF
	started=""
	while [ "$port" -le "$last" ]; do
		if ! port_taken "$port" &&
			as_cluster_user "$PG_BIN/pg_ctl" -D "$WORK/$node" -l "$WORK/$node.log" -w \
				-o "-p $port" start >/dev/null 2>&1; then
			started=$port
			port=$((port + 1))
			break
		fi
		port=$((port + 1))
	done
	[ -n "$started" ] || { echo "no free port for $node" >&2; tail -n 20 "$WORK/$node.log" >&2; exit 1; }
	PORTS="$PORTS $started"
done
set -- $PORTS "$@"
COORD_PORT=$1 W1_PORT=$2 W2_PORT=$3
shift 3

node_psql() {
	as_cluster_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$1" -U "$RUN_AS" -d "$2" -c "$3"
}

for p in $COORD_PORT $W1_PORT $W2_PORT; do
	node_psql "$p" postgres "CREATE DATABASE \"$CITUS_DB\""
	node_psql "$p" "$CITUS_DB" "CREATE EXTENSION citus"
done
node_psql "$COORD_PORT" "$CITUS_DB" "SELECT citus_set_coordinator_host('127.0.0.1', $COORD_PORT)" >/dev/null
node_psql "$COORD_PORT" "$CITUS_DB" "SELECT citus_add_node('127.0.0.1', $W1_PORT)" >/dev/null
node_psql "$COORD_PORT" "$CITUS_DB" "SELECT citus_add_node('127.0.0.1', $W2_PORT)" >/dev/null
# propagated by Citus to the workers
node_psql "$COORD_PORT" "$CITUS_DB" "CREATE EXTENSION occ"

cat >"$WORK/citus-cluster.env" <<EOF
CITUS_RUN_AS=$RUN_AS
CITUS_PG_BIN=$PG_BIN
EOF
[ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$WORK/citus-cluster.env"

if [ "$CMD" = run ]; then
	export PGHOST=$WORK PGPORT=$COORD_PORT PGUSER=$RUN_AS PGDATABASE=$CITUS_DB
	export CITUS_WORKER_PORTS="$W1_PORT $W2_PORT" CITUS_CLUSTER_DIR=$WORK
	set +e
	"$@"
	exit $?
fi

cat <<EOF
Citus cluster with occ, in $WORK (nodes owned by $RUN_AS):
  coordinator  127.0.0.1:$COORD_PORT
  workers      127.0.0.1:$W1_PORT  127.0.0.1:$W2_PORT
  database     $CITUS_DB (extensions citus and occ on every node)
Connect:
  $PG_BIN/psql -h $WORK -p $COORD_PORT -U $RUN_AS $CITUS_DB
Stop and remove it:
  sh $TOP/tools/citus-cluster.sh stop $WORK
EOF
