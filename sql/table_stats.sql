--
-- table_stats: conflict statistics per table (issue 13).  A known mix of
-- writes to a table of every kind, and the counters occ.table_stats shows
-- for it: what counts as checked, stated and not stated, that refusals
-- count although their transactions roll back, what is not counted
-- (mode none, foreign-key actions, the DELETE half of a row movement),
-- that a partition's writes count for its partitioned table, that an
-- audit level's reports are counted, not refused; resetting
-- one table or all, and who may.
--
-- Before PostgreSQL 17 this test needs occ in shared_preload_libraries
-- (tools/test-target.sh runs it so); t/012_stats.pl covers a server
-- without it.
--
\set VERBOSITY terse

-- Counts are published when a transaction ends; every statement below
-- that writes is its own transaction unless it says otherwise.  Other
-- tests' tables may have left counters in this database: start clean.
SELECT occ.reset_table_stats();

CREATE VIEW st AS
SELECT table_name, checked, stated, not_stated, refused_stale, refused_missing,
       audited_stale, audited_missing, stats_since IS NOT NULL AS counting
FROM occ.table_stats
WHERE table_name::text LIKE 'st\_%'
ORDER BY table_name::text;

-- ==== the integer kind, lax ====
CREATE TABLE st_int (id int PRIMARY KEY, val int);
SELECT occ.enable('st_int', mode => 'lax');
INSERT INTO st_int SELECT g, 0 FROM generate_series(1, 10) g;
-- an INSERT is not a checked write; an enabled table nothing was counted
-- for shows zeros and no stats_since
SELECT * FROM st;

-- not stated: 3 rows
UPDATE st_int SET val = 1 WHERE id <= 3;
-- stated in the SET list (the version read), in the WHERE clause, by
-- occ.if_match, by '*': 1 row each
UPDATE st_int SET val = 2, version = 1 WHERE id = 4;
UPDATE st_int SET val = 2 WHERE id = 5 AND version = 1;
BEGIN;
SET LOCAL occ.if_match = '1';
UPDATE st_int SET val = 2 WHERE id = 6;
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE st_int SET val = 2 WHERE id = 7;
COMMIT;
-- a proposal states nothing: not stated
UPDATE st_int SET val = 2, version = 100 WHERE id = 8;
SELECT * FROM st;

-- refused as stale, three ways (row 1 is at version 2): each is checked
-- and stated, and counted although its transaction rolls back
UPDATE st_int SET val = 3, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL occ.if_match = '7';
DELETE FROM st_int WHERE id = 9; \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.update('st_int', '{"id": 10}', '"4"', '{"val": 3}'); \echo :LAST_ERROR_SQLSTATE
-- a wrapper that states the right version: stated
SELECT occ.update('st_int', '{"id": 10}', '"1"', '{"val": 3}');
SELECT * FROM st;

-- a refusal in a subtransaction rolled back to its savepoint, and a
-- transaction rolled back after a counted write: both count
BEGIN;
UPDATE st_int SET val = 4 WHERE id = 1;
SAVEPOINT s;
UPDATE st_int SET val = 4, version = 1 WHERE id = 2; \echo :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT s;
UPDATE st_int SET val = 4 WHERE id = 3;
COMMIT;
BEGIN;
UPDATE st_int SET val = 5 WHERE id <= 2;
ROLLBACK;
SELECT * FROM st;

-- mode none checks nothing and counts nothing
SELECT occ.set_mode('st_int', 'none');
UPDATE st_int SET val = 6;
SELECT * FROM st;

-- ==== strict, and the timestamp kind ====
CREATE TABLE st_ts (id int PRIMARY KEY, val int,
                    updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
SELECT occ.enable('st_ts', version_column => 'updated_at', kind => 'timestamp',
                  mode => 'strict');
INSERT INTO st_ts VALUES (1, 0), (2, 0), (3, 0);
-- refused as missing: checked, not stated, refused; the DELETE as well
UPDATE st_ts SET val = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
DELETE FROM st_ts WHERE id = 2; \echo :LAST_ERROR_SQLSTATE
-- stated in the WHERE clause
UPDATE st_ts SET val = 1 WHERE id = 3 AND updated_at = '2026-01-01 00:00:00+00';
-- refused as stale
BEGIN;
SET LOCAL occ.if_match = '2025-01-01 00:00:00+00';
UPDATE st_ts SET val = 2 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM st;

-- ==== the hash kind ====
CREATE TABLE st_hash (id int PRIMARY KEY, val int);
SELECT occ.enable('st_hash', kind => 'hash', mode => 'lax');
INSERT INTO st_hash VALUES (1, 0), (2, 0);
-- a WHERE clause cannot state a content hash: not stated
UPDATE st_hash SET val = 1 WHERE id = 1;
-- stated by occ.if_match, right and wrong
SELECT occ.etag(h) AS tag FROM st_hash h WHERE id = 2 \gset
BEGIN;
SELECT set_config('occ.if_match', :'tag', true) IS NOT NULL AS set;
UPDATE st_hash SET val = 1 WHERE id = 2;
UPDATE st_hash SET val = 2 WHERE id = 2; \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.set_mode('st_hash', 'strict');
UPDATE st_hash SET val = 3 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM st;

-- ==== the stream kind: one write per stream per statement ====
CREATE TABLE st_stream (stream_id text NOT NULL, seq bigint NOT NULL, body text,
                        PRIMARY KEY (stream_id, seq));
SELECT occ.enable('st_stream', kind => 'stream', stream_column => 'stream_id',
                  version_column => 'seq', mode => 'lax');
-- three events of one stream and one of another, nothing stated: two
-- writes, not stated
INSERT INTO st_stream (stream_id, body) VALUES ('a', '1'), ('a', '2'), ('a', '3'), ('b', '1');
-- stated: occ.append's expected version, versions given
SELECT occ.append('st_stream', 'a', '3', '[{"body": "4"}, {"body": "5"}]');
INSERT INTO st_stream (stream_id, seq, body) VALUES ('b', 2, '2'), ('b', 3, '3');
-- refused as stale: a wrong expected version, and a wrong version given to
-- an event after the first of its stream (counted as the one refusal of
-- that write)
SELECT occ.append('st_stream', 'a', '2', '[{"body": "x"}]'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO st_stream (stream_id, seq, body) VALUES ('b', 4, '4'), ('b', 9, '9'); \echo :LAST_ERROR_SQLSTATE
-- strict: refused as missing
SELECT occ.set_mode('st_stream', 'strict');
INSERT INTO st_stream (stream_id, body) VALUES ('c', '1'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM st;

-- ==== partitions count for the partitioned table that was enabled ====
CREATE TABLE st_parts (id int, val int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE st_parts_low PARTITION OF st_parts FOR VALUES FROM (0) TO (10);
CREATE TABLE st_parts_high PARTITION OF st_parts FOR VALUES FROM (10) TO (20);
SELECT occ.enable('st_parts', mode => 'lax');
INSERT INTO st_parts VALUES (1, 0), (11, 0);
UPDATE st_parts SET val = 1;
-- a row moving to another partition is one write, not two
UPDATE st_parts SET id = 12, version = 2 WHERE id = 1;
SELECT * FROM st;

-- ==== foreign-key actions are not checked, and not counted ====
CREATE TABLE st_parent (id int PRIMARY KEY);
CREATE TABLE st_child (id int PRIMARY KEY,
                       parent int REFERENCES st_parent ON DELETE CASCADE ON UPDATE CASCADE);
SELECT occ.enable('st_child', mode => 'strict');
INSERT INTO st_parent VALUES (1);
INSERT INTO st_child VALUES (1, 1), (2, 1);
UPDATE st_parent SET id = 2;
DELETE FROM st_parent;
SELECT count(*) AS children_left FROM st_child;
SELECT * FROM st;

-- ==== an audit level: checked and counted at that level, not refused ====
CREATE TABLE st_audit (id int PRIMARY KEY, val int);
SELECT occ.enable('st_audit', mode => 'none', audit => 'strict');
INSERT INTO st_audit VALUES (1, 0), (2, 0);
-- the current version (stated), a stale one (stated, reported as 40V01),
-- nothing stated (reported as 23V01): all three go through
UPDATE st_audit SET val = 1, version = 1 WHERE id = 1;
UPDATE st_audit SET val = 2, version = 1 WHERE id = 1;
UPDATE st_audit SET val = 3 WHERE id = 2;
SELECT id, val, version FROM st_audit ORDER BY id;
SELECT * FROM st WHERE table_name = 'st_audit'::regclass;

-- ==== reset ====
-- one table: its counters start again from the next write
SELECT clock_timestamp() AS before_reset \gset
SELECT occ.reset_table_stats('st_int');
SELECT table_name, checked, counting FROM st;
SELECT occ.set_mode('st_int', 'lax');
UPDATE st_int SET val = 7 WHERE id = 1;
SELECT table_name, checked, not_stated, counting FROM st WHERE table_name = 'st_int'::regclass;
-- stats_since is when counting began: after the reset
SELECT stats_since > :'before_reset' AND stats_since <= clock_timestamp() AS since_reset
FROM occ.table_stats WHERE table_name = 'st_int'::regclass;
-- every table of the database
SELECT occ.reset_table_stats();
SELECT table_name, checked, counting FROM st;
-- a table that is not enabled has nothing to forget, and is no error
SELECT occ.reset_table_stats('st_parent');

-- ==== privileges ====
-- anyone may read the statistics; only superusers reset them, unless
-- granted EXECUTE
CREATE ROLE regress_occ_stats;
SET ROLE regress_occ_stats;
SELECT count(*) AS tables FROM occ.table_stats WHERE table_name::text LIKE 'st\_%';
SELECT occ.reset_table_stats(); \echo :LAST_ERROR_SQLSTATE
SELECT occ.reset_table_stats('st_int'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT EXECUTE ON FUNCTION occ.reset_table_stats(regclass) TO regress_occ_stats;
SET ROLE regress_occ_stats;
SELECT occ.reset_table_stats('st_int');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION occ.reset_table_stats(regclass) FROM regress_occ_stats;
-- what the view and the functions are, and who may run them
SELECT p.proname, p.provolatile, p.proisstrict,
       has_function_privilege('regress_occ_stats', p.oid, 'EXECUTE') AS may_execute
FROM pg_proc p
WHERE p.pronamespace = 'occ'::regnamespace
  AND p.proname IN ('table_stats_counters', 'reset_table_stats')
ORDER BY p.proname;
SELECT has_table_privilege('regress_occ_stats', 'occ.table_stats', 'SELECT') AS may_read;
DROP ROLE regress_occ_stats;

DROP VIEW st;
DROP TABLE st_int, st_ts, st_hash, st_stream, st_parts, st_child, st_parent, st_audit;
