#!/usr/bin/python3
"""examples/sqlalchemy/versioned.py -- SQLAlchemy's own optimistic locking on a table occ protects.

SQLAlchemy (Debian 12's python3-sqlalchemy, 1.4, over python3-psycopg2)
keeps a version column when a mapping names it as ``version_id_col``: its
UPDATE sends ``SET version = read + 1 ... WHERE id = ? AND version = read``,
its DELETE ``WHERE id = ? AND version = read``, and when either matches no
row it raises ``sqlalchemy.orm.exc.StaleDataError``.  occ accepts both on
lax and strict tables (the WHERE term states the version the ORM read), and
holds every other writer to the same rule.

Four mappings, each on a table of its own:

* ``Account``: an integer ``version_id_col``, SQLAlchemy counts;
* ``Document``: a timestamp ``version_id_col`` with
  ``version_id_generator=False``: the database (occ) sets the next version
  and SQLAlchemy reads it back with ``RETURNING``;
* ``Note``: a plain ``updated_at`` column with ``onupdate=``, the time the
  application assigns; occ protects it as a timestamp version, and keeps
  the assigned time (a proposal) in lax mode; strict refuses the UPDATE,
  which states no version;
* ``Page``: the same ``updated_at`` as ``version_id_col`` with a generator
  that returns the time: ``WHERE updated_at = read`` states the version,
  the new time is a proposal, and strict accepts it.

Each runs in lax and in strict mode.  A few lines of application code (an
engine ``handle_error`` listener) turn occ's 40V01 into ``StaleDataError``,
so a conflict caught by the database looks like one caught by the ORM.

Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, ...).  Creates its own tables, drops them at the end, and exits
non-zero if anything does not happen as told.  Run it with Debian's
python3: /usr/bin/python3 versioned.py
"""

import datetime
import os
import sys

import psycopg2
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy.orm.exc import StaleDataError

PID = os.getpid()
ACCOUNTS = f"occ_example_sqlalchemy_accounts_{PID}"
DOCUMENTS = f"occ_example_sqlalchemy_documents_{PID}"
NOTES = f"occ_example_sqlalchemy_notes_{PID}"
PAGES = f"occ_example_sqlalchemy_pages_{PID}"

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


def expect_error(what, action, exc_class, sqlstate=None):
    """Run action(); check that it raises exc_class (with sqlstate, if given)."""
    try:
        action()
    except exc_class as e:
        code = getattr(getattr(e, "orig", e), "pgcode", None)
        if sqlstate is None or code == sqlstate:
            say(f"    [ok] {what}: {type(e).__name__}"
                + (f" {code}" if code else "") + f": {first_line(e)}")
            return e
        say(f"    [FAILED] {what}: expected SQLSTATE {sqlstate}, got {code}: {first_line(e)}")
        failures.append(what)
        return e
    except Exception as e:  # pylint: disable=broad-except
        say(f"    [FAILED] {what}: expected {exc_class.__name__}, got "
            f"{type(e).__name__}: {first_line(e)}")
        failures.append(what)
        return e
    say(f"    [FAILED] {what}: expected {exc_class.__name__}, nothing was raised")
    failures.append(what)
    return None


def first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else ""


Base = declarative_base()


class Account(Base):
    """SQLAlchemy counts: version_id_col on an integer column."""
    __tablename__ = ACCOUNTS
    id = sa.Column(sa.Integer, primary_key=True)
    owner = sa.Column(sa.Text, nullable=False)
    balance = sa.Column(sa.Integer, nullable=False)
    version = sa.Column(sa.BigInteger, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class Document(Base):
    """The database counts: occ sets the next timestamp, SQLAlchemy reads it back."""
    __tablename__ = DOCUMENTS
    id = sa.Column(sa.Integer, primary_key=True)
    body = sa.Column(sa.Text, nullable=False)
    modified = sa.Column(sa.DateTime(timezone=True), nullable=False,
                         server_default=sa.func.now())
    __mapper_args__ = {"version_id_col": modified, "version_id_generator": False}


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


class Note(Base):
    """No version_id_col: SQLAlchemy only assigns updated_at on every UPDATE."""
    __tablename__ = NOTES
    id = sa.Column(sa.Integer, primary_key=True)
    text = sa.Column(sa.Text, nullable=False)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False,
                           default=utc_now, onupdate=utc_now)


class Page(Base):
    """updated_at as version_id_col, SQLAlchemy assigning the time: WHERE states, SET proposes."""
    __tablename__ = PAGES
    id = sa.Column(sa.Integer, primary_key=True)
    text = sa.Column(sa.Text, nullable=False)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    __mapper_args__ = {"version_id_col": updated_at,
                       "version_id_generator": lambda read: utc_now()}


engine = sa.create_engine("postgresql+psycopg2://", future=True)


# The application's few lines: a stale write that occ refuses (SQLSTATE
# 40V01) becomes the ORM's own StaleDataError.
@event.listens_for(engine, "handle_error")
def occ_conflict_is_stale_data(ctx):
    if getattr(ctx.original_exception, "pgcode", None) == "40V01":
        raise StaleDataError(str(ctx.original_exception)) from ctx.original_exception


# The SQL SQLAlchemy sends, as the server saw it, collected for the summary.
sent = []


@event.listens_for(engine, "before_cursor_execute")
def remember(conn, cursor, statement, parameters, context, executemany):
    sent.append(cursor.mogrify(statement, parameters).decode())


def last_sent(prefix):
    for s in reversed(sent):
        if s.lstrip().upper().startswith(prefix):
            return " ".join(s.split())
    return None


def db_row(raw, table, key, columns):
    with raw.cursor() as cur:
        cur.execute(f'SELECT {columns} FROM "{table}" WHERE id = %s', (key,))
        return cur.fetchone()


def raw_write(raw, statement, args=()):
    """Run one statement in its own transaction on the raw psycopg2 connection."""
    with raw.cursor() as cur:
        cur.execute(statement, args)
        return cur.rowcount


def accounts(raw, mode, key):
    say(f"\n== Account (integer version_id_col), {mode} mode")
    with Session(engine) as s:
        s.add(Account(id=key, owner="Alice and Bob", balance=100))
        s.commit()
    check("INSERT gives the version SQLAlchemy counts from",
          db_row(raw, ACCOUNTS, key, "version"), (1,))

    # a. a save of the current row succeeds; the version advances once
    with Session(engine) as s:
        a = s.get(Account, key)
        a.balance += 50
        s.commit()
        check("a. SQLAlchemy's UPDATE of the current row: in-memory version", a.version, 2)
    say(f"    sent: {last_sent('UPDATE')}")
    check("a. the row advanced exactly once (balance, version)",
          db_row(raw, ACCOUNTS, key, "balance, version"), (150, 2))

    # b. two sessions load version 2; Alice saves; Bob's save is stale
    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Account, key), bob.get(Account, key)
        a.balance += 10
        alice.commit()
        b.balance -= 30

        def bob_saves():
            bob.commit()
        e = expect_error("b. Bob's stale save raises SQLAlchemy's own exception",
                         bob_saves, StaleDataError)
        check("b. it comes from the ORM's 0-row check, not from occ",
              e is not None and e.__cause__ is None, True)
    check("b. the row keeps Alice's save (balance, version)",
          db_row(raw, ACCOUNTS, key, "balance, version"), (160, 3))

    # c. a raw writer that bypasses the ORM
    if mode == "strict":
        expect_error("c. a raw UPDATE that states no version is refused",
                     lambda: raw_write(raw, f'UPDATE "{ACCOUNTS}" SET balance = 0 WHERE id = %s',
                                       (key,)),
                     psycopg2.IntegrityError, "23V01")
    else:
        check("c. lax: a raw UPDATE that states no version is allowed (and counted)",
              raw_write(raw, f'UPDATE "{ACCOUNTS}" SET balance = balance + 1 WHERE id = %s',
                        (key,)), 1)
    current = db_row(raw, ACCOUNTS, key, "version")[0]
    expect_error(f"c. a raw UPDATE stating the stale version 2 (current {current}) is refused",
                 lambda: raw_write(raw, f'UPDATE "{ACCOUNTS}" SET balance = 0, version = 2'
                                   ' WHERE id = %s', (key,)),
                 psycopg2.OperationalError, "40V01")

    # e. the application kept an ETag; another client wrote since; the
    #    app's bulk UPDATE (no ORM version check) states the ETag through
    #    occ.if_match, and occ's 40V01 comes back as StaleDataError.
    etag = f'"{current}"'
    raw_write(raw, f'UPDATE "{ACCOUNTS}" SET balance = balance + 5, version = %s WHERE id = %s',
              (current, key))  # another client's write: now current + 1

    def deposit_with_etag():
        with Session(engine) as s, s.begin():
            s.execute(sa.text("SELECT set_config('occ.if_match', :etag, true)"), {"etag": etag})
            s.query(Account).filter_by(id=key).update(
                {Account.balance: Account.balance + 20}, synchronize_session=False)
    expect_error(f"e. a bulk UPDATE with the kept ETag {etag} after another client's write",
                 deposit_with_etag, StaleDataError)
    current = db_row(raw, ACCOUNTS, key, "version")[0]
    etag = f'"{current}"'

    def deposit_with_fresh_etag():
        with Session(engine) as s, s.begin():
            s.execute(sa.text("SELECT set_config('occ.if_match', :etag, true)"), {"etag": etag})
            return s.query(Account).filter_by(id=key).update(
                {Account.balance: Account.balance + 20}, synchronize_session=False)
    check(f"e. the same with the current ETag {etag} updates the row", deposit_with_fresh_etag(), 1)
    say(f"    sent: {last_sent('UPDATE')}")

    # What opts out: a bulk UPDATE assigning version = version + 1 states
    # the current version, whatever the application read (like If-Match: *).
    current = db_row(raw, ACCOUNTS, key, "version")[0]
    with Session(engine) as s, s.begin():
        rows = s.query(Account).filter_by(id=key).update(
            {Account.balance: Account.balance - 20, Account.version: Account.version + 1},
            synchronize_session=False)
    say(f"    sent: {last_sent('UPDATE')}")
    check("opt-out: query.update() with version = version + 1 is accepted, the version "
          "advanced once", (rows, db_row(raw, ACCOUNTS, key, "version")[0]), (1, current + 1))

    # d. delete: a stale one gets StaleDataError; the current one works
    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Account, key), bob.get(Account, key)
        a.balance += 1
        alice.commit()
        bob.delete(b)
        expect_error("d. Bob's stale delete raises SQLAlchemy's own exception",
                     bob.commit, StaleDataError)
    with Session(engine) as s:
        s.delete(s.get(Account, key))
        s.commit()
    say(f"    sent: {last_sent('DELETE')}")
    check("d. SQLAlchemy's delete of the current row removed it",
          db_row(raw, ACCOUNTS, key, "1"), None)


def documents(raw, mode, key):
    say(f"\n== Document (timestamp version_id_col, version_id_generator=False: occ counts),"
        f" {mode} mode")
    with Session(engine) as s:
        d = Document(id=key, body="draft")
        s.add(d)
        s.commit()
        first = d.modified
    say(f"    sent: {last_sent('INSERT')}")
    check("INSERT read the column default back", db_row(raw, DOCUMENTS, key, "modified"), (first,))

    with Session(engine) as s:
        d = s.get(Document, key)
        d.body = "first edit"
        s.commit()
        mine = d.modified
    say(f"    sent: {last_sent('UPDATE')}")
    stored = db_row(raw, DOCUMENTS, key, "modified")[0]
    check("a. the save went through; SQLAlchemy holds the version occ set",
          (mine == stored, stored > first), (True, True))

    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Document, key), bob.get(Document, key)
        a.body = "Alice's edit"
        alice.commit()
        b.body = "Bob's edit"
        expect_error("b. Bob's stale save raises StaleDataError", bob.commit, StaleDataError)
    check("b. the row keeps Alice's edit", db_row(raw, DOCUMENTS, key, "body"), ("Alice's edit",))

    if mode == "strict":
        expect_error("c. a raw UPDATE that states no version is refused",
                     lambda: raw_write(raw, f'UPDATE "{DOCUMENTS}" SET body = %s WHERE id = %s',
                                       ("raw", key)),
                     psycopg2.IntegrityError, "23V01")
    expect_error("c. a raw UPDATE stating an old timestamp is refused",
                 lambda: raw_write(raw, f'UPDATE "{DOCUMENTS}" SET body = %s, modified = %s'
                                   ' WHERE id = %s', ("raw", first, key)),
                 psycopg2.OperationalError, "40V01")

    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Document, key), bob.get(Document, key)
        a.body = "Alice again"
        alice.commit()
        bob.delete(b)
        expect_error("d. Bob's stale delete raises StaleDataError", bob.commit, StaleDataError)
    with Session(engine) as s:
        s.delete(s.get(Document, key))
        s.commit()
    say(f"    sent: {last_sent('DELETE')}")
    check("d. the delete of the current row removed it", db_row(raw, DOCUMENTS, key, "1"), None)


def notes(raw, mode, key):
    say(f"\n== Note (updated_at with onupdate=, no version_id_col; occ protects updated_at),"
        f" {mode} mode")
    with Session(engine) as s:
        n = Note(id=key, text="hello")
        s.add(n)
        s.commit()
    with Session(engine) as s:
        n = s.get(Note, key)
        before = n.updated_at
        n.text = "hello again"
        if mode == "strict":
            expect_error("strict: the ORM's UPDATE assigns a later time but states no version",
                         s.commit, sa.exc.IntegrityError, "23V01")
            say(f"    sent: {last_sent('UPDATE')}")
            s.rollback()
            s.delete(s.get(Note, key))
            expect_error("strict: the ORM's DELETE states no version either",
                         s.commit, sa.exc.IntegrityError, "23V01")
            say(f"    sent: {last_sent('DELETE')}")
            s.rollback()
            raw_write(raw, "SET occ.if_match = '*'")
            raw_write(raw, f'DELETE FROM "{NOTES}" WHERE id = %s', (key,))
            raw_write(raw, "RESET occ.if_match")
            return
        s.commit()
        assigned = n.updated_at
    say(f"    sent: {last_sent('UPDATE')}")
    check("lax: the time SQLAlchemy assigned is a proposal, kept as the new version",
          (db_row(raw, NOTES, key, "updated_at")[0] == assigned, assigned > before), (True, True))
    expect_error("lax: a raw UPDATE stating the old time is refused",
                 lambda: raw_write(raw, f'UPDATE "{NOTES}" SET text = %s, updated_at = %s'
                                   ' WHERE id = %s', ("raw", before, key)),
                 psycopg2.OperationalError, "40V01")
    with Session(engine) as s:
        s.delete(s.get(Note, key))
        s.commit()
    check("lax: the ORM's DELETE removed it", db_row(raw, NOTES, key, "1"), None)


def pages(raw, mode, key):
    say(f"\n== Page (updated_at as version_id_col, version_id_generator=utc_now), {mode} mode")
    with Session(engine) as s:
        p = Page(id=key, text="hello")
        s.add(p)
        s.commit()
        first = p.updated_at
    with Session(engine) as s:
        p = s.get(Page, key)
        p.text = "hello again"
        s.commit()
        assigned = p.updated_at
    say(f"    sent: {last_sent('UPDATE')}")
    check("a. the time SQLAlchemy assigned is the row's new version",
          (db_row(raw, PAGES, key, "updated_at")[0] == assigned, assigned > first), (True, True))
    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Page, key), bob.get(Page, key)
        a.text = "Alice's edit"
        alice.commit()
        b.text = "Bob's edit"
        expect_error("b. Bob's stale save raises StaleDataError", bob.commit, StaleDataError)
    if mode == "strict":
        expect_error("c. a raw UPDATE that states no version is refused",
                     lambda: raw_write(raw, f'UPDATE "{PAGES}" SET text = %s WHERE id = %s',
                                       ("raw", key)),
                     psycopg2.IntegrityError, "23V01")
    expect_error("c. a raw UPDATE stating an old time is refused",
                 lambda: raw_write(raw, f'UPDATE "{PAGES}" SET text = %s, updated_at = %s'
                                   ' WHERE id = %s', ("raw", first, key)),
                 psycopg2.OperationalError, "40V01")
    with Session(engine) as alice, Session(engine) as bob:
        a, b = alice.get(Page, key), bob.get(Page, key)
        a.text = "Alice again"
        alice.commit()
        bob.delete(b)
        expect_error("d. Bob's stale delete raises StaleDataError", bob.commit, StaleDataError)
    with Session(engine) as s:
        s.delete(s.get(Page, key))
        s.commit()
    check("d. the delete of the current row removed it", db_row(raw, PAGES, key, "1"), None)


def main():
    raw = psycopg2.connect("", application_name="raw writer")
    raw.autocommit = True
    try:
        say(f"SQLAlchemy {sa.__version__}, psycopg2 {psycopg2.__version__.split()[0]}")
        raw_write(raw, "CREATE EXTENSION IF NOT EXISTS occ")
        Base.metadata.create_all(engine)
        raw_write(raw, "SELECT occ.enable(%s, 'version')", (ACCOUNTS,))
        raw_write(raw, "SELECT occ.enable(%s, 'modified', 'timestamp')", (DOCUMENTS,))
        raw_write(raw, "SELECT occ.enable(%s, 'updated_at', 'timestamp')", (NOTES,))
        raw_write(raw, "SELECT occ.enable(%s, 'updated_at', 'timestamp')", (PAGES,))
        say(f"Tables {ACCOUNTS}, {DOCUMENTS}, {NOTES}, {PAGES};")
        say("occ enabled on version, modified, updated_at, updated_at.")
        for key, mode in enumerate(("lax", "strict"), start=1):
            for table in (ACCOUNTS, DOCUMENTS, NOTES, PAGES):
                raw_write(raw, "SELECT occ.set_mode(%s, %s)", (table, mode))
            for part in (accounts, documents, notes, pages):
                try:
                    part(raw, mode, key)
                except Exception as e:  # pylint: disable=broad-except
                    say(f"    [FAILED] {part.__name__}, {mode}: unexpected "
                        f"{type(e).__name__}: {first_line(e)}")
                    failures.append(f"{part.__name__} ({mode})")
    finally:
        engine.dispose()
        for table in (ACCOUNTS, DOCUMENTS, NOTES, PAGES):
            raw_write(raw, f'DROP TABLE IF EXISTS "{table}"')
        raw.close()

    say()
    if failures:
        say(f"FAILED: {len(failures)} check(s) did not hold: {', '.join(failures)}")
        return 1
    say("All checks held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
