
# Copyright (c) 2026, the occ developers
#
# 010_stress.pl: no lost update under concurrency, at every isolation level.
#
# Eight pgbench clients write to three hot rows of each of four protected
# tables: integer kind, timestamp kind, a partitioned table whose rows move
# between partitions, and a strict table.  Every committed change is recorded
# in a ledger in the same transaction.  The clients
#
# * read-modify-write in one transaction (stress.rmw): read amount and
#   version, write back amount + delta stating the version read (in the SET
#   list, through occ.if_match as a plain value or an entity tag, or the ORM
#   way, read + 1 with WHERE version = read).  A 40V01 rolls back the
#   attempt's subtransaction; the function reads again and re-applies;
# * read in one transaction and submit in the next (stress.read, then
#   stress.submit), as a web form does; a stale version is refused with
#   40V01 and the change dropped;
# * delete a row stating its version, keeping its amount and version in a
#   tombstone, and re-insert it from the tombstone, with a version after the
#   old one.
#
# 40001 (PostgreSQL's serialization failures, and under every isolation
# level a row moved to another partition by a concurrent UPDATE) is retried
# by pgbench (--max-tries) from the first command of the script.
#
# Then, for each of READ COMMITTED, REPEATABLE READ and SERIALIZABLE, the
# test checks that
#
# * every committed write started from the version and amount that the
#   previous committed write of its row left (one unbroken chain per row):
#   no lost update;
# * each table holds the sum of its ledger, and each row the amount and
#   version of its last ledger entry;
# * versions only grew: an AFTER UPDATE trigger on every table raises if an
#   UPDATE did not advance the version (and never did), and the ledger shows
#   each row's versions growing across deletes and re-inserts;
# * conflicts did happen and were the expected ones: 40V01 for in-transaction
#   read-modify-writes only under READ COMMITTED (under the other levels
#   PostgreSQL's 40001 comes first), 40V01 for versions that went stale
#   between transactions at every level; no transaction failed, the server
#   logged no error but 40001, no crash, no failed assertion.
#
# Two short control runs with the integer table in mode 'none' show that the
# checks catch lost updates when occ does not prevent them.
#
# Bounded (a fixed number of transactions per client: OCC_STRESS_TRANSACTIONS,
# 1500 by default, a few seconds per isolation level on two cores; 12000 makes
# a longer soak) and seeded (pgbench --random-seed, Perl srand); which client wins a
# race still depends on the scheduler, so only invariants are asserted.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $clients = 8;
# per client and isolation level
my $transactions = $ENV{OCC_STRESS_TRANSACTIONS} // 1500;
my $max_tries = 1000;
my $seed = 20240611;
srand($seed);

my $node = PostgreSQL::Test::Cluster->new('stress');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
log_statement = none
log_line_prefix = '%m [%p] %e '
log_min_messages = warning
max_connections = 30
});
$node->start;

# pgbench retries serialization failures (--max-tries) from PostgreSQL 15 on
plan skip_all => 'pgbench --max-tries needs PostgreSQL 15 or later'
  if $node->safe_psql('postgres', 'SHOW server_version_num') < 150000;

# The schema of one run.  Tables are numbered for pgbench: 1 t_int,
# 2 t_ts, 3 t_part, 4 t_strict.
my $schema = <<'EOSQL';
CREATE EXTENSION occ;
CREATE SCHEMA stress;

CREATE TABLE stress.t_int (id int PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE stress.t_ts (id int PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE stress.t_part (id int NOT NULL, part int NOT NULL,
                            amount bigint NOT NULL, PRIMARY KEY (id, part))
  PARTITION BY LIST (part);
CREATE TABLE stress.t_part_0 PARTITION OF stress.t_part FOR VALUES IN (0);
CREATE TABLE stress.t_part_1 PARTITION OF stress.t_part FOR VALUES IN (1);
CREATE TABLE stress.t_part_2 PARTITION OF stress.t_part FOR VALUES IN (2);
CREATE TABLE stress.t_strict (id int PRIMARY KEY, amount bigint NOT NULL);

SELECT occ.enable('stress.t_int');
SELECT occ.enable('stress.t_ts', version_column => 'updated_at', kind => 'timestamp');
SELECT occ.enable('stress.t_part');
SELECT occ.enable('stress.t_strict', mode => 'strict');

CREATE FUNCTION stress.target(no int, OUT rel text, OUT vcol text,
                              OUT vtype text, OUT partitioned bool)
LANGUAGE sql IMMUTABLE AS $$
  SELECT v.rel, v.vcol, v.vtype, v.partitioned
  FROM (VALUES (1, 'stress.t_int', 'version', 'bigint', false),
               (2, 'stress.t_ts', 'updated_at', 'timestamptz', false),
               (3, 'stress.t_part', 'version', 'bigint', true),
               (4, 'stress.t_strict', 'version', 'bigint', false))
       AS v(no, rel, vcol, vtype, partitioned)
  WHERE v.no = target.no
$$;

-- Versions only grow: any UPDATE that does not advance the version fails
-- the workload loudly.  The sequence counts the checks made.  (A row moved
-- to another partition is deleted and inserted, which AFTER UPDATE triggers
-- do not see; the ledger checks cover moves.)
CREATE SEQUENCE stress.growth_checks;
CREATE FUNCTION stress.version_grew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('stress.growth_checks');
  IF NEW.version <= OLD.version THEN
    RAISE EXCEPTION 'stress: version did not grow in %: % -> %',
      TG_TABLE_NAME, OLD.version, NEW.version;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION stress.updated_at_grew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('stress.growth_checks');
  IF NEW.updated_at <= OLD.updated_at THEN
    RAISE EXCEPTION 'stress: version did not grow in %: % -> %',
      TG_TABLE_NAME, OLD.updated_at, NEW.updated_at;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER grew AFTER UPDATE ON stress.t_int
  FOR EACH ROW EXECUTE FUNCTION stress.version_grew();
CREATE TRIGGER grew AFTER UPDATE ON stress.t_ts
  FOR EACH ROW EXECUTE FUNCTION stress.updated_at_grew();
CREATE TRIGGER grew AFTER UPDATE ON stress.t_part
  FOR EACH ROW EXECUTE FUNCTION stress.version_grew();
CREATE TRIGGER grew AFTER UPDATE ON stress.t_strict
  FOR EACH ROW EXECUTE FUNCTION stress.version_grew();

-- Every committed change of every row, in the order the row lock granted
-- them (a writer draws seq only while it holds the row).
CREATE TABLE stress.ledger (
  seq bigserial PRIMARY KEY,
  rel text NOT NULL,
  id int NOT NULL,
  op text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  delta bigint NOT NULL,
  amount_before bigint,
  amount_after bigint,
  old_version text,
  new_version text);

-- A deleted row, with the amount and version it held; whoever removes the
-- tombstone may re-insert the row, so at most one client does.
CREATE TABLE stress.tombstone (rel text, id int, amount bigint NOT NULL,
                               version text NOT NULL, PRIMARY KEY (rel, id));

-- One row per committed call: what it did and how often it had to retry.
CREATE TABLE stress.outcome (call text NOT NULL, rel text NOT NULL, result text NOT NULL,
                             conflicts int NOT NULL, zero_rows int NOT NULL,
                             isolation text NOT NULL);

CREATE FUNCTION stress.record(call text, rel text, result text, conflicts int, zero_rows int)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO stress.outcome
  VALUES (call, rel, result, conflicts, zero_rows, current_setting('transaction_isolation'))
$$;

CREATE FUNCTION stress.seed(p_tbl int, p_id int, p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_new text;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  EXECUTE format('INSERT INTO %s (id, amount%s) VALUES ($1, $2%s) RETURNING %I::text',
                 t.rel, CASE WHEN t.partitioned THEN ', part' ELSE '' END,
                 CASE WHEN t.partitioned THEN ', $1 % 3' ELSE '' END, t.vcol)
    INTO v_new USING p_id, p_amount;
  INSERT INTO stress.ledger (rel, id, op, delta, amount_after, new_version)
  VALUES (t.rel, p_id, 'insert', p_amount, p_amount, v_new);
END $$;

-- The if_match value for a version read: style 1 the plain value, 2 an
-- entity tag.
CREATE FUNCTION stress.if_match(v text, style int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN style % 2 = 1 THEN v
              ELSE '"' || replace(v, ' ', 'T') || '"' END
$$;

-- Write amount back to a row, stating the version read.  Style 0: in the
-- SET list; 1: occ.if_match, plain value; 2: occ.if_match, entity tag; 3:
-- the ORM convention, read + 1 and WHERE version = read (integer kinds;
-- style 0 for timestamps).  With p_move, a row of the partitioned table
-- moves to the next partition.  Returns the new version, or NULL if no row
-- was written (deleted since it was read, or, ORM style, changed).
CREATE FUNCTION stress.write(p_tbl int, p_id int, p_amount bigint,
                             p_version text, p_style int, p_move int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_set text;
  v_new text;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  v_set := 'amount = $1' || CASE WHEN t.partitioned AND p_move = 1
                                 THEN ', part = (part + 1) % 3' ELSE '' END;
  IF p_style = 0 OR (p_style = 3 AND t.vtype <> 'bigint') THEN
    EXECUTE format('UPDATE %s SET %s, %I = $2::%s WHERE id = $3 RETURNING %I::text',
                   t.rel, v_set, t.vcol, t.vtype, t.vcol)
      INTO v_new USING p_amount, p_version, p_id;
  ELSIF p_style = 3 THEN
    EXECUTE format('UPDATE %s SET %s, %I = $2::bigint + 1 WHERE id = $3 AND %I = $2::bigint RETURNING %I::text',
                   t.rel, v_set, t.vcol, t.vcol, t.vcol)
      INTO v_new USING p_amount, p_version, p_id;
  ELSE
    PERFORM set_config('occ.if_match', stress.if_match(p_version, p_style), true);
    EXECUTE format('UPDATE %s SET %s WHERE id = $3 RETURNING %I::text',
                   t.rel, v_set, t.vcol)
      INTO v_new USING p_amount, p_version, p_id;
    PERFORM set_config('occ.if_match', '', true);
  END IF;
  RETURN v_new;
END $$;

-- Read a row: its amount and version, or 0 and '' if it is absent.
CREATE FUNCTION stress.read(p_tbl int, p_id int, OUT amount bigint, OUT version text)
LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  EXECUTE format('SELECT amount, %I::text FROM %s WHERE id = $1', t.vcol, t.rel)
    INTO amount, version USING p_id;
  amount := coalesce(amount, 0);
  version := coalesce(version, '');
END $$;

-- Read-modify-write in one transaction: amount := amount read + delta.
-- A 40V01 rolls back the attempt's subtransaction; the next attempt reads
-- the row again (a new snapshot under READ COMMITTED) and re-applies the
-- delta.  Returns the number of 40V01 conflicts it retried.
CREATE FUNCTION stress.rmw(p_tbl int, p_id int, p_delta bigint, p_style int,
                           p_move int, p_pause float8 DEFAULT 0)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_amount bigint;
  v_version text;
  v_new text;
  conflicts int := 0;
  zero_rows int := 0;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  LOOP
    IF conflicts + zero_rows >= 1000 THEN
      RAISE EXCEPTION 'stress: no progress after % attempts', conflicts + zero_rows;
    END IF;
    BEGIN
      SELECT * INTO v_amount, v_version FROM stress.read(p_tbl, p_id);
      IF v_version = '' THEN
        PERFORM stress.record('rmw', t.rel, 'absent', conflicts, zero_rows);
        RETURN conflicts;
      END IF;
      IF p_pause > 0 THEN
        PERFORM pg_sleep(p_pause);
      END IF;
      v_new := stress.write(p_tbl, p_id, v_amount + p_delta, v_version, p_style, p_move);
      IF v_new IS NULL THEN
        zero_rows := zero_rows + 1;
        CONTINUE;
      END IF;
      INSERT INTO stress.ledger
      VALUES (DEFAULT, t.rel, p_id, 'update', p_delta, v_amount, v_amount + p_delta,
              v_version, v_new);
      PERFORM stress.record('rmw', t.rel, CASE WHEN t.partitioned AND p_move = 1
                                               THEN 'moved' ELSE 'updated' END,
                            conflicts, zero_rows);
      RETURN conflicts;
    EXCEPTION WHEN SQLSTATE '40V01' THEN
      conflicts := conflicts + 1;
    END;
  END LOOP;
END $$;

-- The second request of a read-then-submit pair: the client read amount
-- and version in an earlier transaction (stress.read) and now submits
-- amount + delta stating that version.  A stale version is refused with
-- 40V01 and the change is dropped, as a web form would report "changed by
-- someone else".  Returns 1 if refused.
CREATE FUNCTION stress.submit(p_tbl int, p_id int, p_amount bigint, p_version text,
                              p_delta bigint, p_style int, p_move int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_new text;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  IF p_version = '' THEN
    PERFORM stress.record('submit', t.rel, 'absent', 0, 0);
    RETURN 0;
  END IF;
  BEGIN
    v_new := stress.write(p_tbl, p_id, p_amount + p_delta, p_version, p_style, p_move);
  EXCEPTION WHEN SQLSTATE '40V01' THEN
    PERFORM stress.record('submit', t.rel, 'refused', 1, 0);
    RETURN 1;
  END;
  IF v_new IS NULL THEN
    PERFORM stress.record('submit', t.rel, 'gone', 0, 1);
    RETURN 0;
  END IF;
  INSERT INTO stress.ledger
  VALUES (DEFAULT, t.rel, p_id, 'update', p_delta, p_amount, p_amount + p_delta,
          p_version, v_new);
  PERFORM stress.record('submit', t.rel, 'submitted', 0, 0);
  RETURN 0;
END $$;

-- Delete a row, stating the version read through occ.if_match, and keep
-- the amount it held in a tombstone.
CREATE FUNCTION stress.remove(p_tbl int, p_id int, p_style int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_amount bigint;
  v_version text;
  v_removed bigint;
  v_gone text;
  conflicts int := 0;
  zero_rows int := 0;
  n bigint;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  LOOP
    IF conflicts + zero_rows >= 1000 THEN
      RAISE EXCEPTION 'stress: no progress after % attempts', conflicts + zero_rows;
    END IF;
    BEGIN
      SELECT * INTO v_amount, v_version FROM stress.read(p_tbl, p_id);
      IF v_version = '' THEN
        PERFORM stress.record('remove', t.rel, 'absent', conflicts, zero_rows);
        RETURN conflicts;
      END IF;
      PERFORM set_config('occ.if_match', stress.if_match(v_version, p_style), true);
      EXECUTE format('DELETE FROM %s WHERE id = $1 RETURNING amount, %I::text',
                     t.rel, t.vcol)
        INTO v_removed, v_gone USING p_id;
      GET DIAGNOSTICS n = ROW_COUNT;
      PERFORM set_config('occ.if_match', '', true);
      IF n = 0 THEN
        zero_rows := zero_rows + 1;
        CONTINUE;
      END IF;
      IF v_gone <> v_version OR v_removed <> v_amount THEN
        RAISE EXCEPTION 'stress: deleted version % of %, but had read version %',
          v_gone, t.rel, v_version;
      END IF;
      INSERT INTO stress.tombstone VALUES (t.rel, p_id, v_removed, v_gone);
      INSERT INTO stress.ledger (rel, id, op, delta, amount_before, old_version)
      VALUES (t.rel, p_id, 'delete', -v_removed, v_removed, v_version);
      PERFORM stress.record('remove', t.rel, 'deleted', conflicts, zero_rows);
      RETURN conflicts;
    EXCEPTION WHEN SQLSTATE '40V01' THEN
      conflicts := conflicts + 1;
    END;
  END LOOP;
END $$;

-- Re-insert a deleted row with the amount it held when it was deleted, and
-- a version after the one it had: a row re-inserted with the column
-- default would start again at 1 (or at now()), and a client still holding
-- a version of the deleted row could then match the new row (ABA).
CREATE FUNCTION stress.restore(p_tbl int, p_id int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_amount bigint;
  v_version text;
  v_new text;
BEGIN
  SELECT * INTO t FROM stress.target(p_tbl);
  DELETE FROM stress.tombstone WHERE rel = t.rel AND id = p_id
    RETURNING amount, version INTO v_amount, v_version;
  IF NOT FOUND THEN
    PERFORM stress.record('restore', t.rel, 'present', 0, 0);
    RETURN 0;
  END IF;
  EXECUTE format('INSERT INTO %s (id, amount, %I%s) VALUES ($1, $2, %s%s) RETURNING %I::text',
                 t.rel, t.vcol, CASE WHEN t.partitioned THEN ', part' ELSE '' END,
                 CASE WHEN t.vtype = 'bigint' THEN '$3::bigint + 1'
                      ELSE 'greatest(clock_timestamp(), $3::timestamptz + interval ''1 microsecond'')'
                 END,
                 CASE WHEN t.partitioned THEN ', $1 % 3' ELSE '' END, t.vcol)
    INTO v_new USING p_id, v_amount, v_version;
  INSERT INTO stress.ledger (rel, id, op, delta, amount_after, new_version)
  VALUES (t.rel, p_id, 'insert', v_amount, v_amount, v_new);
  PERFORM stress.record('restore', t.rel, 'restored', 0, 0);
  RETURN 0;
END $$;

-- The rows as they are now, all four tables.
CREATE VIEW stress.current_rows AS
  SELECT 'stress.t_int' AS rel, id, amount, version::text AS version FROM stress.t_int
  UNION ALL SELECT 'stress.t_ts', id, amount, updated_at::text FROM stress.t_ts
  UNION ALL SELECT 'stress.t_part', id, amount, version::text FROM stress.t_part
  UNION ALL SELECT 'stress.t_strict', id, amount, version::text FROM stress.t_strict;

-- A version compared with another, in the type of its table.
CREATE FUNCTION stress.newer(rel text, a text, b text) RETURNS bool
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN rel = 'stress.t_ts' THEN a::timestamptz > b::timestamptz
              ELSE a::bigint > b::bigint END
$$;
EOSQL

my @hot_ids = (1, 2, 3);

# Create a database with the schema and the hot rows, their amounts drawn
# from the seeded Perl generator.
sub setup_database
{
	my ($db, $isolation) = @_;

	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql('postgres',
		"ALTER DATABASE $db SET default_transaction_isolation = '$isolation'");
	$node->safe_psql($db, $schema);
	my @seed_rows;
	for my $tbl (1 .. 4)
	{
		for my $id (@hot_ids)
		{
			my $amount = 1000 + int(rand(9000));
			push @seed_rows, "SELECT stress.seed($tbl, $id, $amount);";
		}
	}
	$node->safe_psql($db, join("\n", @seed_rows));
	is( $node->safe_psql(
			$db, q{
		SELECT string_agg(format('%s %s %s', table_name, kind, effective_mode), ', '
		                  ORDER BY table_name::text)
		FROM occ.tables}),
		'stress.t_int integer lax, stress.t_part integer lax, '
		  . 'stress.t_strict integer strict, stress.t_ts timestamp lax',
		"$db: the four tables are enabled with the kinds and modes under test");
	return;
}

# Tables whose sum of committed deltas differs from the amounts they hold.
sub ledger_mismatches
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
		SELECT string_agg(format('%s: ledger %s, table %s', rel, l, r), '; ')
		FROM (SELECT rel, sum(delta) AS l FROM stress.ledger GROUP BY rel) AS a
		     FULL JOIN (SELECT rel, sum(amount) AS r FROM stress.current_rows
		                GROUP BY rel) AS b USING (rel)
		WHERE coalesce(l, 0) <> coalesce(r, 0)});
}

# Ledger entries that break their row's chain: an update or delete that did
# not start from the version and amount the previous committed write left,
# or an insert of a row that was not deleted.
sub broken_links
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
		SELECT count(*)
		FROM (SELECT op, old_version, amount_before,
		             lag(op) OVER w AS prev_op,
		             lag(new_version) OVER w AS prev_version,
		             lag(amount_after) OVER w AS prev_amount
		      FROM stress.ledger
		      WINDOW w AS (PARTITION BY rel, id ORDER BY seq)) AS h
		WHERE CASE op
		        WHEN 'insert' THEN prev_op IS NOT NULL AND prev_op <> 'delete'
		        ELSE prev_op IS NULL OR prev_op = 'delete'
		             OR old_version IS DISTINCT FROM prev_version
		             OR amount_before IS DISTINCT FROM prev_amount
		      END});
}

# pgbench scripts.  rmw: read-modify-write in one transaction.  form: read
# in one transaction, submit in the next (a web form); pgbench retries a
# 40001 from the first command, so the retry reads again.  remove and
# restore: delete a row and re-insert it.  The lost_update scripts are for
# the control runs, with a pause between read and write.
my $script_dir = $node->basedir;
my %scripts = (
	'rmw.sql' => q{
\set tbl random(1, 4)
\set id random(1, 3)
\set delta random(-100, 100)
\set style random(0, 3)
\set move random(0, 1)
SELECT stress.rmw(:tbl, :id, :delta, :style, :move);
},
	'form.sql' => q{
\set tbl random(1, 4)
\set id random(1, 3)
\set delta random(-100, 100)
\set style random(0, 3)
\set move random(0, 1)
SELECT amount, version FROM stress.read(:tbl, :id) \gset
SELECT stress.submit(:tbl, :id, :amount, ':version', :delta, :style, :move);
},
	'remove.sql' => q{
\set tbl random(1, 4)
\set id random(1, 3)
\set style random(1, 2)
SELECT stress.remove(:tbl, :id, :style);
},
	'restore.sql' => q{
\set tbl random(1, 4)
\set id random(1, 3)
SELECT stress.restore(:tbl, :id);
},
	'lost_update_rmw.sql' => q{
\set delta random(1, 100)
\set style random(0, 2)
SELECT stress.rmw(1, 1, :delta, :style, 0, 0.002);
},
	'lost_update_form.sql' => q{
\set delta random(1, 100)
\set style random(0, 2)
SELECT amount, version FROM stress.read(1, 1) \gset
\sleep 2 ms
SELECT stress.submit(1, 1, :amount, ':version', :delta, :style, 0);
},);
for my $name (sort keys %scripts)
{
	append_to_file("$script_dir/$name", $scripts{$name});
}

# Run pgbench against $db; returns its exit status, stdout and stderr.
sub run_pgbench
{
	my ($db, $nclients, $ntransactions, $run_seed, @files) = @_;
	my ($stdout, $stderr) = ('', '');
	my @cmd = (
		'pgbench', '-n',
		'-h', $node->host,
		'-p', $node->port,
		'-c', $nclients,
		'-j', 2,
		'-t', $ntransactions,
		"--random-seed=$run_seed",
		"--max-tries=$max_tries",
		'--failures-detailed',
		map({ ('-f', "$script_dir/$_") } @files),
		$db);
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(
			$PostgreSQL::Test::Utils::timeout_default *
			  (1 + int($ntransactions / 1500))));
	return ($ok ? 0 : $? >> 8, $stdout, $stderr);
}

# ERROR, FATAL and PANIC lines of the server log since $offset, counted by
# SQLSTATE and by message, plus lines that show a crash, a failed assertion
# or a version that did not grow.
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
			$by_message{"$sqlstate $message"}++;
		}
		push @crashes, $line
		  if $line =~ /TRAP|terminated by signal|PANIC|did not grow/;
	}
	return (\%by_sqlstate, \%by_message, \@crashes);
}

sub fmt_counts
{
	my ($h) = @_;
	return join(', ', map { "$_: $h->{$_}" } sort keys %$h) || 'none';
}

my @levels = (
	[ 'rc', 'read committed' ],
	[ 'rr', 'repeatable read' ],
	[ 'ser', 'serializable' ]);

for my $i (0 .. $#levels)
{
	my ($db, $isolation) = @{ $levels[$i] };

	setup_database($db, $isolation);
	my $offset = -s $node->logfile;

	my ($status, $out, $err) = run_pgbench(
		$db, $clients, $transactions, $seed + $i,
		'rmw.sql@12', 'form.sql@8', 'remove.sql@1', 'restore.sql@3');
	is($status, 0, "$isolation: pgbench exits 0, no client aborted")
	  or diag("pgbench stdout:\n$out\npgbench stderr:\n$err");
	my $expected = $clients * $transactions;
	like(
		$out,
		qr/number of transactions actually processed: $expected\/$expected\n/,
		"$isolation: all $expected transactions committed");
	like(
		$out,
		qr/number of failed transactions: 0 /,
		"$isolation: no transaction failed after retries");
	my ($retries) = $out =~ /total number of retries: (\d+)/;
	$retries //= 0;

	is( $node->safe_psql(
			$db, q{SELECT string_agg(DISTINCT isolation, ',') FROM stress.outcome}),
		$isolation,
		"$isolation: every transaction ran at $isolation");

	is(ledger_mismatches($db), '',
		"$isolation: every table holds the sum of its committed deltas (no lost update)"
	);

	is(broken_links($db), '0',
		"$isolation: every committed write started from the version the previous one left"
	);

	is( $node->safe_psql(
			$db, q{
		SELECT count(*)
		FROM (SELECT rel, op, coalesce(new_version, old_version) AS version,
		             lag(coalesce(new_version, old_version)) OVER w AS prev_version
		      FROM stress.ledger
		      WINDOW w AS (PARTITION BY rel, id ORDER BY seq)) AS h
		WHERE op <> 'delete' AND prev_version IS NOT NULL
		      AND NOT stress.newer(rel, version, prev_version)}),
		'0',
		"$isolation: each row's version grew with every committed update and re-insert"
	);

	# the last ledger entry of each row is the row as it is: present with
	# that version and the sum of its deltas, or deleted with a tombstone
	is( $node->safe_psql(
			$db, q{
		WITH last AS (
		  SELECT DISTINCT ON (rel, id) rel, id, op, new_version
		  FROM stress.ledger ORDER BY rel, id, seq DESC),
		sums AS (SELECT rel, id, sum(delta) AS total FROM stress.ledger GROUP BY rel, id)
		SELECT count(*)
		FROM last JOIN sums USING (rel, id)
		     LEFT JOIN stress.current_rows c USING (rel, id)
		     LEFT JOIN stress.tombstone ts USING (rel, id)
		WHERE CASE WHEN last.op = 'delete'
		           THEN c.id IS NOT NULL OR ts.id IS NULL OR sums.total <> 0
		           ELSE c.id IS NULL OR ts.id IS NOT NULL
		                OR c.version <> last.new_version OR c.amount <> sums.total
		      END}),
		'0',
		"$isolation: every row's amount and version are those of its last ledger entry"
	);

	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FROM (SELECT rel, id FROM stress.current_rows
		                      GROUP BY rel, id HAVING count(*) > 1) AS d}),
		'0',
		"$isolation: no row was inserted twice");

	my $growth_checks = $node->safe_psql($db,
		'SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM stress.growth_checks'
	);
	cmp_ok($growth_checks, '>', 0,
		"$isolation: the version-growth trigger checked updates and never failed"
	);

	my ($rmw_conflicts, $zero_rows, $refused, $submitted, $moved, $deleted,
		$restored)
	  = split /\|/,
	  $node->safe_psql(
		$db, q{
		SELECT coalesce(sum(conflicts) FILTER (WHERE call IN ('rmw', 'remove')), 0),
		       coalesce(sum(zero_rows), 0),
		       count(*) FILTER (WHERE result = 'refused'),
		       count(*) FILTER (WHERE result = 'submitted'),
		       count(*) FILTER (WHERE result = 'moved'),
		       count(*) FILTER (WHERE result = 'deleted'),
		       count(*) FILTER (WHERE result = 'restored')
		FROM stress.outcome});
	cmp_ok($moved, '>', 0, "$isolation: rows moved between partitions");
	cmp_ok($deleted, '>', 0, "$isolation: rows were deleted");
	cmp_ok($restored, '>', 0, "$isolation: deleted rows were re-inserted");
	cmp_ok($submitted, '>', 0,
		"$isolation: writes of versions read in an earlier transaction committed"
	);
	cmp_ok($refused, '>', 0,
		"$isolation: writes of versions that went stale between transactions failed with 40V01"
	);

	my ($errors, $messages, $crashes) = log_errors($offset);
	is_deeply($crashes, [],
		"$isolation: server log shows no crash, assertion or growth failure");
	my @unexpected = grep { $_ ne '40001' } sort keys %$errors;
	is_deeply(\@unexpected, [],
		"$isolation: the only error the server logged is 40001");

	if ($isolation eq 'read committed')
	{
		cmp_ok($rmw_conflicts, '>', 0,
			"$isolation: read-modify-writes hit 40V01 and re-applied their change"
		);
	}
	else
	{
		is($rmw_conflicts, 0,
			"$isolation: a read-modify-write in one transaction never gets 40V01, PostgreSQL's 40001 comes first"
		);
		cmp_ok($errors->{'40001'} // 0, '>', 0,
			"$isolation: concurrent writes failed with 40001");
		cmp_ok($retries, '>', 0,
			"$isolation: pgbench retried the 40001 failures");
	}

	note(
		sprintf(
			"%s: 40V01 in read-modify-write (caught, re-applied): %d; "
			  . "40V01 refusing a version read in an earlier transaction: %d "
			  . "(%d such writes committed); zero-row writes: %d; "
			  . "pgbench retries: %d; server log errors by SQLSTATE: %s; "
			  . "growth checks: %d; moves: %d; deletes: %d; re-inserts: %d",
			$isolation, $rmw_conflicts, $refused, $submitted, $zero_rows,
			$retries, fmt_counts($errors), $growth_checks, $moved, $deleted,
			$restored));
	note("$isolation: $messages->{$_} x $_") for sort keys %$messages;
}

# The checks above are not vacuous: with occ's checks off (mode 'none') on
# the integer table, the same clients, with a short pause between read and
# write, lose updates, and the ledger shows it.  Under READ COMMITTED a
# read-modify-write in one transaction loses them; under REPEATABLE READ,
# where PostgreSQL refuses that with 40001, a version read in an earlier
# transaction still does.
for my $control (
	[ 'control_rc', 'read committed', 'lost_update_rmw.sql' ],
	[ 'control_rr', 'repeatable read', 'lost_update_form.sql' ])
{
	my ($db, $isolation, $script) = @$control;

	setup_database($db, $isolation);
	$node->safe_psql($db, "SELECT occ.set_mode('stress.t_int', 'none')");
	my ($status, $out, $err) = run_pgbench($db, 4, 50, $seed, $script);
	is($status, 0, "mode none, $isolation: pgbench exits 0")
	  or diag("$out\n$err");
	isnt(ledger_mismatches($db), '',
		"mode none, $isolation: the ledger check detects lost updates");
	cmp_ok(broken_links($db), '>', 0,
		"mode none, $isolation: the chain check detects writes of stale versions"
	);
}

$node->stop;
done_testing();
