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
#   counted_rows ROWS       how many of those callgrind counts (a warm-up
#                           before --zero-before is not counted)
# and setting TOGGLE (the function callgrind collects inside) and ZERO
# (more callgrind options, may be empty).
#
# A table of kind hash keeps no trace of a check in its rows, so for the
# hash variants the callgrind output itself shows that the trigger did its
# work: occ.check_version was called once per counted row, and
# occ_content_version (the hash of the row) once per counted row when a
# version was stated, never when none was.
#
# Knob: BENCH_VARIANTS, which variants to run (default all; plain is
# required, every overhead is measured from it).

ALL_VARIANTS="plain plain_stated plain_where floor floor_again moddatetime plpgsql occ_lax occ_stated occ_strict_where occ_timestamp occ_if_match occ_hash_lax occ_hash_if_match occ_audit occ_audit_stated"
VARIANTS=${BENCH_VARIANTS:-$ALL_VARIANTS}

SINGLE_OPTS="-c fsync=off -c jit=off -c max_wal_size=4GB"
# BENCH_PRELOAD=yes: occ in shared_preload_libraries, which before
# PostgreSQL 17 is what turns its conflict statistics on (without it the
# trigger counts into a backend-local table that is dropped at commit).
if [ "${BENCH_PRELOAD:-no}" = yes ]; then
	SINGLE_OPTS="$SINGLE_OPTS -c shared_preload_libraries=occ"
fi

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

# The payload of a row, by width (bench/hash.sh measures them all; parts 1
# and 1b use 100B):
#   100B             40 characters: about 100 bytes a row
#   1kB              960 characters, stored inline uncompressed (a row
#                    under the TOAST threshold, about 2 kB, is left alone)
#   10kB             10,000 characters stored out of line, uncompressed
#                    (STORAGE EXTERNAL): the heap row holds an 18-byte
#                    pointer, the value is in 5 chunks of the TOAST table
#   10kB_compressed  the same 10,000 characters, compressed inline (pglz):
#                    125 bytes of the heap row
WIDTHS="100B 1kB 10kB 10kB_compressed"

payload_length() {
	case $1 in
	100B) echo 40 ;;
	1kB) echo 960 ;;
	10kB | 10kB_compressed) echo 10000 ;;
	*) die "unknown width $1 (known: $WIDTHS)" ;;
	esac
}

payload_storage() {
	case $1 in
	10kB) echo "ALTER TABLE t ALTER payload SET STORAGE EXTERNAL;" ;;
	esac
}

# the directory of the template with ROWS rows of WIDTH
template_dir() { # ROWS [WIDTH]
	case ${2:-100B} in
	100B) echo "$WORK/cg/template.$1" ;;
	*) echo "$WORK/cg/template.$1.$2" ;;
	esac
}

# template ROWS [WIDTH]: the pristine data directory with ROWS rows whose
# payload is WIDTH (default 100B), made once
template() {
	width=${2:-100B}
	dir=$(template_dir "$1" "$width")
	[ ! -d "$dir" ] || return 0
	mkdir -p "$WORK/cg"
	chown "$RUN_AS" "$WORK/cg" 2>/dev/null || true
	say "callgrind: template with $1 rows${2:+ of width $2}"
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

		$(payload_storage "$width")

		INSERT INTO t (id, val, payload)
		    SELECT g, 0, repeat('x', $(payload_length "$width")) FROM generate_series(1, $1) g;

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
	occ_audit | occ_audit_stated) echo "SELECT occ.enable('t', mode => 'lax', audit => 'strict');" ;;
	occ_if_match) echo "SELECT occ.enable('t');" ;;
	occ_hash_lax | occ_hash_if_match)
		# id does not count, so that every row has the same content and
		# one tag, which one occ.if_match states for a whole bulk UPDATE;
		# the tag is written to DIR.tag for variant_session
		echo "SELECT occ.enable('t', kind => 'hash', exclude => '{id}');"
		printf "\nCOPY (SELECT occ.etag(t) FROM t WHERE id = 1) TO '%s';\n" "$2.tag"
		;;
	*) die "unknown variant $1 (known: $ALL_VARIANTS)" ;;
	esac
}

# variant_session VARIANT DIR: what the measured session runs before its
# statements, outside what callgrind counts (a SET is no executor run): the
# version the variant's writes state through occ.if_match, for the whole
# session.  Every row has version 1, and, on the hash table, the one tag
# its setup wrote to DIR.tag.
variant_session() {
	case $1 in
	occ_if_match) printf "SET occ.if_match = '\"1\"';\n\n" ;;
	occ_hash_if_match)
		tag=$(cat "$2.tag")
		case $tag in
		\"????????????????????????????????\") ;;
		*) die "$1: occ.etag() gave '$tag', not an entity tag" ;;
		esac
		printf "SET occ.if_match = '%s';\n\n" "$tag"
		;;
	esac
}

# the SET list of the variant's UPDATE
variant_set() {
	case $1 in
	plain_stated | occ_stated | occ_audit_stated) echo "val = val + 1, version = version" ;;
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
	occ_if_match) echo "occ integer, lax, stated through occ.if_match ('\"1\"')" ;;
	occ_hash_lax) echo "occ hash, lax, nothing stated" ;;
	occ_hash_if_match) echo "occ hash, stated through occ.if_match (the row's tag)" ;;
	occ_audit) echo "occ integer, lax audited as strict, not stated (every row reported)" ;;
	occ_audit_stated) echo "occ integer, lax audited as strict, stated (version = version)" ;;
	esac
}

# What each variant's UPDATE must leave in every row it updates: a trigger
# that did not fire would look cheap.
variant_check() {
	case $1 in
	plain | plain_stated | plain_where | floor | floor_again | occ_hash_*) echo "version = 1 AND updated_at = '2026-01-01 00:00:00+00'" ;;
	moddatetime | occ_timestamp) echo "version = 1 AND updated_at > '2026-01-01 00:00:00+00'" ;;
	*) echo "version = 2 AND updated_at = '2026-01-01 00:00:00+00'" ;;
	esac
}

# collect DIR: DIR.run.sql in a single-user backend on the data directory
# DIR under callgrind, counting only inside $TOGGLE (and $ZERO); leaves the
# session's output in DIR.log, callgrind's in DIR.callgrind and the
# instructions collected in DIR.total
collect() {
	as_cluster_user valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$TOGGLE" $ZERO \
		--callgrind-out-file="$1.callgrind" \
		"$PG_BIN/postgres" --single -j -D "$1" $SINGLE_OPTS postgres \
		<"$1.run.sql" >"$1.run.log" 2>&1 ||
		{ tail -n 20 "$1.run.log" >&2; die "callgrind run in $1 failed"; }
	if grep -q 'ERROR:' "$1.run.log"; then
		grep -A3 'ERROR:' "$1.run.log" >&2
		die "a measured statement failed (log $1.run.log)"
	fi
	total=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$1.callgrind" | head -n 1)
	[ -n "$total" ] && [ "$total" -gt 0 ] ||
		die "callgrind collected nothing in $1: is $TOGGLE a symbol of $PG_BIN/postgres?"
	echo "$total" >"$1.total"
}

# calls_of FUNCTION CALLGRIND_OUT: how many calls to FUNCTION callgrind
# counted (the sum of the calls= lines under each cfn= naming it; names are
# given once, then referred to by their number)
calls_of() {
	awk -v target="$1" '
		/^c?fn=/ {
			s = $0
			sub(/^c?fn=/, "", s)
			if (match(s, /^\([0-9]+\)/)) {
				id = substr(s, 1, RLENGTH)
				if (length(s) > RLENGTH)
					name[id] = substr(s, RLENGTH + 2)
				s = name[id]
			}
			if ($0 ~ /^cfn=/)
				callee = s
		}
		/^calls=/ && callee == target { split(substr($0, 7), a, " "); n += a[1] }
		END { print n + 0 }' "$2"
}

# measure SCENARIO VARIANT ROWS [WIDTH]: leaves the instructions collected
# in $WORK/cg/SCENARIO.VARIANT.ROWS[.WIDTH].total (and, for the hash
# variants, the rows hashed in .hashed)
measure() {
	v=$2
	n=$3
	d=$WORK/cg/$1.$v.$n${4:+.$4}
	as_cluster_user cp -a "$(template_dir "$n" "${4:-}")" "$d"
	{
		variant_setup "$v" "$d"
		printf '\nCHECKPOINT;\n\n'
	} >"$d.setup.sql"
	single "$d" "$d.setup.sql" "$d.setup.log"
	{
		variant_session "$v" "$d"
		workload "$v" "$n"
	} >"$d.run.sql"
	collect "$d"
	printf 'SELECT count(*) AS updated_rows FROM t WHERE val = 1 AND %s;\n\n' \
		"$(variant_check "$v")" >"$d.check.sql"
	single "$d" "$d.check.sql" "$d.check.log"
	grep -q "updated_rows = \"$(updated_rows "$n")\"" "$d.check.log" ||
		die "$v: not every row was updated as expected ($(variant_check "$v"))"
	case $v in
	occ_hash_*)
		# the rows keep no trace of the check: callgrind's calls do
		counted=$(counted_rows "$n")
		fired=$(calls_of occ_check_version "$d.callgrind")
		hashed=$(calls_of occ_content_version "$d.callgrind")
		if [ "$v" = occ_hash_if_match ]; then want=$counted; else want=0; fi
		[ "$fired" -eq "$counted" ] && [ "$hashed" -eq "$want" ] ||
			die "$v: $counted rows counted, occ.check_version called $fired times (expected $counted), occ_content_version $hashed times (expected $want)"
		echo "$hashed" >"$d.hashed"
		;;
	esac
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
			variant_setup "$v" "$WORK/cg/none" >/dev/null
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

# if_match_note: how the occ.if_match variants state their version, when
# any was run
if_match_note() {
	has occ_if_match || has occ_hash_lax || has occ_hash_if_match || return 0
	out "The occ.if_match variants state a version for the whole session (\`SET occ.if_match = ...\` before the" \
		"measured statements, not counted: a SET runs no executor): \`'\"1\"'\` on the integer table, where every row" \
		"has version 1; on the hash table, enabled with \`occ.enable('t', kind => 'hash', exclude => '{id}')\` so that" \
		"every row has the same content, the one entity tag all rows share (\`occ.etag(t)\`). Every row's content is" \
		"hashed and compared with it, as it would be with a tag of its own: the bench's row but its 4-byte id." \
		"The hash table keeps no trace of a check in its rows, so the run's callgrind output shows it instead:" \
		"\`occ.check_version\` is called once per row counted, \`occ_content_version\` (the hash of the old row)" \
		"as often as *rows hashed* says."
}

# hash_table SCENARIO ROWS WITH_MARGINAL: the hash kind against the integer
# kind, from the overheads in over_<variant> (and marg_<variant>): the
# issue's targets are that a write stating nothing costs what the integer
# kind's does (no hash is computed), and that a stated one costs at most
# 1.5 times the integer kind's overhead
hash_table() {
	has occ_hash_lax || has occ_hash_if_match || return 0
	if [ "$3" = yes ]; then
		out "" "The hash kind against the integer kind (overheads per row at $2 rows; in brackets, marginal):"
	else
		out "" "The hash kind against the integer kind (overheads as in the table above):"
	fi
	out "" \
		"| hash variant | its overhead | rows hashed | integer variant | its overhead | hash / integer | target |" \
		"|---|--:|--:|---|--:|--:|---|"
	for pair in occ_hash_lax:occ_lax occ_hash_if_match:occ_if_match occ_hash_if_match:occ_stated; do
		h=${pair%%:*}
		i=${pair#*:}
		has "$h" && has "$i" || continue
		eval "a=\$over_$h b=\$over_$i"
		ho=$(calc "sprintf(\"%+.0f\", $a)")
		io=$(calc "sprintf(\"%+.0f\", $b)")
		r=$(calc "sprintf(\"%.3f\", $a / $b)")
		if [ "$3" = yes ]; then
			eval "a=\$marg_$h b=\$marg_$i"
			ho="$ho ($(calc "sprintf(\"%+.0f\", $a)"))"
			io="$io ($(calc "sprintf(\"%+.0f\", $b)"))"
			r="$r ($(calc "sprintf(\"%.3f\", $a / $b)"))"
		fi
		case $h in
		occ_hash_lax) target="the same: no hash computed" ;;
		*) target="<= 1.5" ;;
		esac
		out "| $(variant_label "$h") | $ho | $(cat "$WORK/cg/$1.$h.$2.hashed") of $(counted_rows "$2") | $(variant_label "$i") | $io | $r | $target |"
	done
}

repeatability() { # SCENARIO ROWS
	has floor && has floor_again || return 0
	a=$(count_of "$1" floor "$2")
	b=$(count_of "$1" floor_again "$2")
	out "" "Repeatability: the floor variant run twice collected $a and $b instructions (difference $(calc "$b - $a"))."
}
