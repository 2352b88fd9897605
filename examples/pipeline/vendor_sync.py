#!/usr/bin/python3
"""examples/pipeline/vendor_sync.py -- an integration pipeline on a table that cannot take a column.

A vendor's table of parts belongs to the vendor's application: nobody may
add a version column to it.  occ protects it with kind hash: a row's
version is a hash of its content, its entity tag comes from occ.etag(row),
and the column synced_at, which the vendor's sync job stamps, is excluded,
so that stamping it does not count as a change.

The pipeline reads part 7 and its tag.  Someone else (the vendor's
application, on its own connection) changes the price.  The pipeline's
write, stating the tag it read with SET LOCAL occ.if_match, is refused
with SQLSTATE 40V01, and the vendor's price is kept; the pipeline reads
the part again and writes, stating the new tag.  Then it writes once more
through occ.update, with the tag its last write returned; the same call
with a tag that is no longer the row's is refused.

Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, ...).  Creates its own schema, drops it at the end, and exits
non-zero if anything does not happen as told.  Run it with Debian's
python3 (package python3-psycopg): /usr/bin/python3 vendor_sync.py
"""

import functools
import json
import os
import re
import sys
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_loads

SCHEMA = f"occ_example_pipeline_{os.getpid()}"
PARTS = sql.Identifier(SCHEMA, "parts")

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


def read_part(conn, who):
    """Read part 7 and its entity tag in a transaction of its own."""
    with conn.transaction():
        row = conn.execute(
            sql.SQL("SELECT price, stock, occ.etag(p) FROM {} AS p WHERE id = 7").format(PARTS)
        ).fetchone()
    if row is None:
        raise RuntimeError("part 7 is gone")
    price, stock, tag = row
    say(f"{who} reads part 7: price {price}, stock {stock}, tag {tag}")
    return price, stock, tag


def write_stock(conn, stock, tag):
    """Set the stock of part 7, stating the tag it was computed from.

    One transaction: SET LOCAL occ.if_match, then the UPDATE, which also
    stamps synced_at.  Returns the new row's tag (RETURNING occ.etag), or
    None if no row was written."""
    with conn.transaction():
        # SET takes no bind parameters: compose the literal client-side.
        conn.execute(sql.SQL("SET LOCAL occ.if_match = {}").format(sql.Literal(tag)))
        row = conn.execute(
            sql.SQL("UPDATE {} AS p SET stock = %s, synced_at = now() WHERE id = 7"
                    " RETURNING occ.etag(p)").format(PARTS),
            (stock,)).fetchone()
    return row[0] if row else None


def main():
    # Autocommit connections: every transaction below is an explicit
    # "with conn.transaction()" block, so it is plain where each one ends.
    admin = psycopg.connect(autocommit=True, application_name="admin")
    pipeline = psycopg.connect(autocommit=True, application_name="pipeline")
    vendor = psycopg.connect(autocommit=True, application_name="vendor app")
    # jsonb numbers as Decimal, so that 11.00 reads back exactly
    set_json_loads(functools.partial(json.loads, parse_float=Decimal), pipeline)
    try:
        say("== Setting the scene")
        admin.execute("CREATE EXTENSION IF NOT EXISTS occ")
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        admin.execute(sql.SQL(
            "CREATE TABLE {} (id int PRIMARY KEY, sku text NOT NULL,"
            " price numeric(10,2) NOT NULL, stock int NOT NULL, synced_at timestamptz)").format(PARTS))
        admin.execute(sql.SQL(
            "INSERT INTO {} VALUES (7, 'BRK-7', 9.90, 40, now()), (8, 'BRK-8', 4.20, 12, now())"
        ).format(PARTS))
        columns_of = sql.SQL(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = {}::regclass AND attnum > 0 AND NOT attisdropped"
        ).format(sql.Literal(PARTS.as_string(admin)))
        before = admin.execute(columns_of).fetchone()[0]
        admin.execute("SELECT occ.enable(%s, kind => 'hash', exclude => '{synced_at}')",
                      (PARTS.as_string(admin),))
        say(f"The vendor's table {SCHEMA}.parts holds parts 7 and 8; occ.enable(kind => 'hash',")
        say("exclude => '{synced_at}') protects it without adding a column.")
        check("columns after occ.enable", admin.execute(columns_of).fetchone()[0], before)
        check("occ.tables: kind, version column, excluded columns",
              admin.execute("SELECT kind, version_column, excluded_columns::text[] FROM occ.tables"
                            " WHERE table_name = %s::regclass", (PARTS.as_string(admin),)).fetchone(),
              ("hash", None, ["synced_at"]))

        say()
        say("== The pipeline reads part 7 and its tag")
        price, stock, tag = read_part(pipeline, "The pipeline")
        check("the tag is an entity tag: 32 hexadecimal digits in double quotes",
              bool(re.fullmatch(r'"[0-9a-f]{32}"', tag)), True)

        say()
        say("== The vendor's sync job stamps synced_at, which does not count")
        with vendor.transaction():
            vendor.execute(sql.SQL("UPDATE {} SET synced_at = now() WHERE id = 7").format(PARTS))
        check("part 7's tag after synced_at changed",
              read_part(admin, "A check")[2], tag)

        say()
        say("== Someone else changes the price")
        say("The vendor's application sets part 7's price to 12.50 (stating nothing: the table is lax).")
        with vendor.transaction():
            n = vendor.execute(sql.SQL("UPDATE {} SET price = 12.50 WHERE id = 7").format(PARTS)).rowcount
        check("the vendor's UPDATE wrote one row", n, 1)
        _, _, vendor_tag = read_part(admin, "A check")
        check("the tag changed with the content", vendor_tag != tag, True)

        say()
        say("== The pipeline writes with the tag it read, which is now stale")
        say(f"It sells 3: SET LOCAL occ.if_match = '{tag}'; UPDATE ... SET stock = {stock - 3}")
        caught = None
        try:
            write_stock(pipeline, stock - 3, tag)
        except psycopg.Error as e:
            if e.sqlstate != "40V01":
                raise
            caught = e
        if caught is None:
            say("    [FAILED] the stale write was accepted: the vendor's price change is lost")
            failures.append("stale write refused")
        else:
            d = caught.diag
            say("The server refuses it:")
            say(f"    {d.sqlstate} {d.message_primary}")
            say(f"    DETAIL: {d.message_detail}")
            say(f"    HINT:   {d.message_hint}")
            check("SQLSTATE", d.sqlstate, "40V01")
            check("message", d.message_primary, 'version conflict on update of relation "parts"')
            check("schema_name, table_name", (d.schema_name, d.table_name), (SCHEMA, "parts"))
            digits = vendor_tag.strip('"')
            check("message_detail: the row's current hash and the stale tag",
                  d.message_detail,
                  f"Key (id)=(7) has version {digits}, but occ.if_match is '{tag}'.")
        check("the pipeline's connection is idle again after the rolled-back transaction",
              pipeline.info.transaction_status.name, "IDLE")
        check("occ.if_match is unset once that transaction ended",
              pipeline.execute("SELECT current_setting('occ.if_match')").fetchone()[0], "")
        check("part 7 keeps the vendor's price and the old stock (price, stock)",
              admin.execute(sql.SQL("SELECT price, stock FROM {} WHERE id = 7").format(PARTS)).fetchone(),
              (Decimal("12.50"), 40))

        say()
        say("== The pipeline reads again and writes")
        new_tag = None
        for attempt in range(1, 6):
            price, stock, tag = read_part(pipeline, "The pipeline")
            say(f"It writes stock {stock - 3}, stating {tag} (attempt {attempt}).")
            try:
                new_tag = write_stock(pipeline, stock - 3, tag)
                break
            except psycopg.Error as e:
                if e.sqlstate != "40V01":
                    raise
                say("Refused again; the pipeline reads once more.")
        check("the write went through at the first retry", attempt, 1)
        check("part 7 holds the vendor's price and the pipeline's stock (price, stock)",
              admin.execute(sql.SQL("SELECT price, stock FROM {} WHERE id = 7").format(PARTS)).fetchone(),
              (Decimal("12.50"), 37))
        current = read_part(admin, "A check")[2]
        check("RETURNING occ.etag(p) gave the row's new tag", new_tag, current)
        check("the new tag differs from the one stated", new_tag != tag, True)

        say()
        say("== One more write, through occ.update")
        say(f"occ.update('{SCHEMA}.parts', '{{\"id\": 7}}', '{new_tag}', '{{\"price\": 11}}')")
        wrapper = sql.SQL("SELECT occ.update({}::regclass, %s, %s, %s)").format(
            sql.Literal(PARTS.as_string(admin)))
        row = pipeline.execute(wrapper, (Jsonb({"id": 7}), new_tag, Jsonb({"price": 11}))).fetchone()[0]
        say(f"returns the new row: {row}")
        check("occ.update's row (id, price, stock)",
              (row["id"], row["price"], row["stock"]), (7, Decimal("11.00"), 37))
        check("part 7 as read back (price, stock)",
              admin.execute(sql.SQL("SELECT price, stock FROM {} WHERE id = 7").format(PARTS)).fetchone(),
              (Decimal("11.00"), 37))

        say(f"The same call again, stating {new_tag}, which is no longer the row's tag:")
        seen = None
        try:
            pipeline.execute(wrapper, (Jsonb({"id": 7}), new_tag, Jsonb({"price": 10})))
        except psycopg.Error as e:
            seen = e
            say(f"    refused: {e.sqlstate} {e.diag.message_primary}")
        check("stale occ.update refused with SQLSTATE", seen and seen.sqlstate, "40V01")
        check("part 7's price after the refused call",
              admin.execute(sql.SQL("SELECT price FROM {} WHERE id = 7").format(PARTS)).fetchone()[0],
              Decimal("11.00"))
        check("part 8 was never touched (price, stock)",
              admin.execute(sql.SQL("SELECT price, stock FROM {} WHERE id = 8").format(PARTS)).fetchone(),
              (Decimal("4.20"), 12))
    finally:
        # Close the pipeline's and the vendor's connections first: a
        # transaction either left open would hold a lock that DROP waits for.
        pipeline.close()
        vendor.close()
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
