
# Copyright (c) 2026, the occ developers
#
# 009_stream_replicas.pl: a stream table's events keep their exact versions
# through pg_dump and pg_restore and on a logical subscriber, and appends
# continue there at the right versions.
#
# The source holds every shape of stream table occ knows: lax with a text
# stream, strict with an integer stream and a version column of its own
# name, partitioned by hash of its stream, and quoted identifiers.  Its
# events were appended every way occ knows (occ.append, occ.if_match,
# explicit versions, several streams in one statement, nothing stated),
# and, in mode none, changed and archived and imported with a gap: one
# event updated (so the heap no longer holds the stream in version order),
# one stream deleted, one stream starting at version 5.  Were occ's trigger
# to check the restored or replicated rows, the out-of-order event and the
# gap would fail with 40V01 and the replicated UPDATE and DELETE with 55000.
#
# Dump and restore: a custom-format dump restored by pg_restore and a plain
# dump replayed by psql, both as the database owner, who is not a
# superuser, and a data-only restore with --disable-triggers into a copy of
# the schema.  Each copy lists the same tables in occ.tables (kind stream,
# its stream column), has the same triggers and exactly the same events,
# and checks appends exactly as the source does: the next versions follow
# on, stale and missing expected versions are refused, events cannot be
# changed.
#
# Logical replication: publisher and subscriber both protect the tables.
# The apply and table synchronization workers run with
# session_replication_role = replica, so the subscriber's own trigger
# neither checks nor renumbers: the subscriber ends with exactly the
# publisher's events, with no apply error, and its local appends are still
# checked.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(allows_streaming => 'logical');
$node->start;

# The role that owns everything.  It is not a superuser; it may log in and
# own databases, nothing more.
$node->safe_psql('postgres',
	'CREATE ROLE occ_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE');
$node->safe_psql('postgres', 'CREATE DATABASE src OWNER occ_owner');

# Connection string for $db as occ_owner.
sub as_owner
{
	my ($db) = @_;
	return $node->connstr($db) . ' user=occ_owner';
}

# Run $sql in $db on $on (default: $node) as occ_owner; die on any error.
sub owner_sql
{
	my ($db, $sql, $on) = @_;
	$on //= $node;
	return $on->safe_psql($db, $sql, extra_params => [ '-U', 'occ_owner' ]);
}

# Run $setup (which must succeed), then $stmt, in one session of occ_owner
# on $db of $on.  Returns the SQLSTATE of $stmt ('00000' if it succeeded)
# and whatever $stmt printed.
sub try_sql
{
	my ($on, $db, $setup, $stmt) = @_;
	my $script =
	    "$setup\n"
	  . "\\set ON_ERROR_STOP 0\n"
	  . "\\echo BEGIN-OUTPUT\n$stmt;\n\\echo SQLSTATE=:SQLSTATE\n";
	my ($ret, $out, $err) =
	  $on->psql($db, $script, extra_params => [ '-U', 'occ_owner' ]);
	die "setup failed in $db: $err" unless $out =~ /BEGIN-OUTPUT\n/;
	my ($printed, $state) = $out =~ /BEGIN-OUTPUT\n(.*?)\n?SQLSTATE=(\w+)$/s
	  or die "cannot read SQLSTATE from: $out";
	return ($state, $printed);
}

# The tables, protected; the same on every node.
my $schema = q{
CREATE EXTENSION occ;

-- lax (the default mode), a text stream
CREATE TABLE events (stream_id text, version bigint, type text NOT NULL, data jsonb,
                     PRIMARY KEY (stream_id, version));
SELECT occ.enable('events', kind => 'stream', stream_column => 'stream_id');

-- strict, an integer stream, an integer version column of its own name
CREATE TABLE ledger (account int, seq int, amount numeric NOT NULL,
                     PRIMARY KEY (account, seq));
SELECT occ.enable('ledger', 'seq', kind => 'stream', mode => 'strict',
                  stream_column => 'account');

-- partitioned by hash of its stream, enabled on the parent
CREATE TABLE parcels (parcel text, version bigint, status text NOT NULL,
                      PRIMARY KEY (parcel, version)) PARTITION BY HASH (parcel);
CREATE TABLE parcels_0 PARTITION OF parcels FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE parcels_1 PARTITION OF parcels FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT occ.enable('parcels', kind => 'stream', stream_column => 'parcel', mode => 'lax');

-- identifiers that need quoting, a smallint version
CREATE SCHEMA "Audit";
CREATE TABLE "Audit"."Trail Entries" ("Entity Id" text, "Rev" smallint, note text,
                                      PRIMARY KEY ("Entity Id", "Rev"));
SELECT occ.enable('"Audit"."Trail Entries"', 'Rev', kind => 'stream',
                  stream_column => 'Entity Id');
};

# Appends in every form, run on the source and, after the subscription's
# initial copy, on the publisher.  $p tells the streams of one run from
# another's, $acct the ledger's accounts (${acct}1 and ${acct}2).
sub appends
{
	my ($p, $acct) = @_;
	return qq{
SELECT occ.append('events', '$p-1', '0',
                  '[{"type": "Created"}, {"type": "Renamed"}, {"type": "Moved"}]');
BEGIN;
SET LOCAL occ.if_match = '3';
INSERT INTO events (stream_id, type) VALUES ('$p-1', 'Tagged'), ('$p-1', 'Moved');
COMMIT;
INSERT INTO events (stream_id, version, type)
VALUES ('$p-2', 1, 'Created'), ('$p-2', 2, 'Closed');
INSERT INTO events (stream_id, type) VALUES ('$p-3', 'Created'), ('$p-3', 'Closed');
-- explicit versions in several streams, one statement
INSERT INTO events (stream_id, version, type)
VALUES ('$p-4', 1, 'Created'), ('$p-5', 1, 'Created'), ('$p-4', 2, 'Moved');
SELECT occ.append('events', '$p-5', NULL, '[{"type": "Moved", "data": {"to": "done"}}]');

-- mode none: change an event, archive a stream, import one with a gap
SELECT occ.set_mode('events', 'none');
UPDATE events SET data = '{"redacted": true}' WHERE stream_id = '$p-1' AND version = 2;
DELETE FROM events WHERE stream_id = '$p-3';
INSERT INTO events VALUES ('$p-6', 5, 'Imported', NULL);
SELECT occ.set_mode('events', NULL);

SELECT occ.append('ledger', '${acct}1', '0', '[{"amount": 10}, {"amount": -4}]');
BEGIN;
SET LOCAL occ.if_match = '"2"';
INSERT INTO ledger (account, amount) VALUES (${acct}1, 7);
COMMIT;
INSERT INTO ledger VALUES (${acct}2, 1, 100), (${acct}2, 2, -50);

SELECT occ.append('parcels', '$p-p1', NULL, '[{"status": "registered"}, {"status": "picked"}]');
SELECT occ.append('parcels', '$p-p4', '0', '[{"status": "registered"}]');
INSERT INTO parcels (parcel, status) VALUES ('$p-p6', 'registered'), ('$p-p6', 'sorted');
-- straight into the partition that holds the stream
DO \$\$
DECLARE
  part regclass := (SELECT tableoid::regclass FROM parcels WHERE parcel = '$p-p1' LIMIT 1);
BEGIN
  EXECUTE format('INSERT INTO %s (parcel, version, status) VALUES (%L, 3, %L)',
                 part, '$p-p1', 'delivered');
END
\$\$;

SELECT occ.append('"Audit"."Trail Entries"', 'E $p', '0', '[{"note": "a"}, {"note": "b"}]');
};
}

# Every event of every table, as text, in a fixed order; partitions named.
my $rows_query = q{
SELECT 'events', e::text FROM events e
UNION ALL SELECT 'ledger', l::text FROM ledger l
UNION ALL SELECT p.tableoid::regclass::text, p::text FROM parcels p
UNION ALL SELECT 'trail', t::text FROM "Audit"."Trail Entries" t
ORDER BY 1, 2;
};
my $tables_query = q{
SELECT table_name::text, schema_name, version_column, kind,
       coalesce(mode, '(null)'), effective_mode, stream_column
  FROM occ.tables ORDER BY 1;
};
my $triggers_query = q{
SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled, t.tgparentid <> 0,
       encode(t.tgargs, 'escape')
  FROM pg_trigger t
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure
 ORDER BY 1;
};
# Each stream and its versions, in heap order: the order pg_dump writes.
my $streams_query = q{
SELECT 'events', stream_id, string_agg(version::text, ',' ORDER BY ctid) FROM events
 GROUP BY stream_id
UNION ALL
SELECT 'ledger', account::text, string_agg(seq::text, ',' ORDER BY ctid) FROM ledger
 GROUP BY account
UNION ALL
SELECT 'parcels', parcel, string_agg(version::text, ',' ORDER BY version) FROM parcels
 GROUP BY parcel
UNION ALL
SELECT 'trail', "Entity Id", string_agg("Rev"::text, ',' ORDER BY ctid)
  FROM "Audit"."Trail Entries" GROUP BY "Entity Id"
ORDER BY 1, 2;
};

# ==== the source database, built by occ_owner alone ====

owner_sql('src', $schema);
owner_sql('src', appends('card', 4));

my $src_rows = owner_sql('src', $rows_query);
my $src_tables = owner_sql('src', $tables_query);
my $src_triggers = owner_sql('src', $triggers_query);

is($src_tables,
	"\"Audit\".\"Trail Entries\"|Audit|Rev|stream|(null)|lax|Entity Id\n"
	  . "events|public|version|stream|(null)|lax|stream_id\n"
	  . "ledger|public|seq|stream|strict|strict|account\n"
	  . "parcels|public|version|stream|lax|lax|parcel",
	'source: occ.tables lists four stream tables with their stream columns');
is( owner_sql('src', $streams_query),
	"events|card-1|1,3,4,5,2\n"
	  . "events|card-2|1,2\n"
	  . "events|card-4|1,2\n"
	  . "events|card-5|1,2\n"
	  . "events|card-6|5\n"
	  . "ledger|41|1,2,3\n"
	  . "ledger|42|1,2\n"
	  . "parcels|card-p1|1,2,3\n"
	  . "parcels|card-p4|1\n"
	  . "parcels|card-p6|1,2\n"
	  . "trail|E card|1,2",
	'source: the events have the versions meant, card-1 out of order in the heap, card-6 from 5'
);

# ==== what a restored database must show ====

# $db was restored from src: the same tables, triggers and events, and
# appends checked as in the source.
sub check_restored
{
	my ($db, $how) = @_;

	is(owner_sql($db, $tables_query),
		$src_tables, "$how: occ.tables equals the source's");
	is(owner_sql($db, $triggers_query),
		$src_triggers, "$how: the same occ triggers, with the same arguments");
	is(owner_sql($db, $rows_query),
		$src_rows, "$how: every event, version included, equals the source's");

	my ($state, $out);

	# lax: the next versions follow on
	($state, $out) = try_sql($node, $db, '',
		q{SELECT occ.append('events', 'card-1', '5', '[{"type": "Archived"}]')});
	is("$state $out", '00000 6',
		"$how: occ.append expecting the stream's version appends the next one");
	($state) = try_sql($node, $db, '',
		q{SELECT occ.append('events', 'card-1', '5', '[{"type": "Archived"}]')});
	is($state, '40V01', "$how: occ.append expecting a stale version fails with 40V01");
	($state, $out) = try_sql($node, $db, '',
		q{INSERT INTO events (stream_id, type) VALUES ('card-2', 'Reopened') RETURNING version});
	is("$state $out", '00000 3', "$how: an INSERT stating nothing appends version 3");
	($state) = try_sql($node, $db, '',
		q{INSERT INTO events (stream_id, version, type) VALUES ('card-4', 2, 'Moved')});
	is($state, '40V01',
		"$how: an explicit version already taken fails with 40V01, not 23505");
	($state, $out) = try_sql($node, $db, q{SET occ.if_match = '5';},
		q{INSERT INTO events (stream_id, type) VALUES ('card-6', 'Moved') RETURNING version});
	is("$state $out", '00000 6',
		"$how: the stream imported at version 5 continues at 6");
	($state) = try_sql($node, $db, q{SET occ.if_match = '0';},
		q{INSERT INTO events (stream_id, type) VALUES ('card-5', 'Created')});
	is($state, '40V01', "$how: occ.if_match = 0 on an existing stream fails with 40V01");
	($state) = try_sql($node, $db, q{SET occ.if_match = '*';},
		q{INSERT INTO events (stream_id, type) VALUES ('card-3', 'Created')});
	is($state, '40V01',
		"$how: occ.if_match = * on the archived stream fails with 40V01");
	($state, $out) = try_sql($node, $db, '',
		q{SELECT occ.append('events', 'card-3', '0', '[{"type": "Created"}]')});
	is("$state $out", '00000 1', "$how: the archived stream starts again at 1");
	($state) = try_sql($node, $db, '',
		q{UPDATE events SET data = '{}' WHERE stream_id = 'card-2'});
	is($state, '55000', "$how: an UPDATE of an event fails with 55000");
	($state) = try_sql($node, $db, '', q{DELETE FROM events WHERE stream_id = 'card-2'});
	is($state, '55000', "$how: a DELETE of an event fails with 55000");

	# strict
	($state) = try_sql($node, $db, '',
		q{INSERT INTO ledger (account, amount) VALUES (41, 1)});
	is($state, '23V01', "$how: strict ledger refuses an append stating nothing with 23V01");
	($state, $out) = try_sql($node, $db, '',
		q{SELECT occ.append('ledger', '41', '3', '[{"amount": 1}]')});
	is("$state $out", '00000 4', "$how: strict ledger appends after its version 3");
	($state) = try_sql($node, $db, '',
		q{INSERT INTO ledger VALUES (42, 2, 1)});
	is($state, '40V01', "$how: strict ledger refuses a version taken with 40V01");

	# partitioned, through the parent and through a partition
	($state, $out) = try_sql($node, $db, '',
		q{SELECT occ.append('parcels', 'card-p1', '3', '[{"status": "returned"}]')});
	is("$state $out", '00000 4', "$how: the partitioned table appends after version 3");
	my $part = owner_sql($db,
		q{SELECT tableoid::regclass FROM parcels WHERE parcel = 'card-p1' LIMIT 1});
	($state) = try_sql($node, $db, '',
		"INSERT INTO $part (parcel, version, status) VALUES ('card-p1', 4, 'x')");
	is($state, '40V01', "$how: a stale append to a partition fails with 40V01");

	# quoted identifiers
	($state, $out) = try_sql($node, $db, '',
		q{SELECT occ.append('"Audit"."Trail Entries"', 'E card', '2', '[{"note": "c"}]')});
	is("$state $out", '00000 3', "$how: \"Trail Entries\" appends after version 2");

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

# ==== data only, into a copy of the schema, triggers disabled ====

# The trigger exists while the data is loaded; --disable-triggers (for a
# superuser) keeps it from firing, as for any trigger.
$node->safe_psql('postgres', 'CREATE DATABASE restored_data OWNER occ_owner');
$node->command_ok(
	[
		'pg_restore', '--exit-on-error', '--schema-only',
		'-d', as_owner('restored_data'), "$tmp/src.dump"
	],
	'pg_restore --schema-only as occ_owner');
$node->command_checks_all(
	[
		'pg_restore', '--exit-on-error', '--data-only', '--disable-triggers',
		'-d', $node->connstr('restored_data'), "$tmp/src.dump"
	],
	0,
	[qr/^$/],
	[qr/^$/],
	'pg_restore --data-only --disable-triggers without errors');
check_restored('restored_data', 'data-only restore');

# ==== logical replication ====

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

# apply and sync errors are counted in pg_stat_subscription_stats from
# PostgreSQL 15 on
my $counts_errors =
  $sub->safe_psql('postgres', 'SHOW server_version_num') >= 150000;

# Wait until the subscriber has applied everything the publisher has
# written so far; stop waiting as soon as an apply error is counted.
sub wait_for_apply
{
	my $target = $node->lsn('write');
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		return 1
		  if $node->safe_psql('postgres',
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

for my $n ($node, $sub)
{
	$n->safe_psql('postgres', 'CREATE ROLE occ_owner LOGIN NOSUPERUSER')
	  if $n == $sub;
	$n->safe_psql('postgres', 'CREATE DATABASE app OWNER occ_owner');
	owner_sql('app', $schema, $n);
}

# Events present before the subscription: copied by the initial sync.
owner_sql('app', appends('sync', 5));

$node->safe_psql('app', 'CREATE PUBLICATION occ_pub FOR ALL TABLES');
my $pub_connstr = $node->connstr . ' dbname=app';
$sub->safe_psql('app',
	"CREATE SUBSCRIPTION occ_sub CONNECTION '$pub_connstr' PUBLICATION occ_pub");
$sub->poll_query_until('app',
	"SELECT bool_and(srsubstate IN ('r', 's')) FROM pg_subscription_rel")
  or die 'initial sync did not finish';

# Events streamed after the initial sync, the changes and archive in mode
# none included, and appends to the streams the initial sync copied.
owner_sql('app', appends('live', 6));
owner_sql(
	'app', q{
SELECT occ.append('events', 'sync-1', '5', '[{"type": "Closed"}]');
SELECT occ.append('events', 'sync-6', '5', '[{"type": "Closed"}]');
SELECT occ.append('ledger', '51', '3', '[{"amount": 1}]');
});
ok(wait_for_apply(), 'subscriber applied every change without an error');

my $pub_rows = owner_sql('app', $rows_query);
like($pub_rows, qr/^events\|\(live-6,5,Imported,\)$/m,
	'publisher: the imported event kept its version 5');
like($pub_rows, qr/^events\|\(sync-1,6,Closed,\)$/m,
	'publisher: an append after the initial sync got version 6');
unlike($pub_rows, qr/^events\|\((sync|live)-3,/m,
	'publisher: the archived streams are gone');
is(owner_sql('app', $rows_query, $sub),
	$pub_rows,
	'subscriber: every event, version included, equals the publisher\'s');

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
unlike(slurp_file($sub->logfile), qr/ERROR:/, 'subscriber log: no ERROR');

is(owner_sql('app', $tables_query, $sub),
	$src_tables, 'subscriber: occ.tables lists the four stream tables');

# Local appends on the subscriber are checked, against the replicated
# versions.
my ($state, $out);
($state, $out) = try_sql($sub, 'app', '',
	q{SELECT occ.append('events', 'live-1', '5', '[{"type": "Local"}]')});
is("$state $out", '00000 6',
	'subscriber: a local append expecting the replicated version appends the next');
($state) = try_sql($sub, 'app', '',
	q{SELECT occ.append('events', 'sync-1', '5', '[{"type": "Local"}]')});
is($state, '40V01',
	'subscriber: a local append expecting a version replaced since fails with 40V01');
($state) = try_sql($sub, 'app', '', q{INSERT INTO ledger (account, amount) VALUES (51, 1)});
is($state, '23V01', 'subscriber: a local append stating nothing to strict ledger fails with 23V01');
($state) = try_sql($sub, 'app', '', q{DELETE FROM events WHERE stream_id = 'live-2'});
is($state, '55000', 'subscriber: a local DELETE of an event fails with 55000');

$sub->stop;
$node->stop;

done_testing();
