#!/bin/sh
# bench/stream.sh -- part 6: the stream kind (issue 12), per event and end
# to end, beside a plain INSERT into the same table.
#
#   sh bench/stream.sh
#
# The table, the same everywhere:
#
#   ev (stream_id text, version bigint, type text NOT NULL, data jsonb NOT NULL,
#       PRIMARY KEY (stream_id, version))
#
# with no trigger (plain) or made a stream table by occ.enable(kind =>
# 'stream').  Three measurements (BENCH_STREAM_PARTS):
#
#   callgrind     6a: executor instructions per event (inside
#                 standard_ExecutorRun, after an uncounted warm-up
#                 statement), BENCH_STREAM_EVENTS events appended
#                 round-robin to 100 streams of 100 events each, in
#                 statements of 1 and of 100 events:
#                   plain         INSERT with the versions given (the
#                                 client numbers the events), no trigger
#                   occ_given     the same statement on the stream table:
#                                 the first event's version - 1 is the
#                                 expected one
#                   occ_if_match  SET occ.if_match = 'n' (a utility, not
#                                 counted), INSERT without versions: occ
#                                 numbers the events
#                   occ_any       INSERT without versions, nothing stated
#                                 (lax): locked and numbered, nothing compared
#                   occ_append    SELECT occ.append(tbl, stream, 'n', events)
#                 and, in a second run collecting only inside occ's trigger
#                 function, where its instructions go.
#   transactions  6b: the pgbench functions below, one call per
#                 transaction in a single-user backend, counted in
#                 PortalRun and CommitTransactionCommand: the work of one
#                 transaction, without the machine's noise.
#   pgbench       6c: commits/s and events/s, each transaction one call of a
#                 PL/pgSQL function appending n events to a stream, retrying
#                 inside it on a conflict:
#                   plain_seq     versions from a sequence: no read, nothing
#                                 checked, no numbering per stream
#                   plain_max     reads the stream's version (max), INSERTs
#                                 the versions after it; the primary key is
#                                 the check (23505, retried): the hand-made
#                                 event store
#                   occ_given     the same on the stream table (40V01)
#                   occ_if_match  reads the version, states it with
#                                 set_config('occ.if_match', v, true),
#                                 INSERTs without versions (40V01)
#                   occ_append    reads the version, calls occ.append with
#                                 the events as a jsonb array (40V01)
#                 in four workloads: 8 clients on 100 streams and 8 clients
#                 on 1 hot stream, 1 event per transaction; 1 and 50 writers
#                 appending batches of 100 events, each to a stream of its
#                 own (the shape of the published reference).  Each variant
#                 alone, and all at once.
#
# Knobs: BENCH_STREAM_PARTS ("callgrind transactions pgbench"),
# BENCH_STREAM_EVENTS (10000, a multiple of 100 times every batch),
# BENCH_STREAM_BATCHES ("1 100"), BENCH_STREAM_VARIANTS (callgrind: "plain
# occ_given occ_if_match occ_any occ_append"; plain is required),
# BENCH_STREAM_CALLS (2000, transactions per variant in 6b),
# BENCH_STREAM_TPS_VARIANTS (transactions and pgbench: "plain_seq plain_max
# occ_given occ_if_match occ_append"), BENCH_STREAM_CLIENTS (8),
# BENCH_STREAM_WRITERS ("1 50"), BENCH_STREAM_SECONDS (10),
# BENCH_STREAM_ROUNDS (2: each workload runs every variant alone that many
# times, in reversed order every other round), BENCH_STREAM_SIMULTANEOUS
# (3: then that many runs of all variants at once, each with its own
# clients; 0 skips them), and those of bench/lib.sh.

set -eu
. "$(dirname "$0")/lib.sh"
. "$BENCH/variants.sh"

STREAMS=100          # streams of the callgrind table and of the spread workload
PRELOAD=100          # events of each stream before the measured ones (callgrind)
TPS_PRELOAD=10       # events of each stream before each pgbench run
# Streams nobody appends to, TPS_PRELOAD events each, in every table of 6b
# and 6c: the generic plan of a function's read of max(version) is made
# when the table is at its smallest, and with one stream of 10 events it is
# a sequential scan, which the stream outgrows within seconds (about 90
# commits/s instead of 1,500 for one writer in batches of 100); with them,
# it is a backward index scan, as it would be on any real table
FILLER=1000
EVENTS=${BENCH_STREAM_EVENTS:-10000}
BATCHES=${BENCH_STREAM_BATCHES:-1 100}
CG_VARIANTS=${BENCH_STREAM_VARIANTS:-plain occ_given occ_if_match occ_any occ_append}
TPS_VARIANTS=${BENCH_STREAM_TPS_VARIANTS:-plain_seq plain_max occ_given occ_if_match occ_append}
CLIENTS=${BENCH_STREAM_CLIENTS:-8}
WRITERS=${BENCH_STREAM_WRITERS:-1 50}
SECONDS_PER_RUN=${BENCH_STREAM_SECONDS:-10}
ROUNDS=${BENCH_STREAM_ROUNDS:-2}
SIMULTANEOUS=${BENCH_STREAM_SIMULTANEOUS:-3}
STREAM_PARTS=${BENCH_STREAM_PARTS:-callgrind transactions pgbench}
TX_CALLS=${BENCH_STREAM_CALLS:-2000}
# The functions' statements run with generic plans, as a driver's prepared
# statements do: otherwise generate_series(1, n), whose row estimate
# depends on n, makes PL/pgSQL plan the INSERT anew at every call
TX_OPTS="-c plan_cache_mode=force_generic_plan"
ENABLE="kind => 'stream', stream_column => 'stream_id', version_column => 'version'"

in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; } # WORD LIST

# ---------------------------------------------------------------- callgrind

stream_template() {
	dir=$WORK/cg/stream.template
	[ ! -d "$dir" ] || return 0
	mkdir -p "$WORK/cg"
	chown "$RUN_AS" "$WORK/cg" 2>/dev/null || true
	say "stream: template, $STREAMS streams of $PRELOAD events"
	as_cluster_user "$PG_BIN/initdb" -D "$dir" -U "$RUN_AS" -A trust --no-sync -E UTF8 --locale=C \
		>"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
	cat >"$dir.sql" <<-EOF
		CREATE EXTENSION occ;

		CREATE TABLE ev (
		    stream_id text,
		    version   bigint,
		    type      text NOT NULL,
		    data      jsonb NOT NULL,
		    PRIMARY KEY (stream_id, version)
		);

		INSERT INTO ev SELECT 's-' || s, v, 'Happened', jsonb_build_object('n', v)
		    FROM generate_series(1, $STREAMS) s, generate_series(1, $PRELOAD) v;

		VACUUM (FREEZE, ANALYZE) ev;

		CHECKPOINT;

	EOF
	single "$dir" "$dir.sql" "$dir.log"
}

# stream_workload VARIANT BATCH: one warm-up statement appending BATCH
# events to a stream of its own, pg_stat_clear_snapshot() (where callgrind
# zeroes its counts), then EVENTS events in statements of BATCH events,
# round-robin over the streams s-1 ... s-100
stream_workload() {
	awk -v v="$1" -v b="$2" -v events="$EVENTS" -v streams="$STREAMS" -v preload="$PRELOAD" '
	function statement(s, cur,    i, sep) {
		if (v == "occ_if_match")
			printf "SET occ.if_match = '\''%d'\'';\n\n", cur
		if (v == "occ_append") {
			printf "SELECT occ.append('\''ev'\'', '\''%s'\'', '\''%d'\'', '\''[", s, cur
			for (i = 1; i <= b; i++)
				printf "%s{\"type\": \"Happened\", \"data\": {\"n\": %d}}", (i > 1 ? ", " : ""), cur + i
			printf "]'\'');\n\n"
			return
		}
		if (v == "plain" || v == "occ_given")
			printf "INSERT INTO ev (stream_id, version, type, data) VALUES "
		else
			printf "INSERT INTO ev (stream_id, type, data) VALUES "
		for (i = 1; i <= b; i++) {
			sep = (i > 1 ? ", " : "")
			if (v == "plain" || v == "occ_given")
				printf "%s('\''%s'\'', %d, '\''Happened'\'', '\''{\"n\": %d}'\'')", sep, s, cur + i, cur + i
			else
				printf "%s('\''%s'\'', '\''Happened'\'', '\''{\"n\": %d}'\'')", sep, s, cur + i
		}
		printf ";\n\n"
	}
	BEGIN {
		statement("warm-up", 0)
		printf "SELECT pg_stat_clear_snapshot();\n\n"
		for (k = 0; k < events / b; k++) {
			s = k % streams + 1
			cur = preload + int(k / streams) * b
			statement("s-" s, cur)
		}
	}' </dev/null
}

cg_label() {
	case $1 in
	plain) echo "plain INSERT, versions given, no trigger" ;;
	occ_given) echo "occ, versions given (checked: the first's - 1 expected)" ;;
	occ_if_match) echo "occ, SET occ.if_match = 'n', versions assigned" ;;
	occ_any) echo "occ, lax, nothing stated, versions assigned" ;;
	occ_append) echo "occ.append(tbl, stream, 'n', events)" ;;
	esac
}

# measure_stream VARIANT BATCH: leaves the instructions collected in
# $WORK/cg/stream.VARIANT.BATCH.total, the inclusive instructions of occ's
# trigger function in .trigger, and checks that every stream holds its
# events numbered without a gap, and that occ's trigger fired for every
# event, and locked and read the event's stream once per event
measure_stream() {
	v=$1
	b=$2
	d=$WORK/cg/stream.$v.$b
	statements=$((EVENTS / b))
	per_stream=$((EVENTS / STREAMS))
	as_cluster_user cp -a "$WORK/cg/stream.template" "$d"
	case $v in
	plain) printf 'CHECKPOINT;\n\n' ;;
	*) printf "SELECT occ.enable('ev', %s);\n\nCHECKPOINT;\n\n" "$ENABLE" ;;
	esac >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	stream_workload "$v" "$b" >"$d.run.sql"
	collect "$d"
	cat >"$d.check.sql" <<-EOF
		SELECT count(*) AS wrong_streams FROM (
		    SELECT count(*) AS n, min(version) AS lo, max(version) AS hi FROM ev
		     WHERE stream_id LIKE 's-%' GROUP BY stream_id) x
		 WHERE n <> $((PRELOAD + per_stream)) OR lo <> 1 OR hi <> n;

		SELECT count(*) AS events FROM ev;

	EOF
	single "$d" "$d.check.sql" "$d.check.log"
	grep -q 'wrong_streams = "0"' "$d.check.log" ||
		die "stream $v, batch $b: a stream does not hold versions 1 to $((PRELOAD + per_stream)) (log $d.check.log)"
	grep -q "events = \"$((STREAMS * (PRELOAD + per_stream) + b))\"" "$d.check.log" ||
		die "stream $v, batch $b: not $((STREAMS * (PRELOAD + per_stream) + b)) events (log $d.check.log)"
	fired=$(calls_of occ_check_version "$d.callgrind")
	locked=$(calls_of occ_stream_lock_and_read "$d.callgrind")
	case $v in
	plain) want_fired=0 want_locked=0 ;;
	*) want_fired=$EVENTS want_locked=$((EVENTS / b)) ;; # a statement's first event of its stream
	esac
	[ "$fired" -eq "$want_fired" ] && [ "$locked" -eq "$want_locked" ] ||
		die "stream $v, batch $b: occ.check_version called $fired times (expected $want_fired), occ_stream_lock_and_read $locked times (expected $want_locked)"
	# occ's trigger, inclusive: what the trigger itself costs
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$d.callgrind" 2>/dev/null |
		awk '/[ :]occ_check_version( |$)/ { gsub(/,/, "", $1); print $1; exit }' >"$d.trigger"
	[ -s "$d.trigger" ] || echo 0 >"$d.trigger"
	rm -rf "$d"
}

stream_callgrind() {
	if nm -D "$PG_BIN/postgres" | grep -q ' T standard_ExecutorRun$'; then
		TOGGLE=standard_ExecutorRun
	else
		TOGGLE=ExecutorRun
	fi
	ZERO=--zero-before=pg_stat_clear_snapshot
	in_list plain "$CG_VARIANTS" || die "BENCH_STREAM_VARIANTS needs plain"
	for b in $BATCHES; do
		[ $((EVENTS % (STREAMS * b))) -eq 0 ] ||
			die "BENCH_STREAM_EVENTS ($EVENTS) must be a multiple of $STREAMS times every batch ($b)"
	done
	stream_template
	jobs=0
	for b in $BATCHES; do
		for v in $CG_VARIANTS $(in_list occ_if_match "$CG_VARIANTS" && echo trigger); do
			say "stream: callgrind, $v, batches of $b"
			if [ "$v" = trigger ]; then
				profile_trigger "$b" &
			else
				measure_stream "$v" "$b" &
			fi
			jobs=$((jobs + 1))
			if [ "$jobs" -ge "$(nproc)" ]; then
				wait
				jobs=0
			fi
		done
	done
	wait
	for b in $BATCHES; do
		for v in $CG_VARIANTS; do
			[ -f "$WORK/cg/stream.$v.$b.total" ] || die "the callgrind run of $v (batches of $b) failed"
		done
	done

	per_event() { calc "$(cat "$WORK/cg/stream.$1.$2.total") / $EVENTS"; } # VARIANT BATCH
	whole() { calc "sprintf(\"%.0f\", $1)"; }
	out "" "### 6a. Executor instructions per event (callgrind)" "" \
		"\`ev (stream_id text, version bigint, type text NOT NULL, data jsonb NOT NULL, PRIMARY KEY (stream_id, version))\`," \
		"$STREAMS streams of $PRELOAD events each (\`s-1\` ... \`s-$STREAMS\`), frozen and checkpointed; one single-user backend" \
		"per measurement from a copy of it (\`postgres --single $SINGLE_OPTS\`), callgrind counting only inside \`$TOGGLE\`," \
		"from \`--zero-before=pg_stat_clear_snapshot\`, called after one warm-up statement (a batch to a stream of its own)" \
		"that loads occ and its caches. Then $EVENTS events, \`{\"n\": k}\` of type \`Happened\`, appended round-robin to the" \
		"$STREAMS streams in statements of 1 or 100 events (multi-row \`VALUES\`), each statement its own transaction." \
		"Afterwards every stream holds versions 1 to $((PRELOAD + EVENTS / STREAMS)) and nothing else, occ's trigger was" \
		"called once per event, and locked and read its stream once per statement: the other events of the stream" \
		"in a statement count on from its first (callgrind's call counts)." \
		"The statement of \`occ_given\` is the very text of \`plain\`'s; \`occ_if_match\`'s is a \`SET\` (a utility statement," \
		"not counted) and the INSERT without the version column." "" \
		"| variant | events per statement | per event | over plain | occ / plain | occ's trigger, inclusive, per event |" \
		"|---|--:|--:|--:|--:|--:|"
	for b in $BATCHES; do
		p=$(per_event plain "$b")
		for v in $CG_VARIANTS; do
			e=$(per_event "$v" "$b")
			trig=$(calc "$(cat "$WORK/cg/stream.$v.$b.trigger") / $EVENTS")
			out "| $(cg_label "$v") | $b | $(whole "$e") | $(calc "sprintf(\"%+.0f\", $e - $p)") | $(calc "sprintf(\"%.3f\", $e / $p)") | $(whole "$trig") |"
		done
	done
	out "" "The issue's target: at most 1.5 times plain's instructions per event in batches of 100."

	# Where occ's checked append spends them: a profile of the trigger
	# alone (collected only inside occ_check_version), self cost per event
	for b in $BATCHES; do
		in_list occ_if_match "$CG_VARIANTS" || break
		f=$WORK/cg/stream.trigger.$b.callgrind
		[ -f "$f" ] || continue
		out "" "Where occ's trigger spends them, \`occ_if_match\`, batches of $b: a second run of the same workload collecting" \
			"only inside \`occ_check_version\` (\`--toggle-collect=occ_check_version\`), $(whole "$(calc "$(cat "$WORK/cg/stream.trigger.$b.total") / $EVENTS")")" \
			"instructions per event in all; the functions with the most instructions of their own (self cost, per event;" \
			"\`postgres+0x...\` is a static function of the stripped server binary):" "" \
			"| function | self, per event | share |" "|---|--:|--:|"
		total=$(cat "$WORK/cg/stream.trigger.$b.total")
		callgrind_annotate --auto=no --inclusive=no --threshold=100 "$f" 2>/dev/null |
			awk -v n="$EVENTS" -v total="$total" '
			/^-+$/ { dashes++ }
			dashes >= 4 && /^ *[0-9,]+ \(/ && !/\(100\.0%\)/ && shown < 15 {
				c = $1; gsub(/,/, "", c)
				name = $0; sub(/^ *[0-9,]+ +\([^)]*\) +/, "", name)
				obj = name; sub(/^.*\[/, "", obj); sub(/\].*$/, "", obj); sub(/^.*\//, "", obj)
				sub(/ \[.*$/, "", name); sub(/^.*:/, "", name); sub(/\.(isra|part|constprop)\.[0-9]+$/, "", name)
				if (name ~ /^0x/) { sub(/^0x0*/, "0x", name); name = obj "+" name }
				printf "| `%s` | %.0f | %.1f%% |\n", name, c / n, 100 * c / total
				shown++
			}' >>"$RESULT"
	done
}

# profile_trigger BATCH: the occ_if_match workload again, collecting only
# inside occ's trigger function, for the profile of where it goes
profile_trigger() {
	b=$1
	d=$WORK/cg/stream.trigger.$b
	as_cluster_user cp -a "$WORK/cg/stream.template" "$d"
	printf "SELECT occ.enable('ev', %s);\n\nCHECKPOINT;\n\n" "$ENABLE" >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	stream_workload occ_if_match "$b" >"$d.run.sql"
	TOGGLE=occ_check_version # in the background subshell of this job only
	collect "$d"
	rm -rf "$d"
}

# ---------------------------------------------------------------- pgbench

tps_label() {
	case $1 in
	plain_seq) echo "plain INSERT, versions from a sequence (nothing checked)" ;;
	plain_max) echo "plain INSERT, versions read + 1, the primary key as the check (23505 retried)" ;;
	occ_given) echo "occ, the same INSERT with the versions read + 1 (40V01 retried)" ;;
	occ_if_match) echo "occ, set_config('occ.if_match', v) + INSERT, versions assigned (40V01 retried)" ;;
	occ_append) echo "occ.append(tbl, stream, v, events) (40V01 retried)" ;;
	esac
}

# The tables (one per variant, the same definition) and the functions each
# transaction calls: append_VARIANT(stream, events) appends that many
# events to the stream, retrying inside the transaction (a subtransaction)
# on a conflict; retries are counted on a sequence, which a rollback does
# not undo.  A real client would roll back and retry the whole
# transaction, reading the stream again: it would see more conflicts.
tps_sql() {
	for v in $TPS_VARIANTS; do
		printf 'CREATE TABLE ev_%s (stream_id text, version bigint, type text NOT NULL,\n    data jsonb NOT NULL, PRIMARY KEY (stream_id, version));\n\n' "$v"
		printf 'CREATE SEQUENCE retries_%s;\n\n' "$v"
		case $v in occ_*) printf "SELECT occ.enable('ev_%s', %s);\n\n" "$v" "$ENABLE" ;; esac
	done
	# occ.append's events, as a client would send them: one jsonb array
	cat <<'EOF'
CREATE TABLE batches (n int PRIMARY KEY, events jsonb NOT NULL);

INSERT INTO batches SELECT n, (SELECT jsonb_agg(jsonb_build_object('type', 'Happened',
        'data', jsonb_build_object('n', g))) FROM generate_series(1, n) g)
    FROM unnest('{1,100}'::int[]) n;

CREATE SEQUENCE version_seq;

CREATE FUNCTION append_plain_seq(s text, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ev_plain_seq (stream_id, version, type, data)
        SELECT s, nextval('version_seq'), 'Happened', jsonb_build_object('n', g)
          FROM generate_series(1, n) g;
END $$;

CREATE FUNCTION append_plain_max(s text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    LOOP
        SELECT coalesce(max(version), 0) INTO v FROM ev_plain_max WHERE stream_id = s;
        BEGIN
            INSERT INTO ev_plain_max (stream_id, version, type, data)
                SELECT s, v + g, 'Happened', jsonb_build_object('n', g) FROM generate_series(1, n) g;
            RETURN;
        EXCEPTION WHEN unique_violation THEN
            PERFORM nextval('retries_plain_max');
        END;
    END LOOP;
END $$;

CREATE FUNCTION append_occ_given(s text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    LOOP
        SELECT coalesce(max(version), 0) INTO v FROM ev_occ_given WHERE stream_id = s;
        BEGIN
            INSERT INTO ev_occ_given (stream_id, version, type, data)
                SELECT s, v + g, 'Happened', jsonb_build_object('n', g) FROM generate_series(1, n) g;
            RETURN;
        EXCEPTION WHEN SQLSTATE '40V01' THEN
            PERFORM nextval('retries_occ_given');
        END;
    END LOOP;
END $$;

CREATE FUNCTION append_occ_if_match(s text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    LOOP
        SELECT coalesce(max(version), 0) INTO v FROM ev_occ_if_match WHERE stream_id = s;
        BEGIN
            PERFORM set_config('occ.if_match', v::text, true);
            INSERT INTO ev_occ_if_match (stream_id, type, data)
                SELECT s, 'Happened', jsonb_build_object('n', g) FROM generate_series(1, n) g;
            RETURN;
        EXCEPTION WHEN SQLSTATE '40V01' THEN
            PERFORM nextval('retries_occ_if_match');
        END;
    END LOOP;
END $$;

CREATE FUNCTION append_occ_append(s text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v bigint; e jsonb;
BEGIN
    SELECT events INTO e FROM batches WHERE batches.n = append_occ_append.n;
    LOOP
        SELECT coalesce(max(version), 0) INTO v FROM ev_occ_append WHERE stream_id = s;
        BEGIN
            PERFORM occ.append('ev_occ_append', s, v::text, e);
            RETURN;
        EXCEPTION WHEN SQLSTATE '40V01' THEN
            PERFORM nextval('retries_occ_append');
        END;
    END LOOP;
END $$;

EOF
}

tps_setup() {
	tps_sql >"$WORK/tps_setup.sql"
	psql_q -f "$WORK/tps_setup.sql" >/dev/null
	psql_q -c "ALTER DATABASE bench SET plan_cache_mode = force_generic_plan"
}

# tps_reset VARIANT STREAMS: the variant's table holds STREAMS streams of
# TPS_PRELOAD events, vacuumed; its retries are zero; version_seq starts
# above the preloaded versions
tps_reset() {
	psql_q -c "TRUNCATE ev_$1" -c "SELECT setval('retries_$1', 1, false)" \
		-c "SELECT setval('version_seq', greatest($TPS_PRELOAD, last_value)) FROM version_seq" \
		-c "INSERT INTO ev_$1 SELECT 's-' || s, g, 'Happened', jsonb_build_object('n', g)
		      FROM generate_series(1, $2) s, generate_series(1, $TPS_PRELOAD) g" \
		-c "INSERT INTO ev_$1 SELECT 'f-' || s, g, 'Happened', jsonb_build_object('n', g)
		      FROM generate_series(1, $FILLER) s, generate_series(1, $TPS_PRELOAD) g" \
		-c "VACUUM ANALYZE ev_$1" >/dev/null
}

# tps_pgbench OUTPUT VARIANT CLIENTS STREAMS BATCH: one pgbench run of
# append_VARIANT, streams at random among STREAMS, or (STREAMS = own) one
# per client
tps_pgbench() {
	if [ "$4" = own ]; then
		pick="\\set s :client_id + 1"
	else
		pick="\\set s random(1, $4)"
	fi
	printf "%s\nSELECT append_%s('s-' || :s, %s);\n" "$pick" "$2" "$5" >"$1.pgbench"
	j=$3
	[ "$j" -le "$(nproc)" ] || j=$(nproc)
	pgbench_run "$1" -M prepared -c "$3" -j "$j" -T "$SECONDS_PER_RUN" -f "$1.pgbench"
}

# tps_verify OUTPUT VARIANT STREAMS BATCH: every acknowledged event is in
# the table once, and (but for plain_seq) every stream is numbered 1..n;
# leaves "tps commits retries load" in OUTPUT.result
tps_verify() {
	o=$1 v=$2 streams=$3 b=$4
	txns=$(txns_of "$o")
	set -- $(psql_q -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE n <> hi OR lo <> 1), sum(n)
		FROM (SELECT count(*) AS n, min(version) AS lo, max(version) AS hi FROM ev_$v GROUP BY stream_id) x")
	[ "$1" -le $((streams + FILLER)) ] || die "$o: $1 streams, not at most $((streams + FILLER))"
	[ "$v" = plain_seq ] || [ "$2" = 0 ] || die "$o: $2 streams are not numbered 1 to n"
	[ "$3" -eq $(((streams + FILLER) * TPS_PRELOAD + txns * b)) ] ||
		die "$o: $3 events, not $(((streams + FILLER) * TPS_PRELOAD)) + $txns commits x $b"
	retries=$(psql_q -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM retries_$v")
	echo "$(tps_of "$o") $txns $retries $(cut -d' ' -f1 /proc/loadavg)" >"$o.result"
}

# tps_workload NAME CLIENTS STREAMS BATCH: ROUNDS rounds of every variant
# alone, the order reversed every other round; then SIMULTANEOUS rounds of
# all variants at once, each with CLIENTS clients of its own
tps_workload() {
	w=$1 c=$2 k=$3 b=$4
	if [ "$k" = own ]; then streams=$c; else streams=$k; fi
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		if [ $((r % 2)) -eq 1 ]; then
			order=$TPS_VARIANTS
		else
			# shellcheck disable=SC2086 # a list of names
			order=$(printf '%s\n' $TPS_VARIANTS | tac | tr '\n' ' ')
		fi
		for v in $order; do
			tps_reset "$v" "$streams"
			psql_q -c "CHECKPOINT"
			say "stream: $w, $v alone, $c clients, round $r/$ROUNDS, $SECONDS_PER_RUN s"
			tps_pgbench "$WORK/tps.$w.$v.$r" "$v" "$c" "$k" "$b"
			tps_verify "$WORK/tps.$w.$v.$r" "$v" "$streams" "$b"
		done
		r=$((r + 1))
	done
	r=1
	while [ "$r" -le "$SIMULTANEOUS" ]; do
		for v in $TPS_VARIANTS; do
			tps_reset "$v" "$streams"
		done
		psql_q -c "CHECKPOINT"
		say "stream: $w, all variants at once, $c clients each, round $r/$SIMULTANEOUS, $SECONDS_PER_RUN s"
		pids=""
		for v in $TPS_VARIANTS; do
			tps_pgbench "$WORK/sim.$w.$v.$r" "$v" "$c" "$k" "$b" &
			pids="$pids $!"
		done
		for pid in $pids; do
			wait "$pid" || die "pgbench failed in a simultaneous run of $w"
		done
		for v in $TPS_VARIANTS; do
			tps_verify "$WORK/sim.$w.$v.$r" "$v" "$streams" "$b"
		done
		r=$((r + 1))
	done
}

# tps_field KIND WORKLOAD VARIANT ROUND FIELD: KIND tps (alone) or sim (at
# once); FIELD 1 commits/s, 2 commits, 3 retries, 4 load average after
tps_field() { cut -d' ' -f"$5" "$WORK/$1.$2.$3.$4.result"; }

# median_spread NUMBERS...: "median (min-max)"
median_spread() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			  printf "%.3f (%.3f-%.3f)", m, v[1], v[NR] }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# tps_table WORKLOAD BATCH: per variant, alone: the median over the rounds
# of commits/s, events/s and retries per commit; and the ratios to each
# plain variant, within a round, alone and at once: median (min-max)
tps_table() {
	w=$1 b=$2
	bases=""
	for v in plain_seq plain_max; do in_list "$v" "$TPS_VARIANTS" && bases="$bases $v"; done
	head="| variant | commits/s alone | events/s alone | retries per commit |"
	line="|---|--:|--:|--:|"
	for base in $bases; do
		head="$head / $base alone | / $base at once |"
		line="$line--:|--:|"
	done
	out "" "$head" "$line"
	for v in $TPS_VARIANTS; do
		tps="" rpc=""
		r=1
		while [ "$r" -le "$ROUNDS" ]; do
			tps="$tps $(tps_field tps "$w" "$v" "$r" 1)"
			rpc="$rpc $(calc "$(tps_field tps "$w" "$v" "$r" 3) / $(tps_field tps "$w" "$v" "$r" 2)")"
			r=$((r + 1))
		done
		r=1
		while [ "$r" -le "$SIMULTANEOUS" ]; do
			rpc="$rpc $(calc "$(tps_field sim "$w" "$v" "$r" 3) / $(tps_field sim "$w" "$v" "$r" 2)")"
			r=$((r + 1))
		done
		# shellcheck disable=SC2086
		t=$(median $tps)
		# shellcheck disable=SC2086
		row="| $(tps_label "$v") | $(calc "sprintf(\"%.0f\", $t)") | $(calc "sprintf(\"%.0f\", $t * $b)") | $(calc "sprintf(\"%.3f\", $(median $rpc))") |"
		for base in $bases; do
			for kind in tps sim; do
				if [ "$kind" = tps ]; then n=$ROUNDS; else n=$SIMULTANEOUS; fi
				if [ "$n" -eq 0 ]; then
					row="$row - |"
					continue
				fi
				ratios=""
				r=1
				while [ "$r" -le "$n" ]; do
					ratios="$ratios $(calc "$(tps_field "$kind" "$w" "$v" "$r" 1) / $(tps_field "$kind" "$w" "$base" "$r" 1)")"
					r=$((r + 1))
				done
				# shellcheck disable=SC2086
				row="$row $(median_spread $ratios) |"
			done
		done
		out "$row"
	done
	loads=""
	for v in $TPS_VARIANTS; do
		for kind in tps sim; do
			for f in "$WORK/$kind.$w.$v."*.result; do
				[ -f "$f" ] && loads="$loads $(cut -d' ' -f4 "$f")"
			done
		done
	done
	# shellcheck disable=SC2086
	out "" "_Load average (1 min) after each run, min / median / max: $(spread $loads)._"
}

stream_pgbench() {
	# all variants at once, each with as many clients as the largest workload
	most=$CLIENTS
	for n in $WRITERS; do [ "$n" -le "$most" ] || most=$n; done
	# shellcheck disable=SC2086 # a list of names
	need=$((most * $(printf '%s\n' $TPS_VARIANTS | wc -l)))
	[ "$need" -le 90 ] || SERVER_MAX_CONNECTIONS=$((need + 10))
	start_server
	tps_setup
	tps_workload spread "$CLIENTS" "$STREAMS" 1
	tps_workload hot "$CLIENTS" 1 1
	for n in $WRITERS; do
		tps_workload "writers$n" "$n" own 100
	done

	out "" "### 6c. End to end: pgbench" "" \
		"Each transaction is one call \`SELECT append_VARIANT('s-' || :s, n)\` (\`pgbench -n -M prepared -T $SECONDS_PER_RUN\`," \
		"READ COMMITTED) of a PL/pgSQL function that appends n events of type \`Happened\` with \`data\` \`{\"n\": i}\` to the" \
		"stream, into a table of its own with the definition of 6a, reset before every run to $TPS_PRELOAD events per" \
		"stream, and $FILLER more streams of $TPS_PRELOAD events that nobody appends to (so that the generic plan of the" \
		"functions' read is an index scan, as on any real table: see the README), and vacuumed; the database runs" \
		"with \`plan_cache_mode = force_generic_plan\`, as a driver's prepared" \
		"statements do (else PL/pgSQL plans \`generate_series(1, n)\` anew at every call). The functions (6b counts one" \
		"call of each):" "" \
		"* \`plain_seq\`: \`INSERT ... SELECT s, nextval('version_seq'), ...\`: no read, nothing checked, no version per" \
		"  stream; the cheapest insert into the table." \
		"* \`plain_max\`: reads the stream's version, \`SELECT coalesce(max(version), 0) INTO v ... WHERE stream_id = s\`" \
		"  (what a client that loads the stream knows), then \`INSERT ... SELECT s, v + g, ...\` in a subtransaction," \
		"  retried from the read on 23505: the hand-made event store, whose primary key is the check." \
		"* \`occ_given\`: the same on the stream table, retried on 40V01: occ's trigger checks the versions given." \
		"* \`occ_if_match\`: the same read, then in a subtransaction \`set_config('occ.if_match', v, true)\` and the" \
		"  INSERT without versions, retried on 40V01." \
		"* \`occ_append\`: the same read, then \`occ.append('ev_occ_append', s, v, events)\` with the events as a jsonb" \
		"  array (read from a table: what a client sends), retried on 40V01." "" \
		"The retries happen inside the transaction, because pgbench cannot retry 40V01 or 23505; a real client would roll" \
		"back and retry the whole transaction. Retries are counted on a sequence, which a rollback does not undo." \
		"After every run: every committed event is in the table once (events = preloaded + commits x n), and every" \
		"stream but \`plain_seq\`'s holds versions 1 to its count." "" \
		"*Alone*: each variant on its own, $ROUNDS rounds, the order of the variants reversed every other round;" \
		"commits/s and events/s are medians over the rounds, a ratio is taken within a round (median, min-max)." \
		"*At once*: all variants run at the same time, each with its own clients and table, $SIMULTANEOUS rounds, so that" \
		"they share whatever else the machine is doing; ratios within a round (median, min-max). Retries per commit:" \
		"the median over all runs. Server: $SERVER_SETTINGS; max_connections $SERVER_MAX_CONNECTIONS."
	out "" "**$CLIENTS clients on $STREAMS streams**, 1 event per transaction, streams uniform at random" \
		"(target: occ at least 0.8 of plain):"
	tps_table spread 1
	out "" "**$CLIENTS clients on 1 hot stream**, 1 event per transaction:"
	tps_table hot 1
	for n in $WRITERS; do
		out "" "**$n writer(s), batches of 100 events**, each writer its own stream (\`:client_id\`), the shape of the" \
			"published reference (about 4,900 events/s from one writer, 8,600 from 50):"
		tps_table "writers$n" 100
	done
}

# ---------------------------------------------------------------- per transaction

# The pgbench workloads' transactions, counted: each variant's function
# called TX_CALLS times in a single-user backend (each call its own
# transaction), callgrind counting inside PortalRun (the call: everything
# but parsing and planning the outer SELECT) and CommitTransactionCommand
# (the commit), after one uncounted warm-up call.  No other client runs,
# so this is the work of one transaction without waits and without
# conflicts: the noise-free side of 6c's spread and writer workloads.

tx_template() {
	dir=$WORK/cg/tx.template
	[ ! -d "$dir" ] || return 0
	mkdir -p "$WORK/cg"
	chown "$RUN_AS" "$WORK/cg" 2>/dev/null || true
	say "stream: template of the pgbench tables and functions"
	as_cluster_user "$PG_BIN/initdb" -D "$dir" -U "$RUN_AS" -A trust --no-sync -E UTF8 --locale=C \
		>"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
	{
		printf 'CREATE EXTENSION occ;\n\n'
		tps_sql
		for v in $TPS_VARIANTS; do
			printf "INSERT INTO ev_%s SELECT 's-' || s, g, 'Happened', jsonb_build_object('n', g)\n" "$v"
			printf '    FROM generate_series(1, %s) s, generate_series(1, %s) g;\n\n' "$STREAMS" "$TPS_PRELOAD"
			printf "INSERT INTO ev_%s SELECT 'f-' || s, g, 'Happened', jsonb_build_object('n', g)\n" "$v"
			printf '    FROM generate_series(1, %s) s, generate_series(1, %s) g;\n\n' "$FILLER" "$TPS_PRELOAD"
		done
		printf "SELECT setval('version_seq', %s);\n\n" "$TPS_PRELOAD"
		printf 'VACUUM (FREEZE, ANALYZE);\n\nCHECKPOINT;\n\n'
	} >"$dir.sql"
	single "$dir" "$dir.sql" "$dir.log"
}

# measure_tx VARIANT WORKLOAD: WORKLOAD spread (1 event per call, the
# streams round-robin) or own (100 events per call, all to s-1)
measure_tx() {
	v=$1 w=$2
	d=$WORK/cg/tx.$v.$w
	if [ "$w" = spread ]; then b=1; else b=100; fi
	as_cluster_user cp -a "$WORK/cg/tx.template" "$d"
	awk -v v="$v" -v w="$w" -v b="$b" -v calls="$TX_CALLS" -v streams="$STREAMS" 'BEGIN {
		printf "SELECT append_%s('\''warm-up'\'', %d);\n\nSELECT pg_stat_clear_snapshot();\n\n", v, b
		for (k = 0; k < calls; k++)
			printf "SELECT append_%s('\''s-%d'\'', %d);\n\n", v, (w == "spread" ? k % streams + 1 : 1), b
	}' </dev/null >"$d.run.sql"
	# two functions to count in: collect() passes $ZERO on to valgrind
	# (this runs in a background subshell: the settings stay in it)
	TOGGLE=PortalRun
	SINGLE_OPTS="$SINGLE_OPTS $TX_OPTS"
	ZERO="--zero-before=pg_stat_clear_snapshot --toggle-collect=CommitTransactionCommand"
	collect "$d"
	printf "SELECT count(*) AS events, count(DISTINCT stream_id) AS streams FROM ev_%s;\n\n" "$v" >"$d.check.sql"
	single "$d" "$d.check.sql" "$d.check.log"
	want=$(((STREAMS + FILLER) * TPS_PRELOAD + b + TX_CALLS * b))
	grep -q "events = \"$want\"" "$d.check.log" || die "tx $v $w: not $want events (log $d.check.log)"
	case $v in
	occ_*)
		fired=$(calls_of occ_check_version "$d.callgrind")
		[ "$fired" -eq $((TX_CALLS * b)) ] || die "tx $v $w: occ.check_version called $fired times, not $((TX_CALLS * b))"
		;;
	esac
	rm -rf "$d" "$d.callgrind"
}

stream_transactions() {
	tx_template
	jobs=0
	for w in spread own; do
		for v in $TPS_VARIANTS; do
			say "stream: callgrind, one transaction of $v, $w"
			measure_tx "$v" "$w" &
			jobs=$((jobs + 1))
			if [ "$jobs" -ge "$(nproc)" ]; then
				wait
				jobs=0
			fi
		done
	done
	wait
	per_tx() { calc "$(cat "$WORK/cg/tx.$1.$2.total") / $TX_CALLS"; } # VARIANT WORKLOAD
	bases=""
	for v in plain_seq plain_max; do in_list "$v" "$TPS_VARIANTS" && bases="$bases $v"; done
	out "" "### 6b. Instructions per transaction of 6c's workloads (callgrind)" "" \
		"Each variant's function of 6c called $TX_CALLS times in a single-user backend, each call its own transaction," \
		"on the tables of 6c ($STREAMS + $FILLER streams of $TPS_PRELOAD events), after one uncounted warm-up call; callgrind counts" \
		"inside \`PortalRun\` (the call, all but parsing and planning the outer \`SELECT\`) and" \
		"\`CommitTransactionCommand\` (the commit). One client, no waits and no conflicts: the work of a transaction, which" \
		"6c's throughput on a CPU-bound machine follows, without the machine's noise. *1 event*: \`append_x('s-k', 1)\`," \
		"the streams round-robin; *100 events*: \`append_x('s-1', 100)\`." ""
	head="| variant | events per call | per transaction | per event |"
	line="|---|--:|--:|--:|"
	for base in $bases; do
		head="$head $base / variant |"
		line="$line--:|"
	done
	out "$head" "$line"
	for w in spread own; do
		if [ "$w" = spread ]; then b=1; else b=100; fi
		for v in $TPS_VARIANTS; do
			t=$(per_tx "$v" "$w")
			row="| $(tps_label "$v") | $b | $(calc "sprintf(\"%.0f\", $t)") | $(calc "sprintf(\"%.0f\", $t / $b)") |"
			for base in $bases; do
				row="$row $(calc "sprintf(\"%.3f\", $(per_tx "$base" "$w") / $t)") |"
			done
			out "$row"
		done
	done
	out "" "(*base / variant* is the throughput ratio variant / base that these counts predict for a CPU-bound server.)"
}

part_stream() {
	out "" "## 6. The stream kind: appends, per event and end to end"
	for p in $STREAM_PARTS; do
		case $p in
		callgrind) stream_callgrind ;;
		transactions) stream_transactions ;;
		pgbench) stream_pgbench ;;
		*) die "BENCH_STREAM_PARTS lists callgrind, transactions and pgbench, not $p" ;;
		esac
	done
}

bench_main stream
