#!/bin/bash
# tools/demo.sh -- watch occ catch a lost update, live.
#
# Installs what occ needs, builds and installs it, starts a throwaway
# PostgreSQL cluster, and plays a short story with two real, concurrent
# database sessions, Alice and Bob, who update the same bank account:
# first without occ (Alice's deposit is silently lost), then with occ
# (Bob's stale write is refused while it waits for Alice's transaction, and
# his retry keeps both changes).  Exits non-zero if anything did not happen
# as told.  Run it as "sh tools/demo.sh".

# The sessions need bash (read -t); Debian's sh is dash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

. "$(dirname "$0")/common.sh"

install_packages
build_and_install
start_cluster

DEMO=$WORK/demo
mkdir "$DEMO"
WAIT=10			# seconds to wait for any answer from a session

# ---------------------------------------------------------------- helpers

fail() {
	echo
	echo "DEMO FAILED: $*" >&2
	exit 1
}

say() { printf '%s\n' "$@"; }

# Show a statement as a session types it.
typed() { printf '    %s=> %s\n' "$1" "$2"; }

# Run SQL from a separate administrator connection; prints the result rows.
admin() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1" ||
		fail "administrator statement failed: $1"
}

# A session is a psql process that stays connected for the whole demo.  It
# reads statements from a FIFO and writes everything it prints, errors
# included, to another FIFO.  The demo keeps both FIFOs open; psql ends when
# it reads \q, or end of file once the demo has exited.
# open_session NAME
declare -A SESSION_IN SESSION_OUT SESSION_PID
open_session() {
	local fd fd_in fd_out
	mkfifo "$DEMO/$1.in" "$DEMO/$1.out"
	(
		# Not holding the other sessions' FIFOs lets each see its own end.
		for fd in "${SESSION_IN[@]}" "${SESSION_OUT[@]}"; do exec {fd}<&-; done
		PGAPPNAME=$1 exec "$PG_BIN/psql" -X -A -t -v VERBOSITY=verbose \
			<"$DEMO/$1.in" >"$DEMO/$1.out" 2>&1
	) &
	SESSION_PID[$1]=$!
	exec {fd_in}<>"$DEMO/$1.in" {fd_out}<>"$DEMO/$1.out"
	SESSION_IN[$1]=$fd_in
	SESSION_OUT[$1]=$fd_out
}

# send NAME STATEMENT...: hand statements to a session without waiting.
send() {
	local fd=${SESSION_IN[$1]}
	shift
	printf '%s\n' "$@" '\echo __done__' >&"$fd"
}

# collect NAME: read what the session printed for the last send, up to its
# end marker, into the array OUT.  Fails after $WAIT seconds of silence.
collect() {
	local line
	OUT=()
	while :; do
		if ! IFS= read -r -t "$WAIT" line <&"${SESSION_OUT[$1]}"; then
			kill -0 "${SESSION_PID[$1]}" 2>/dev/null ||
				fail "$1's psql session ended unexpectedly: ${OUT[*]:-}"
			fail "$1's session did not answer within $WAIT seconds: ${OUT[*]:-}"
		fi
		[ "$line" = __done__ ] && return 0
		OUT+=("$line")
	done
}

# run NAME STATEMENT: send one statement and collect its output.
run() {
	send "$1" "$2"
	collect "$1"
}

# expect NAME TEXT: the last output must be exactly TEXT.
expect() {
	[ "${OUT[*]:-}" = "$2" ] ||
		fail "$1 expected \"$2\", but psql printed: ${OUT[*]:-(nothing)}"
}

# read_row NAME COLUMNS: SELECT COLUMNS of account 1 in session NAME into
# the array ROW.
read_row() {
	typed "$1" "SELECT $2 FROM accounts WHERE id = 1;"
	run "$1" "SELECT $2 FROM accounts WHERE id = 1;"
	[ "${#OUT[@]}" -eq 1 ] || fail "$1 could not read account 1: ${OUT[*]:-}"
	IFS='|' read -r -a ROW <<<"${OUT[0]}"
}

# waiting_on_lock NAME: true once NAME's current statement waits for a lock.
waiting_on_lock() {
	local state
	for _ in $(seq 100); do
		state=$(admin "SELECT wait_event_type FROM pg_stat_activity
		               WHERE application_name = '$1'")
		[ "$state" = Lock ] && return 0
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- the story

echo
say "== Setting the scene"
say "A bank keeps a table of accounts.  Account 1 is shared by Alice and Bob"
say "and holds 100."
admin "CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);
       INSERT INTO accounts VALUES (1, 'Alice and Bob', 100);"
say "    CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);" \
    "    INSERT INTO accounts VALUES (1, 'Alice and Bob', 100);"
say "Alice and Bob each open their own connection to the database, as two"
say "users of a banking app would.  Both connections stay open all along."
open_session alice
open_session bob
run alice "SELECT 'connected';" && expect alice connected
run bob "SELECT 'connected';" && expect bob connected

echo
say "== Part 1: without occ"
read_row alice balance
a_balance=${ROW[0]}
say "Alice reads account 1: balance $a_balance"
read_row bob balance
b_balance=${ROW[0]}
say "Bob reads account 1: balance $b_balance"

a_new=$((a_balance + 50))
say "Alice deposits 50.  Her app writes what she read plus 50: $a_new"
typed alice "BEGIN; UPDATE accounts SET balance = $a_new WHERE id = 1; COMMIT;"
run alice "BEGIN;" && expect alice BEGIN
run alice "UPDATE accounts SET balance = $a_new WHERE id = 1;" && expect alice "UPDATE 1"
run alice "COMMIT;" && expect alice COMMIT
say "Alice's write succeeds and is committed."

b_new=$((b_balance - 30))
say "Bob withdraws 30.  His app still holds the balance he read, $b_balance,"
say "and writes that minus 30: $b_new"
typed bob "BEGIN; UPDATE accounts SET balance = $b_new WHERE id = 1; COMMIT;"
run bob "BEGIN;" && expect bob BEGIN
run bob "UPDATE accounts SET balance = $b_new WHERE id = 1;" && expect bob "UPDATE 1"
run bob "COMMIT;" && expect bob COMMIT
say "Bob's write succeeds too."

balance=$(admin "SELECT balance FROM accounts WHERE id = 1")
say "The account now holds $balance.  It should hold 100 + 50 - 30 = 120."
[ "$balance" = "$b_new" ] || fail "expected the lost update to leave $b_new, found $balance"
say "Alice's deposit is gone: Bob replaced a balance he had never seen."
say "This is a LOST UPDATE.  PostgreSQL saw nothing wrong: each UPDATE was"
say "valid on its own, and nothing told it which balance Bob had read."

echo
say "== Part 2: with occ"
say "We put the balance back to 100 and turn on occ for the table:"
admin "UPDATE accounts SET balance = 100 WHERE id = 1;
       CREATE EXTENSION occ;
       SELECT occ.enable('accounts');" >/dev/null
say "    CREATE EXTENSION occ;" \
    "    SELECT occ.enable('accounts');"
row=$(admin "SELECT balance, version FROM accounts WHERE id = 1")
[ "$row" = "100|1" ] || fail "expected balance 100, version 1 after occ.enable, found $row"
say "occ added a column \"version\" (every row starts at version 1) and a"
say "trigger.  Every UPDATE adds 1 to the version, and an UPDATE that states"
say "the version it read (SET version = <what it read>) is refused if the"
say "row has changed since."

read_row alice "balance, version"
a_balance=${ROW[0]} a_version=${ROW[1]}
say "Alice reads account 1: balance $a_balance, version $a_version"
read_row bob "balance, version"
b_balance=${ROW[0]} b_version=${ROW[1]}
say "Bob reads account 1: balance $b_balance, version $b_version"

a_new=$((a_balance + 50))
say "Alice deposits 50: she writes $a_new and states the version she read, $a_version."
typed alice "BEGIN;"
typed alice "UPDATE accounts SET balance = $a_new, version = $a_version WHERE id = 1;"
run alice "BEGIN;" && expect alice BEGIN
run alice "UPDATE accounts SET balance = $a_new, version = $a_version WHERE id = 1;"
expect alice "UPDATE 1"
say "Her UPDATE is accepted, but she has not committed yet: her transaction"
say "holds the lock on the row."

b_new=$((b_balance - 30))
say "Meanwhile Bob withdraws 30: he writes $b_new and states the version he"
say "read, $b_version."
typed bob "BEGIN;"
typed bob "UPDATE accounts SET balance = $b_new, version = $b_version WHERE id = 1;"
run bob "BEGIN;" && expect bob BEGIN
send bob "UPDATE accounts SET balance = $b_new, version = $b_version WHERE id = 1;"
waiting_on_lock bob ||
	fail "Bob's UPDATE was expected to wait for Alice's row lock, but it did not"
say "Bob's UPDATE does not finish: it waits for Alice's transaction"
say "(pg_stat_activity shows Bob waiting on a lock)."

say "Alice commits."
typed alice "COMMIT;"
run alice "COMMIT;" && expect alice COMMIT
row=$(admin "SELECT balance, version FROM accounts WHERE id = 1")
[ "$row" = "$a_new|$((a_version + 1))" ] ||
	fail "expected Alice's write (balance $a_new, version $((a_version + 1))), found $row"
say "Account 1 now holds balance ${row%|*} at version ${row#*|}."

say "Bob's UPDATE wakes up and is checked against the row Alice just"
say "committed.  occ refuses it:"
collect bob
error=()
for line in "${OUT[@]}"; do
	case $line in LOCATION:*) ;; *) error+=("$line") ;; esac
done
printf '    %s\n' "${error[@]}"
case ${error[0]:-} in
"ERROR:  40V01: "*) ;;
*) fail "Bob's stale write was expected to fail with 40V01, but psql printed: ${OUT[*]:-(nothing)}" ;;
esac
say "SQLSTATE 40V01 is in class 40, \"transaction rollback\": the app should"
say "re-read the row and try again.  Bob's transaction is aborted; he rolls back."
typed bob "ROLLBACK;"
run bob "ROLLBACK;" && expect bob ROLLBACK

row=$(admin "SELECT balance, version FROM accounts WHERE id = 1")
[ "$row" = "$a_new|$((a_version + 1))" ] ||
	fail "expected Alice's write (balance $a_new, version $((a_version + 1))), found $row"
say "The row keeps Alice's write: balance ${row%|*}, version ${row#*|}."

say "Bob's app does what the hint says: it reads the account again..."
read_row bob "balance, version"
b_balance=${ROW[0]} b_version=${ROW[1]}
say "Bob reads account 1: balance $b_balance, version $b_version"
b_new=$((b_balance - 30))
say "...and withdraws 30 from what is really there: $b_new, stating version $b_version."
typed bob "BEGIN; UPDATE accounts SET balance = $b_new, version = $b_version WHERE id = 1; COMMIT;"
run bob "BEGIN;" && expect bob BEGIN
run bob "UPDATE accounts SET balance = $b_new, version = $b_version WHERE id = 1;"
expect bob "UPDATE 1"
run bob "COMMIT;" && expect bob COMMIT
say "This time his write is accepted."

row=$(admin "SELECT balance, version FROM accounts WHERE id = 1")
[ "$row" = "120|3" ] || fail "expected balance 120, version 3 at the end, found $row"
say "The account now holds ${row%|*} (version ${row#*|}) = 100 + 50 - 30: both"
say "changes are kept.  No update was lost."

# Close both sessions; the cluster is stopped on exit (common.sh).
send alice '\q'
send bob '\q'
wait "${SESSION_PID[alice]}" "${SESSION_PID[bob]}"

echo
say "== Done: occ turned a silent lost update into an error Bob could retry."
