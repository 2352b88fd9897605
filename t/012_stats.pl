
# Copyright (c) 2026, the occ developers
#
# 012_stats.pl: conflict statistics (occ.table_stats) as a server keeps
# them: with occ preloaded and without, across a restart, and under
# concurrency.
#
# * A known mix of writes -- not stated, stated, refused as stale and as
#   missing, a refusal caught in a subtransaction, a transaction rolled back
#   and one left open by a client that disconnects -- gives known counters.
# * With occ in shared_preload_libraries (every version), and without it:
#   from PostgreSQL 17 on the same counters (named dynamic shared memory);
#   before 17 writes work as ever, nothing is counted, and reading or
#   resetting the statistics is an error (55000) whose HINT says to preload
#   occ.
# * A restart starts every counter from zero (the README says so).
# * Eight pgbench clients, each running a script whose counts are known,
#   give exactly the totals: no count is lost when backends publish at once.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $clients = 8;
my $transactions = 250;    # per client

# The tables, made again before each mix, and the mix of writes whose
# counts are known, one statement (or transaction) at a time: the refusals
# are errors.
my $tables = q{
DROP TABLE IF EXISTS c, s;
CREATE TABLE c (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE TABLE s (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
SELECT occ.enable('c', mode => 'lax');
SELECT occ.enable('s', mode => 'strict');
INSERT INTO c (id) SELECT generate_series(1, 100);
INSERT INTO s (id) SELECT generate_series(1, 100);
};

# c: checked 6, stated 3, not stated 3, refused stale 2
# s: checked 3, stated 1, not stated 2, refused missing 2
# c: checked 5, stated 3, not stated 2, refused stale 2 (one caught in
# a subtransaction); s: checked 3, stated 1, not stated 2, refused missing 2
my @mix = (
	'UPDATE c SET n = n + 1 WHERE id = 1',
	'UPDATE c SET n = n + 1 WHERE id = 2 AND version = 1',
	'UPDATE c SET n = n + 1, version = 0 WHERE id = 3',
	q{DO $$BEGIN UPDATE c SET n = n + 1, version = 0 WHERE id = 4;
	  EXCEPTION WHEN SQLSTATE '40V01' THEN NULL; END$$},
	'BEGIN; UPDATE c SET n = n + 1 WHERE id = 5; ROLLBACK;',
	'UPDATE s SET n = n + 1 WHERE id = 1',
	'DELETE FROM s WHERE id = 2',
	q{BEGIN; SET LOCAL occ.if_match = '1'; UPDATE s SET n = n + 1 WHERE id = 3; COMMIT;});

my $counters = q{
SELECT table_name, checked, stated, not_stated, refused_stale, refused_missing
FROM occ.table_stats ORDER BY table_name::text};

# Make the tables again and run the mix, then a write in a transaction its
# client leaves open: the backend aborts it when the client disconnects,
# and counts it (c: checked and not stated).
sub run_mix
{
	my ($node) = @_;
	$node->safe_psql('postgres', $tables);
	$node->psql('postgres', $_) for @mix;
	$node->psql('postgres', 'BEGIN; UPDATE c SET n = n + 1 WHERE id = 6;');
	# a backend leaves pg_stat_activity after its transaction has ended
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'postgres' AND pid <> pg_backend_pid()"
	) or die 'the open transaction did not end';
	return;
}
my $mix_and_open = "c|6|3|3|2|0\ns|3|1|2|0|2";

my $preloaded = PostgreSQL::Test::Cluster->new('preloaded');
$preloaded->init;
$preloaded->append_conf('postgresql.conf',
	"shared_preload_libraries = 'occ'\nmax_connections = 30\n");
$preloaded->start;
my $version = $preloaded->safe_psql('postgres', 'SHOW server_version_num');

# ==== preloaded: a known mix ====
$preloaded->safe_psql('postgres', 'CREATE EXTENSION occ');
$preloaded->safe_psql('postgres', $tables);
is($preloaded->safe_psql('postgres', $counters),
	"c|0|0|0|0|0\ns|0|0|0|0|0", 'preloaded: nothing counted before any write');
run_mix($preloaded);
is($preloaded->safe_psql('postgres', $counters),
	$mix_and_open, 'preloaded: the known mix gives its counts');
is( $preloaded->safe_psql(
		'postgres',
		'SELECT count(*) FROM occ.table_stats WHERE stats_since IS NULL'),
	'0',
	'preloaded: counting tables have a stats_since');

# ==== a restart starts from zero ====
$preloaded->restart;
is($preloaded->safe_psql('postgres', $counters),
	"c|0|0|0|0|0\ns|0|0|0|0|0", 'restart: every counter starts from zero');
is( $preloaded->safe_psql(
		'postgres',
		'SELECT count(*) FROM occ.table_stats WHERE stats_since IS NOT NULL'),
	'0',
	'restart: no stats_since');
run_mix($preloaded);
is($preloaded->safe_psql('postgres', $counters),
	$mix_and_open, 'restart: counting goes on after it');

# ==== eight clients at once ====
# Per transaction of the script: c checked 3, stated 2, not stated 1,
# refused stale 1; s checked 2, stated 1, not stated 1, refused missing 1.
$preloaded->safe_psql('postgres', 'SELECT occ.reset_table_stats()');
my $script_dir = PostgreSQL::Test::Utils::tempdir;
my $script = "$script_dir/mix.sql";
append_to_file(
	$script, q{\set id random(1, 100)
UPDATE c SET n = n + 1 WHERE id = :id;
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE c SET n = n + 1 WHERE id = :id;
COMMIT;
DO $$BEGIN UPDATE c SET n = n + 1, version = 0 WHERE id = 1; EXCEPTION WHEN SQLSTATE '40V01' THEN NULL; END$$;
DO $$BEGIN UPDATE s SET n = n + 1 WHERE id = 1; EXCEPTION WHEN SQLSTATE '23V01' THEN NULL; END$$;
UPDATE s SET n = n + 1, version = version WHERE id = :id;
});
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run(
	[
		'pgbench', '-n',
		'-h', $preloaded->host,
		'-p', $preloaded->port,
		'-c', $clients,
		'-j', 2,
		'-t', $transactions,
		'-f', $script,
		'postgres'
	],
	'>', \$stdout,
	'2>', \$stderr,
	IPC::Run::timeout(600));
ok($ok, 'pgbench: 8 clients ran') or diag($stderr);
like($stdout, qr/number of transactions actually processed: 2000\/2000/,
	'pgbench: every transaction processed');
my $n = $clients * $transactions;
is( $preloaded->safe_psql('postgres', $counters),
	join("\n",
		join('|', 'c', 3 * $n, 2 * $n, $n, $n, 0),
		join('|', 's', 2 * $n, $n, $n, 0, $n)),
	'pgbench: the counters are the known totals');
$preloaded->stop;

# ==== not preloaded ====
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION occ');
run_mix($plain);
is( $plain->safe_psql(
		'postgres', 'SELECT sum(n) FROM c WHERE id <= 6'),
	'2', 'not preloaded: the writes are what they are either way');
if ($version >= 170000)
{
	is($plain->safe_psql('postgres', $counters),
		$mix_and_open,
		'not preloaded, PostgreSQL 17 and later: the same counts');
	$plain->safe_psql('postgres', "SELECT occ.reset_table_stats('c')");
	is($plain->safe_psql('postgres', $counters),
		"c|0|0|0|0|0\ns|3|1|2|0|2",
		'not preloaded, PostgreSQL 17 and later: reset');
	$plain->restart;
	is($plain->safe_psql('postgres', $counters),
		"c|0|0|0|0|0\ns|0|0|0|0|0",
		'not preloaded, PostgreSQL 17 and later: a restart starts from zero');
}
else
{
	for my $query ($counters, 'SELECT occ.reset_table_stats()')
	{
		my ($ret, $out, $err) = $plain->psql('postgres',
			"\\set VERBOSITY verbose\n$query");
		isnt($ret, 0, "not preloaded, before 17: fails: $query");
		like(
			$err,
			qr/ERROR:  55000: occ conflict statistics are not available/,
			"not preloaded, before 17: 55000: $query");
		like(
			$err,
			qr/HINT:  Add occ to shared_preload_libraries and restart the server\./,
			"not preloaded, before 17: the HINT says what to do: $query");
	}
}
$plain->stop;

done_testing();
