# bench/variants.sh -- the trigger variants and the way callgrind counts
# them, shared by bench/callgrind.sh and bench/statements.sh (sourced).
#
# Each variant starts from a copy (cp -a) of one template data directory
# holding the table, frozen and checkpointed, so every variant begins from
# the same bytes.  The variant's trigger is created in one single-user
# session; a second one, under callgrind, runs the measured statements and
# nothing else, collecting only inside the executor; a third checks that
# every row was updated, and its version or timestamp advanced by the
# variant's trigger.
#
# The part script says what the second session runs and where callgrind
# counts, by defining
#   workload VARIANT ROWS   print the statements to measure
#   updated_rows ROWS       how many rows they update
# and setting TOGGLE (the function callgrind collects inside) and ZERO
# (more callgrind options, may be empty).
#
# Knob: BENCH_VARIANTS, which variants to run (default all; plain is
# required, every overhead is measured from it).

ALL_VARIANTS="plain plain_stated plain_where floor floor_again moddatetime plpgsql occ_lax occ_stated occ_strict_where occ_timestamp"
VARIANTS=${BENCH_VARIANTS:-$ALL_VARIANTS}

SINGLE_OPTS="-c fsync=off -c jit=off -c max_wal_size=4GB"

# single DATADIR INPUT LOG: a single-user backend reading INPUT, statements
# ending with ";" and an empty line (-j)
single() {
	as_cluster_user "$PG_BIN/postgres" --single -j -D "$1" $SINGLE_OPTS postgres <"$2" >"$3" 2>&1 ||
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
	as_cluster_user "$PG_BIN/initdb" -D "$dir" -U "$RUN_AS" -A trust --no-sync -E UTF8 --locale=C \
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
	plain | plain_stated | plain_where) ;;
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
	occ_strict_where) echo "SELECT occ.enable('t', mode => 'strict');" ;;
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

# what the variant's UPDATE adds to its WHERE clause: the ORM's statement of
# the version it read, which a strict table accepts (every row has version 1)
variant_where() {
	case $1 in
	plain_where | occ_strict_where) echo "version = 1" ;;
	*) echo "true" ;;
	esac
}

variant_label() {
	case $1 in
	plain) echo "plain, no trigger" ;;
	plain_stated) echo "plain, SET also version = version" ;;
	plain_where) echo "plain, WHERE also version = 1" ;;
	floor) echo "suppress_redundant_updates_trigger (floor)" ;;
	floor_again) echo "the same floor, run again" ;;
	moddatetime) echo "contrib moddatetime(updated_at)" ;;
	plpgsql) echo "PL/pgSQL check-and-bump trigger" ;;
	occ_lax) echo "occ integer, lax, version not stated" ;;
	occ_stated) echo "occ integer, stated (version = version)" ;;
	occ_strict_where) echo "occ integer, strict, stated in WHERE (version = 1)" ;;
	occ_timestamp) echo "occ timestamp, lax, not stated" ;;
	esac
}

# What each variant's UPDATE must leave in every row it updates: a trigger
# that did not fire would look cheap.
variant_check() {
	case $1 in
	plain | plain_stated | plain_where | floor | floor_again) echo "version = 1 AND updated_at = '2026-01-01 00:00:00+00'" ;;
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
	as_cluster_user cp -a "$WORK/cg/template.$n" "$d"
	{
		variant_setup "$v"
		printf '\nCHECKPOINT;\n\n'
	} >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	workload "$v" "$n" >"$d.update.sql"
	as_cluster_user valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$TOGGLE" $ZERO \
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
	grep -q "updated_rows = \"$(updated_rows "$n")\"" "$d.check.log" ||
		die "$v: not every row was updated as expected ($(variant_check "$v"))"
	total=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$d.callgrind" | head -n 1)
	[ -n "$total" ] && [ "$total" -gt 0 ] ||
		die "$v: callgrind collected nothing: is $TOGGLE a symbol of $PG_BIN/postgres?"
	echo "$total" >"$d.total"
	rm -rf "$d"
}

# run_variants SCENARIO SIZES...: every variant on every size, in parallel,
# as many at a time as there are CPUs (instruction counts do not depend on
# timing)
run_variants() {
	scenario=$1
	shift
	has plain || die "the $scenario measurement needs the plain variant"
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
	if [ "$1" = occ_stated ] && has plain_stated; then
		echo plain_stated
	elif [ "$1" = occ_strict_where ] && has plain_where; then
		echo plain_where
	else
		echo plain
	fi
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
