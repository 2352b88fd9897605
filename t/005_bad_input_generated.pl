
# Copyright (c) 2026, the occ developers
#
# 005_bad_input_generated.pl: the generated batches of bad input.
#
# sql/bad_input.sql is the hand-picked core that pg_regress compares line by
# line.  The generated batches (t/bad_input_generated.sql: every
# combination of occ.enable's candidate arguments, 2000 seeded random
# occ.if_match values on every kind of write) produce counts that depend on
# the server's random generator (it changed in PostgreSQL 15) and its
# encoding, so they run here, on the core's harness and fixtures in a UTF8
# database, and what is asserted is what must hold whatever the counts:
#
# * every case came out with one of the SQLSTATEs its arguments allow,
#   which are the README's codes (fuzz.mismatch is empty);
# * each batch left the database exactly as it found it;
# * no internal error (XX...), no failed check inside a probe (FZBAD);
# * the batches did run (enough cases, and each documented outcome of
#   occ.if_match seen).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('bad_input');
$node->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
$node->start;

# The core file up to its summary and teardown: harness, fixtures and the
# hand-picked batches, which leave the fixtures as they found them.
my $core = slurp_file('sql/bad_input.sql');
my $cut = index($core,
	    "-- ===================================================================\n"
	  . "-- summary:");
BAIL_OUT('no summary section in sql/bad_input.sql') if $cut < 0;
$core = substr($core, 0, $cut);
my $generated = slurp_file('t/bad_input_generated.sql');

$node->safe_psql('postgres', 'CREATE EXTENSION occ');
my ($ret, $out, $err) = $node->psql(
	'postgres',
	"\\set ON_ERROR_STOP 1\n" . $core . $generated,
	timeout => 4 * $PostgreSQL::Test::Utils::timeout_default);
is($ret, 0, 'the core and the generated batches ran to the end')
  or diag($err);

is( $node->safe_psql(
		'postgres', q{SELECT string_agg(format('%s: %s %s %s', batch, label, sqlstate,
		                                      allowed), E'\n' ORDER BY batch, label)
		              FROM fuzz.mismatch}),
	'',
	'every generated case came out with a SQLSTATE its arguments allow');

is( $node->safe_psql(
		'postgres', q{SELECT string_agg(batch || ' ' || unchanged, ', ' ORDER BY batch)
		              FROM fuzz.batch_unchanged}),
	'enable combos true, if_match random true',
	'each generated batch left the database as it found it');

is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM fuzz.outcome
		              WHERE sqlstate LIKE 'XX%' OR sqlstate = 'FZBAD'}),
	'0',
	'no internal error, no failed check');

cmp_ok(
	$node->safe_psql(
		'postgres', q{SELECT count(*) FROM fuzz.outcome WHERE batch = 'enable combos'}),
	'>', 1000,
	'occ.enable: more than 1000 combinations ran');

is( $node->safe_psql(
		'postgres', q{SELECT string_agg(DISTINCT sqlstate, ' ' ORDER BY sqlstate)
		              FROM fuzz.outcome WHERE batch = 'if_match random'}),
	'22P02 23V01 40V01 ok',
	'occ.if_match: random values were matched, stale, missing or malformed, and nothing else'
);

$node->stop;
done_testing();
