#!/bin/sh
# bench/enable.sh -- part 3: occ.enable on a big table, timed, and the proof
# that it does not rewrite it.
#
#   sh bench/enable.sh
#
# Knobs: BENCH_BIG_ROWS (10000000), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"

BIG_ROWS=${BENCH_BIG_ROWS:-10000000}

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

bench_main enable
