#!/bin/sh
# tools/test-target.sh -- run occ's suite against one PostgreSQL installation.
#
#   sh tools/test-target.sh NAME RESULTS
#
# Builds occ with warnings as errors (COPT, never the Makefile) against the
# installation that PG_CONFIG names, installs it, starts a throwaway cluster
# (tools/common.sh) and runs pg_regress, isolation and TAP as separate steps
# (before PostgreSQL 17 also the tests that need occ preloaded, on the
# cluster restarted with it), then, with WITH_EXAMPLES=yes, the client
# examples.  Each step is judged by its exit status alone and appended to
# the file RESULTS as one line,
# "NAME STEP ok|FAILED|skipped [reason]"; tools/test.sh runs this script on
# the host and inside each chroot, and counts those lines.  Exits non-zero if
# a step failed.
#
# PG_MAJOR and PG_CONFIG choose the installation; OCC_SKIP_INSTALL=yes when
# the caller has installed the packages already (chroots, source builds);
# OCC_SKIP_STEPS lists steps to skip as "step:reason" words, with the reason
# written with underscores for spaces.

TARGET=$1
RESULTS=$2
. "$(dirname "$0")/common.sh"

# CI's warning flags.  PostgreSQL's own headers are not -Wextra clean: their
# static inline functions leave parameters unused (lib/ilist.h
# dlist_next_node, storage/bufpage.h PageValidateSpecialPointer), and
# PostgreSQL's build does not use -Wextra, so that one warning is off.  The
# headers are included with -I, as PGXS does, so that no other warning is
# hidden.
OCC_COPT=${OCC_COPT:--Wall -Wextra -Werror}

failures=0

record() {
	echo "$TARGET $1 $2" >>"$RESULTS"
	echo "== $TARGET $1: $2"
}

skip_reason() {
	for s in ${OCC_SKIP_STEPS:-}; do
		case $s in
		"$1":*) echo "${s#*:}" | tr _ ' '; return 0 ;;
		esac
	done
	return 1
}

# step NAME COMMAND...: run a step, print its output, record its outcome.
step() {
	name=$1
	shift
	if reason=$(skip_reason "$name"); then
		record "$name" "skipped ($reason)"
		return 0
	fi
	echo "== $TARGET: $name"
	if "$@" >"$WORK/$name.log" 2>&1; then
		cat "$WORK/$name.log"
		record "$name" ok
	else
		cat "$WORK/$name.log"
		for f in "$BUILD"/regression.diffs "$BUILD"/output_iso/regression.diffs; do
			[ -f "$f" ] && { echo "== $f"; cat "$f"; rm -f "$f"; }
		done
		for f in "$BUILD"/tmp_check/log/regress_log_*; do
			[ -f "$f" ] && grep -qE 'not ok|error running SQL|died|BAIL' "$f" && { echo "== $f"; tail -n 60 "$f"; }
		done
		record "$name" FAILED
		failures=$((failures + 1))
	fi
}

build() {
	as_cluster_user make -C "$BUILD" PG_CONFIG="$PG_CONFIG" COPT="$OCC_COPT" &&
		install_built
}

installcheck() {
	as_cluster_user env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
		make -C "$BUILD" PG_CONFIG="$PG_CONFIG" installcheck "$@"
}

preloaded_installcheck() {
	restart_cluster -c shared_preload_libraries=occ &&
		installcheck 'REGRESS=$(REGRESS_PRELOADED)' ISOLATION= TAP_TESTS=
}

[ "${OCC_SKIP_INSTALL:-}" = yes ] || install_packages
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
PG_BIN=$($PG_CONFIG --bindir)
echo "== $TARGET: $($PG_CONFIG --version) ($PG_CONFIG)"
copy_tree
step build build
if [ "$failures" -ne 0 ]; then
	for s in regress isolation tap ${WITH_EXAMPLES:+examples}; do
		record "$s" "FAILED (not run: the build failed)"
	done
	exit 1
fi
start_cluster
# each step alone: the others' variables emptied
step regress installcheck ISOLATION= TAP_TESTS=
step isolation installcheck REGRESS= TAP_TESTS=
step tap installcheck REGRESS= ISOLATION=
# Before PostgreSQL 17 the conflict statistics need occ preloaded (the
# Makefile's REGRESS_PRELOADED): their tests run last, on the cluster
# restarted so; from 17 on they are part of the regress step.
if [ "${PG_MAJOR:-15}" -lt 17 ]; then
	step regress_preloaded preloaded_installcheck
fi
if [ -n "${WITH_EXAMPLES:-}" ]; then
	step examples sh "$BUILD/examples/run.sh"
fi
[ "$failures" -eq 0 ]
