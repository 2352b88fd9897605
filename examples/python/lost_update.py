#!/usr/bin/python3
"""examples/python/lost_update.py -- occ catches a lost update, seen from psycopg 3.

Alice and Bob share a bank account.  Each has their own connection; both
read the balance and its version, Alice writes first, and Bob's write,
which states the version he read, is refused by the server with SQLSTATE
40V01.  Bob reads the account again and retries, and both changes are kept.
Then Bob closes the account with a DELETE that states the version through
occ.if_match, set with SET LOCAL for one transaction.

Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, ...).  Creates its own table, drops it at the end, and exits
non-zero if anything does not happen as told.  Run it with Debian's
python3 (package python3-psycopg): /usr/bin/python3 lost_update.py
"""

import os
import sys

import psycopg
from psycopg import sql

TABLE = f"occ_example_python_{os.getpid()}"

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


def read_account(conn, who):
    """Read account 1 in a transaction of its own; return (balance, version)."""
    with conn.transaction():
        row = conn.execute(
            sql.SQL("SELECT balance, version FROM {} WHERE id = %s").format(
                sql.Identifier(TABLE)), (1,)).fetchone()
    if row is None:
        raise RuntimeError("account 1 is gone")
    balance, version = row
    say(f"{who} reads account 1: balance {balance}, version {version}")
    return balance, version


def write_account(conn, balance, version):
    """Write a new balance, stating the version it was computed from.

    Returns the new version (RETURNING shows the version the trigger set),
    or None if no row was written."""
    with conn.transaction():
        row = conn.execute(
            sql.SQL("UPDATE {} SET balance = %s, version = %s WHERE id = %s"
                    " RETURNING version").format(sql.Identifier(TABLE)),
            (balance, version, 1)).fetchone()
    return row[0] if row else None


def main():
    # Autocommit connections: every transaction below is an explicit
    # "with conn.transaction()" block, so it is plain where each one ends.
    admin = psycopg.connect(autocommit=True, application_name="admin")
    alice = psycopg.connect(autocommit=True, application_name="alice")
    bob = psycopg.connect(autocommit=True, application_name="bob")
    table = sql.Identifier(TABLE)
    try:
        say("== Setting the scene")
        admin.execute("CREATE EXTENSION IF NOT EXISTS occ")
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        admin.execute(sql.SQL(
            "CREATE TABLE {} (id int PRIMARY KEY, owner text, balance int)").format(table))
        admin.execute(sql.SQL("INSERT INTO {} VALUES (1, 'Alice and Bob', 100)").format(table))
        admin.execute("SELECT occ.enable(%s)", (TABLE,))
        schema = admin.execute("SELECT current_schema()").fetchone()[0]
        say(f"Table {TABLE} holds account 1 with balance 100; occ.enable added")
        say("the column \"version\", which starts at 1 and grows by 1 with every UPDATE.")

        say()
        say("== Both read, Alice writes first")
        a_balance, a_version = read_account(alice, "Alice")
        b_balance, b_version = read_account(bob, "Bob")
        check("Alice and Bob read the same version", (a_version, b_version), (1, 1))

        say(f"Alice deposits 50: she writes {a_balance + 50}, stating version {a_version}.")
        a_version = write_account(alice, a_balance + 50, a_version)
        check("Alice's UPDATE wrote the row, and RETURNING gives its new version",
              a_version, 2)
        say("Alice's transaction is committed.")

        say()
        say("== Bob writes with the version he read, which is now stale")
        say(f"Bob withdraws 30 from the balance he read: he writes {b_balance - 30},")
        say(f"stating version {b_version}.")
        caught = None
        try:
            write_account(bob, b_balance - 30, b_version)
        except psycopg.Error as e:
            if e.sqlstate != "40V01":
                raise
            caught = e
        if caught is None:
            say("    [FAILED] Bob's stale write was accepted: Alice's deposit is lost")
            failures.append("stale write refused")
        else:
            e = caught
            d = e.diag
            say("The server refuses Bob's write.  psycopg raises:")
            say(f"    exception class:       {type(e).__module__}.{type(e).__qualname__}")
            say(f"    message:               {d.message_primary}")
            say(f"    e.sqlstate:            {e.sqlstate}")
            say(f"    e.diag.sqlstate:       {d.sqlstate}")
            say(f"    e.diag.schema_name:    {d.schema_name}")
            say(f"    e.diag.table_name:     {d.table_name}")
            say(f"    e.diag.column_name:    {d.column_name}")
            say(f"    e.diag.message_detail: {d.message_detail}")
            say(f"    e.diag.message_hint:   {d.message_hint}")
            say("40V01 is in class 40 (transaction rollback).  psycopg 3 has no class of")
            say("its own for it, so generic code should test e.sqlstate, not the class.")
            check("SQLSTATE", d.sqlstate, "40V01")
            check("message", d.message_primary,
                  f'version conflict on update of relation "{TABLE}"')
            check("schema_name", d.schema_name, schema)
            check("table_name", d.table_name, TABLE)
            check("column_name", d.column_name, "version")
            check("message_detail", d.message_detail,
                  "Key (id)=(1) has version 2, but the update stated version 1.")
            check("message_hint names what to do",
                  bool(d.message_hint) and "retry" in d.message_hint, True)
            check("exception is a psycopg.OperationalError",
                  isinstance(e, psycopg.OperationalError), True)
            say("    (not psycopg.errors.TransactionRollback, the class of 40001 and 40P01:"
                f" isinstance gives {isinstance(e, psycopg.errors.TransactionRollback)})")
        check("Bob's connection is usable again after the rolled-back transaction",
              bob.info.transaction_status.name, "IDLE")
        row = admin.execute(sql.SQL("SELECT balance, version FROM {} WHERE id = 1").format(
            table)).fetchone()
        check("account 1 keeps Alice's write (balance, version)", row, (150, 2))

        say()
        say("== Bob re-reads and retries")
        for attempt in range(1, 6):
            b_balance, b_version = read_account(bob, "Bob")
            say(f"Bob writes {b_balance - 30}, stating version {b_version} (attempt {attempt}).")
            try:
                new_version = write_account(bob, b_balance - 30, b_version)
                break
            except psycopg.Error as e:
                if e.sqlstate != "40V01":
                    raise
                say("Refused again; Bob reads once more.")
        else:
            new_version = None
        check("Bob's retry wrote the row; its new version", new_version, 3)
        row = admin.execute(sql.SQL("SELECT balance, version FROM {} WHERE id = 1").format(
            table)).fetchone()
        if check("account 1 holds 100 + 50 - 30 (balance, version)", row, (120, 3)):
            say("Both changes are kept: no update was lost.")

        say()
        say("== Closing the account: a DELETE that states the version via occ.if_match")
        say("A DELETE assigns no column, so it states the version it expects through")
        say("the setting occ.if_match (an HTTP entity tag such as '\"3\"' works too).")
        say("SET LOCAL keeps the value to one transaction.")

        def delete_if_match(conn, etag):
            with conn.transaction():
                # SET takes no bind parameters: compose the literal client-side.
                # (SELECT set_config('occ.if_match', %s, true) is the same with one.)
                conn.execute(sql.SQL("SET LOCAL occ.if_match = {}").format(sql.Literal(etag)))
                return conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table),
                                    (1,)).rowcount

        say(f"Alice, still holding version {a_version} from her own write, tries to close it:")
        say(f"    SET LOCAL occ.if_match = '\"{a_version}\"'; DELETE ... WHERE id = 1")
        seen = None
        try:
            delete_if_match(alice, f'"{a_version}"')
        except psycopg.Error as e:
            seen = e
            say(f"    refused: {e.sqlstate} {e.diag.message_primary}")
            say(f"    {e.diag.message_detail}")
        check("stale DELETE refused with SQLSTATE", seen and seen.sqlstate, "40V01")
        check("stale DELETE message", seen and seen.diag.message_primary,
              f'version conflict on delete from relation "{TABLE}"')
        check("occ.if_match is unset once that transaction ended",
              alice.execute("SELECT current_setting('occ.if_match')").fetchone()[0], "")

        _, version = read_account(bob, "Bob")
        say(f"Bob closes it, stating the version he just read, '\"{version}\"':")
        rows = delete_if_match(bob, f'"{version}"')
        check("Bob's DELETE removed one row", rows, 1)
        check("occ.if_match is unset once Bob's transaction ended",
              bob.execute("SELECT current_setting('occ.if_match')").fetchone()[0], "")
        left = admin.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
        check("rows left in the table", left, 0)
    finally:
        # Close Alice's and Bob's connections first: a transaction either
        # left open would hold a lock that DROP TABLE waits for.
        alice.close()
        bob.close()
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        admin.close()

    say()
    if failures:
        say(f"FAILED: {len(failures)} check(s) did not hold: {', '.join(failures)}")
        return 1
    say("All checks held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
