#!/bin/sh
# bench/run.sh -- measure what occ costs, beside the alternatives.
#
#   sh bench/run.sh                      every part (about 8 minutes on 2 CPUs)
#   sh bench/run.sh callgrind            only the bulk instruction counts (about 2.5 minutes)
#   sh bench/run.sh pgbench contention   any subset, in any order
#
# Parts (bench/README.md says what each measures and how to read it):
#   callgrind   executor instructions per updated row of a bulk UPDATE,
#               postgres --single under callgrind
#   statements  executor instructions per single-row UPDATE statement, the same way
#   pgbench     prepared single-row UPDATE by primary key, plain table vs occ table
#   enable      occ.enable on a 10-million-row table: time, and no rewrite
#   contention  N clients read-modify-write K hot rows, retrying on 40V01
#
# It measures the occ that is installed; it builds and installs occ from this
# tree only if none is installed.  It installs the Debian packages it needs
# (postgresql-15, valgrind) if they are missing.  PostgreSQL runs as the
# unprivileged "postgres" user when started as root, in a private temporary
# directory, on a unix socket only; everything is stopped and removed on
# exit.  Results go to bench/results/<UTC date and time>.md and are printed.
#
# Knobs (environment): BENCH_ROWS (100000), BENCH_HALF_ROWS (50000; 0 skips
# the stability runs), BENCH_STATEMENTS (5000), BENCH_VARIANTS (callgrind
# and statements variants, default all: plain plain_stated floor floor_again
# moddatetime plpgsql occ_lax occ_stated occ_timestamp), BENCH_PAIRS (5),
# BENCH_SIMULTANEOUS (4), BENCH_SECONDS (12), BENCH_CLIENTS (1),
# BENCH_BIG_ROWS (10000000), BENCH_CONTENTION ("4:1 4:10 8:1 8:100"),
# BENCH_CONTENTION_SECONDS (10).

set -eu

PG_MAJOR=${PG_MAJOR:-15}
ROWS=${BENCH_ROWS:-100000}
HALF_ROWS=${BENCH_HALF_ROWS:-50000}
STATEMENTS=${BENCH_STATEMENTS:-5000}
ALL_VARIANTS="plain plain_stated floor floor_again moddatetime plpgsql occ_lax occ_stated occ_timestamp"
VARIANTS=${BENCH_VARIANTS:-$ALL_VARIANTS}
PAIRS=${BENCH_PAIRS:-5}
SIMULTANEOUS=${BENCH_SIMULTANEOUS:-4}
SECONDS_PER_RUN=${BENCH_SECONDS:-12}
CLIENTS=${BENCH_CLIENTS:-1}
BIG_ROWS=${BENCH_BIG_ROWS:-10000000}
CONTENTION=${BENCH_CONTENTION:-"4:1 4:10 8:1 8:100"}
CONTENTION_SECONDS=${BENCH_CONTENTION_SECONDS:-10}

TOP=$(cd "$(dirname "$0")/.." && pwd)
PARTS=${*:-callgrind statements pgbench enable contention}
for p in $PARTS; do
	case $p in
	callgrind | statements | pgbench | enable | contention) ;;
	*)
		echo "usage: sh bench/run.sh [callgrind] [statements] [pgbench] [enable] [contention]" >&2
		exit 2
		;;
	esac
done

# ---------------------------------------------------------------- plumbing

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL refuses to run as root.
if [ "$(id -u)" -eq 0 ]; then RUN_AS=postgres; else RUN_AS=$(id -un); fi
as_user() {
	if [ "$(id -un)" = "$RUN_AS" ]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

say() { echo "== $*" >&2; }
die() {
	echo "bench: $*" >&2
	exit 1
}

install_packages() {
	missing=""
	for p in postgresql-$PG_MAJOR valgrind; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing Debian packages:$missing"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
	fi
}

install_packages
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PG_BIN=$($PG_CONFIG --bindir)
SHAREDIR=$($PG_CONFIG --sharedir)
PKGLIBDIR=$($PG_CONFIG --pkglibdir)
[ -f "$SHAREDIR/extension/moddatetime.control" ] ||
	die "contrib's moddatetime is missing from $SHAREDIR/extension (package postgresql-$PG_MAJOR)"

WORK=$(mktemp -d /tmp/occ-bench.XXXXXX)
chmod 755 "$WORK"
SERVER_DATA=""
cleanup() {
	rc=$?
	if [ -n "$SERVER_DATA" ] && [ -f "$SERVER_DATA/postmaster.pid" ]; then
		as_user "$PG_BIN/pg_ctl" -D "$SERVER_DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT INT TERM

if [ ! -f "$SHAREDIR/extension/occ.control" ]; then
	say "occ is not installed: building and installing it from $TOP"
	mkdir -p "$WORK/build"
	(cd "$TOP" && tar --exclude=.git --exclude=results --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' -cf - .) | tar -xf - -C "$WORK/build"
	chown -R "$RUN_AS" "$WORK/build" 2>/dev/null || true
	as_user make -s -C "$WORK/build" PG_CONFIG="$PG_CONFIG"
	as_root make -s -C "$WORK/build" PG_CONFIG="$PG_CONFIG" install
fi
[ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$WORK"

# The build being measured: occ may be reinstalled while this runs, so each
# part notes the build it started with, and says if it changed under it.
occ_fingerprint() {
	sum=$(sha256sum "$PKGLIBDIR/occ.so" | cut -c1-12)
	when=$(date -u -r "$PKGLIBDIR/occ.so" '+%Y-%m-%d %H:%M:%S UTC')
	echo "occ.so sha256 $sum, installed $when"
}

mkdir -p "$TOP/bench/results"
STAMP=$(date -u +%Y-%m-%d-%H%M%S)
RESULT=$TOP/bench/results/$STAMP.md
out() { printf '%s\n' "$@" >>"$RESULT"; }

# Arithmetic and statistics, in awk.
calc() { awk "BEGIN { printf \"%s\", $1 }" </dev/null; }
# min, median and max of the numbers given as arguments
spread() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			  printf "%.3f / %.3f / %.3f", v[1], m, v[NR] }'
}

{
	echo "# occ benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| machine | $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r) |"
	echo "| PostgreSQL | $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /') |"
	echo "| occ | default_version $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SHAREDIR/extension/occ.control"), $(occ_fingerprint) at the start |"
	if git -C "$TOP" rev-parse --short HEAD >/dev/null 2>&1; then
		dirty=$(git -C "$TOP" status --porcelain -- src sql Makefile | grep -q . && echo ", src/sql modified" || true)
		echo "| tree | $(git -C "$TOP" rev-parse --short HEAD)$dirty |"
	fi
	echo "| valgrind | $(valgrind --version) |"
	echo "| parts | $PARTS |"
} >"$RESULT"

# ---------------------------------------------------------------- callgrind
#
# Each variant starts from a copy (cp -a) of one template data directory
# holding the table, frozen and checkpointed, so every variant begins from
# the same bytes.  The variant's trigger is created in one single-user
# session; a second one, under callgrind, runs the measured statements and
# nothing else, collecting only inside the executor; a third checks that
# every row was updated, and its version or timestamp advanced by the
# variant's trigger.
#
# Two scenarios:
#   bulk        one UPDATE of every row, collected inside standard_ExecutorRun
#   statements  single-row UPDATEs by primary key, each its own transaction,
#               collected inside PortalRun (executor start, run and end;
#               not parsing, planning or commit)

SINGLE_OPTS="-c fsync=off -c jit=off -c max_wal_size=4GB"

# single DATADIR INPUT LOG: a single-user backend reading INPUT, statements
# ending with ";" and an empty line (-j)
single() {
	as_user "$PG_BIN/postgres" --single -j -D "$1" $SINGLE_OPTS postgres <"$2" >"$3" 2>&1 ||
		{ tail -n 20 "$3" >&2; die "single-user backend failed on $2"; }
	if grep -q 'ERROR:' "$3"; then
		grep -A3 'ERROR:' "$3" >&2
		die "error in $2 (log $3)"
	fi
}

# template ROWS: the pristine data directory with ROWS rows, made once
template() {
	dir=$WORK/cg/template.$1
	[ ! -d "$dir" ] || return 0
	mkdir -p "$WORK/cg"
	chown "$RUN_AS" "$WORK/cg" 2>/dev/null || true
	say "callgrind: template with $1 rows"
	as_user "$PG_BIN/initdb" -D "$dir" -U "$RUN_AS" -A trust --no-sync -E UTF8 --locale=C \
		>"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
	cat >"$dir.sql" <<-EOF
		CREATE EXTENSION occ;

		CREATE EXTENSION moddatetime;

		CREATE TABLE t (
		    id         int PRIMARY KEY,
		    val        int NOT NULL,
		    payload    text NOT NULL,
		    version    bigint NOT NULL DEFAULT 1,
		    updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
		);

		INSERT INTO t (id, val, payload)
		    SELECT g, 0, repeat('x', 40) FROM generate_series(1, $1) g;

		VACUUM (FREEZE, ANALYZE) t;

		CHECKPOINT;

	EOF
	single "$dir" "$dir.sql" "$dir.log"
}

variant_setup() {
	case $1 in
	plain | plain_stated) ;;
	floor | floor_again)
		echo "CREATE TRIGGER t_suppress BEFORE UPDATE ON t
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();"
		;;
	moddatetime)
		echo "CREATE TRIGGER t_moddatetime BEFORE UPDATE ON t
    FOR EACH ROW EXECUTE FUNCTION moddatetime(updated_at);"
		;;
	plpgsql)
		# The hand-written trigger, as blog posts write it.
		cat <<'EOF'
CREATE FUNCTION check_and_bump_version() RETURNS trigger AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version
       AND NEW.version <> OLD.version + 1 THEN
        RAISE EXCEPTION 'row % of % was changed concurrently (version % expected, % stated)',
            OLD.id, TG_TABLE_NAME, OLD.version, NEW.version
            USING ERRCODE = 'serialization_failure';
    END IF;
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER t_version BEFORE UPDATE ON t
    FOR EACH ROW EXECUTE FUNCTION check_and_bump_version();
EOF
		;;
	occ_lax | occ_stated) echo "SELECT occ.enable('t');" ;;
	occ_timestamp) echo "SELECT occ.enable('t', 'updated_at', 'timestamp');" ;;
	*) die "unknown variant $1 (known: $ALL_VARIANTS)" ;;
	esac
}

# the SET list of the variant's UPDATE
variant_set() {
	case $1 in
	plain_stated | occ_stated) echo "val = val + 1, version = version" ;;
	*) echo "val = val + 1" ;;
	esac
}

variant_label() {
	case $1 in
	plain) echo "plain, no trigger" ;;
	plain_stated) echo "plain, SET also version = version" ;;
	floor) echo "suppress_redundant_updates_trigger (floor)" ;;
	floor_again) echo "the same floor, run again" ;;
	moddatetime) echo "contrib moddatetime(updated_at)" ;;
	plpgsql) echo "PL/pgSQL check-and-bump trigger" ;;
	occ_lax) echo "occ integer, lax, version not stated" ;;
	occ_stated) echo "occ integer, stated (version = version)" ;;
	occ_timestamp) echo "occ timestamp, lax, not stated" ;;
	esac
}

# What each variant's UPDATE must leave in every row it updates: a trigger
# that did not fire would look cheap.
variant_check() {
	case $1 in
	plain | plain_stated | floor | floor_again) echo "version = 1 AND updated_at = '2026-01-01 00:00:00+00'" ;;
	moddatetime | occ_timestamp) echo "version = 1 AND updated_at > '2026-01-01 00:00:00+00'" ;;
	*) echo "version = 2 AND updated_at = '2026-01-01 00:00:00+00'" ;;
	esac
}

# measure SCENARIO VARIANT ROWS: leaves the instructions collected in
# $WORK/cg/SCENARIO.VARIANT.ROWS.total
measure() {
	v=$2
	n=$3
	d=$WORK/cg/$1.$v.$n
	as_user cp -a "$WORK/cg/template.$n" "$d"
	{
		variant_setup "$v"
		printf '\nCHECKPOINT;\n\n'
	} >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	if [ "$1" = bulk ]; then
		toggle=$TOGGLE
		zero=""
		updated=$n
		printf 'UPDATE t SET %s;\n\n' "$(variant_set "$v")" >"$d.update.sql"
	else
		# One warm-up UPDATE (of key 1) loads the trigger's library or
		# compiles its function; then pg_stat_clear_snapshot(), which
		# nothing else calls, marks where callgrind zeroes its counts; then
		# STATEMENTS UPDATEs of distinct keys spread over the table (7919 is
		# prime; i = 0 would be key 1).
		toggle=PortalRun
		zero=--zero-before=pg_stat_clear_snapshot
		updated=$((STATEMENTS + 1))
		awk -v s="$STATEMENTS" -v n="$n" -v set="$(variant_set "$v")" 'BEGIN {
			printf "UPDATE t SET %s WHERE id = 1;\n\nSELECT pg_stat_clear_snapshot();\n\n", set
			for (i = 1; i <= s; i++)
				printf "UPDATE t SET %s WHERE id = %d;\n\n", set, (i * 7919) % n + 1 }' \
			</dev/null >"$d.update.sql"
	fi
	as_user valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$toggle" $zero \
		--callgrind-out-file="$d.callgrind" \
		"$PG_BIN/postgres" --single -j -D "$d" $SINGLE_OPTS postgres \
		<"$d.update.sql" >"$d.update.log" 2>&1 ||
		{ tail -n 20 "$d.update.log" >&2; die "callgrind run of $v failed"; }
	if grep -q 'ERROR:' "$d.update.log"; then
		grep -A3 'ERROR:' "$d.update.log" >&2
		die "$v: the UPDATE failed"
	fi
	printf 'SELECT count(*) AS updated_rows FROM t WHERE val = 1 AND %s;\n\n' \
		"$(variant_check "$v")" >"$d.check.sql"
	single "$d" "$d.check.sql" "$d.check.log"
	grep -q "updated_rows = \"$updated\"" "$d.check.log" ||
		die "$v: not every row was updated as expected ($(variant_check "$v"))"
	total=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$d.callgrind" | head -n 1)
	[ -n "$total" ] && [ "$total" -gt 0 ] ||
		die "$v: callgrind collected nothing: is $toggle a symbol of $PG_BIN/postgres?"
	echo "$total" >"$d.total"
	rm -rf "$d"
}

# run_variants SCENARIO SIZES...: every variant on every size, in parallel,
# as many at a time as there are CPUs (instruction counts do not depend on
# timing)
run_variants() {
	scenario=$1
	shift
	for n in "$@"; do
		template "$n"
	done
	jobs=0
	for n in "$@"; do
		for v in $VARIANTS; do
			variant_setup "$v" >/dev/null
			say "callgrind: $scenario, $v, $n rows"
			measure "$scenario" "$v" "$n" &
			jobs=$((jobs + 1))
			if [ "$jobs" -ge "$(nproc)" ]; then
				wait
				jobs=0
			fi
		done
	done
	wait
	for n in "$@"; do
		for v in $VARIANTS; do
			[ -f "$WORK/cg/$scenario.$v.$n.total" ] ||
				die "the callgrind run of $v ($scenario, $n rows) failed"
		done
	done
}

has() {
	case " $VARIANTS " in *" $1 "*) return 0 ;; esac
	return 1
}
count_of() { cat "$WORK/cg/$1.$2.$3.total"; } # SCENARIO VARIANT ROWS

# The variant an overhead is measured from: the stated variant's UPDATE
# assigns one more column, which costs the executor something with or
# without a trigger, so its overhead is taken over plain_stated when that
# was run.
baseline_of() {
	if [ "$1" = occ_stated ] && has plain_stated; then echo plain_stated; else echo plain; fi
}

# ratios_table WITH_MARGINAL: the ratios the issue sets targets for, from
# the overheads in over_<variant> (and marg_<variant>); "-" where a variant
# a ratio needs was not run
ratios_table() {
	ratio() {
		if ! has "$1" || ! has "$2"; then
			echo "-"
			return
		fi
		eval "a=\$over_$1 b=\$over_$2"
		r=$(calc "sprintf(\"%.3f\", $a / $b)")
		if [ "$with_marginal" = yes ]; then
			eval "a=\$marg_$1 b=\$marg_$2"
			r="$r ($(calc "sprintf(\"%.3f\", $a / $b)"))"
		fi
		echo "$r"
	}
	with_marginal=$1
	has occ_lax || has occ_stated || has occ_timestamp || return 0
	out "" "| occ variant | occ / floor (target <= 1.15) | PL/pgSQL / occ (target >= 2.5) | occ / moddatetime (target < 1) |" \
		"|---|--:|--:|--:|"
	for v in occ_lax occ_stated occ_timestamp; do
		has "$v" || continue
		out "| $(variant_label "$v") | $(ratio "$v" floor) | $(ratio plpgsql "$v") | $(ratio "$v" moddatetime) |"
	done
}

repeatability() { # SCENARIO ROWS
	has floor && has floor_again || return 0
	a=$(count_of "$1" floor "$2")
	b=$(count_of "$1" floor_again "$2")
	out "" "Repeatability: the floor variant run twice collected $a and $b instructions (difference $(calc "$b - $a"))."
}

part_callgrind() {
	# Debian strips postgres, but exported functions stay in its dynamic
	# symbol table, and callgrind finds standard_ExecutorRun there.
	if nm -D "$PG_BIN/postgres" | grep -q ' T standard_ExecutorRun$'; then
		TOGGLE=standard_ExecutorRun
	else
		TOGGLE=ExecutorRun
	fi
	has plain || die "the callgrind part needs the plain variant"
	if [ "$HALF_ROWS" -gt 0 ]; then
		run_variants bulk "$ROWS" "$HALF_ROWS"
	else
		run_variants bulk "$ROWS"
	fi

	per_row() { calc "$(count_of bulk "$1" "$2") / $2"; }
	marginal() { calc "($(count_of bulk "$1" "$ROWS") - $(count_of bulk "$1" "$HALF_ROWS")) / ($ROWS - $HALF_ROWS)"; }

	out "" "## 1. Executor instructions per updated row (callgrind)" ""
	out "\`UPDATE t SET val = val + 1\` over all $ROWS rows of" \
		"\`t (id int PRIMARY KEY, val int, payload text /* 40 chars */, version bigint, updated_at timestamptz)\`," \
		"one single-user backend per variant (\`postgres --single $SINGLE_OPTS\`, other settings default)," \
		"each from a copy of the same frozen, checkpointed data directory;" \
		"callgrind counts only inside \`$TOGGLE\` (\`--collect-atstart=no --toggle-collect=$TOGGLE\`)." \
		"Per row = instructions collected / rows. Overhead = per row minus plain's" \
		"(for the stated variant, minus that of plain with the same SET list, when measured)."
	if [ "$HALF_ROWS" -gt 0 ]; then
		out "The $HALF_ROWS-row columns repeat everything on a $HALF_ROWS-row table;" \
			"marginal = (I($ROWS) - I($HALF_ROWS)) / $((ROWS - HALF_ROWS)) rows, which leaves out one-time costs (loading a library, compiling PL/pgSQL)." "" \
			"| variant | instructions ($ROWS rows) | per row | overhead | per row ($HALF_ROWS) | overhead ($HALF_ROWS) | marginal per row | marginal overhead |" \
			"|---|--:|--:|--:|--:|--:|--:|--:|"
	else
		out "" "| variant | instructions ($ROWS rows) | per row | overhead |" "|---|--:|--:|--:|"
	fi
	for v in $VARIANTS; do
		base=$(baseline_of "$v")
		plain=$(per_row "$base" "$ROWS")
		pr=$(per_row "$v" "$ROWS")
		eval "over_$v=$(calc "$pr - $plain")"
		line="| $(variant_label "$v") | $(count_of bulk "$v" "$ROWS") | $(calc "sprintf(\"%.0f\", $pr)") | $(calc "sprintf(\"%+.0f\", $pr - $plain)")"
		if [ "$HALF_ROWS" -gt 0 ]; then
			plain_half=$(per_row "$base" "$HALF_ROWS")
			plain_marg=$(marginal "$base")
			ph=$(per_row "$v" "$HALF_ROWS")
			marg=$(marginal "$v")
			eval "marg_$v=$(calc "$marg - $plain_marg")"
			line="$line | $(calc "sprintf(\"%.0f\", $ph)") | $(calc "sprintf(\"%+.0f\", $ph - $plain_half)") | $(calc "sprintf(\"%.0f\", $marg)") | $(calc "sprintf(\"%+.0f\", $marg - $plain_marg)")"
		fi
		out "$line |"
	done
	if [ "$HALF_ROWS" -gt 0 ]; then
		out "" "Ratios of overheads (per row at $ROWS rows; in brackets, marginal):"
		ratios_table yes
	else
		out "" "Ratios of overheads (per row at $ROWS rows):"
		ratios_table no
	fi
	repeatability bulk "$ROWS"
}

part_statements() {
	has plain || die "the statements part needs the plain variant"
	[ "$STATEMENTS" -lt "$ROWS" ] || die "BENCH_STATEMENTS must be less than BENCH_ROWS"
	run_variants statements "$ROWS"
	per_stmt() { calc "$(count_of statements "$1" "$ROWS") / $STATEMENTS"; }

	out "" "## 1b. Executor instructions per single-row UPDATE statement (callgrind)" ""
	out "$STATEMENTS statements \`UPDATE t SET val = val + 1 WHERE id = k\` (distinct keys spread over the table)," \
		"each its own transaction, in one single-user backend per variant, on the same $ROWS-row table and settings as part 1;" \
		"callgrind counts only inside \`PortalRun\`: executor start, run, finish and end of each statement," \
		"not parsing, planning or commit. One warm-up UPDATE runs first and is not counted" \
		"(\`--zero-before=pg_stat_clear_snapshot\`, called once after it), so the one-time library load" \
		"or PL/pgSQL compilation is left out, as in a long-lived session." \
		"Per statement = instructions collected / $STATEMENTS; it includes the trigger's per-statement set-up" \
		"(looking up the trigger function, building its caches), which part 1 spreads over $ROWS rows." \
		"Overhead as in part 1." "" \
		"| variant | instructions | per statement | overhead |" "|---|--:|--:|--:|"
	for v in $VARIANTS; do
		plain=$(per_stmt "$(baseline_of "$v")")
		ps=$(per_stmt "$v")
		eval "over_$v=$(calc "$ps - $plain")"
		out "| $(variant_label "$v") | $(count_of statements "$v" "$ROWS") | $(calc "sprintf(\"%.0f\", $ps)") | $(calc "sprintf(\"%+.0f\", $ps - $plain)") |"
	done
	out "" "Ratios of overheads per statement (for comparison; the targets are set on part 1):"
	ratios_table no
	repeatability statements "$ROWS"
}

# ---------------------------------------------------------------- a server
#
# For the other parts: one cluster, listening only on a unix socket in $WORK.

PORT=5432
start_server() {
	[ -z "$SERVER_DATA" ] || return 0
	SERVER_DATA=$WORK/server
	say "starting a PostgreSQL $PG_MAJOR server on a unix socket in $WORK"
	as_user "$PG_BIN/initdb" -D "$SERVER_DATA" -U "$RUN_AS" -A trust --no-sync -E UTF8 \
		--locale=C >"$WORK/server.initdb.log" 2>&1 || { cat "$WORK/server.initdb.log" >&2; die "initdb failed"; }
	cat >>"$SERVER_DATA/postgresql.conf" <<-EOF
		# bench/run.sh
		listen_addresses = ''
		unix_socket_directories = '$WORK'
		port = $PORT
		shared_buffers = 512MB
		fsync = off
		synchronous_commit = off
		autovacuum = off
		max_wal_size = 16GB
		checkpoint_timeout = 1h
		jit = off
	EOF
	as_user "$PG_BIN/pg_ctl" -D "$SERVER_DATA" -l "$WORK/server.log" -w start >/dev/null ||
		{ tail -n 20 "$WORK/server.log" >&2; die "the server did not start"; }
	psql_db postgres -c "CREATE DATABASE bench"
	psql_q -c "CREATE EXTENSION occ"
}
SERVER_SETTINGS="shared_buffers=512MB, fsync=off, synchronous_commit=off, autovacuum=off (tables are vacuumed between runs), max_wal_size=16GB, checkpoint_timeout=1h, jit=off; unix socket only"

psql_db() {
	db=$1
	shift
	as_user "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$db" "$@"
}
psql_q() { psql_db bench "$@"; }

# pgbench_run OUTPUT pgbench-arguments...: runs pgbench, fails on errors
pgbench_run() {
	o=$1
	shift
	as_user "$PG_BIN/pgbench" -n -h "$WORK" -p "$PORT" "$@" bench >"$o" 2>&1 ||
		{ cat "$o" >&2; die "pgbench failed"; }
	if grep -q -E 'aborted|number of failed transactions: [1-9]' "$o"; then
		cat "$o" >&2
		die "pgbench reports failed transactions"
	fi
}
tps_of() { sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$1"; }
txns_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }

# ---------------------------------------------------------------- pgbench

part_pgbench() {
	start_server
	say "pgbench: loading t_plain and t_occ, $ROWS rows each"
	for t in t_plain t_occ; do
		psql_q -c "CREATE TABLE $t (id int PRIMARY KEY, val int NOT NULL, payload text NOT NULL,
		               version bigint NOT NULL DEFAULT 1)" \
			-c "INSERT INTO $t (id, val, payload) SELECT g, 0, repeat('x', 40) FROM generate_series(1, $ROWS) g"
		printf '\\set id random(1, %s)\nUPDATE %s SET val = val + 1 WHERE id = :id;\n' \
			"$ROWS" "$t" >"$WORK/$t.pgbench"
	done
	psql_q -c "SELECT occ.enable('t_occ')" >/dev/null
	psql_q -c "VACUUM (FREEZE, ANALYZE) t_plain, t_occ"

	# Warm-up, not recorded: caches, the WAL files, the first connection.
	for t in t_plain t_occ; do
		say "pgbench: warm-up, $t, 5 s"
		pgbench_run "$WORK/pgbench.warmup.$t" -M prepared -c "$CLIENTS" -j "$CLIENTS" -T 5 \
			-f "$WORK/$t.pgbench"
	done

	ratios=""
	rows=""
	i=1
	while [ "$i" -le "$PAIRS" ]; do
		# ABBA: odd pairs run plain first, even pairs occ first
		if [ $((i % 2)) -eq 1 ]; then order="t_plain t_occ"; else order="t_occ t_plain"; fi
		for t in $order; do
			psql_q -c "VACUUM t_plain, t_occ" -c "CHECKPOINT"
			say "pgbench: pair $i/$PAIRS, $t, $SECONDS_PER_RUN s"
			pgbench_run "$WORK/pgbench.$i.$t" -M prepared -c "$CLIENTS" -j "$CLIENTS" \
				-T "$SECONDS_PER_RUN" -f "$WORK/$t.pgbench"
		done
		p=$(tps_of "$WORK/pgbench.$i.t_plain")
		o=$(tps_of "$WORK/pgbench.$i.t_occ")
		r=$(calc "sprintf(\"%.3f\", $o / $p)")
		ratios="$ratios $r"
		if [ $((i % 2)) -eq 1 ]; then first=plain; else first=occ; fi
		rows="$rows| $i | $first first | $(calc "sprintf(\"%.0f\", $p)") | $(calc "sprintf(\"%.0f\", $o)") | $r | $(cut -d' ' -f1 /proc/loadavg) |
"
		i=$((i + 1))
	done
	# The same two scripts at the same time: both tables see the same load
	# from the rest of the machine, so their ratio survives a busy machine.
	srows=""
	sratios=""
	i=1
	while [ "$i" -le "$SIMULTANEOUS" ]; do
		psql_q -c "VACUUM t_plain, t_occ" -c "CHECKPOINT"
		say "pgbench: simultaneous run $i/$SIMULTANEOUS, $SECONDS_PER_RUN s"
		# the one started first alternates too
		if [ $((i % 2)) -eq 1 ]; then order="t_plain t_occ"; else order="t_occ t_plain"; fi
		pids=""
		for t in $order; do
			pgbench_run "$WORK/simul.$i.$t" -M prepared -c "$CLIENTS" -j "$CLIENTS" \
				-T "$SECONDS_PER_RUN" -f "$WORK/$t.pgbench" &
			pids="$pids $!"
		done
		for pid in $pids; do
			wait "$pid" || die "pgbench failed in simultaneous run $i"
		done
		p=$(tps_of "$WORK/simul.$i.t_plain")
		o=$(tps_of "$WORK/simul.$i.t_occ")
		r=$(calc "sprintf(\"%.3f\", $o / $p)")
		sratios="$sratios $r"
		srows="$srows| $i | $(calc "sprintf(\"%.0f\", $p)") | $(calc "sprintf(\"%.0f\", $o)") | $r | $(cut -d' ' -f1 /proc/loadavg) |
"
		i=$((i + 1))
	done

	updated=$(psql_q -c "SELECT count(*) FROM t_occ WHERE version <> val + 1")
	[ "$updated" = 0 ] || die "pgbench: $updated rows of t_occ have a version that does not match their updates"

	out "" "## 2. End to end: pgbench, prepared single-row UPDATE by primary key" ""
	out "\`UPDATE t_x SET val = val + 1 WHERE id = :id\`, \`:id\` uniform over $ROWS rows," \
		"\`pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $SECONDS_PER_RUN\`; t_plain and t_occ have the same columns" \
		"(id int PRIMARY KEY, val int, payload text, version bigint), occ enabled (integer, lax) on t_occ." \
		"After one unrecorded 5 s warm-up run on each table, runs alternate in ABBA order;" \
		"both tables are vacuumed and a checkpoint taken before every run." \
		"Server: $SERVER_SETTINGS." "" \
		"| pair | order | plain TPS | occ TPS | occ / plain | load average after |" "|--:|---|--:|--:|--:|--:|"
	printf '%s' "$rows" >>"$RESULT"
	# shellcheck disable=SC2086
	out "" "occ / plain TPS over $PAIRS pairs, min / median / max: **$(spread $ratios)**"
	if [ "$SIMULTANEOUS" -gt 0 ]; then
		out "" "Simultaneous: the two scripts run at the same time, each with its own $CLIENTS client(s)," \
			"$SECONDS_PER_RUN s, so that both share whatever else the machine is doing; the one started first alternates." "" \
			"| run | plain TPS | occ TPS | occ / plain | load average after |" "|--:|--:|--:|--:|--:|"
		printf '%s' "$srows" >>"$RESULT"
		# shellcheck disable=SC2086
		out "" "occ / plain TPS over $SIMULTANEOUS simultaneous runs, min / median / max: **$(spread $sratios)**"
	fi
}

# ---------------------------------------------------------------- enable

part_enable() {
	start_server
	say "enable: loading big, $BIG_ROWS rows"
	t0=$(date +%s)
	psql_q -c "CREATE TABLE big (id int NOT NULL, val int NOT NULL)" \
		-c "INSERT INTO big SELECT g, g FROM generate_series(1, $BIG_ROWS) g" \
		-c "ALTER TABLE big ADD PRIMARY KEY (id)" \
		-c "VACUUM (FREEZE, ANALYZE) big" -c "CHECKPOINT"
	load_s=$(($(date +%s) - t0))
	# Time inside the server, around the call alone.
	psql_q -c "CREATE FUNCTION bench_ms(stmt text) RETURNS float8 LANGUAGE plpgsql AS \$\$
		DECLARE t0 timestamptz := clock_timestamp();
		BEGIN
		    EXECUTE stmt;
		    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
		END \$\$"
	state="SELECT pg_relation_filenode('big') || ' ' || pg_relation_size('big') || ' '
		|| pg_total_relation_size('big')"

	out "" "## 3. Enabling a $BIG_ROWS-row table" ""
	out "\`big (id int PRIMARY KEY, val int)\`, $BIG_ROWS rows (loaded, indexed, frozen in $load_s s)." \
		"Each call runs in a new session (so it also loads occ's library), as \`SELECT bench_ms(\$\$SELECT occ.enable(...)\$\$)\`:" \
		"in server = clock_timestamp() around the EXECUTE; statement = psql's \\timing of the whole statement." \
		"Server: $SERVER_SETTINGS." "" \
		"| call | in server | statement | filenode before → after | heap bytes before → after | heap+index bytes before → after | rewritten |" \
		"|---|--:|--:|---|---|---|---|"
	for call in "occ.enable('big')" \
		"occ.disable('big', drop_column => true)" \
		"occ.enable('big', 'updated_at', 'timestamp')"; do
		before=$(psql_q -c "$state")
		res=$(psql_q -c '\timing on' -c "SELECT bench_ms(\$\$SELECT $call\$\$)")
		after=$(psql_q -c "$state")
		in_server=$(echo "$res" | sed -n '1s/^\([0-9.]*\)$/\1/p')
		stmt=$(echo "$res" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
		set -- $before
		fb=$1 sb=$2 tb=$3
		set -- $after
		if [ "$fb" = "$1" ] && [ "$sb" = "$2" ] && [ "$tb" = "$3" ]; then rw=no; else rw=YES; fi
		say "enable: $call: $in_server ms in server, rewritten: $rw"
		out "| \`$call\` | $(calc "sprintf(\"%.1f\", $in_server)") ms | $(calc "sprintf(\"%.1f\", $stmt)") ms | $fb → $1 | $sb → $2 | $tb → $3 | $rw |"
	done
	# The new columns are read from the catalog default, not from the rows.
	missing=$(psql_q -c "SELECT string_agg(attname || ' ' || atthasmissing, ', ' ORDER BY attnum)
		FROM pg_attribute WHERE attrelid = 'big'::regclass AND attnum > 0 AND NOT attisdropped")
	check=$(psql_q -c "SELECT count(*) || ' rows, updated_at all ' || (min(updated_at) = max(updated_at))
		FROM big")
	out "" "Columns and whether they are served from the catalog (atthasmissing): $missing." \
		"Read back: $check."
	psql_q -c "DROP TABLE big" -c "CHECKPOINT"
}

# ---------------------------------------------------------------- contention

part_contention() {
	start_server
	# Read-modify-write the way a client does it: read value and version,
	# write back stating the version; on 40V01 read again and retry.
	# Retries are counted on a sequence, which a rollback does not undo.
	psql_q -c "CREATE TABLE hot_occ (id int PRIMARY KEY, val bigint NOT NULL DEFAULT 0,
	               version bigint NOT NULL DEFAULT 1)" \
		-c "CREATE TABLE hot_plain (LIKE hot_occ INCLUDING ALL)" \
		-c "SELECT occ.enable('hot_occ')" \
		-c "CREATE SEQUENCE rmw_retries" \
		-c "CREATE FUNCTION rmw_occ(k int) RETURNS void LANGUAGE plpgsql AS \$\$
		DECLARE v bigint; ver bigint;
		BEGIN
		    LOOP
		        BEGIN
		            SELECT val, version INTO v, ver FROM hot_occ WHERE id = k;
		            UPDATE hot_occ SET val = v + 1, version = ver WHERE id = k;
		            RETURN;
		        EXCEPTION WHEN SQLSTATE '40V01' THEN
		            PERFORM nextval('rmw_retries');
		        END;
		    END LOOP;
		END \$\$" \
		-c "CREATE FUNCTION rmw_plain(k int) RETURNS void LANGUAGE plpgsql AS \$\$
		DECLARE v bigint;
		BEGIN
		    SELECT val INTO v FROM hot_plain WHERE id = k;
		    UPDATE hot_plain SET val = v + 1 WHERE id = k;
		END \$\$" >/dev/null

	out "" "## 4. Contention: N clients read-modify-write K hot rows" ""
	out "Each transaction calls a PL/pgSQL function that reads \`val, version\` of a random hot row" \
		"and writes \`val + 1\` back stating the version it read; on 40V01 it reads again and retries" \
		"(inside the same transaction, in a subtransaction). The plain column runs the same read-modify-write" \
		"on a table without occ, without a version: lost updates = commits - sum(val)." \
		"For occ, sum(val) and sum(version - 1) are checked to equal the commits." \
		"\`pgbench -n -M prepared -T $CONTENTION_SECONDS\`, READ COMMITTED. Server: $SERVER_SETTINGS." "" \
		"| clients | hot rows | occ commits/s | retries | retries per commit | occ lost updates | plain commits/s | plain lost updates |" \
		"|--:|--:|--:|--:|--:|--:|--:|--:|"
	for nk in $CONTENTION; do
		n=${nk%%:*}
		k=${nk#*:}
		j=$n
		[ "$j" -le "$(nproc)" ] || j=$(nproc)
		psql_q -c "SELECT setval('rmw_retries', 1, false)" >/dev/null
		for kind in occ plain; do
			psql_q -c "TRUNCATE hot_$kind" \
				-c "INSERT INTO hot_$kind (id) SELECT generate_series(1, $k)" \
				-c "VACUUM ANALYZE hot_$kind" 
			printf '\\set k random(1, %s)\nSELECT rmw_%s(:k);\n' "$k" "$kind" >"$WORK/rmw_$kind.pgbench"
			say "contention: $n clients, $k hot rows, $kind, $CONTENTION_SECONDS s"
			pgbench_run "$WORK/rmw.$n.$k.$kind" -M prepared -c "$n" -j "$j" -T "$CONTENTION_SECONDS" \
				-f "$WORK/rmw_$kind.pgbench"
		done
		txo=$(txns_of "$WORK/rmw.$n.$k.occ")
		tpo=$(tps_of "$WORK/rmw.$n.$k.occ")
		txp=$(txns_of "$WORK/rmw.$n.$k.plain")
		tpp=$(tps_of "$WORK/rmw.$n.$k.plain")
		set -- $(psql_q -F ' ' -c "SELECT coalesce(sum(val), 0), coalesce(sum(version - 1), 0) FROM hot_occ")
		sumo=$1 verso=$2
		retries=$(psql_q -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM rmw_retries")
		sump=$(psql_q -c "SELECT coalesce(sum(val), 0) FROM hot_plain")
		[ "$sumo" = "$verso" ] || die "contention: occ versions ($verso) and increments ($sumo) disagree"
		out "| $n | $k | $(calc "sprintf(\"%.0f\", $tpo)") | $retries | $(calc "sprintf(\"%.3f\", $retries / $txo)") | $((txo - sumo)) | $(calc "sprintf(\"%.0f\", $tpp)") | $((txp - sump)) of $txp |"
	done
}

# ---------------------------------------------------------------- run

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
for part in $PARTS; do
	part_start=$(date +%s)
	load_before=$(loadavg)
	build_before=$(occ_fingerprint)
	"part_$part"
	out "" "_Part $part took $(($(date +%s) - part_start)) s; ${build_before%%,*}; load average (1, 5, 15 min) $load_before before, $(loadavg) after._"
	build_after=$(occ_fingerprint)
	[ "$build_after" = "$build_before" ] ||
		out "" "**Warning: occ was reinstalled during part $part**: its numbers may mix two builds" \
			"(before: $build_before; after: $build_after)."
done

if [ -n "$SERVER_DATA" ]; then
	as_user "$PG_BIN/pg_ctl" -D "$SERVER_DATA" -m fast -w stop >/dev/null
	SERVER_DATA=""
fi
out ""
cat "$RESULT"
echo
echo "(written to $RESULT)"
