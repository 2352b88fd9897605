
# Copyright (c) 2026, the occ developers
#
# 008_stream_stress.pl: no lost, duplicated or misnumbered event when many
# writers append to streams at once, at every isolation level.
#
# Eight pgbench clients append events to two stream tables, a plain one and
# one partitioned by hash of its stream column.  Each table has one hot
# stream, which a quarter of the appends go to, and 100 others.  An append
# is one to three events, each with an id of its own (eid), in one
# transaction; the clients
#
# * read the stream's version and append in one transaction
#   (stress.append), expecting that version through occ.append's argument,
#   through occ.if_match, or by giving the events their versions; a 40V01
#   rolls back the attempt's subtransaction and the function reads again
#   and re-appends.  Or they state nothing (the tables are lax), in an
#   INSERT or through occ.append with NULL;
# * read the version in one transaction and append in the next
#   (stress.read, then stress.submit), as a command handler that loaded its
#   aggregate earlier does; a stale version is refused with 40V01 and the
#   events dropped.
#
# 40001 (under REPEATABLE READ and SERIALIZABLE, an append whose snapshot
# does not show the stream's newest event, and PostgreSQL's own
# serialization failures) is retried by pgbench (--max-tries, PostgreSQL
# 15 and later) from the first command of the script, with new event ids.
#
# Only after pgbench has been told that the append's COMMIT succeeded does
# the script record the acknowledgement in stress.acked, in a transaction
# of its own: the events' ids, stream, and the versions the append
# returned.  Then, for each of READ COMMITTED, REPEATABLE READ and
# SERIALIZABLE, the test checks that
#
# * every stream of both tables holds versions 1 .. n without a gap;
# * the tables hold exactly the acknowledged events, each once, in the
#   stream and at the version the append returned to its client, the
#   events of one append at consecutive versions in the order given: no
#   event lost, none duplicated, none from an attempt that failed;
# * conflicts did happen and were the expected ones: 40V01 retried inside
#   transactions under READ COMMITTED and refused across transactions at
#   every level; under REPEATABLE READ and SERIALIZABLE 40001, retried,
#   and never a 40V01 for a version read in the same transaction (the
#   snapshot check comes first); no transaction failed, and the server
#   logged no error but 40001: never a duplicate key error (23505), no
#   crash.
#
# A short control run appends the naive way, without occ (read the
# highest version, insert after it), and shows that the checks catch what
# occ prevents: events numbered twice without a unique index, and
# acknowledged events lost with one and ON CONFLICT DO NOTHING.
#
# Bounded (a fixed number of transactions per client and isolation level:
# OCC_STREAM_STRESS_TRANSACTIONS, 600 by default, a few seconds per level
# on two cores) and seeded (pgbench --random-seed); which client wins a race
# depends on the scheduler, so only invariants are asserted.  Before
# PostgreSQL 15, whose pgbench cannot retry, only READ COMMITTED runs.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $clients = 8;
# per client and isolation level
my $transactions = $ENV{OCC_STREAM_STRESS_TRANSACTIONS} // 600;
my $max_tries = 1000;
my $seed = 20260112;

my $node = PostgreSQL::Test::Cluster->new('stream_stress');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
log_statement = none
log_line_prefix = '%m [%p] %e '
log_min_messages = warning
max_connections = 30
});
$node->start;

my $can_retry = $node->safe_psql('postgres', 'SHOW server_version_num') >= 150000;

my $schema = <<'EOSQL';
CREATE EXTENSION occ;
CREATE SCHEMA stress;

-- table 1: a plain stream table; table 2: partitioned by its stream
CREATE TABLE stress.events (stream_id text, version bigint, eid bigint NOT NULL,
                            style int NOT NULL, PRIMARY KEY (stream_id, version));
SELECT occ.enable('stress.events', kind => 'stream', stream_column => 'stream_id');
CREATE TABLE stress.events_part (stream_id text, version bigint, eid bigint NOT NULL,
                                 style int NOT NULL, PRIMARY KEY (stream_id, version))
  PARTITION BY HASH (stream_id);
CREATE TABLE stress.events_part_0 PARTITION OF stress.events_part
  FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE stress.events_part_1 PARTITION OF stress.events_part
  FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE stress.events_part_2 PARTITION OF stress.events_part
  FOR VALUES WITH (MODULUS 3, REMAINDER 2);
SELECT occ.enable('stress.events_part', kind => 'stream', stream_column => 'stream_id');

CREATE VIEW stress.all_events AS
  SELECT 1 AS tbl, stream_id, version, eid FROM stress.events
  UNION ALL SELECT 2, stream_id, version, eid FROM stress.events_part;

-- What each client was told, recorded after its COMMIT succeeded: the
-- append of count events with ids eid, eid + 1, ... to stream, which
-- returned versions first_version .. last_version; or, appended = 0, a
-- refused submit (nothing appended).
CREATE TABLE stress.acked (client int NOT NULL, tbl int NOT NULL, stream text NOT NULL,
                           eid bigint NOT NULL, count int NOT NULL, style int NOT NULL,
                           call text NOT NULL, appended int NOT NULL,
                           first_version bigint NOT NULL, last_version bigint NOT NULL,
                           conflicts int NOT NULL, isolation text NOT NULL);

CREATE FUNCTION stress.rel(p_tbl int) RETURNS regclass
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_tbl WHEN 1 THEN 'stress.events' ELSE 'stress.events_part' END::regclass
$$;

-- stream 0 and below: the hot stream; 1 .. 100 the others
CREATE FUNCTION stress.stream(p_s int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_s <= 0 THEN 'hot' ELSE 's' || p_s END
$$;

-- Append count events with ids eid, eid + 1, ... to a stream, expecting
-- version v (styles 1-3) or stating nothing (4, 5).  Style 1: occ.append;
-- 2: INSERT with occ.if_match (an entity tag); 3: INSERT giving the
-- versions v + 1, v + 2, ...; 4: INSERT stating nothing; 5: occ.append
-- with NULL.  Returns the version of the last event.
CREATE FUNCTION stress.write(p_tbl int, p_stream text, p_eid bigint, p_count int,
                             p_style int, p_v bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  last bigint;
BEGIN
  IF p_style IN (1, 5) THEN
    last := occ.append(stress.rel(p_tbl), p_stream,
                       CASE WHEN p_style = 1 THEN p_v::text END,
                       (SELECT jsonb_agg(jsonb_build_object('eid', p_eid + g, 'style', p_style)
                                         ORDER BY g)
                        FROM generate_series(0, p_count - 1) g));
  ELSE
    IF p_style = 2 THEN
      PERFORM set_config('occ.if_match', '"' || p_v || '"', true);
    END IF;
    EXECUTE format($q$
      WITH ins AS (
        INSERT INTO %s (stream_id, version, eid, style)
        SELECT $1, CASE WHEN $4 = 3 THEN $2 + 1 + g END, $3 + g, $4
        FROM generate_series(0, $5 - 1) g ORDER BY g
        RETURNING version)
      SELECT max(version) FROM ins$q$, stress.rel(p_tbl))
      INTO last USING p_stream, p_v, p_eid, p_style, p_count;
    PERFORM set_config('occ.if_match', '', true);
  END IF;
  RETURN last;
END $$;

-- Read the stream's version and append in one transaction.  A 40V01 (the
-- stream moved on between the read and the append) rolls back the
-- attempt's subtransaction; the next attempt reads again.
CREATE FUNCTION stress.append(p_tbl int, p_s int, p_eid bigint, p_count int, p_style int,
                              OUT appended int, OUT stream text,
                              OUT first_version bigint, OUT last_version bigint,
                              OUT conflicts int, OUT isolation text)
LANGUAGE plpgsql AS $$
DECLARE
  v bigint;
BEGIN
  stream := stress.stream(p_s);
  isolation := current_setting('transaction_isolation');
  conflicts := 0;
  LOOP
    IF conflicts >= 1000 THEN
      RAISE EXCEPTION 'stress: no progress after % attempts', conflicts;
    END IF;
    BEGIN
      v := occ.stream_version(stress.rel(p_tbl), stream);
      last_version := stress.write(p_tbl, stream, p_eid, p_count, p_style, v);
      first_version := last_version - p_count + 1;
      appended := 1;
      RETURN;
    EXCEPTION WHEN SQLSTATE '40V01' THEN
      conflicts := conflicts + 1;
    END;
  END LOOP;
END $$;

CREATE FUNCTION stress.read(p_tbl int, p_s int) RETURNS bigint
LANGUAGE sql AS $$
  SELECT occ.stream_version(stress.rel(p_tbl), stress.stream(p_s))
$$;

-- The second request: append expecting the version read earlier (styles
-- 1-3).  A stale version is refused with 40V01 and nothing is appended.
CREATE FUNCTION stress.submit(p_tbl int, p_s int, p_eid bigint, p_count int, p_style int,
                              p_v bigint,
                              OUT appended int, OUT stream text,
                              OUT first_version bigint, OUT last_version bigint,
                              OUT conflicts int, OUT isolation text)
LANGUAGE plpgsql AS $$
BEGIN
  stream := stress.stream(p_s);
  isolation := current_setting('transaction_isolation');
  BEGIN
    last_version := stress.write(p_tbl, stream, p_eid, p_count, p_style, p_v);
    first_version := last_version - p_count + 1;
    appended := 1;
    conflicts := 0;
  EXCEPTION WHEN SQLSTATE '40V01' THEN
    appended := 0;
    first_version := 0;
    last_version := 0;
    conflicts := 1;
  END;
END $$;

-- For the control runs, appends written the naive way, without occ: read
-- the stream's highest version, pause, insert the events after it.  With
-- no unique index the racing writers number events twice (table 3); with
-- one, and ON CONFLICT DO NOTHING, they drop events and report success
-- (table 4).
CREATE TABLE stress.naive_dup (stream_id text, version bigint, eid bigint NOT NULL,
                               style int NOT NULL);
CREATE TABLE stress.naive_lost (stream_id text, version bigint, eid bigint NOT NULL,
                                style int NOT NULL, PRIMARY KEY (stream_id, version));
CREATE VIEW stress.naive_events AS
  SELECT 3 AS tbl, stream_id, version, eid FROM stress.naive_dup
  UNION ALL SELECT 4, stream_id, version, eid FROM stress.naive_lost;
CREATE FUNCTION stress.naive_append(p_tbl int, p_s int, p_eid bigint, p_count int,
                                    OUT appended int, OUT stream text,
                                    OUT first_version bigint, OUT last_version bigint,
                                    OUT conflicts int, OUT isolation text)
LANGUAGE plpgsql AS $$
DECLARE
  rel text := CASE p_tbl WHEN 3 THEN 'stress.naive_dup' ELSE 'stress.naive_lost' END;
  v bigint;
BEGIN
  stream := stress.stream(p_s);
  isolation := current_setting('transaction_isolation');
  EXECUTE format('SELECT coalesce(max(version), 0) FROM %s WHERE stream_id = $1', rel)
    INTO v USING stream;
  PERFORM pg_sleep(0.001);
  EXECUTE format('INSERT INTO %s SELECT $1, $2 + 1 + g, $3 + g, 0
                  FROM generate_series(0, $4 - 1) g %s', rel,
                 CASE p_tbl WHEN 4 THEN 'ON CONFLICT DO NOTHING' ELSE '' END)
    USING stream, v, p_eid, p_count;
  first_version := v + 1;
  last_version := v + p_count;
  appended := 1;
  conflicts := 0;
END $$;
EOSQL

# pgbench scripts.  Event ids are unique per client and attempt: n counts
# the client's attempts (-D n=0), a retry included.  The append runs at the
# isolation level :iso; the acknowledgement, after its COMMIT, at the
# database's default, READ COMMITTED, where an INSERT into a table without
# indexes cannot fail.
my $script_dir = $node->basedir;
my %scripts = (
	'append.sql' => q{
\set n :n + 1
\set eid :client_id * 10000000 + :n * 10
\set tbl random(1, 2)
\set s random(-32, 100)
\set count random(1, 3)
\set style random(1, 5)
BEGIN ISOLATION LEVEL :iso;
SELECT * FROM stress.append(:tbl, :s, :eid, :count, :style) \gset
COMMIT;
INSERT INTO stress.acked VALUES (:client_id, :tbl, ':stream', :eid, :count, :style, 'append', :appended, :first_version, :last_version, :conflicts, ':isolation');
},
	'form.sql' => q{
\set n :n + 1
\set eid :client_id * 10000000 + :n * 10
\set tbl random(1, 2)
\set s random(-32, 100)
\set count random(1, 3)
\set style random(1, 3)
SELECT stress.read(:tbl, :s) AS v \gset
BEGIN ISOLATION LEVEL :iso;
SELECT * FROM stress.submit(:tbl, :s, :eid, :count, :style, :v) \gset
COMMIT;
INSERT INTO stress.acked VALUES (:client_id, :tbl, ':stream', :eid, :count, :style, 'submit', :appended, :first_version, :last_version, :conflicts, ':isolation');
},
	'naive.sql' => q{
\set n :n + 1
\set eid :client_id * 10000000 + :n * 10
\set tbl random(3, 4)
\set s random(-1, 0)
\set count random(1, 3)
BEGIN ISOLATION LEVEL :iso;
SELECT * FROM stress.naive_append(:tbl, :s, :eid, :count) \gset
COMMIT;
INSERT INTO stress.acked VALUES (:client_id, :tbl, ':stream', :eid, :count, 0, 'naive', :appended, :first_version, :last_version, :conflicts, ':isolation');
},);
for my $name (sort keys %scripts)
{
	append_to_file("$script_dir/$name", $scripts{$name});
}

# Run pgbench against $db; returns its exit status, stdout and stderr.
sub run_pgbench
{
	my ($db, $isolation, $ntransactions, $run_seed, @files) = @_;
	my ($stdout, $stderr) = ('', '');
	my @cmd = (
		'pgbench', '-n',
		'-h', $node->host,
		'-p', $node->port,
		'-c', $clients,
		'-j', 2,
		'-t', $ntransactions,
		"--random-seed=$run_seed",
		'-D', 'n=0',
		'-D', "iso=$isolation",
		($can_retry ? ("--max-tries=$max_tries", '--failures-detailed') : ()),
		map({ ('-f', "$script_dir/$_") } @files),
		$db);
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(
			$PostgreSQL::Test::Utils::timeout_default *
			  (1 + int($ntransactions / 1000))));
	return ($ok ? 0 : $? >> 8, $stdout, $stderr);
}

# ERROR, FATAL and PANIC lines of the server log since $offset, counted by
# SQLSTATE and by message, plus lines that show a crash or a failed
# assertion.
sub log_errors
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my (%by_sqlstate, %by_message, @crashes);
	for my $line (split /\n/, $log)
	{
		if ($line =~ /\] (\w{5}) (?:ERROR|FATAL|PANIC):\s+(.*)/)
		{
			my ($sqlstate, $message) = ($1, $2);
			$by_sqlstate{$sqlstate}++;
			$message =~ s/"[^"]*"/"..."/g;
			$message =~ s/'[^']*'/'...'/g;
			$by_message{"$sqlstate $message"}++;
		}
		push @crashes, $line if $line =~ /TRAP|terminated by signal|PANIC/;
	}
	return (\%by_sqlstate, \%by_message, \@crashes);
}

sub fmt_counts
{
	my ($h) = @_;
	return join(', ', map { "$_: $h->{$_}" } sort keys %$h) || 'none';
}

# Streams of the events in $view that do not hold versions 1 .. n exactly,
# described; '' if none.
sub broken_streams
{
	my ($db, $view) = @_;
	return $node->safe_psql(
		$db, qq{
		SELECT string_agg(format('%s/%s: %s events, %s versions, %s..%s', tbl, stream_id,
		                         n, d, lo, hi), '; ' ORDER BY tbl, stream_id)
		FROM (SELECT tbl, stream_id, count(*) AS n, count(DISTINCT version) AS d,
		             min(version) AS lo, max(version) AS hi
		      FROM $view GROUP BY tbl, stream_id) AS s
		WHERE lo <> 1 OR hi <> n OR d <> n});
}

# The acknowledged events, one row per event, with the stream and version
# its client was told.
my $acked_events = q{
	SELECT a.tbl, a.stream AS stream_id, a.first_version + g AS version,
	       a.eid + g AS eid
	FROM stress.acked a, generate_series(0, a.count - 1) g
	WHERE a.appended = 1};

# Acknowledged events that $view does not hold at the version their client
# was told: "count|first few".
sub missing_events
{
	my ($db, $view) = @_;
	return $node->safe_psql(
		$db, qq{
		SELECT count(*), string_agg(e, '; ') FILTER (WHERE r <= 5)
		FROM (SELECT format('%s/%s v%s eid %s', tbl, stream_id, version, eid) AS e,
		             row_number() OVER () AS r
		      FROM (($acked_events) EXCEPT ALL
		            SELECT tbl, stream_id, version, eid FROM $view) AS m) AS f});
}

# Events in $view that no client was told of, or more often than told:
# "count|first few".
sub unacknowledged_events
{
	my ($db, $view) = @_;
	return $node->safe_psql(
		$db, qq{
		SELECT count(*), string_agg(e, '; ') FILTER (WHERE r <= 5)
		FROM (SELECT format('%s/%s v%s eid %s', tbl, stream_id, version, eid) AS e,
		             row_number() OVER () AS r
		      FROM (SELECT tbl, stream_id, version, eid FROM $view
		            EXCEPT ALL ($acked_events)) AS m) AS f});
}

my @levels = (
	[ 'rc', 'read committed' ],
	[ 'rr', 'repeatable read' ],
	[ 'ser', 'serializable' ]);

for my $i (0 .. $#levels)
{
	my ($db, $isolation) = @{ $levels[$i] };

  SKIP:
	{
		skip "$isolation: pgbench retries 40001 from PostgreSQL 15 on", 14
		  if $isolation ne 'read committed' && !$can_retry;

		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, $schema);
		is( $node->safe_psql(
				$db,
				q{SELECT string_agg(format('%s %s %s %s', table_name, kind, effective_mode, stream_column),
				                    ', ' ORDER BY table_name::text) FROM occ.tables}),
			'stress.events stream lax stream_id, stress.events_part stream lax stream_id',
			"$isolation: both tables are lax stream tables");

		my $offset = -s $node->logfile;
		my $start = time;
		my ($status, $out, $err) = run_pgbench($db, $isolation, $transactions, $seed + $i,
			'append.sql@4', 'form.sql@1');
		my $elapsed = time - $start;
		is($status, 0, "$isolation: pgbench exits 0, no client aborted")
		  or diag("pgbench stdout:\n$out\npgbench stderr:\n$err");
		my $expected = $clients * $transactions;
		like(
			$out,
			qr/number of transactions actually processed: $expected\/$expected\n/,
			"$isolation: all $expected transactions committed");
		my ($retries) = $out =~ /total number of retries: (\d+)/;
		$retries //= 0;

		is( $node->safe_psql(
				$db,
				qq{SELECT count(*), count(*) FILTER (WHERE isolation = '$isolation')
				   FROM stress.acked}),
			"$expected|$expected",
			"$isolation: every transaction acknowledged once, each run at $isolation");

		is(broken_streams($db, 'stress.all_events'),
			'', "$isolation: every stream holds versions 1 .. n, no gap, no duplicate");

		is( $node->safe_psql(
				$db, q{
			SELECT count(*) FROM stress.acked
			WHERE appended = 1 AND last_version - first_version + 1 <> count}),
			'0',
			"$isolation: every append returned as many versions as it appended events");

		is(missing_events($db, 'stress.all_events'),
			'0|',
			"$isolation: every acknowledged event is there, at the version its client was told"
		);
		is(unacknowledged_events($db, 'stress.all_events'),
			'0|', "$isolation: no event that was not acknowledged, none twice");
		is( $node->safe_psql(
				$db,
				q{SELECT count(*) - count(DISTINCT eid) FROM stress.all_events}),
			'0',
			"$isolation: no event id appears twice");

		my ($events, $hot1, $hot2, $streams) = split /\|/,
		  $node->safe_psql(
			$db, q{
			SELECT (SELECT count(*) FROM stress.all_events),
			       occ.stream_version('stress.events', 'hot'),
			       occ.stream_version('stress.events_part', 'hot'),
			       (SELECT count(DISTINCT (tbl, stream_id)) FROM stress.all_events)});
		my ($appended, $conflicts, $refused) = split /\|/,
		  $node->safe_psql(
			$db, q{
			SELECT count(*) FILTER (WHERE appended = 1),
			       coalesce(sum(conflicts) FILTER (WHERE call = 'append'), 0),
			       count(*) FILTER (WHERE call = 'submit' AND appended = 0)
			FROM stress.acked});

		my ($by_sqlstate, $by_message, $crashes) = log_errors($offset);
		my %unexpected = %$by_sqlstate;
		delete $unexpected{'40001'} if $isolation ne 'read committed';
		is(fmt_counts(\%unexpected), 'none',
			"$isolation: the server logged no error but 40001 (no 23505)")
		  or diag('errors by message: ' . fmt_counts($by_message));
		is(scalar(@$crashes), 0, "$isolation: no crash, no failed assertion")
		  or diag(join("\n", @$crashes));

		# conflicts happened, of the kinds this level produces
		if ($isolation eq 'read committed')
		{
			cmp_ok($conflicts, '>', 0,
				"$isolation: appends were retried after 40V01 inside their transaction"
			);
		}
		else
		{
			cmp_ok($retries, '>', 0,
				"$isolation: pgbench retried transactions after 40001");
			# the snapshot shows the version read; if the stream moved on,
			# 40001 comes before any 40V01
			is($conflicts, 0,
				"$isolation: no 40V01 for a version read in the same transaction");
		}
		cmp_ok($refused, '>', 0,
			"$isolation: submits of a version read earlier were refused with 40V01");

		note(
			sprintf(
				"%s: %d transactions in %.1f s; %d appends of %d events to %d streams "
				  . "(hot: %d and %d events); 40V01 retried in transaction: %d; "
				  . "submits refused: %d; pgbench retries (40001): %d; logged errors: %s",
				$isolation, $expected, $elapsed, $appended, $events, $streams,
				$hot1, $hot2, $conflicts, $refused, $retries,
				fmt_counts($by_message)));
	}
}

# ==== control runs: the checks catch what occ prevents ====

# The naive append on the hot stream, without occ, at READ COMMITTED: the
# gap check sees events numbered twice, and the acknowledgement check sees
# events that were reported appended but are not there.
$node->safe_psql('postgres', 'CREATE DATABASE control');
$node->safe_psql('control', $schema);
{
	my $ntransactions = 100;
	my ($status, $out, $err) =
	  run_pgbench('control', 'read committed', $ntransactions, $seed, 'naive.sql');
	is($status, 0, 'control: pgbench exits 0') or diag("pgbench stderr:\n$err");
	is( $node->safe_psql('control', 'SELECT count(*) FROM stress.acked'),
		$clients * $ntransactions,
		'control: every naive append was acknowledged');
	like(broken_streams('control', 'stress.naive_events'),
		qr{^3/hot: \d+ events, \d+ versions},
		'control: without occ and a unique index, events are numbered twice');
	like(missing_events('control', 'stress.naive_events'),
		qr/^[1-9]\d*\|/,
		'control: without occ, ON CONFLICT DO NOTHING loses acknowledged events');
	note('control: numbered twice: '
		  . broken_streams('control', 'stress.naive_events')
		  . '; acknowledged but lost (count|first few): '
		  . missing_events('control', 'stress.naive_events'));
}

$node->stop;

done_testing();
