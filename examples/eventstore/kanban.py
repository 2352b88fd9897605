#!/usr/bin/python3
"""examples/eventstore/kanban.py -- an event-sourced kanban card on a table of kind stream.

A kanban card is an aggregate kept as a stream of events, one row each, in
a table that occ.enable(..., kind => 'stream') makes an append-only event
store.  The card is loaded by replaying its events in order; its version
is the number of its events.  A change to the card decides new events from
the state it loaded and appends them, expecting the stream to be at the
version it loaded.

Alice and Bob change card 7 at the same time, each on a connection of
their own.  Both load version n and both append expecting n; the first
append takes the stream's lock, and the second waits for it.  When the
first commits, the second is refused with SQLSTATE 40V01 and nothing of it
is appended; it loads the card again (now version n + 1), decides its
change again from the new state, and appends expecting n + 1.  This is
played twice, with the two ways of stating the expected version:

  round 1  Alice appends with SET LOCAL occ.if_match = 'n' and a plain
           INSERT (and wins); Bob calls occ.append(tbl, stream, 'n', events)
           (and is refused, then retries the same way);
  round 2  Bob appends first with occ.append, Alice with occ.if_match is
           refused and retries.

Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, ...).  Creates its own schema, drops it at the end, and exits
non-zero if anything does not happen as told.  Run it with Debian's
python3 (package python3-psycopg): /usr/bin/python3 kanban.py
"""

import os
import sys
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

SCHEMA = f"occ_example_eventstore_{os.getpid()}"
EVENTS = sql.Identifier(SCHEMA, "events")
STREAM = "card-7"
LOCK_WAIT_SECONDS = 20          # how long a waiting append may take to show up

failures = []


def say(text=""):
    print(text, flush=True)


def check(what, got, expected):
    """Record a failure when got differs from expected; say what was seen."""
    if got == expected:
        say(f"    [ok] {what}: {got!r}")
        return True
    say(f"    [FAILED] {what}: expected {expected!r}, got {got!r}")
    failures.append(what)
    return False


# ------------------------------------------------------------ the aggregate

@dataclass
class Card:
    """A kanban card, as its events made it."""
    stream: str
    version: int = 0            # the number of events replayed
    title: str = None
    column: str = None
    assignee: str = None
    history: list = field(default_factory=list)

    def apply(self, type_, data):
        """One event, in order: how the card changes."""
        if type_ == "CardCreated":
            self.title, self.column = data["title"], data["column"]
        elif type_ == "CardRenamed":
            self.title = data["title"]
        elif type_ == "CardMoved":
            if data["from"] != self.column:
                raise RuntimeError(f"event {self.version + 1} moves from {data['from']}, "
                                   f"but the card is in {self.column}")
            self.column = data["to"]
        elif type_ == "CardAssigned":
            self.assignee = data["to"]
        else:
            raise RuntimeError(f"unknown event type {type_}")
        self.version += 1
        self.history.append(type_)


def load(conn, who, stream=STREAM):
    """Replay the stream's events in order.  Its version is their number:
    the events carry versions 1, 2, 3, ... without a gap."""
    card = Card(stream)
    with conn.transaction():
        rows = conn.execute(
            sql.SQL("SELECT version, type, data FROM {} WHERE stream_id = %s ORDER BY version")
            .format(EVENTS), (stream,)).fetchall()
    for version, type_, data in rows:
        if version != card.version + 1:
            raise RuntimeError(f"stream {stream}: event {version} follows {card.version}")
        card.apply(type_, data)
    say(f"{who} loads {stream}: version {card.version}, title {card.title!r}, "
        f"column {card.column}, assignee {card.assignee}")
    return card


# The commands: each decides, from the card as loaded, the events to append.

def rename(card, title):
    return [("CardRenamed", {"title": title})] if title != card.title else []


def move(card, to):
    # the event records where the card was: a move decided on a stale card
    # would record a column the card is no longer in
    return [("CardMoved", {"from": card.column, "to": to})] if to != card.column else []


def assign(card, to):
    return [("CardAssigned", {"to": to})] if to != card.assignee else []


# ------------------------------------------------------------ appending

def append_with_if_match(conn, card, events, commit=None):
    """Append the events, expecting the card's version, with SET LOCAL
    occ.if_match and a plain INSERT: occ numbers the events.  Returns the
    versions they got.  commit, if given, is waited for before committing
    (the stream stays locked meanwhile)."""
    with conn.transaction():
        # SET takes no bind parameters: compose the literal client-side.
        conn.execute(sql.SQL("SET LOCAL occ.if_match = {}").format(sql.Literal(str(card.version))))
        # one statement for all the events: occ.if_match states the
        # version before the statement's first event, the others follow it
        rows = conn.execute(
            sql.SQL("INSERT INTO {} (stream_id, type, data) VALUES {} RETURNING version").format(
                EVENTS, sql.SQL(", ").join(sql.SQL("(%s, %s, %s)") for _ in events)),
            [x for t, d in events for x in (card.stream, t, Jsonb(d))]).fetchall()
        versions = [r[0] for r in rows]
        if commit is not None:
            commit.wait()
    return versions


def append_with_function(conn, card, events, commit=None):
    """Append the events, expecting the card's version, with occ.append,
    which returns the stream's new version."""
    with conn.transaction():
        version = conn.execute(
            "SELECT occ.append(%s, %s, %s, %s)",
            (EVENTS.as_string(conn), card.stream, str(card.version),
             Jsonb([{"type": t, "data": d} for t, d in events]))).fetchone()[0]
        if commit is not None:
            commit.wait()
    return version


# ------------------------------------------------------------ checks

def stream_rows(admin):
    return admin.execute(
        sql.SQL("SELECT version, type, data FROM {} WHERE stream_id = %s ORDER BY version")
        .format(EVENTS), (STREAM,)).fetchall()


def stream_version(admin):
    return admin.execute("SELECT occ.stream_version(%s, %s)",
                         (EVENTS.as_string(admin), STREAM)).fetchone()[0]


def wait_for_stream_lock(admin, pid, granted):
    """Wait until the backend pid holds (granted) or waits for (not granted)
    a stream's lock: an advisory lock in occ's lock space, objsubid 20291.
    True if it does within LOCK_WAIT_SECONDS."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while time.monotonic() < deadline:
        if admin.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND granted = %s"
                " AND locktype = 'advisory' AND objsubid = 20291", (pid, granted)).fetchone()[0]:
            return True
        time.sleep(0.02)
    return False


class Attempt(threading.Thread):
    """An append run on its own thread (its own connection), which blocks
    while the other user's transaction holds the stream."""

    def __init__(self, append, *args):
        super().__init__(daemon=True)
        self.append, self.args = append, args
        self.result, self.error = None, None

    def run(self):
        try:
            self.result = self.append(*self.args)
        except psycopg.Error as e:
            self.error = e


def conflict(winner_name, winner_append, winner_conn, winner_change,
             loser_name, loser_append, loser_conn, loser_change, admin, stated_as):
    """Both load the card; the winner appends and holds its transaction
    open; the loser's append waits for the stream, and once the winner
    commits, is refused with 40V01.  The loser reloads, decides again and
    appends expecting the new version.  Returns the loser's retry's card."""
    winner_card = load(winner_conn, winner_name)
    loser_card = load(loser_conn, loser_name)
    n = winner_card.version
    check(f"both load the same version ({winner_name}, {loser_name})",
          (winner_card.version, loser_card.version), (n, n))
    winner_events = winner_change(winner_card)
    loser_events = loser_change(loser_card)

    winner_pid, loser_pid = winner_conn.info.backend_pid, loser_conn.info.backend_pid

    say(f"{winner_name} appends {[t for t, _ in winner_events]} expecting {n}, "
        "and has not committed yet.")
    commit = threading.Event()
    first = Attempt(winner_append, winner_conn, winner_card, winner_events, commit)
    first.start()
    check(f"{winner_name}'s transaction holds the stream's lock",
          wait_for_stream_lock(admin, winner_pid, granted=True), True)

    say(f"{loser_name} appends {[t for t, _ in loser_events]} expecting {n} ({stated_as}).")
    second = Attempt(loser_append, loser_conn, loser_card, loser_events)
    second.start()
    check(f"{loser_name}'s append waits for the stream's lock",
          wait_for_stream_lock(admin, loser_pid, granted=False), True)
    check(f"{loser_name}'s append has not returned", second.is_alive(), True)

    say(f"{winner_name} commits.")
    commit.set()
    first.join(LOCK_WAIT_SECONDS)
    second.join(LOCK_WAIT_SECONDS)
    check(f"{winner_name}'s append went through", first.error, None)
    want = (list(range(n + 1, n + 1 + len(winner_events)))
            if winner_append is append_with_if_match else n + len(winner_events))
    check(f"{winner_name}'s append returned", first.result, want)

    e = second.error
    if e is None or e.sqlstate != "40V01":
        say(f"    [FAILED] {loser_name}'s append with a stale expected version: "
            f"{'accepted' if e is None else e}")
        failures.append(f"{loser_name}'s stale append refused")
    else:
        d = e.diag
        say(f"{loser_name}'s append is refused:")
        say(f"    {d.sqlstate} {d.message_primary}")
        say(f"    DETAIL: {d.message_detail}")
        say(f"    HINT:   {d.message_hint}")
        check("SQLSTATE", d.sqlstate, "40V01")
        check("message", d.message_primary, 'version conflict on append to relation "events"')
        check("schema_name, table_name, column_name", (d.schema_name, d.table_name, d.column_name),
              (SCHEMA, "events", "version"))
        check("message_detail: the stream, its version and the one expected", d.message_detail,
              f"Stream '{STREAM}' has version {n + len(winner_events)}, but {stated_as} is '{n}'.")
    check(f"{loser_name}'s connection is idle again after the rolled-back transaction",
          loser_conn.info.transaction_status.name, "IDLE")
    check(f"nothing of {loser_name}'s was appended: the stream holds {winner_name}'s events last",
          [t for _, t, _ in stream_rows(admin)][n:], [t for t, _ in winner_events])

    say(f"{loser_name} loads the card again and decides the change again.")
    for attempt in range(1, 6):
        loser_card = load(loser_conn, loser_name)
        loser_events = loser_change(loser_card)
        say(f"{loser_name} appends {loser_events} expecting {loser_card.version} (attempt {attempt}).")
        try:
            loser_append(loser_conn, loser_card, loser_events)
            break
        except psycopg.Error as e:
            if e.sqlstate != "40V01":
                raise
            say("Refused again.")
    check(f"{loser_name}'s retry went through at the first attempt", attempt, 1)
    check(f"{loser_name} retried expecting", loser_card.version, n + len(winner_events))
    return loser_card, loser_events


def main():
    # Autocommit connections: every transaction below is an explicit
    # "with conn.transaction()" block, so it is plain where each one ends.
    admin = psycopg.connect(autocommit=True, application_name="admin")
    alice = psycopg.connect(autocommit=True, application_name="alice")
    bob = psycopg.connect(autocommit=True, application_name="bob")
    for conn in (alice, bob):
        # a bug must not hang the program: no append waits longer than this
        conn.execute(f"SET lock_timeout = '{LOCK_WAIT_SECONDS * 2}s'")
    try:
        say("== Setting the scene")
        admin.execute("CREATE EXTENSION IF NOT EXISTS occ")
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        admin.execute(sql.SQL(
            "CREATE TABLE {} (stream_id text, version bigint, type text NOT NULL,"
            " data jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),"
            " PRIMARY KEY (stream_id, version))").format(EVENTS))
        admin.execute("SELECT occ.enable(%s, kind => 'stream', stream_column => 'stream_id',"
                      " version_column => 'version')", (EVENTS.as_string(admin),))
        say(f"{SCHEMA}.events (stream_id, version, type, data, recorded_at), primary key")
        say("(stream_id, version), made a stream table by occ.enable(kind => 'stream').")
        check("occ.tables: kind, stream column, version column",
              admin.execute("SELECT kind, stream_column, version_column FROM occ.tables"
                            " WHERE table_name = %s::regclass", (EVENTS.as_string(admin),)).fetchone(),
              ("stream", "stream_id", "version"))

        say()
        say("== Alice creates card 7 (expecting version 0: the stream must not exist)")
        card = Card(STREAM)
        v = append_with_function(alice, card, [("CardCreated", {"title": "Write the docs",
                                                                "column": "Todo"})])
        check("occ.append returned the stream's new version", v, 1)
        card = load(alice, "Alice")
        v = append_with_if_match(alice, card, rename(card, "Write the README") + assign(card, "alice"))
        check("two events in one INSERT, expecting 1, got versions", v, [2, 3])
        say("Bob, unaware of it, creates card 7 too, expecting version 0:")
        try:
            append_with_function(bob, Card(STREAM), [("CardCreated", {"title": "Docs",
                                                                      "column": "Todo"})])
            say("    [FAILED] a second creation was accepted")
            failures.append("second creation refused")
        except psycopg.Error as e:
            say(f"    refused: {e.sqlstate} {e.diag.message_detail}")
            check("SQLSTATE", e.sqlstate, "40V01")
        check("the stream's version (occ.stream_version)", stream_version(admin), 3)

        say()
        say("== Round 1: Alice moves the card, Bob renames it, at the same time")
        say("Alice states her version with SET LOCAL occ.if_match, Bob through occ.append.")
        bob_card, bob_events = conflict(
            "Alice", append_with_if_match, alice, lambda c: move(c, "Doing"),
            "Bob", append_with_function, bob, lambda c: rename(c, "Write the README and the FAQ"),
            admin, 'argument "expected"')
        check("Bob's card, reloaded, shows Alice's move (column)", bob_card.column, "Doing")
        check("the stream's version", stream_version(admin), 5)

        say()
        say("== Round 2: Bob assigns the card to himself, Alice moves it to Review, at the same time")
        say("Bob appends first, through occ.append; Alice's occ.if_match is stale.")
        alice_card, alice_events = conflict(
            "Bob", append_with_function, bob, lambda c: assign(c, "bob"),
            "Alice", append_with_if_match, alice, lambda c: move(c, "Review"),
            admin, "occ.if_match")
        check("Alice's card, reloaded, shows Bob's assignment", alice_card.assignee, "bob")
        check("Alice's move, decided again, still moves from", alice_events[0][1]["from"], "Doing")

        say()
        say("== Round 3: a move decided on a stale card would record the wrong column")
        stale = load(alice, "Alice")
        fresh = load(bob, "Bob")
        append_with_function(bob, fresh, move(fresh, "Done"))
        say("Bob moved it to Done. Alice, from the card she loaded, moves it back to Doing:")
        decided = move(stale, "Doing")
        say(f"    her event would say {decided[0][1]}")
        try:
            append_with_if_match(alice, stale, decided)
            say("    [FAILED] the stale move was accepted")
            failures.append("stale move refused")
        except psycopg.Error as e:
            say(f"    refused: {e.sqlstate} {e.diag.message_detail}")
            check("SQLSTATE", e.sqlstate, "40V01")
        stale = load(alice, "Alice")
        decided = move(stale, "Doing")
        check("decided again, from the reloaded card", decided, [("CardMoved", {"from": "Done", "to": "Doing"})])
        check("appended as version", append_with_if_match(alice, stale, decided), [9])

        say()
        say("== What the stream holds")
        rows = stream_rows(admin)
        for version, type_, data in rows:
            say(f"    {version}  {type_:13} {data}")
        check("versions 1 to n, no gap, no duplicate", [r[0] for r in rows], list(range(1, 10)))
        check("the events, in order", [r[1] for r in rows],
              ["CardCreated", "CardRenamed", "CardAssigned", "CardMoved", "CardRenamed",
               "CardAssigned", "CardMoved", "CardMoved", "CardMoved"])
        check("occ.stream_version", stream_version(admin), 9)
        final = load(admin, "A check")
        check("the card, replayed (title, column, assignee)",
              (final.title, final.column, final.assignee),
              ("Write the README and the FAQ", "Doing", "bob"))
        say("Events are never changed:")
        try:
            admin.execute(sql.SQL("UPDATE {} SET data = '{{}}' WHERE stream_id = %s AND version = 1")
                          .format(EVENTS), (STREAM,))
            say("    [FAILED] an UPDATE of an event was accepted")
            failures.append("UPDATE refused")
        except psycopg.Error as e:
            say(f"    UPDATE refused: {e.sqlstate} {e.diag.message_primary}")
            check("SQLSTATE", e.sqlstate, "55000")
    finally:
        # Close Alice's and Bob's connections first: a transaction either
        # left open would hold a lock that DROP waits for.
        alice.close()
        bob.close()
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        admin.close()

    say()
    if failures:
        say(f"FAILED: {len(failures)} check(s) did not hold: {', '.join(failures)}")
        return 1
    say("All checks held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
