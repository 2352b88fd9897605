
# Copyright (c) 2026, the occ developers
#
# 003_physical_standby.pl: occ keeps nothing outside the catalogs and the
# tables, so a streaming standby must read exactly the primary's versions
# and the same occ.tables, without doing anything itself, and once promoted
# check writes exactly as the primary did.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION occ;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 3) g;
SELECT occ.enable('accounts', mode => 'strict');
CREATE TABLE trades (id int PRIMARY KEY, qty int NOT NULL);
INSERT INTO trades SELECT g, 10 FROM generate_series(1, 3) g;
SELECT occ.enable('trades', 'updated_at', 'timestamp');
CREATE TABLE measurements (id int PRIMARY KEY, reading int)
  PARTITION BY RANGE (id);
CREATE TABLE measurements_low PARTITION OF measurements FOR VALUES FROM (0) TO (10);
CREATE TABLE measurements_high PARTITION OF measurements FOR VALUES FROM (10) TO (20);
INSERT INTO measurements VALUES (1, 1), (11, 11);
SELECT occ.enable('measurements');
});

# The standby starts from a base backup taken now, and streams the rest.
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Changes after the backup reach the standby only through the WAL stream.
$primary->safe_psql(
	'postgres', q{
UPDATE accounts SET balance = 110, version = 1 WHERE id = 1;
UPDATE accounts SET balance = 120, version = 2 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE accounts SET balance = 200 WHERE id = 2;
COMMIT;
UPDATE trades SET qty = 11 WHERE id = 1;
UPDATE trades SET qty = 12 WHERE id = 1;
UPDATE measurements SET reading = 2, version = 1 WHERE id = 1;
UPDATE measurements SET id = 12, version = 1 WHERE id = 11;
SELECT occ.set_mode('trades', 'none');
});
$primary->wait_for_catchup($standby);

my $rows_query = q{
SET timezone = 'UTC';
SELECT 'accounts', a::text FROM accounts a
UNION ALL SELECT 'trades', t::text FROM trades t
UNION ALL SELECT m.tableoid::regclass::text, m::text FROM measurements m
ORDER BY 1, 2;
};
my $tables_query = q{
SELECT table_name, version_column, kind, coalesce(mode, '(null)'), effective_mode
  FROM occ.tables ORDER BY table_name::text;
};

is( $primary->safe_psql(
		'postgres', q{
SELECT string_agg(id || ':' || version, ' ' ORDER BY id) FROM accounts;
SELECT string_agg(id || ':' || version, ' ' ORDER BY id) FROM measurements;
SELECT count(DISTINCT updated_at) FROM trades;
}),
	"1:3 2:2 3:1\n1:2 12:2\n2",
	'primary: versions advanced by its writes');
is($standby->safe_psql('postgres', $rows_query),
	$primary->safe_psql('postgres', $rows_query),
	'standby: every row, version included, equals the primary\'s');
is($standby->safe_psql('postgres', $tables_query),
	$primary->safe_psql('postgres', $tables_query),
	'standby: occ.tables equals the primary\'s');
is( $standby->safe_psql('postgres', $tables_query),
	"accounts|version|integer|strict|strict\n"
	  . "measurements|version|integer|(null)|lax\n"
	  . "trades|updated_at|timestamp|none|none",
	'standby: occ.tables shows the mode changed after the backup');

# It is a standby: writes are refused before occ is even asked.
my ($ret, $out, $err) = $standby->psql(
	'postgres',
	"\\set ON_ERROR_STOP 0\nUPDATE accounts SET balance = 0, version = 3 WHERE id = 1;\n\\echo :SQLSTATE"
);
is($out, '25006', 'standby: a write is refused as read-only (25006)');

# Promoted, the former standby checks writes with the settings it received.
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'standby was not promoted';
($ret, $out, $err) = $standby->psql(
	'postgres', q{\set ON_ERROR_STOP 0
UPDATE accounts SET balance = 0, version = 2 WHERE id = 1;
\echo :SQLSTATE
UPDATE accounts SET balance = 0 WHERE id = 1;
\echo :SQLSTATE
UPDATE measurements SET reading = 0, version = 1 WHERE id = 12;
\echo :SQLSTATE
UPDATE accounts SET balance = 0, version = 3 WHERE id = 1 RETURNING version;
UPDATE measurements SET reading = 0, version = 2 WHERE id = 12 RETURNING version;
});
is( $out,
	"40V01\n23V01\n40V01\n4\n3",
	'promoted standby: stale writes fail (40V01), strict needs a version (23V01), versions advance by one'
);

$standby->stop;

done_testing();
