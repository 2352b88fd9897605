
# Copyright (c) 2026, the occ developers
#
# 001_dump_restore.pl: occ's settings live in the arguments of each table's
# trigger, so a dump must carry them, and a database owner who is not a
# superuser must be able to restore that dump alone (occ is a trusted
# extension).  This test builds a database owned by such a role, with every
# shape of table occ knows, dumps it in custom and in plain format, restores
# each copy as that role, and proves that the copy lists the same protected
# tables, holds exactly the same versions, and is checked exactly like the
# original.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

# The role that owns everything.  It is not a superuser; it may log in and
# own databases, nothing more.
$node->safe_psql('postgres',
	'CREATE ROLE occ_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE');
is($node->safe_psql('postgres',
		"SELECT rolsuper FROM pg_roles WHERE rolname = 'occ_owner'"),
	'f', 'occ_owner is not a superuser');
$node->safe_psql('postgres', 'CREATE DATABASE src OWNER occ_owner');

# Connection string for $db as occ_owner.
sub as_owner
{
	my ($db) = @_;
	return $node->connstr($db) . ' user=occ_owner';
}

# Run $sql in $db as occ_owner; die on any error.  (psql's -U rather than
# the connstr parameter, which the framework of PostgreSQL 13 and 14
# ignores.)
sub owner_sql
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', 'occ_owner' ]);
}

# Run $setup (which must succeed), then $stmt, in one session of occ_owner
# on $db.  Returns the SQLSTATE of $stmt ('00000' if it succeeded) and
# whatever $stmt printed (e.g. its RETURNING list).
sub try_sql
{
	my ($db, $setup, $stmt) = @_;
	my $script =
	    "SET timezone = 'UTC';\n$setup\n"
	  . "\\set ON_ERROR_STOP 0\n"
	  . "\\echo BEGIN-OUTPUT\n$stmt;\n\\echo SQLSTATE=:SQLSTATE\n";
	my ($ret, $out, $err) =
	  $node->psql($db, $script, extra_params => [ '-U', 'occ_owner' ]);
	die "setup failed in $db: $err" unless $out =~ /BEGIN-OUTPUT\n/;
	my ($printed, $state) = $out =~ /BEGIN-OUTPUT\n(.*?)\n?SQLSTATE=(\w+)$/s
	  or die "cannot read SQLSTATE from: $out";
	return ($state, $printed);
}

# ==== the source database, built by occ_owner alone ====

owner_sql(
	'src', q{
CREATE EXTENSION occ;

-- integer kind, lax
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 * g FROM generate_series(1, 3) g;
SELECT occ.enable('accounts', mode => 'lax');

-- integer kind, strict, own column name
CREATE TABLE ledger (id int PRIMARY KEY, note text);
INSERT INTO ledger SELECT g, 'entry ' || g FROM generate_series(1, 3) g;
SELECT occ.enable('ledger', 'rev', mode => 'strict');

-- timestamp kind, mode none
CREATE TABLE events (id int PRIMARY KEY, payload text);
INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, 3) g;
SELECT occ.enable('events', 'updated_at', 'timestamp', 'none');

-- timestamp kind, no mode of its own: follows occ.default_mode
CREATE TABLE quotes (id int PRIMARY KEY, price numeric NOT NULL);
INSERT INTO quotes SELECT g, g * 1.5 FROM generate_series(1, 3) g;
SELECT occ.enable('quotes', 'modified_at', 'timestamp');

-- an ORM's smallint column, adopted
CREATE TABLE legacy (id int PRIMARY KEY, name text,
                     lock_version smallint NOT NULL DEFAULT 0);
INSERT INTO legacy (id, name) SELECT g, 'name ' || g FROM generate_series(1, 3) g;
SELECT occ.enable('legacy', 'lock_version');

-- a partitioned table, enabled on the parent
CREATE TABLE measurements (region text NOT NULL, id int NOT NULL, reading int,
                           PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE measurements_north PARTITION OF measurements FOR VALUES IN ('north');
CREATE TABLE measurements_south PARTITION OF measurements FOR VALUES IN ('south');
INSERT INTO measurements
SELECT CASE WHEN g <= 3 THEN 'north' ELSE 'south' END, g, g
  FROM generate_series(1, 6) g;
SELECT occ.enable('measurements', mode => 'lax');

-- identifiers that need quoting
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Order Lines" ("Line Id" int PRIMARY KEY, qty int);
INSERT INTO "Sales Dept"."Order Lines" SELECT g, g FROM generate_series(1, 3) g;
SELECT occ.enable('"Sales Dept"."Order Lines"', 'Row Version', mode => 'lax');
});

# Writes that make the versions differ from row to row.  Each states the
# version it read where the table requires it.
owner_sql(
	'src', q{
UPDATE accounts SET balance = 110, version = 1 WHERE id = 1;
UPDATE accounts SET balance = 120, version = 2 WHERE id = 1;
SET occ.if_match = '"1"';
UPDATE accounts SET balance = 210 WHERE id = 2;
RESET occ.if_match;

UPDATE ledger SET note = 'changed', rev = 1 WHERE id = 1;
UPDATE ledger SET note = 'changed again', rev = 2 WHERE id = 1;
SET occ.if_match = '*';
UPDATE ledger SET note = 'changed' WHERE id = 2;
DELETE FROM ledger WHERE id = 3;
RESET occ.if_match;

UPDATE events SET payload = 'seen' WHERE id = 1;
UPDATE events SET payload = 'seen twice' WHERE id = 1;
UPDATE events SET payload = 'seen' WHERE id = 2;

UPDATE quotes SET price = 2 WHERE id = 1;
UPDATE quotes SET price = 3 WHERE id = 1;

UPDATE legacy SET name = 'renamed', lock_version = 0 WHERE id = 1;
-- the ORM convention: read + 1, guarded by WHERE version = read
UPDATE legacy SET name = 'renamed again', lock_version = 2
 WHERE id = 1 AND lock_version = 1;
UPDATE legacy SET name = 'renamed', lock_version = 0 WHERE id = 2;

UPDATE measurements SET reading = 10, version = 1 WHERE region = 'north' AND id = 1;
UPDATE measurements_north SET reading = 11, version = 2 WHERE id = 1;
UPDATE measurements SET reading = 20 WHERE region = 'south' AND id = 5;
-- row movement: checked once, advanced once
UPDATE measurements SET region = 'south', version = 1 WHERE region = 'north' AND id = 3;

UPDATE "Sales Dept"."Order Lines" SET qty = 7, "Row Version" = 1 WHERE "Line Id" = 2;
});

# Every row of every protected table, as text, in a fixed order and time
# zone: versions are compared exactly, timestamps to the microsecond.
my $rows_query = q{
SET timezone = 'UTC';
SELECT 'accounts', a::text FROM accounts a
UNION ALL SELECT 'ledger', l::text FROM ledger l
UNION ALL SELECT 'events', e::text FROM events e
UNION ALL SELECT 'quotes', q::text FROM quotes q
UNION ALL SELECT 'legacy', g::text FROM legacy g
UNION ALL SELECT m.tableoid::regclass::text, m::text FROM measurements m
UNION ALL SELECT 'order lines', o::text FROM "Sales Dept"."Order Lines" o
ORDER BY 1, 2;
};
my $tables_query = q{
SELECT table_name::text, schema_name, version_column, kind,
       coalesce(mode, '(null)'), effective_mode
  FROM occ.tables ORDER BY 1;
};
# occ's triggers, wherever they are (partitions included), with their
# arguments and whether they fire.
my $triggers_query = q{
SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled, t.tgparentid <> 0,
       encode(t.tgargs, 'escape')
  FROM pg_trigger t
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure
 ORDER BY 1;
};
my $versions_query = q{
SET timezone = 'UTC';
SELECT 'accounts', id, version::text FROM accounts
UNION ALL SELECT 'ledger', id, rev::text FROM ledger
UNION ALL SELECT 'events', id, updated_at::text FROM events
UNION ALL SELECT 'quotes', id, modified_at::text FROM quotes
UNION ALL SELECT 'legacy', id, lock_version::text FROM legacy
UNION ALL SELECT tableoid::regclass::text, id, version::text FROM measurements
UNION ALL SELECT 'order lines', "Line Id", "Row Version"::text
            FROM "Sales Dept"."Order Lines"
ORDER BY 1, 2;
};

my $src_rows     = owner_sql('src', $rows_query);
my $src_tables   = owner_sql('src', $tables_query);
my $src_triggers = owner_sql('src', $triggers_query);
my $src_versions = owner_sql('src', $versions_query);

# The source is what we meant to build: seven protected tables with their
# settings, and versions that moved.
is( $src_tables,
	join("\n",
		'"Sales Dept"."Order Lines"|Sales Dept|Row Version|integer|lax|lax',
		'accounts|public|version|integer|lax|lax',
		'events|public|updated_at|timestamp|none|none',
		'ledger|public|rev|integer|strict|strict',
		'legacy|public|lock_version|integer|(null)|lax',
		'measurements|public|version|integer|lax|lax',
		'quotes|public|modified_at|timestamp|(null)|lax'),
	'source: occ.tables lists the seven tables with their settings');
is( owner_sql(
		'src', q{
SELECT string_agg(id || ':' || version, ' ' ORDER BY id) FROM accounts;
SELECT string_agg(id || ':' || rev, ' ' ORDER BY id) FROM ledger;
SELECT string_agg(id || ':' || lock_version, ' ' ORDER BY id) FROM legacy;
SELECT string_agg(region || id || ':' || version, ' ' ORDER BY region, id)
  FROM measurements;
SELECT string_agg("Line Id" || ':' || "Row Version", ' ' ORDER BY "Line Id")
  FROM "Sales Dept"."Order Lines";
SELECT count(DISTINCT updated_at) FROM events;
SELECT count(DISTINCT modified_at) FROM quotes;
}),
	join("\n",
		'1:3 2:2 3:1', '1:3 2:2',
		'1:2 2:1 3:0', 'north1:3 north2:1 south3:2 south4:1 south5:2 south6:1',
		'1:1 2:2 3:1', '3', '2'),
	'source: updates advanced the versions, row by row');

is(scalar(my @t = split /\n/, $src_triggers),
	9, 'source: nine occ triggers, one per table and partition');

# ==== what a restored database must show ====

# $db was restored from src.  Its contents and settings must equal the
# source's, and occ must check writes there exactly as in the source.
sub check_restored
{
	my ($db, $how) = @_;

	# occ_owner did it all: it installed occ and owns every table
	is( owner_sql(
			$db, q{
SELECT extowner::regrole FROM pg_extension WHERE extname = 'occ';
SELECT string_agg(DISTINCT c.relowner::regrole::text, ',')
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure;
}),
		"occ_owner\nocc_owner",
		"$how: occ installed by occ_owner, which owns every protected table");
	is(owner_sql($db, $tables_query),
		$src_tables, "$how: occ.tables equals the source's");
	is(owner_sql($db, $triggers_query),
		$src_triggers,
		"$how: one occ trigger per table and partition, same arguments");
	is(owner_sql($db, $versions_query),
		$src_versions, "$how: every row has exactly the source's version");
	is(owner_sql($db, $rows_query),
		$src_rows, "$how: every row equals the source's");

	my ($state, $out);

	# integer, lax
	($state) = try_sql($db, '',
		'UPDATE accounts SET balance = 0, version = 2 WHERE id = 1');
	is($state, '40V01', "$how: stale update on accounts fails with 40V01");
	($state, $out) = try_sql($db, '',
		'UPDATE accounts SET balance = 0, version = 3 WHERE id = 1 RETURNING version'
	);
	is("$state $out", '00000 4',
		"$how: current version accepted on accounts, advanced by one");
	($state, $out) = try_sql($db, '',
		'UPDATE accounts SET balance = 0 WHERE id = 3 RETURNING version');
	is("$state $out", '00000 2',
		"$how: lax accounts allows an unstated update, advanced by one");
	($state) = try_sql($db, q{SET occ.if_match = '"1"';},
		'DELETE FROM accounts WHERE id = 2');
	is($state, '40V01', "$how: stale delete on accounts fails with 40V01");

	# integer, strict
	($state) = try_sql($db, '', q{UPDATE ledger SET note = 'x' WHERE id = 1});
	is($state, '23V01',
		"$how: strict ledger refuses an unstated update with 23V01");
	($state) = try_sql($db, '', 'DELETE FROM ledger WHERE id = 2');
	is($state, '23V01',
		"$how: strict ledger refuses an unstated delete with 23V01");
	($state) =
	  try_sql($db, '', q{UPDATE ledger SET note = 'x', rev = 2 WHERE id = 1});
	is($state, '40V01', "$how: stale update on ledger fails with 40V01");
	($state, $out) = try_sql($db, '',
		q{UPDATE ledger SET note = 'x', rev = 3 WHERE id = 1 RETURNING rev});
	is("$state $out", '00000 4',
		"$how: current version accepted on ledger, advanced by one");

	# timestamp, mode none: not checked, but still advanced
	my $old = owner_sql($db,
		q{SET timezone = 'UTC'; SELECT updated_at FROM events WHERE id = 1});
	($state, $out) = try_sql($db, '',
		q{UPDATE events SET payload = 'x', updated_at = '2000-01-01 00:00:00+00'
           WHERE id = 1 RETURNING updated_at > '} . $old . q{'});
	is("$state $out", '00000 t',
		"$how: mode none on events: no check, version advanced past the old one"
	);

	# timestamp, following the default mode (lax)
	$old = owner_sql($db,
		q{SET timezone = 'UTC'; SELECT modified_at FROM quotes WHERE id = 1});
	my $older = owner_sql($db,
		q{SET timezone = 'UTC'; SELECT modified_at FROM quotes WHERE id = 2});
	($state) = try_sql($db, "SET occ.if_match = '$older';",
		'UPDATE quotes SET price = 0 WHERE id = 1');
	is($state, '40V01', "$how: stale update on quotes fails with 40V01");
	($state, $out) = try_sql($db, "SET occ.if_match = '$old';",
		"UPDATE quotes SET price = 0 WHERE id = 1 RETURNING modified_at > '$old'"
	);
	is("$state $out", '00000 t',
		"$how: current version accepted on quotes, version advanced");

	# adopted smallint
	($state) = try_sql($db, '',
		'UPDATE legacy SET name = NULL, lock_version = 1 WHERE id = 1');
	is($state, '40V01', "$how: stale update on legacy fails with 40V01");
	($state, $out) = try_sql($db, '',
		'UPDATE legacy SET name = NULL, lock_version = 2 WHERE id = 1 RETURNING lock_version'
	);
	is("$state $out", '00000 3',
		"$how: current version accepted on legacy, advanced by one");

	# partitioned: through the parent, through a partition, and a partition
	# created after the restore
	($state) = try_sql($db, '',
		q{UPDATE measurements SET reading = 0, version = 2
           WHERE region = 'north' AND id = 1});
	is($state, '40V01',
		"$how: stale update through the partitioned table fails with 40V01");
	($state) = try_sql($db, '',
		'UPDATE measurements_south SET reading = 0, version = 1 WHERE id = 5');
	is($state, '40V01',
		"$how: stale update on a partition fails with 40V01");
	($state, $out) = try_sql($db, '',
		q{UPDATE measurements SET reading = 0, version = 3
           WHERE region = 'north' AND id = 1 RETURNING version});
	is("$state $out", '00000 4',
		"$how: current version accepted on a partition, advanced by one");
	($state, $out) = try_sql(
		$db,
		q{CREATE TABLE measurements_east PARTITION OF measurements
            FOR VALUES IN ('east');
          INSERT INTO measurements VALUES ('east', 1, 1);},
		q{UPDATE measurements SET reading = 0, version = 0
           WHERE region = 'east' RETURNING version});
	is($state, '40V01',
		"$how: a partition created after the restore is checked too");

	# quoted identifiers
	($state) = try_sql($db, '',
		q{UPDATE "Sales Dept"."Order Lines" SET qty = 0, "Row Version" = 1
           WHERE "Line Id" = 2});
	is($state, '40V01', "$how: stale update on \"Order Lines\" fails with 40V01");
	($state, $out) = try_sql($db, '',
		q{UPDATE "Sales Dept"."Order Lines" SET qty = 0, "Row Version" = 2
           WHERE "Line Id" = 2 RETURNING "Row Version"});
	is("$state $out", '00000 3',
		"$how: current version accepted on \"Order Lines\", advanced by one");

	return;
}

my $tmp = PostgreSQL::Test::Utils::tempdir;

# ==== custom format: pg_dump -Fc, pg_restore as occ_owner ====

$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $node->connstr('src') ],
	'pg_dump -Fc of the source database');
$node->safe_psql('postgres', 'CREATE DATABASE restored_fc OWNER occ_owner');
$node->command_checks_all(
	[
		'pg_restore', '--exit-on-error', '-d', as_owner('restored_fc'),
		"$tmp/src.dump"
	],
	0,
	[qr/^$/],
	[qr/^$/],
	'pg_restore as occ_owner, not a superuser, without errors');
check_restored('restored_fc', 'pg_restore');

# ==== plain format, made by occ_owner, replayed with psql as occ_owner ====

$node->command_ok(
	[
		'pg_dump', '-Fp', '--load-via-partition-root',
		'-f', "$tmp/src.sql", '-d', as_owner('src')
	],
	'pg_dump -Fp of the source database, as occ_owner');
$node->safe_psql('postgres', 'CREATE DATABASE restored_sql OWNER occ_owner');
$node->command_checks_all(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
		as_owner('restored_sql'), '-f', "$tmp/src.sql"
	],
	0,
	[],
	[qr/^$/],
	'plain dump replayed by psql as occ_owner without errors');
check_restored('restored_sql', 'plain dump');

$node->stop;

done_testing();
