#!/bin/sh
# bench/callgrind.sh -- part 1: executor instructions per updated row.
#
#   sh bench/callgrind.sh
#
# One UPDATE of every row of a frozen table, per trigger variant
# (bench/variants.sh), in a single-user backend under callgrind, counting
# only inside standard_ExecutorRun; again on a table of half the size, for
# the marginal cost of a row.  bench/README.md says how to read the table.
#
# Knobs: BENCH_ROWS (100000), BENCH_HALF_ROWS (50000; 0 skips the second
# size), BENCH_VARIANTS (all), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"
. "$BENCH/variants.sh"

HALF_ROWS=${BENCH_HALF_ROWS:-50000}

# The bulk scenario: one UPDATE of every row.
workload() { printf 'UPDATE t SET %s WHERE %s;\n\n' "$(variant_set "$1")" "$(variant_where "$1")"; }
updated_rows() { echo "$1"; }
counted_rows() { echo "$1"; }
ZERO=""

part_callgrind() {
	# Debian strips postgres, but exported functions stay in its dynamic
	# symbol table, and callgrind finds standard_ExecutorRun there.
	if nm -D "$PG_BIN/postgres" | grep -q ' T standard_ExecutorRun$'; then
		TOGGLE=standard_ExecutorRun
	else
		TOGGLE=ExecutorRun
	fi
	if [ "$HALF_ROWS" -gt 0 ]; then
		run_variants bulk "$ROWS" "$HALF_ROWS"
	else
		run_variants bulk "$ROWS"
	fi

	per_row() { calc "$(count_of bulk "$1" "$2") / $2"; }
	marginal() { calc "($(count_of bulk "$1" "$ROWS") - $(count_of bulk "$1" "$HALF_ROWS")) / ($ROWS - $HALF_ROWS)"; }

	out "" "## 1. Executor instructions per updated row (callgrind)" ""
	out "\`UPDATE t SET val = val + 1\` over all $ROWS rows of (the WHERE variants: \`WHERE version = 1\`, true of every row)" \
		"\`t (id int PRIMARY KEY, val int, payload text /* 40 chars */, version bigint, updated_at timestamptz)\`," \
		"one single-user backend per variant (\`postgres --single $SINGLE_OPTS\`, other settings default)," \
		"each from a copy of the same frozen, checkpointed data directory;" \
		"callgrind counts only inside \`$TOGGLE\` (\`--collect-atstart=no --toggle-collect=$TOGGLE\`)." \
		"Per row = instructions collected / rows. Overhead = per row minus plain's" \
		"(for the stated variant, minus that of plain with the same SET list, when measured)."
	if_match_note
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
	hash_table bulk "$ROWS" "$([ "$HALF_ROWS" -gt 0 ] && echo yes || echo no)"
	repeatability bulk "$ROWS"
}

bench_main callgrind
