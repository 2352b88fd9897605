
# Copyright (c) 2026, the occ developers
#
# 006_pg_upgrade.pl: a table's occ settings survive pg_upgrade, as the README
# promises.
#
# An old cluster holds tables enabled every way (integer, timestamp, a
# partitioned table, strict mode, a quoted column name, kind hash with an
# excluded column); pg_upgrade moves it to a new cluster, and the new
# cluster must list the same occ.tables, keep every row's exact version
# (for kind hash: its tag), refuse stale writes and accept current ones.
# Old and new clusters use the same binaries: only one major version of
# PostgreSQL is installed where the suite runs, so this checks that occ's
# catalog state (triggers, their arguments, the extension's objects) goes
# through pg_upgrade's dump and restore of the schema, not a change of major.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
$old->start;

$old->safe_psql(
	'postgres', q{
CREATE DATABASE app;
});
$old->safe_psql(
	'app', q{
SET timezone = 'UTC';
CREATE EXTENSION occ;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 3) g;
SELECT occ.enable('accounts');
UPDATE accounts SET balance = 90 WHERE id = 2;
UPDATE accounts SET balance = 80 WHERE id = 2;

CREATE TABLE trades (id int PRIMARY KEY, qty int,
                     "Updated At" timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00');
INSERT INTO trades VALUES (1, 1), (2, 2);
SELECT occ.enable('trades', version_column => 'Updated At', kind => 'timestamp');

CREATE TABLE measurements (region text NOT NULL, id int NOT NULL, reading int,
                           PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE measurements_north PARTITION OF measurements FOR VALUES IN ('north');
CREATE TABLE measurements_south PARTITION OF measurements FOR VALUES IN ('south');
INSERT INTO measurements VALUES ('north', 1, 1), ('south', 2, 2);
SELECT occ.enable('measurements', mode => 'lax');
UPDATE measurements SET reading = 10 WHERE id = 1;

CREATE TABLE orders (id int PRIMARY KEY, total int);
INSERT INTO orders VALUES (1, 5);
SELECT occ.enable('orders', mode => 'strict');

CREATE TYPE grade AS ENUM ('low', 'high');
CREATE TABLE parts (id int PRIMARY KEY, price numeric, grade grade,
                    synced_at timestamptz);
INSERT INTO parts VALUES (1, 1.50, 'high', now()), (2, 2.0, 'low', NULL);
SELECT occ.enable('parts', kind => 'hash', exclude => '{synced_at}');
});

my $tables_query = q{
SELECT table_name, schema_name, version_column, kind, coalesce(mode, '-'), effective_mode,
       excluded_columns
  FROM occ.tables ORDER BY table_name::text};
my $versions_query = q{
SET timezone = 'UTC';
SELECT 'accounts', id, version::text FROM accounts
UNION ALL SELECT 'trades', id, "Updated At"::text FROM trades
UNION ALL SELECT 'measurements', id, version::text FROM measurements
UNION ALL SELECT 'orders', id, version::text FROM orders
UNION ALL SELECT 'parts', id, occ.etag(p) FROM parts p
ORDER BY 1, 2};

my $tables_before = $old->safe_psql('app', $tables_query);
my $versions_before = $old->safe_psql('app', $versions_query);
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);

# pg_upgrade writes its logs into the current directory (before 15) or the
# new cluster's data directory: run it in a directory of its own
my $workdir = PostgreSQL::Test::Utils::tempdir;
my $bindir = `pg_config --bindir`;
chomp $bindir;
chdir $workdir or die "could not chdir to $workdir: $!";
command_ok(
	[
		'pg_upgrade',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir,
		'-s', $new->host,
		'-p', $old->port, '-P', $new->port
	],
	'pg_upgrade from the old cluster to the new one');

$new->start;

is($new->safe_psql('app', $tables_query),
	$tables_before, 'occ.tables lists the same tables, columns, kinds and modes');
is($new->safe_psql('app', $versions_query),
	$versions_before, 'every row kept its exact version');

# Run $stmt in "app" on the new cluster; return its SQLSTATE ('00000' if it
# succeeded) and what it printed.
sub try_sql
{
	my ($stmt) = @_;
	my ($ret, $out, $err) = $new->psql('app',
		"SET timezone = 'UTC';\n\\set ON_ERROR_STOP 0\n\\echo BEGIN-OUTPUT\n$stmt;\n\\echo SQLSTATE=:SQLSTATE\n"
	);
	my ($printed, $state) = $out =~ /BEGIN-OUTPUT\n(.*?)\n?SQLSTATE=(\w+)$/s;
	return ($state // "no state: $err", $printed // '');
}

my ($state, $out);
($state) = try_sql('UPDATE accounts SET balance = 0, version = 1 WHERE id = 2');
is($state, '40V01', 'integer: a stale update is refused');
($state, $out) =
  try_sql('UPDATE accounts SET balance = 0, version = 3 WHERE id = 2 RETURNING version');
is("$state $out", '00000 4', 'integer: the current version is accepted and advanced');

($state) = try_sql(
	q{UPDATE trades SET qty = 0, "Updated At" = '2023-01-01 00:00:00+00' WHERE id = 1});
is($state, '40V01', 'timestamp: a stale update is refused');
($state, $out) = try_sql(
	q{UPDATE trades SET qty = 0, "Updated At" = '2024-01-01 00:00:00+00' WHERE id = 1
	  RETURNING "Updated At" > '2024-01-01 00:00:00+00'});
is("$state $out", '00000 t', 'timestamp: the current version is accepted and advanced');

($state) = try_sql(q{UPDATE measurements SET reading = 0, version = 1 WHERE id = 1});
is($state, '40V01', 'partitioned: a stale update of a partition is refused');
$new->safe_psql('app',
	q{CREATE TABLE measurements_east PARTITION OF measurements FOR VALUES IN ('east');
	  INSERT INTO measurements VALUES ('east', 3, 3);});
($state) = try_sql(q{UPDATE measurements SET reading = 0, version = 0 WHERE id = 3});
is($state, '40V01', 'partitioned: a partition created after the upgrade is checked too');

($state) = try_sql('UPDATE orders SET total = 0 WHERE id = 1');
is($state, '23V01', 'strict: a write that states no version is refused');
($state, $out) = try_sql('UPDATE orders SET total = 0, version = 1 WHERE id = 1 RETURNING version');
is("$state $out", '00000 2', 'strict: a write that states the current version is accepted');

my $tag = $new->safe_psql('app', 'SELECT occ.etag(p) FROM parts p WHERE id = 1');
($state) = try_sql(q{SET occ.if_match = '"00000000000000000000000000000000"';
	UPDATE parts SET price = 0 WHERE id = 1});
is($state, '40V01', 'hash: a stale update is refused');
($state, $out) = try_sql(qq{SET occ.if_match = '$tag';
	UPDATE parts SET price = 3 WHERE id = 1 RETURNING price});
is("$state $out", '00000 3', 'hash: the current tag is accepted');

$new->stop;
done_testing();
