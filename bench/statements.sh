#!/bin/sh
# bench/statements.sh -- part 1b: executor instructions per single-row
# UPDATE statement.
#
#   sh bench/statements.sh
#
# The trigger variants of part 1 (bench/variants.sh) on the same table, but
# BENCH_STATEMENTS single-row UPDATEs by primary key, each its own
# transaction, counted inside PortalRun (executor start, run and end; not
# parsing, planning or commit), after one uncounted warm-up.
#
# Knobs: BENCH_ROWS (100000), BENCH_STATEMENTS (5000, fewer than
# BENCH_ROWS), BENCH_STATEMENT_FORM (prepared: EXECUTE of one prepared
# statement with a generic plan, as drivers and ORMs run it; simple: a
# statement text each), BENCH_VARIANTS (all), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"
. "$BENCH/variants.sh"

STATEMENTS=${BENCH_STATEMENTS:-5000}
FORM=${BENCH_STATEMENT_FORM:-prepared}

# One warm-up UPDATE (of key 1) loads the trigger's library or compiles its
# function; then pg_stat_clear_snapshot(), which nothing else calls, marks
# where callgrind zeroes its counts; then STATEMENTS UPDATEs of distinct
# keys spread over the table (7919 is prime; i = 0 would be key 1).
workload() {
	awk -v s="$STATEMENTS" -v n="$2" -v set="$(variant_set "$1")" -v where="$(variant_where "$1")" \
		-v form="$FORM" 'BEGIN {
		if (form == "prepared")
			printf "SET plan_cache_mode = force_generic_plan;\n\nPREPARE u(int) AS UPDATE t SET %s WHERE id = $1 AND %s;\n\n", set, where
		for (i = 0; i <= s; i++) {
			k = i == 0 ? 1 : (i * 7919) % n + 1
			if (form == "prepared")
				printf "EXECUTE u(%d);\n\n", k
			else
				printf "UPDATE t SET %s WHERE id = %d AND %s;\n\n", set, k, where
			if (i == 0)
				printf "SELECT pg_stat_clear_snapshot();\n\n"
		} }' </dev/null
}
updated_rows() { echo $((STATEMENTS + 1)); }
counted_rows() { echo "$STATEMENTS"; } # not the warm-up
case $FORM in
prepared) TOGGLE=ExecuteQuery ;;
simple) TOGGLE=PortalRun ;;
*) die "BENCH_STATEMENT_FORM must be prepared or simple" ;;
esac
ZERO=--zero-before=pg_stat_clear_snapshot

part_statements() {
	[ "$STATEMENTS" -lt "$ROWS" ] || die "BENCH_STATEMENTS must be less than BENCH_ROWS"
	run_variants statements "$ROWS"
	per_stmt() { calc "$(count_of statements "$1" "$ROWS") / $STATEMENTS"; }

	out "" "## 1b. Executor instructions per single-row UPDATE statement (callgrind)" ""
	if [ "$FORM" = prepared ]; then
		out "$STATEMENTS executions \`EXECUTE u(k)\` of \`PREPARE u(int) AS UPDATE t SET val = val + 1 WHERE id = \$1\`" \
			"with a generic plan (\`plan_cache_mode = force_generic_plan\`), as drivers and ORMs run their statements" \
			"(distinct keys spread over the table; the WHERE variants add \`AND version = 1\`, which a strict occ table" \
			"reads from the plan once per execution)," \
			"each its own transaction, in one single-user backend per variant, on the same $ROWS-row table and settings as part 1;" \
			"callgrind counts only inside \`ExecuteQuery\`: taking the cached plan, and executor start, run, finish" \
			"and end of each execution, not parsing or commit. One warm-up execution runs first and is not counted" \
			"(\`--zero-before=pg_stat_clear_snapshot\`, called once after it), so the one-time library load" \
			"or PL/pgSQL compilation is left out, as in a long-lived session."
	else
		out "$STATEMENTS statements \`UPDATE t SET val = val + 1 WHERE id = k\` (distinct keys spread over the table;" \
			"the WHERE variants add \`AND version = 1\`, which a strict occ table reads from the plan once per statement)," \
			"each its own transaction, in one single-user backend per variant, on the same $ROWS-row table and settings as part 1;" \
			"callgrind counts only inside \`PortalRun\`: executor start, run, finish and end of each statement," \
			"not parsing, planning or commit. One warm-up UPDATE runs first and is not counted" \
			"(\`--zero-before=pg_stat_clear_snapshot\`, called once after it), so the one-time library load" \
			"or PL/pgSQL compilation is left out, as in a long-lived session."
	fi
	out "Per statement = instructions collected / $STATEMENTS; it includes the trigger's per-statement set-up" \
		"(looking up the trigger function, building its caches), which part 1 spreads over $ROWS rows." \
		"Overhead as in part 1."
	if_match_note
	out "" "| variant | instructions | per statement | overhead |" "|---|--:|--:|--:|"
	for v in $VARIANTS; do
		plain=$(per_stmt "$(baseline_of "$v")")
		ps=$(per_stmt "$v")
		eval "over_$v=$(calc "$ps - $plain")"
		out "| $(variant_label "$v") | $(count_of statements "$v" "$ROWS") | $(calc "sprintf(\"%.0f\", $ps)") | $(calc "sprintf(\"%+.0f\", $ps - $plain)") |"
	done
	out "" "Ratios of overheads per statement (for comparison; the targets are set on part 1):"
	ratios_table no
	hash_table statements "$ROWS" no
	repeatability statements "$ROWS"
}

bench_main statements
