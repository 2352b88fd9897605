#!/bin/sh
# tools/test.sh -- run occ's whole test suite against a throwaway cluster.
#
# Installs the Debian packages it needs, builds and installs occ, starts a
# private PostgreSQL cluster owned by an unprivileged user, runs the
# pg_regress, isolation and TAP tests (make installcheck) and the client
# examples (examples/run.sh), stops the cluster and exits non-zero if
# anything failed.

WITH_EXAMPLES=yes
. "$(dirname "$0")/common.sh"

install_packages
build_and_install
start_cluster

echo "== running the test suite (make installcheck)"
status=0
as_cluster_user env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
	make -C "$BUILD" PG_CONFIG="$PG_CONFIG" installcheck >"$WORK/installcheck.log" 2>&1 ||
	status=$?
cat "$WORK/installcheck.log"

echo "== running the client examples (examples/run.sh)"
sh "$BUILD/examples/run.sh" >"$WORK/examples.log" 2>&1 || status=$?
cat "$WORK/examples.log"

# One closing line for the whole suite, counting pg_regress and isolation
# tests ("test name ... ok") and TAP test files ("t/name.pl .... ok").
passed=$(cat "$WORK/installcheck.log" "$WORK/examples.log" |
	grep -Ec '^(test|example) .* \.\.\. ok|^t/.*\.pl \.+ ok' || true)
failed=$(cat "$WORK/installcheck.log" "$WORK/examples.log" |
	grep -Ec '\.\.\. FAILED|^t/.*\.pl \.+ (Dubious|Failed|[^o])' || true)
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

if [ "$status" -ne 0 ]; then
	for f in "$BUILD"/regression.diffs "$BUILD"/output_iso/regression.diffs; do
		[ -f "$f" ] && { echo "== $f"; cat "$f"; }
	done
	echo "== tail of the server log"
	tail -n 50 "$WORK/server.log"
fi
echo "occ: $passed passed, $failed failed"
exit "$status"
