#!/bin/sh
# bench/pgbench.sh -- part 2: end to end, a prepared single-row UPDATE by
# primary key, plain table vs occ table.
#
#   sh bench/pgbench.sh
#
# Interleaved runs in ABBA order after an unrecorded warm-up, then both
# tables at the same time, so that their ratio survives a busy machine.
#
# Knobs: BENCH_ROWS (100000), BENCH_PAIRS (5), BENCH_SIMULTANEOUS (4; 0
# skips them), BENCH_SECONDS (12), BENCH_CLIENTS (1), and those of
# bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"

PAIRS=${BENCH_PAIRS:-5}
SIMULTANEOUS=${BENCH_SIMULTANEOUS:-4}
SECONDS_PER_RUN=${BENCH_SECONDS:-12}
CLIENTS=${BENCH_CLIENTS:-1}

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

bench_main pgbench
