
# Copyright (c) 2026, the occ developers
#
# 002_logical_replication.pl: the publisher checks and advances versions;
# the subscriber, whose tables are protected by occ too, must apply the
# publisher's rows exactly as they are (no second advance, no check that
# could make the apply worker fail, even on a strict table), and must still
# check the writes made on it locally.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

# apply and sync errors are counted in pg_stat_subscription_stats from
# PostgreSQL 15 on
my $counts_errors =
  $sub->safe_psql('postgres', 'SHOW server_version_num') >= 150000;

# Run $setup (which must succeed), then $stmt, in one session on $node's
# database "app".  Returns the SQLSTATE of $stmt ('00000' if it succeeded)
# and whatever $stmt printed.
sub try_sql
{
	my ($node, $setup, $stmt) = @_;
	my $script =
	    "SET timezone = 'UTC';\n$setup\n"
	  . "\\set ON_ERROR_STOP 0\n"
	  . "\\echo BEGIN-OUTPUT\n$stmt;\n\\echo SQLSTATE=:SQLSTATE\n";
	my ($ret, $out, $err) = $node->psql('app', $script);
	die "setup failed on " . $node->name . ": $err"
	  unless $out =~ /BEGIN-OUTPUT\n/;
	my ($printed, $state) = $out =~ /BEGIN-OUTPUT\n(.*?)\n?SQLSTATE=(\w+)$/s
	  or die "cannot read SQLSTATE from: $out";
	return ($state, $printed);
}

# Wait until the subscriber has applied everything the publisher has
# written so far.  An apply error makes the worker retry forever, so stop
# waiting as soon as one is counted instead of running into the timeout.
sub wait_for_apply
{
	my $target = $pub->lsn('write');
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		return 1
		  if $pub->safe_psql('postgres',
			"SELECT bool_and('$target' <= replay_lsn) FROM pg_stat_replication"
			  . " WHERE application_name = 'occ_sub'") eq 't';
		return 0
		  if $counts_errors
		  and $sub->safe_psql('app',
			'SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats'
		  ) ne '0';
		usleep(100_000);
	}
	return 0;
}

# The same schema, protected the same way, on both nodes.
my $schema = q{
CREATE EXTENSION occ;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
SELECT occ.enable('accounts', mode => 'lax');
CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL);
SELECT occ.enable('orders', 'rev', mode => 'strict');
CREATE TABLE trades (id int PRIMARY KEY, qty int NOT NULL);
SELECT occ.enable('trades', 'updated_at', 'timestamp');
};
for my $node ($pub, $sub)
{
	$node->safe_psql('postgres', 'CREATE DATABASE app');
	$node->safe_psql('app', $schema);
}

# Rows present before the subscription: copied by the initial sync.
$pub->safe_psql(
	'app', q{
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 4) g;
INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 4) g;
INSERT INTO trades SELECT g, 10 FROM generate_series(1, 4) g;
UPDATE accounts SET balance = 150, version = 1 WHERE id = 1;
});

$pub->safe_psql('app', 'CREATE PUBLICATION occ_pub FOR ALL TABLES');
my $pub_connstr = $pub->connstr . ' dbname=app';
$sub->safe_psql('app',
	"CREATE SUBSCRIPTION occ_sub CONNECTION '$pub_connstr' PUBLICATION occ_pub"
);
$sub->poll_query_until('app',
	"SELECT bool_and(srsubstate IN ('r', 's')) FROM pg_subscription_rel")
  or die 'initial sync did not finish';

# Changes streamed after the initial sync: inserts, updates that state
# versions in every way occ knows, several updates of one row in one
# transaction, deletes.
my $ts2 = $pub->safe_psql('app',
	q{SET timezone = 'UTC'; SELECT updated_at FROM trades WHERE id = 2});
$pub->safe_psql(
	'app', qq{
INSERT INTO accounts VALUES (5, 500);
INSERT INTO orders VALUES (5, 'new');
INSERT INTO trades VALUES (5, 50);

UPDATE accounts SET balance = 160, version = 2 WHERE id = 1;
UPDATE accounts SET balance = 200 WHERE id = 2;
UPDATE accounts SET balance = 501, version = 2 WHERE id = 5 AND version = 1;
BEGIN;
UPDATE accounts SET balance = 301, version = 1 WHERE id = 3;
UPDATE accounts SET balance = 302, version = 2 WHERE id = 3;
UPDATE accounts SET balance = 303, version = 3 WHERE id = 3;
COMMIT;

UPDATE orders SET status = 'paid', rev = 1 WHERE id = 1;
UPDATE orders SET status = 'shipped', rev = 2 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '"1"';
UPDATE orders SET status = 'paid' WHERE id = 2;
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '1';
DELETE FROM orders WHERE id = 3;
COMMIT;

UPDATE trades SET qty = 11 WHERE id = 1;
UPDATE trades SET qty = 12 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '$ts2';
UPDATE trades SET qty = 21 WHERE id = 2;
COMMIT;
DELETE FROM trades WHERE id = 4;
DELETE FROM accounts WHERE id = 4;
});
ok(wait_for_apply(), 'subscriber applied every change without an error');

# The publisher did what we meant: versions moved, row by row.
is( $pub->safe_psql(
		'app', q{
SELECT string_agg(id || ':' || version, ' ' ORDER BY id) FROM accounts;
SELECT string_agg(id || ':' || rev, ' ' ORDER BY id) FROM orders;
SELECT count(DISTINCT updated_at) FROM trades;
}),
	"1:3 2:2 3:4 5:2\n1:3 2:2 4:1 5:1\n4",
	'publisher: versions advanced by its own writes');

my $rows_query = q{
SET timezone = 'UTC';
SELECT 'accounts', a::text FROM accounts a
UNION ALL SELECT 'orders', o::text FROM orders o
UNION ALL SELECT 'trades', t::text FROM trades t
ORDER BY 1, 2;
};
my $pub_rows = $pub->safe_psql('app', $rows_query);
is($sub->safe_psql('app', $rows_query),
	$pub_rows,
	'subscriber: every row, version included, equals the publisher\'s');

# Nothing went wrong in the apply or sync workers (counted from PostgreSQL
# 15 on; before, the log check below is all there is).
SKIP:
{
	skip 'pg_stat_subscription_stats needs PostgreSQL 15 or later', 1
	  unless $counts_errors;
	is( $sub->safe_psql(
			'app', q{
SELECT apply_error_count, sync_error_count FROM pg_stat_subscription_stats
 WHERE subname = 'occ_sub'}),
		'0|0',
		'subscriber: no apply or sync errors counted');
}
my $sub_log = slurp_file($sub->logfile);
unlike($sub_log, qr/ERROR:/, 'subscriber log: no ERROR so far');

# The subscriber's tables are still protected, and listed as such.
is( $sub->safe_psql(
		'app',
		'SELECT table_name, version_column, kind, effective_mode FROM occ.tables ORDER BY table_name::text'
	),
	"accounts|version|integer|lax\norders|rev|integer|strict\ntrades|updated_at|timestamp|lax",
	'subscriber: occ.tables lists the three tables');

# Local writes on the subscriber are checked.
my ($state, $out);
($state) = try_sql($sub, '',
	'UPDATE accounts SET balance = 0, version = 2 WHERE id = 1');
is($state, '40V01', 'subscriber: a stale local update fails with 40V01');
($state, $out) = try_sql($sub, '',
	'UPDATE accounts SET balance = 0, version = 3 WHERE id = 1 RETURNING version'
);
is("$state $out", '00000 4',
	'subscriber: a local update stating the current version advances it by one'
);
($state) = try_sql($sub, '', q{UPDATE orders SET status = 'x' WHERE id = 1});
is($state, '23V01',
	'subscriber: a local unstated update of a strict table fails with 23V01');
($state) = try_sql($sub, '', 'DELETE FROM orders WHERE id = 5');
is($state, '23V01',
	'subscriber: a local unstated delete from a strict table fails with 23V01');
($state, $out) = try_sql($sub, '',
	q{UPDATE orders SET status = 'x', rev = 3 WHERE id = 1 RETURNING rev});
is("$state $out", '00000 4',
	'subscriber: a local update of a strict table stating its version advances it by one'
);
($state) = try_sql($sub, qq{SET occ.if_match = '$ts2';},
	'UPDATE trades SET qty = 0 WHERE id = 2');
is($state, '40V01',
	'subscriber: a local update stating an old timestamp fails with 40V01');

$sub->stop;
$pub->stop;

done_testing();
