#!/bin/sh
# bench/hash.sh -- part 5: the hash kind's cost per row by row width, and
# occ.etag(row) against md5(row::text).
#
#   sh bench/hash.sh
#
# The bench's table (bench/variants.sh) with payloads of several widths
# (WIDTHS there: about 100 bytes a row, 1 kB inline, 10 kB out of line,
# 10 kB compressed inline), BENCH_WIDTH_ROWS rows each, frozen and
# checkpointed, one template per width.  Per width:
#
#   writes   one bulk UPDATE of every row but the first, after an uncounted
#            warm-up UPDATE of the first (--zero-before=pg_stat_clear_snapshot),
#            so the one-time loading of occ and its caches is left out: no
#            trigger, the integer kind stated through occ.if_match, and the
#            hash kind with nothing stated and stated through occ.if_match
#            (bench/variants.sh: plain, occ_if_match, occ_hash_lax,
#            occ_hash_if_match), counted inside standard_ExecutorRun;
#   reads    SELECT count(x) FROM t over every row of the table enabled with
#            kind hash (every column counted), x being the whole row t (the
#            baseline: both others start from it), occ.etag(t) and
#            md5(t::text), after a warm-up over the first row.
#
# Knobs: BENCH_WIDTH_ROWS (10000), BENCH_WIDTHS (all of WIDTHS in
# bench/variants.sh), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"
. "$BENCH/variants.sh"

WIDTH_ROWS=${BENCH_WIDTH_ROWS:-10000}
HASH_WIDTHS=${BENCH_WIDTHS:-$WIDTHS}
WRITERS="plain occ_if_match occ_hash_lax occ_hash_if_match"
READERS="whole_row etag md5"
# run_variants is not used here, but has() asks VARIANTS
VARIANTS=$WRITERS

# The writes: a warm-up UPDATE of row 1, not counted, then all the others.
workload() {
	printf 'UPDATE t SET val = val + 1 WHERE id = 1;\n\n'
	printf 'SELECT pg_stat_clear_snapshot();\n\n'
	printf 'UPDATE t SET val = val + 1 WHERE id > 1;\n\n'
}
updated_rows() { echo "$1"; }
counted_rows() { echo $(($1 - 1)); }
ZERO=--zero-before=pg_stat_clear_snapshot

reader_expr() {
	case $1 in
	whole_row) echo "t" ;;
	etag) echo "occ.etag(t)" ;;
	md5) echo "md5(t::text)" ;;
	esac
}

# measure_reader READER ROWS WIDTH: leaves the instructions collected in
# $WORK/cg/read.READER.ROWS.WIDTH.total
measure_reader() {
	r=$1
	n=$2
	d=$WORK/cg/read.$r.$n.$3
	expr=$(reader_expr "$r")
	as_cluster_user cp -a "$(template_dir "$n" "$3")" "$d"
	printf "SELECT occ.enable('t', kind => 'hash');\n\nCHECKPOINT;\n\n" >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	{
		printf 'SELECT count(%s) FROM t WHERE id = 1;\n\n' "$expr"
		printf 'SELECT pg_stat_clear_snapshot();\n\n'
		printf 'SELECT count(%s) AS rows_read FROM t;\n\n' "$expr"
	} >"$d.run.sql"
	collect "$d"
	grep -q "rows_read = \"$n\"" "$d.run.log" || die "$r: count($expr) did not read $n rows"
	if [ "$r" = etag ]; then
		hashed=$(calls_of occ_content_version_of_row "$d.callgrind")
		[ "$hashed" -eq "$n" ] || die "etag: $hashed rows hashed, not $n"
	fi
	rm -rf "$d"
}

# row_sizes ROWS WIDTH: what a row of the template is made of, as
# "payload characters|payload stored in the row|heap bytes per row|TOAST bytes per row"
row_sizes() {
	d=$WORK/cg/sizes.$1.$2
	as_cluster_user cp -a "$(template_dir "$1" "$2")" "$d"
	cat >"$d.sql" <<-EOF
		SELECT max(length(payload)) AS payload_chars,
		       round(avg(pg_column_size(payload))) AS payload_stored,
		       round(pg_relation_size('t') / count(*)::numeric) AS heap_per_row,
		       round(pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE relname = 't')) / count(*)::numeric) AS toast_per_row
		  FROM t;

	EOF
	single "$d" "$d.sql" "$d.log"
	for f in payload_chars payload_stored heap_per_row toast_per_row; do
		v=$(sed -n "s/.*$f = \"\([0-9]*\)\".*/\1/p" "$d.log")
		[ -n "$v" ] || die "no $f in $d.log"
		printf '%s|' "$v"
	done
	rm -rf "$d"
}

part_hash() {
	if nm -D "$PG_BIN/postgres" | grep -q ' T standard_ExecutorRun$'; then
		TOGGLE=standard_ExecutorRun
	else
		TOGGLE=ExecutorRun
	fi
	n=$WIDTH_ROWS
	for w in $HASH_WIDTHS; do
		payload_length "$w" >/dev/null
		template "$n" "$w"
	done

	jobs=0
	for w in $HASH_WIDTHS; do
		for job in $WRITERS $READERS; do
			say "callgrind: hash, $job, $n rows of width $w"
			case " $WRITERS " in
			*" $job "*) measure width "$job" "$n" "$w" & ;;
			*) measure_reader "$job" "$n" "$w" & ;;
			esac
			jobs=$((jobs + 1))
			if [ "$jobs" -ge "$(nproc)" ]; then
				wait
				jobs=0
			fi
		done
	done
	wait
	for w in $HASH_WIDTHS; do
		for v in $WRITERS; do
			[ -f "$WORK/cg/width.$v.$n.$w.total" ] || die "the callgrind run of $v (width $w) failed"
		done
		for r in $READERS; do
			[ -f "$WORK/cg/read.$r.$n.$w.total" ] || die "the callgrind run of $r (width $w) failed"
		done
	done

	counted=$(counted_rows "$n")
	per_write() { calc "$(cat "$WORK/cg/width.$1.$n.$2.total") / $counted"; }     # VARIANT WIDTH
	read_row() { calc "$(cat "$WORK/cg/read.$1.$n.$2.total") / $n"; }          # READER WIDTH
	signed() { calc "sprintf(\"%+.0f\", $1)"; }
	whole() { calc "sprintf(\"%.0f\", $1)"; }

	out "" "## 5. The hash kind by row width; occ.etag(row) against md5(row::text) (callgrind)" "" \
		"The bench's table \`t (id int PRIMARY KEY, val int, payload text, version bigint, updated_at timestamptz)\`" \
		"with $n rows whose payload has the width in the first column, one frozen, checkpointed template per width," \
		"one single-user backend per measurement from a copy of it (\`postgres --single $SINGLE_OPTS\`)," \
		"callgrind counting only inside \`$TOGGLE\`, from \`--zero-before=pg_stat_clear_snapshot\`, called after" \
		"a warm-up statement on row 1 that loads occ and its caches, so that one-time costs are left out." "" \
		"| width | payload characters | payload as stored in the row (bytes) | heap bytes per row | TOAST bytes per row |" \
		"|---|--:|--:|--:|--:|"
	for w in $HASH_WIDTHS; do
		sizes=$(row_sizes "$n" "$w")
		out "| $w | $(echo "$sizes" | sed 's/|$//; s/|/ | /g') |"
	done

	out "" "**Writes.** \`UPDATE t SET val = val + 1 WHERE id > 1\`, $counted rows, per row;" \
		"overheads over plain at the same width. The occ.if_match variants as in part 1: \`'\"1\"'\` on the integer" \
		"table, and the one tag all rows share on the hash table (enabled with \`exclude => '{id}'\`);" \
		"*rows hashed* is counted in the callgrind output (calls to \`occ_content_version\`)." \
		"*The hash itself* = hash stated minus hash with nothing stated: hashing the old row and comparing its tag." \
		"The issue's target for *hash stated / integer stated*, <= 1.5, is set on the bench's table (100B)." "" \
		"| width | plain per row | integer, stated (occ.if_match) | hash, nothing stated | hash, stated (occ.if_match) | the hash itself | hash stated / integer stated | rows hashed |" \
		"|---|--:|--:|--:|--:|--:|--:|--:|"
	for w in $HASH_WIDTHS; do
		p=$(per_write plain "$w")
		i=$(calc "$(per_write occ_if_match "$w") - $p")
		hl=$(calc "$(per_write occ_hash_lax "$w") - $p")
		hs=$(calc "$(per_write occ_hash_if_match "$w") - $p")
		out "| $w | $(whole "$p") | $(signed "$i") | $(signed "$hl") | $(signed "$hs") | $(signed "$hs - $hl") | $(calc "sprintf(\"%.3f\", $hs / $i)") | $(cat "$WORK/cg/width.occ_hash_if_match.$n.$w.hashed") of $counted |"
	done

	out "" "**Reads.** \`SELECT count(x) FROM t\` over all $n rows, per row, on the table enabled with" \
		"\`occ.enable('t', kind => 'hash')\` (every column counted). The whole row \`t\` is the baseline:" \
		"forming it (and detoasting its out-of-line values) is common to both others. occ.etag(t) hashes the" \
		"canonical byte image; md5(t::text) prints every column with its output function (the text form," \
		"which depends on TimeZone, DateStyle, extra_float_digits) and hashes that." "" \
		"| width | count(t) per row | occ.etag(t): more per row | md5(t::text): more per row | md5 / etag |" \
		"|---|--:|--:|--:|--:|"
	for w in $HASH_WIDTHS; do
		b=$(read_row whole_row "$w")
		e=$(calc "$(read_row etag "$w") - $b")
		m=$(calc "$(read_row md5 "$w") - $b")
		out "| $w | $(whole "$b") | $(signed "$e") | $(signed "$m") | $(calc "sprintf(\"%.2f\", $m / $e)") |"
	done
}

bench_main hash
