#!/bin/sh
# bench/run.sh -- measure what occ costs, beside the alternatives.
#
#   sh bench/run.sh                      every part (about 14 minutes on 2 CPUs)
#   sh bench/run.sh callgrind            only the bulk instruction counts (about 4 to 6 minutes)
#   sh bench/run.sh pgbench contention   any subset, in any order
#
# Each part is a script of its own, which also runs alone
# (sh bench/callgrind.sh); this one builds and installs occ once, writes
# one results file, and runs the parts asked for one after the other, each
# with a fresh cluster:
#   callgrind   executor instructions per updated row of a bulk UPDATE
#   statements  executor instructions per single-row UPDATE statement
#   pgbench     prepared single-row UPDATE by primary key, plain vs occ table
#   enable      occ.enable on a 10-million-row table: time, and no rewrite
#   contention  N clients read-modify-write K hot rows, retrying on 40V01
#   hash        the hash kind by row width, and occ.etag(row) against
#               md5(row::text), in instructions per row
#   stream      the stream kind: executor instructions per appended event
#               against a plain INSERT, in batches of 1 and 100; pgbench
#               appends on 100 streams, on 1 hot stream, and from 1 and 50
#               writers in batches of 100
#
# By default occ is built from this tree (in a private copy) and installed
# into the PostgreSQL measured (PG_CONFIG); BENCH_OCC=installed measures the
# occ already installed there instead.  The results go to
# $BENCH_RESULTS_DIR/<UTC date and time>.md (default
# $HOME/occ-bench-results), never into the tree, and are printed at the
# end.  bench/README.md lists every knob and says how to read the numbers.

set -eu
. "$(dirname "$0")/lib.sh"

PARTS=${*:-callgrind statements pgbench enable contention hash stream}
for p in $PARTS; do
	case $p in
	callgrind | statements | pgbench | enable | contention | hash | stream) ;;
	*)
		echo "usage: sh bench/run.sh [callgrind] [statements] [pgbench] [enable] [contention] [hash] [stream]" >&2
		exit 2
		;;
	esac
done

bench_prepare "$PARTS"
# The parts measure what was just installed, and append to our file.
for p in $PARTS; do
	BENCH_OCC=installed OCC_BENCH_RESULT=$RESULT sh "$BENCH/$p.sh"
done
bench_finish
