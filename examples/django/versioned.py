#!/usr/bin/python3
"""examples/django/versioned.py -- Django's optimistic-locking idiom on a table occ protects.

Django (Debian 12's python3-django, 3.2, over python3-psycopg2) has no
optimistic locking of its own.  The conventional idiom is a version field
and a filtered UPDATE:

    rows = Account.objects.filter(pk=a.pk, version=read).update(..., version=read + 1)
    if rows == 0: raise StaleObjectError      # the application's own exception

which sends ``UPDATE ... SET ..., "version" = read + 1 WHERE ("id" = ? AND
"version" = read)``; a DELETE goes the same way through
``filter(pk=..., version=read).delete()``.  occ accepts both on lax and
strict tables (the WHERE term states the version read) and holds every
other writer to the same rule.

Shown here, in lax and in strict mode:

* ``Account``: an integer version field with the idiom above (save_checked,
  delete_checked); Django's plain ``save()``, which writes back the version
  it loaded, and plain ``delete()`` with ``occ.if_match``: occ refuses a
  stale one with 40V01, and a few lines of the application turn that into
  the same StaleObjectError;
* ``Note``: ``updated_at = DateTimeField(auto_now=True)`` protected by occ
  as a timestamp version: plain ``save()`` assigns the current time, which
  occ keeps as the new version (lax); the idiom with ``updated_at`` as the
  version works in strict too.

The settings are a settings.configure() call below; no project, no app
directory.  Connects with the usual libpq environment (PGHOST, PGPORT,
PGUSER, PGDATABASE, ...).  Creates its own tables, drops them at the end,
and exits non-zero if anything does not happen as told.  Run it with
Debian's python3: /usr/bin/python3 versioned.py
"""

import contextlib
import getpass
import os
import sys

import django
import psycopg2
from django.conf import settings

PID = os.getpid()
ACCOUNTS = f"occ_example_django_accounts_{PID}"
NOTES = f"occ_example_django_notes_{PID}"

# Two connections, as two application servers would have: Alice's work
# goes through "default", Bob's through "bob".  HOST, PORT and USER left
# empty: psycopg2 (libpq) takes them from PGHOST, PGPORT, PGUSER.
DB = {"ENGINE": "django.db.backends.postgresql",
      "NAME": os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or getpass.getuser()}
settings.configure(DATABASES={"default": DB, "bob": dict(DB)},
                   USE_TZ=True, TIME_ZONE="UTC",
                   DEFAULT_AUTO_FIELD="django.db.models.AutoField")
django.setup()

# pylint: disable=wrong-import-position
from django.db import OperationalError, connections, models, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

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


def first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else ""


def expect_error(what, action, exc_class, sqlstate=None):
    """Run action(); check that it raises exc_class (with sqlstate, if given)."""
    try:
        action()
    except exc_class as e:
        code = getattr(e, "pgcode", None) or getattr(e.__cause__, "pgcode", None)
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


# ---- the application's code ------------------------------------------------

class StaleObjectError(Exception):
    """The application's own exception: the row changed since it was read."""


@contextlib.contextmanager
def occ_conflicts_are_stale():
    """Turn occ's 40V01 (a stale write the database refused) into StaleObjectError."""
    try:
        yield
    except OperationalError as e:
        if getattr(e.__cause__, "pgcode", None) == "40V01":
            raise StaleObjectError(first_line(e)) from e
        raise


class Versioned(models.Model):
    """The idiom: UPDATE/DELETE ... WHERE pk = ? AND <version> = read; 0 rows is a conflict."""
    version_field = "version"

    class Meta:
        abstract = True

    def next_version(self, read):
        return read + 1

    def save_checked(self):
        field, read = self.version_field, getattr(self, self.version_field)
        values = {f.attname: getattr(self, f.attname)
                  for f in self._meta.concrete_fields if not f.primary_key}
        values[field] = self.next_version(read)
        rows = type(self)._base_manager.using(self._state.db).filter(
            pk=self.pk, **{field: read}).update(**values)
        if rows != 1:
            raise StaleObjectError(f"{self._meta.db_table} {self.pk}: {field} {read} is stale")
        setattr(self, field, values[field])

    def delete_checked(self):
        field, read = self.version_field, getattr(self, self.version_field)
        rows, _ = type(self)._base_manager.using(self._state.db).filter(
            pk=self.pk, **{field: read}).delete()
        if rows != 1:
            raise StaleObjectError(f"{self._meta.db_table} {self.pk}: {field} {read} is stale")


class Account(Versioned):
    owner = models.TextField()
    balance = models.IntegerField()
    version = models.BigIntegerField(default=1)

    class Meta:
        app_label = "occ_example"
        db_table = ACCOUNTS


class Note(Versioned):
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    version_field = "updated_at"

    class Meta:
        app_label = "occ_example"
        db_table = NOTES

    def next_version(self, read):
        return timezone.now()

# ---- end of the application's code -----------------------------------------


def sent(prefix, alias="default"):
    """The last statement starting with prefix that Django sent on alias."""
    for q in reversed(connections[alias].queries):
        if q["sql"].lstrip().upper().startswith(prefix):
            return q["sql"]
    return None


def db_row(raw, table, key, columns):
    with raw.cursor() as cur:
        cur.execute(f'SELECT {columns} FROM "{table}" WHERE id = %s', (key,))
        return cur.fetchone()


def raw_write(raw, statement, args=()):
    with raw.cursor() as cur:
        cur.execute(statement, args)
        return cur.rowcount


def accounts(raw, mode):
    say(f"\n== Account (integer version, the filter().update() idiom), {mode} mode")
    key = Account.objects.create(owner="Alice and Bob", balance=100).pk
    check("INSERT gives version 1", db_row(raw, ACCOUNTS, key, "version"), (1,))

    a = Account.objects.get(pk=key)
    a.balance += 50
    a.save_checked()
    say(f"    sent: {sent('UPDATE')}")
    check("a. save_checked of the current row: in-memory version", a.version, 2)
    check("a. the row advanced exactly once (balance, version)",
          db_row(raw, ACCOUNTS, key, "balance, version"), (150, 2))

    a, b = Account.objects.get(pk=key), Account.objects.using("bob").get(pk=key)
    a.balance += 10
    a.save_checked()
    b.balance -= 30
    expect_error("b. Bob's stale save_checked (0 rows) raises StaleObjectError",
                 b.save_checked, StaleObjectError)
    check("b. the row keeps Alice's save (balance, version)",
          db_row(raw, ACCOUNTS, key, "balance, version"), (160, 3))

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

    # e. Django's plain save() writes back every field, the version it
    #    loaded included: occ checks it, and the few lines above turn a
    #    refusal into StaleObjectError.
    a, b = Account.objects.get(pk=key), Account.objects.using("bob").get(pk=key)
    a.balance += 1
    with occ_conflicts_are_stale():
        a.save()
    say(f"    sent: {sent('UPDATE')}")
    a.refresh_from_db(fields=["version"])
    check("e. Alice's plain save() states the version it loaded; occ advanced it",
          a.version, current + 1)
    b.balance -= 1

    def bob_plain_save():
        with occ_conflicts_are_stale():
            b.save()
    expect_error("e. Bob's plain save() states his stale version: 40V01 -> StaleObjectError",
                 bob_plain_save, StaleObjectError)

    # e. a plain delete() states the version it read through occ.if_match
    def delete_if_match(obj, read):
        with transaction.atomic(using=obj._state.db), occ_conflicts_are_stale():
            with connections[obj._state.db].cursor() as cur:
                cur.execute("SELECT set_config('occ.if_match', %s, true)", [f'"{read}"'])
            return obj.delete()
    if mode == "strict":
        expect_error("strict: a plain delete() states no version",
                     b.delete, django.db.IntegrityError, "23V01")
        say(f"    sent: {sent('DELETE', 'bob')}")
    expect_error(f"e. Bob's delete() with his ETag \"{b.version}\" -> StaleObjectError",
                 lambda: delete_if_match(b, b.version), StaleObjectError)
    say(f"    sent: {sent('DELETE', 'bob')}")

    # What opts out: an update assigning version = version + 1 (F()) states
    # the current version, whatever the application read (like If-Match: *).
    current = db_row(raw, ACCOUNTS, key, "version")[0]
    rows = Account.objects.filter(pk=key).update(balance=F("balance") - 1,
                                                 version=F("version") + 1)
    say(f"    sent: {sent('UPDATE')}")
    check("opt-out: update(version=F('version') + 1) is accepted, the version advanced once",
          (rows, db_row(raw, ACCOUNTS, key, "version")[0]), (1, current + 1))

    a, b = Account.objects.get(pk=key), Account.objects.using("bob").get(pk=key)
    a.balance += 1
    a.save_checked()
    expect_error("d. Bob's stale delete_checked (0 rows) raises StaleObjectError",
                 b.delete_checked, StaleObjectError)
    a.delete_checked()
    say(f"    sent: {sent('DELETE')}")
    check("d. delete_checked of the current row removed it", db_row(raw, ACCOUNTS, key, "1"), None)


def notes(raw, mode):
    say(f"\n== Note (updated_at = DateTimeField(auto_now=True), occ's timestamp version),"
        f" {mode} mode")
    n = Note.objects.create(text="hello")
    key = n.pk
    before = n.updated_at
    check("INSERT stored the time Django assigned",
          db_row(raw, NOTES, key, "updated_at"), (before,))

    n.text = "plain save()"
    if mode == "lax":
        n.save()
        say(f"    sent: {sent('UPDATE')}")
        check("lax: plain save() assigns a later time, a proposal occ keeps as the version",
              (db_row(raw, NOTES, key, "updated_at")[0] == n.updated_at, n.updated_at > before),
              (True, True))
    else:
        expect_error("strict: plain save() states no version (its new time is a proposal)",
                     n.save, django.db.IntegrityError, "23V01")
        n.updated_at = before

    a, b = Note.objects.get(pk=key), Note.objects.using("bob").get(pk=key)
    a.text = "Alice's edit"
    a.save_checked()
    say(f"    sent: {sent('UPDATE')}")
    check("a. save_checked: the time it assigned is the row's new version",
          db_row(raw, NOTES, key, "text, updated_at"), ("Alice's edit", a.updated_at))
    b.text = "Bob's edit"
    expect_error("b. Bob's stale save_checked raises StaleObjectError", b.save_checked,
                 StaleObjectError)
    if mode == "strict":
        expect_error("c. a raw UPDATE that states no version is refused",
                     lambda: raw_write(raw, f'UPDATE "{NOTES}" SET text = %s WHERE id = %s',
                                       ("raw", key)),
                     psycopg2.IntegrityError, "23V01")
    expect_error("c. a raw UPDATE stating an old time is refused",
                 lambda: raw_write(raw, f'UPDATE "{NOTES}" SET text = %s, updated_at = %s'
                                   ' WHERE id = %s', ("raw", before, key)),
                 psycopg2.OperationalError, "40V01")
    expect_error("d. Bob's stale delete_checked raises StaleObjectError", b.delete_checked,
                 StaleObjectError)
    a.delete_checked()
    say(f"    sent: {sent('DELETE')}")
    check("d. delete_checked of the current row removed it", db_row(raw, NOTES, key, "1"), None)


def main():
    raw = psycopg2.connect("", application_name="raw writer")
    raw.autocommit = True
    for alias in ("default", "bob"):
        connections[alias].force_debug_cursor = True   # keep connection.queries
    try:
        say(f"Django {django.get_version()}, psycopg2 {psycopg2.__version__.split()[0]}")
        raw_write(raw, "CREATE EXTENSION IF NOT EXISTS occ")
        with connections["default"].schema_editor() as editor:
            editor.create_model(Account)
            editor.create_model(Note)
        raw_write(raw, "SELECT occ.enable(%s, 'version')", (ACCOUNTS,))
        raw_write(raw, "SELECT occ.enable(%s, 'updated_at', 'timestamp')", (NOTES,))
        say(f"Tables {ACCOUNTS}, {NOTES}; occ enabled on version, updated_at.")
        for mode in ("lax", "strict"):
            for table in (ACCOUNTS, NOTES):
                raw_write(raw, "SELECT occ.set_mode(%s, %s)", (table, mode))
            for part in (accounts, notes):
                try:
                    part(raw, mode)
                except Exception as e:  # pylint: disable=broad-except
                    say(f"    [FAILED] {part.__name__}, {mode}: unexpected "
                        f"{type(e).__name__}: {first_line(e)}")
                    failures.append(f"{part.__name__} ({mode})")
    finally:
        connections.close_all()
        for table in (ACCOUNTS, NOTES):
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
