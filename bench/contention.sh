#!/bin/sh
# bench/contention.sh -- part 4: N clients read-modify-write K hot rows,
# retrying on 40V01, beside the same read-modify-write without occ.
#
#   sh bench/contention.sh
#
# Knobs: BENCH_CONTENTION ("4:1 4:10 8:1 8:100", clients:hot rows pairs),
# BENCH_CONTENTION_SECONDS (10), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"

CONTENTION=${BENCH_CONTENTION:-"4:1 4:10 8:1 8:100"}
CONTENTION_SECONDS=${BENCH_CONTENTION_SECONDS:-10}

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

bench_main contention
