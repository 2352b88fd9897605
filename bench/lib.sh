# bench/lib.sh -- what every benchmark part shares (sourced, never run).
#
# Packages, building and installing occ, the throwaway cluster and the
# cleanup trap come from tools/common.sh; this file adds what only the
# benchmarks need: the results file, the fingerprint of the occ.so being
# measured, a server with the benchmark settings, and a few helpers for
# arithmetic and for pgbench.
#
# A part script (bench/callgrind.sh, ...) sources this file, defines
# part_<name>, and calls bench_main <name>.  bench/run.sh runs several part
# scripts one after the other into one results file: it prepares once, then
# runs each part with BENCH_OCC=installed and OCC_BENCH_RESULT naming the
# file to append to.
#
# Knobs common to several parts (the others are in the part scripts):
#   BENCH_ROWS         rows of the table in callgrind, statements, pgbench
#   BENCH_OCC          tree (default): build occ from this tree in a private
#                      copy and install it into the PostgreSQL measured;
#                      installed: measure the occ already installed there
#   BENCH_RESULTS_DIR  where <UTC date-time>.md goes, default
#                      $HOME/occ-bench-results; never the source tree unless
#                      you name it
#   PG_CONFIG          the PostgreSQL to measure (default Debian's $PG_MAJOR)

. "$(dirname "$0")/../tools/common.sh"

BENCH=$TOP/bench
ROWS=${BENCH_ROWS:-100000}
BENCH_OCC=${BENCH_OCC:-tree}
RESULTS_DIR=${BENCH_RESULTS_DIR:-${HOME:-/tmp}/occ-bench-results}

say() { echo "== $*" >&2; }
die() {
	echo "bench: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- set-up

# bench_prepare PARTS: what must hold before any part runs.  Installs the
# packages, puts the occ to measure in place (built from the tree, or the
# installed one), and starts the results file, unless run.sh has done all
# that already and handed us its file in OCC_BENCH_RESULT.
bench_prepare() {
	case $BENCH_OCC in
	tree) PACKAGES="$PACKAGES valgrind" ;;
	# nothing to build: no compiler, no server headers
	installed) PACKAGES="postgresql-$PG_MAJOR valgrind" ;;
	*) die "BENCH_OCC is tree (build occ from this tree, the default) or installed, not '$BENCH_OCC'" ;;
	esac
	install_packages
	SHAREDIR=$($PG_CONFIG --sharedir)
	PKGLIBDIR=$($PG_CONFIG --pkglibdir)
	[ -f "$SHAREDIR/extension/moddatetime.control" ] ||
		die "contrib's moddatetime is missing from $SHAREDIR/extension (package postgresql-$PG_MAJOR)"

	if [ -n "${OCC_BENCH_RESULT:-}" ]; then
		# run.sh built occ and wrote the header
		RESULT=$OCC_BENCH_RESULT
	else
		if [ "$BENCH_OCC" = tree ]; then
			build_and_install
		fi
		[ -f "$SHAREDIR/extension/occ.control" ] && [ -f "$PKGLIBDIR/occ.so" ] ||
			die "occ is not installed in $SHAREDIR (BENCH_OCC=tree builds and installs it)"
		mkdir -p "$RESULTS_DIR"
		RESULT=$(cd "$RESULTS_DIR" && pwd)/$(date -u +%Y-%m-%d-%H%M%S).md
		results_header "$1"
	fi
	# The servers and single-user backends the parts start write into WORK.
	[ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$WORK"
}

# The build being measured: occ may be reinstalled while a part runs, so each
# part notes the build it started with, and says if it changed under it.
occ_fingerprint() {
	sum=$(sha256sum "$PKGLIBDIR/occ.so" | cut -c1-12)
	when=$(date -u -r "$PKGLIBDIR/occ.so" '+%Y-%m-%d %H:%M:%S UTC')
	echo "occ.so sha256 $sum, installed $when"
}

# results_header PARTS: what was measured, on what
results_header() {
	if [ "$BENCH_OCC" = tree ]; then
		origin="built from the tree and installed"
	else
		origin="as installed (not built by this run)"
	fi
	{
		echo "# occ benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		echo "| | |"
		echo "|---|---|"
		echo "| machine | $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r) |"
		echo "| PostgreSQL | $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /'), $PG_BIN |"
		echo "| occ | default_version $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SHAREDIR/extension/occ.control"), $origin, $(occ_fingerprint) at the start |"
		if git -C "$TOP" rev-parse --short HEAD >/dev/null 2>&1; then
			dirty=$(git -C "$TOP" status --porcelain -- src sql Makefile | grep -q . && echo ", src/sql modified" || true)
			[ "$BENCH_OCC" = tree ] || dirty="$dirty; occ was not built from it"
			echo "| tree | $(git -C "$TOP" rev-parse --short HEAD)$dirty |"
		fi
		echo "| valgrind | $(valgrind --version) |"
		echo "| parts | $1 |"
	} >"$RESULT"
}

out() { printf '%s\n' "$@" >>"$RESULT"; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run_part PART: part_PART, followed by how long it took, on which build and
# under what load, and a warning if occ.so changed meanwhile
run_part() {
	part_start=$(date +%s)
	load_before=$(loadavg)
	build_before=$(occ_fingerprint)
	"part_$1"
	out "" "_Part $1 took $(($(date +%s) - part_start)) s; ${build_before%%,*}; load average (1, 5, 15 min) $load_before before, $(loadavg) after._"
	build_after=$(occ_fingerprint)
	[ "$build_after" = "$build_before" ] ||
		out "" "**Warning: occ was reinstalled during part $1**: its numbers may mix two builds" \
			"(before: $build_before; after: $build_after)."
}

# bench_finish: print the results and where they are
bench_finish() {
	out ""
	cat "$RESULT"
	echo
	echo "(written to $RESULT)"
}

# bench_main PART: the whole life of a part script run on its own, or of
# one part run by run.sh (which prints the results itself)
bench_main() {
	bench_prepare "$1"
	run_part "$1"
	[ -n "${OCC_BENCH_RESULT:-}" ] || bench_finish
}

# ---------------------------------------------------------------- arithmetic

# calc EXPRESSION: awk evaluates it (the shell has integers only)
calc() { awk "BEGIN { printf \"%s\", $1 }" </dev/null; }

# spread NUMBERS...: "min / median / max"
spread() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			  printf "%.3f / %.3f / %.3f", v[1], m, v[NR] }'
}

# ---------------------------------------------------------------- a server
#
# For pgbench, enable and contention: one cluster per part, from
# tools/common.sh, listening only on a unix socket in $WORK, with settings
# that keep the disk and the background workers out of the numbers.

SERVER_SETTINGS="shared_buffers=512MB, fsync=off, synchronous_commit=off, autovacuum=off (tables are vacuumed between runs), max_wal_size=16GB, checkpoint_timeout=1h, jit=off; unix socket only"
# A part that needs more connections than the default 100 sets this
# before start_server (and says so in its results).
SERVER_MAX_CONNECTIONS=${SERVER_MAX_CONNECTIONS:-100}

start_server() {
	CLUSTER_TCP=no
	CLUSTER_INITDB_OPTS="-E UTF8 --locale=C"
	CLUSTER_CONF="# bench/lib.sh
shared_buffers = 512MB
fsync = off
synchronous_commit = off
autovacuum = off
max_wal_size = 16GB
checkpoint_timeout = 1h
jit = off
max_connections = $SERVER_MAX_CONNECTIONS"
	start_cluster >&2
	psql_db postgres -c "CREATE DATABASE bench"
	psql_q -c "CREATE EXTENSION occ"
}

# psql_db DATABASE psql-arguments...: unaligned, tuples only, stop on error
psql_db() {
	db=$1
	shift
	as_cluster_user "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -d "$db" "$@"
}
psql_q() { psql_db bench "$@"; }

# pgbench_run OUTPUT pgbench-arguments...: runs pgbench, fails on errors
pgbench_run() {
	o=$1
	shift
	as_cluster_user "$PG_BIN/pgbench" -n -h "$PGHOST" -p "$PGPORT" "$@" bench >"$o" 2>&1 ||
		{ cat "$o" >&2; die "pgbench failed"; }
	if grep -q -E 'aborted|number of failed transactions: [1-9]' "$o"; then
		cat "$o" >&2
		die "pgbench reports failed transactions"
	fi
}
tps_of() { sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$1"; }
txns_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }
