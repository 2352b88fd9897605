
# Copyright (c) 2026, the occ developers
#
# 011_audit_log.pl: the server log's lines for audited writes (issue 13).
# After a known mix of writes -- tables in lax audited as strict and in
# none audited as lax or strict, a partition, a role that may not read the
# key, a quoted statement over two lines, a burst of 25 rows in one
# statement, one in a transaction block followed by another statement --
# the log holds exactly one "occ audit:" line per report with the fields
# expected, the burst bound (10 lines, then one summary line with the
# count), and no line for writes that state their current version.  The
# client's WARNING carries the would-be SQLSTATE and the fields, and goes
# to the client only (PostgreSQL 14 and later); occ.audit_client_messages
# silences the client but not the log; a client's startup option does not
# weaken occ.default_audit as configured for the database.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
my $version_num = $node->safe_psql('postgres', 'SHOW server_version_num');

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION occ;
CREATE ROLE clerk LOGIN;
CREATE ROLE blind LOGIN;
CREATE TABLE acct (id int PRIMARY KEY, v text);
CREATE TABLE inv (id int PRIMARY KEY, v text);
CREATE TABLE parted (id int PRIMARY KEY, v text) PARTITION BY LIST (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1, 2);
CREATE TABLE burst (id int PRIMARY KEY, v text);
CREATE TABLE quiet (id int PRIMARY KEY, v text);
INSERT INTO acct SELECT g, 'a' FROM generate_series(1, 5) g;
INSERT INTO inv SELECT g, 'a' FROM generate_series(1, 5) g;
INSERT INTO parted VALUES (1, 'a'), (2, 'b');
INSERT INTO burst SELECT g, 'a' FROM generate_series(1, 25) g;
INSERT INTO quiet SELECT g, 'a' FROM generate_series(1, 5) g;
SELECT occ.enable('acct', mode => 'lax', audit => 'strict');
SELECT occ.enable('inv', mode => 'none', audit => 'lax');
SELECT occ.enable('parted', mode => 'none', audit => 'strict');
SELECT occ.enable('burst', mode => 'lax', audit => 'strict');
SELECT occ.enable('quiet', mode => 'lax');
GRANT SELECT, UPDATE, DELETE ON acct, inv, parted, burst, quiet TO clerk;
GRANT SELECT (v), UPDATE (v, version) ON inv TO blind;
});

# The "occ audit" lines the log got since $offset, decoded.
sub audit_lines
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @lines = $log =~ /LOG:  occ audit: (\{.*\})\n/g;
	my @summaries = $log =~ /LOG:  occ audit summary: (\{.*\})\n/g;
	return ([ map { decode_json($_) } @lines ], [ map { decode_json($_) } @summaries ], $log);
}

# ==== a known mix of writes, as clerk, from application "billing" ====
my $offset = -s $node->logfile;
my ($stdout, $stderr);
$node->psql(
	'postgres', q{
SET application_name = 'billing';
UPDATE acct SET v = 'b' WHERE id = 1;
DELETE FROM acct WHERE id = 2;
UPDATE acct SET v = 'c', version = 1 WHERE id = 3;
UPDATE inv SET v = 'b', version = 0 WHERE id = 1;
UPDATE inv SET v = 'c' WHERE id = 2;
UPDATE acct
   SET v = 'it''s "quoted"' WHERE id = 4;
UPDATE parted SET v = 'c' WHERE id = 1;
UPDATE quiet SET v = 'b' WHERE id = 1;
},
	stdout => \$stdout,
	stderr => \$stderr,
	extra_params => [ '-U', 'clerk' ]);
my ($lines) = audit_lines($offset);
is(scalar @$lines, 5, 'five writes reported: the others stated their version or were not audited');

my @fields = qw(sqlstate table relation operation key stated current mode audit role application_name statement);
is_deeply([ sort keys %{ $lines->[0] } ], [ sort @fields ], 'every line has the same keys');
my $raw = (audit_lines($offset))[2];
my ($first) = $raw =~ /occ audit: (\{.*\})\n/;
like($first, qr/^\{"sqlstate": "23V01", "table": "public.acct", "relation": "public.acct", "operation": "update", "key": null, "stated": null, "current": null, "mode": "lax", "audit": "strict", "role": "clerk", "application_name": "billing", "statement": "UPDATE acct SET v = 'b' WHERE id = 1;"\}$/,
	'an unstated update, in the stable format, keys in order');
is_deeply(
	[ map { "$_->{sqlstate} $_->{table} $_->{operation}" } @$lines ],
	[
		'23V01 public.acct update', '23V01 public.acct delete',
		'40V01 public.inv update', '23V01 public.acct update',
		'23V01 public.parted update'
	],
	'the reports, in order');
is_deeply(
	[ @{ $lines->[2] }{qw(key stated current mode audit)} ],
	[ '(id)=(1)', '0', '1', 'none', 'lax' ],
	'a stale write: its key, the version stated and the current one');
is($lines->[3]{statement}, qq{UPDATE acct\n   SET v = 'it''s "quoted"' WHERE id = 4;},
	'a statement over two lines, with quotes, is one line of the log and reads back exactly');
is($lines->[4]{relation}, 'public.parted_1', 'a partition is the relation written');
is($lines->[4]{table}, 'public.parted', 'and the table the one enabled');
is($lines->[4]{mode} . ' ' . $lines->[4]{audit}, 'none strict', 'with its mode and audit level');
like($stderr, qr/WARNING:  update of relation "acct" does not state the version it expects/,
	'the client got a warning');

# ==== the client's warning: would-be SQLSTATE and fields; not logged ====
$offset = -s $node->logfile;
$node->psql(
	'postgres', q{
\set VERBOSITY verbose
UPDATE inv SET v = 'd', version = 0 WHERE id = 3;
},
	stdout => \$stdout,
	stderr => \$stderr);
like($stderr, qr/WARNING:  40V01: version conflict on update of relation "inv"/,
	'the warning carries the would-be SQLSTATE');
like($stderr, qr/SCHEMA NAME:  public\nTABLE NAME:  inv\nCOLUMN NAME:  version\n/,
	'and the schema, table and column fields');
my $log;
($lines, undef, $log) = audit_lines($offset);
is(scalar @$lines, 1, 'one line in the log');
if ($version_num >= 140000)
{
	unlike($log, qr/WARNING/, 'the warning went to the client only');
}

# ==== a role that may not read the key ====
$offset = -s $node->logfile;
$node->psql('postgres', q{UPDATE inv SET v = 'e', version = 0 WHERE v = 'd';},
	stderr => \$stderr, extra_params => [ '-U', 'blind' ]);
($lines) = audit_lines($offset);
is_deeply([ @{ $lines->[0] }{qw(key stated current role)} ], [ undef, undef, undef, 'blind' ],
	'neither the key nor the versions of a role that may not read them');
$node->safe_psql('postgres', 'GRANT SELECT (version) ON inv TO blind');
$offset = -s $node->logfile;
$node->psql('postgres', q{UPDATE inv SET v = 'f', version = 0 WHERE v = 'e';},
	stderr => \$stderr, extra_params => [ '-U', 'blind' ]);
($lines) = audit_lines($offset);
is_deeply([ @{ $lines->[0] }{qw(key stated current)} ], [ undef, '0', '3' ],
	'the versions, once it may read them, and still no key');

# ==== a burst: 10 lines, then one summary with the count ====
$offset = -s $node->logfile;
$node->psql('postgres', q{UPDATE burst SET v = 'b';}, stderr => \$stderr);
my $summaries;
($lines, $summaries) = audit_lines($offset);
is(scalar @$lines, 10, 'a statement that writes 25 rows logs 10 reports');
is(scalar @$summaries, 1, 'and one summary');
is_deeply(
	[ @{ $summaries->[0] }{qw(reports logged unlogged_stale unlogged_missing tables statement)} ],
	[ 25, 10, 0, 15, ['public.burst'], q{UPDATE burst SET v = 'b';} ],
	'the summary counts the 15 not logged, and names the table and statement');
is(() = $stderr =~ /WARNING:  update of relation "burst"/g, 10, 'the client got 10 warnings');
like($stderr, qr/WARNING:  further audit reports of this statement are not sent/,
	'and one saying that no more come');

# in a transaction block the summary comes when a later statement reports
$offset = -s $node->logfile;
$node->psql(
	'postgres', q{
BEGIN;
UPDATE burst SET v = 'c';
UPDATE acct SET v = 'd' WHERE id = 5;
SELECT pg_sleep(0.1);
COMMIT;
},
	stderr => \$stderr);
($lines, $summaries, $log) = audit_lines($offset);
is(scalar @$lines, 11, '10 lines of the first statement, 1 of the second');
is(scalar @$summaries, 1, 'one summary');
my @log_lines = split /\n/, $log;
my ($summary_at) = grep { $log_lines[$_] =~ /occ audit summary: / } 0 .. $#log_lines;
my @burst_at = grep { $log_lines[$_] =~ /occ audit: .*"public.burst"/ } 0 .. $#log_lines;
my ($acct_at) = grep { $log_lines[$_] =~ /occ audit: .*"public.acct"/ } 0 .. $#log_lines;
ok($summary_at > $burst_at[-1] && $summary_at < $acct_at,
	'the first statement\'s summary comes between its lines and the second statement\'s line');

# and when an aborted transaction ends
$offset = -s $node->logfile;
$node->psql(
	'postgres', q{
BEGIN;
UPDATE burst SET v = 'd';
ROLLBACK;
},
	stderr => \$stderr);
($lines, $summaries) = audit_lines($offset);
is(scalar @$summaries, 1, 'a rolled back statement is summarised too');

# ==== occ.audit_client_messages = off: the log still gets the line ====
$offset = -s $node->logfile;
$node->psql(
	'postgres', q{
SET occ.audit_client_messages = off;
UPDATE acct SET v = 'e' WHERE id = 5;
},
	stderr => \$stderr,
	extra_params => [ '-U', 'clerk' ]);
($lines) = audit_lines($offset);
unlike($stderr, qr/WARNING/, 'no warning for the client');
is(scalar @$lines, 1, 'one line in the log');

# ==== occ.default_audit as configured for the database ====
$node->safe_psql('postgres', q{ALTER DATABASE postgres SET occ.default_audit = 'strict'});
$offset = -s $node->logfile;
{
	local $ENV{PGOPTIONS} = '-c occ.default_audit=none';
	$node->psql('postgres', q{UPDATE quiet SET v = 'c' WHERE id = 2;},
		stderr => \$stderr, extra_params => [ '-U', 'clerk' ]);
}
($lines) = audit_lines($offset);
is(scalar @$lines, 1,
	'a startup option of a role without privilege does not weaken occ.default_audit');
is($lines->[0]{table}, 'public.quiet', 'the table that follows it is audited');
is($lines->[0]{audit}, 'strict', 'as strict');

$node->stop;
done_testing();
