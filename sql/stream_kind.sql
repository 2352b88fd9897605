--
-- stream_kind: tables of kind stream (issue 12), append-only event stores.
-- Each row is one event of one stream; occ numbers a stream's events 1, 2,
-- 3, ... and checks the version an append expects: through occ.if_match,
-- through the versions the events are given, or through occ.append's
-- argument "expected".  Enabling and every refusal (each leaving the table
-- as it was), every form of the expected version and its errors, occ.append
-- and occ.stream_version, COPY, ON CONFLICT, writable WITH queries,
-- triggers, stream columns of other types, partitions, privileges, the DDL
-- guard, and at the end every stream of every table used is gapless.
-- (Concurrent appends are the isolation specs' concern; MERGE is in
-- stream_merge, for PostgreSQL 15 and later.)
--
\set VERBOSITY default

-- What a table looks like to occ: how many occ triggers it has, the
-- events its own fires for and its arguments (tgargs holds each followed
-- by a NUL byte), whether occ.tables lists it, and its columns (with NOT
-- NULL and defaults) and unique indexes.
CREATE FUNCTION sk_shape(tbl regclass)
RETURNS TABLE (triggers bigint, fires text, args text[], listed bigint,
               columns text, unique_indexes text)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure),
         (SELECT concat_ws(' ', CASE WHEN tgtype & 2 <> 0 THEN 'BEFORE' END,
                           CASE WHEN tgtype & 4 <> 0 THEN 'INSERT' END,
                           CASE WHEN tgtype & 16 <> 0 THEN 'UPDATE' END,
                           CASE WHEN tgtype & 8 <> 0 THEN 'DELETE' END,
                           CASE WHEN tgtype & 1 <> 0 THEN 'ROW' END)
            FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure),
         (SELECT array_remove(string_to_array(encode(tgargs, 'escape'), '\000'), '')
            FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure),
         (SELECT count(*) FROM occ.tables WHERE table_name = tbl),
         (SELECT string_agg(a.attname
                            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                            ', ' ORDER BY a.attnum)
            FROM pg_attribute a
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped),
         (SELECT string_agg(pg_get_indexdef(indexrelid, 0, false), '; '
                            ORDER BY indexrelid::regclass::text)
            FROM pg_index WHERE indrelid = tbl AND indisunique)
$$;

-- Every stream of a table with its versions in order: what an append
-- changed, or, after a refusal, that nothing did.
CREATE FUNCTION sk_streams(tbl regclass, stream_col name DEFAULT 'stream_id',
                           version_col name DEFAULT 'version')
RETURNS TABLE (stream text, versions text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT %1$I::text, string_agg(%2$I::text, '','' ORDER BY %2$I)
           FROM %3$s GROUP BY 1 ORDER BY 1', stream_col, version_col, tbl);
END
$$;

-- Run a statement and show its error as an application reads it: the
-- SQLSTATE, the message, DETAIL and HINT, and the schema, table and column
-- fields (VERBOSITY verbose would also print the C source line).
CREATE FUNCTION sk_try(stmt text)
RETURNS TABLE (field text, value text)
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_schema text;
    v_table text;
    v_column text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    EXECUTE stmt;
    RETURN QUERY VALUES ('outcome', 'no error');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
                            v_schema = SCHEMA_NAME,
                            v_table = TABLE_NAME,
                            v_column = COLUMN_NAME,
                            v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL,
                            v_hint = PG_EXCEPTION_HINT;
    RETURN QUERY VALUES ('sqlstate', v_state), ('message', v_message),
                        ('detail', v_detail), ('hint', v_hint),
                        ('schema_name', v_schema), ('table_name', v_table),
                        ('column_name', v_column);
END
$$;

-- Is every stream of the table numbered 1..n, without a gap or a
-- duplicate?  The streams that are not are listed.
CREATE FUNCTION sk_gapless(tbl regclass, stream_col name DEFAULT 'stream_id',
                           version_col name DEFAULT 'version')
RETURNS TABLE (streams bigint, events bigint, not_gapless text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT count(*), coalesce(sum(n), 0)::bigint,
                string_agg(s, '', '' ORDER BY s) FILTER (WHERE NOT gapless)
           FROM (SELECT %1$I::text AS s, count(*) AS n,
                        count(*) = count(DISTINCT %2$I) AND min(%2$I) = 1
                          AND max(%2$I) = count(*) AS gapless
                   FROM %3$s GROUP BY 1) per_stream',
        stream_col, version_col, tbl);
END
$$;

-- ===================================================================
-- enabling: the trigger, its arguments, occ.tables
-- ===================================================================
CREATE TABLE sk_events (stream_id text, version bigint, type text, data jsonb,
                        source text DEFAULT 'app',
                        PRIMARY KEY (stream_id, version));
SELECT * FROM sk_shape('sk_events');
SELECT pg_relation_filenode('sk_events') AS filenode_before \gset
SELECT occ.enable('sk_events', kind => 'stream', stream_column => 'stream_id',
                  version_column => 'version');
-- BEFORE INSERT too, and the stream column among the arguments
SELECT * FROM sk_shape('sk_events');
SELECT pg_relation_filenode('sk_events') = :filenode_before AS not_rewritten;
SELECT table_name, schema_name, version_column, kind, mode, effective_mode,
       excluded_columns, stream_column
  FROM occ.tables WHERE table_name = 'sk_events'::regclass;
-- the other kinds have no stream column
CREATE TABLE sk_counted (id int PRIMARY KEY);
SELECT occ.enable('sk_counted');
SELECT table_name, kind, stream_column FROM occ.tables
 WHERE table_name = 'sk_counted'::regclass;

-- ==== enabling again ====
SELECT oid AS trigger_oid FROM pg_trigger
 WHERE tgrelid = 'sk_events'::regclass AND tgname = 'occ_version' \gset
-- the same settings: nothing changes
SELECT occ.enable('sk_events', kind => 'stream', stream_column => 'stream_id');
SELECT occ.enable('sk_events', 'version', 'stream', stream_column => 'stream_id');
SELECT oid = :trigger_oid AS same_trigger FROM pg_trigger
 WHERE tgrelid = 'sk_events'::regclass AND tgname = 'occ_version';
-- another stream column, version column or kind: refused
SELECT occ.enable('sk_events', kind => 'stream', stream_column => 'type'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_events', 'data', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_events', kind => 'stream'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_events'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_events', kind => 'hash'); \echo :LAST_ERROR_SQLSTATE
-- a table of another kind does not become a stream table
SELECT occ.enable('sk_counted', kind => 'stream', stream_column => 'id'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_shape('sk_counted');
DROP TABLE sk_counted;
SELECT oid = :trigger_oid AS same_trigger FROM pg_trigger
 WHERE tgrelid = 'sk_events'::regclass AND tgname = 'occ_version';
SELECT * FROM sk_shape('sk_events');
-- a mode changes the mode and keeps the columns
SELECT occ.enable('sk_events', kind => 'stream', stream_column => 'stream_id',
                  mode => 'strict');
SELECT * FROM sk_shape('sk_events');
SELECT mode, effective_mode, stream_column
  FROM occ.tables WHERE table_name = 'sk_events'::regclass;
SELECT occ.set_mode('sk_events', NULL);
SELECT args FROM sk_shape('sk_events');

-- ==== refusals on a table not yet enabled: the error, and nothing changed ====
CREATE TABLE sk_refused (stream_id text, version int, label text,
                         v_default int DEFAULT 0,
                         v_generated int GENERATED ALWAYS AS (1) STORED,
                         other int);
-- the stream column is the stream kind's, and only its
SELECT occ.enable('sk_refused', kind => 'stream'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'integer', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'timestamp', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'hash', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id',
                  exclude => '{label}'); \echo :LAST_ERROR_SQLSTATE
-- columns that do not exist, names matched exactly
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'nosuch'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'Stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', 'nosuch', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
-- one column for both, system columns
SELECT occ.enable('sk_refused', 'stream_id', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'ctid'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'tableoid'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', 'xmin', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_shape('sk_refused');
-- a version column that cannot hold versions, whatever the indexes: its
-- type, a default (occ gives the versions), a generated column
CREATE UNIQUE INDEX sk_refused_label ON sk_refused (stream_id, label);
CREATE UNIQUE INDEX sk_refused_default ON sk_refused (stream_id, v_default);
CREATE UNIQUE INDEX sk_refused_generated ON sk_refused (stream_id, v_generated);
SELECT occ.enable('sk_refused', 'label', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', 'v_default', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_refused', 'v_generated', 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_label, sk_refused_default, sk_refused_generated;
SELECT * FROM sk_shape('sk_refused');
-- no unique btree index on exactly (stream, version), in that order, the
-- version ascending, checked at once (not deferrable): every other index
-- is refused
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (version, stream_id);
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (stream_id, version, other);
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (stream_id, version) WHERE other IS NULL;
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
CREATE INDEX sk_refused_idx ON sk_refused (stream_id, version);
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (stream_id, (version + 0));
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (stream_id, version DESC);
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP INDEX sk_refused_idx;
ALTER TABLE sk_refused ADD CONSTRAINT sk_refused_idx UNIQUE (stream_id, version)
  DEFERRABLE INITIALLY IMMEDIATE;
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_refused DROP CONSTRAINT sk_refused_idx;
SELECT * FROM sk_shape('sk_refused');
-- what was refused can then be enabled: a unique index (no primary key,
-- columns after the key allowed); the version column becomes NOT NULL
CREATE UNIQUE INDEX sk_refused_idx ON sk_refused (stream_id, version) INCLUDE (label);
SELECT occ.enable('sk_refused', kind => 'stream', stream_column => 'stream_id');
SELECT * FROM sk_shape('sk_refused');
INSERT INTO sk_refused (stream_id, label) VALUES ('r', 'one'), ('r', 'two');
SELECT * FROM sk_streams('sk_refused');
-- the stream column may allow NULL; an event needs a stream
SELECT * FROM sk_try($$INSERT INTO sk_refused (stream_id, label) VALUES (NULL, 'none')$$);

-- ==== partitioned tables: each stream in one partition ====
-- partitioned by another column, or by the stream column and another one
CREATE TABLE sk_by_version (stream_id text, version int, PRIMARY KEY (stream_id, version))
  PARTITION BY RANGE (version);
SELECT occ.enable('sk_by_version', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_shape('sk_by_version');
DROP TABLE sk_by_version;
CREATE TABLE sk_by_both (stream_id text, version int, PRIMARY KEY (stream_id, version))
  PARTITION BY RANGE (stream_id, version);
SELECT occ.enable('sk_by_both', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_shape('sk_by_both');
DROP TABLE sk_by_both;
-- hash-partitioned by the stream column: accepted, every partition covered
CREATE TABLE sk_parts (stream_id text, version int, type text,
                       PRIMARY KEY (stream_id, version))
  PARTITION BY HASH (stream_id);
CREATE TABLE sk_parts_0 PARTITION OF sk_parts FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE sk_parts_1 PARTITION OF sk_parts FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT occ.enable('sk_parts', kind => 'stream', stream_column => 'stream_id');
SELECT * FROM sk_shape('sk_parts');
SELECT triggers, fires, args FROM sk_shape('sk_parts_1');
SELECT table_name, kind, stream_column FROM occ.tables
 WHERE table_name::text LIKE 'sk\_parts%' ORDER BY 1;

-- ==== disabling ====
CREATE TABLE sk_off (stream_id text, version int, PRIMARY KEY (stream_id, version));
SELECT occ.enable('sk_off', kind => 'stream', stream_column => 'stream_id');
INSERT INTO sk_off (stream_id) VALUES ('o');
SELECT occ.disable('sk_off');
SELECT * FROM sk_shape('sk_off');
-- nothing numbers the events any more
INSERT INTO sk_off (stream_id) VALUES ('o'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.stream_version('sk_off', 'o'); \echo :LAST_ERROR_SQLSTATE
-- enabled again, it counts on from the events there are
SELECT occ.enable('sk_off', kind => 'stream', stream_column => 'stream_id');
INSERT INTO sk_off (stream_id) VALUES ('o');
SELECT * FROM sk_streams('sk_off');
-- drop_column drops the version column, and the primary key with it
SELECT occ.disable('sk_off', drop_column => true);
SELECT * FROM sk_shape('sk_off');
DROP TABLE sk_off;

-- ===================================================================
-- the expected version, in every form (mode lax unless said)
-- ===================================================================
-- several events in one statement: consecutive versions, per stream
INSERT INTO sk_events (stream_id, type)
VALUES ('order-1', 'Created'), ('order-1', 'ItemAdded'), ('order-1', 'ItemAdded'),
       ('order-1', 'ItemRemoved'), ('order-1', 'Confirmed');
SELECT * FROM sk_streams('sk_events');
SELECT stream_id, version, type, source FROM sk_events ORDER BY 1, 2;

-- ==== occ.if_match that matches: the plain version, a tag, a list ====
BEGIN;
SET LOCAL occ.if_match = '5';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Paid') RETURNING version;
SET LOCAL occ.if_match = '"6"';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Packed') RETURNING version;
SET LOCAL occ.if_match = '"3", "7", "9"';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Shipped') RETURNING version;
COMMIT;
SELECT * FROM sk_streams('sk_events');

-- ==== occ.if_match that does not match: 40V01, nothing appended ====
BEGIN;
SET LOCAL occ.if_match = '7';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Late'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '"3", "4"';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Late'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a weak tag never matches, not even the stream's version
BEGIN;
SET LOCAL occ.if_match = 'W/"8"';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Late'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM sk_streams('sk_events');

-- ==== '0': the stream must not exist ====
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'Created') RETURNING version;
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Created'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- ==== '*': the stream must exist ====
BEGIN;
SET LOCAL occ.if_match = '*';
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'ItemAdded') RETURNING version;
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '*';
INSERT INTO sk_events (stream_id, type) VALUES ('order-3', 'ItemAdded'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM sk_streams('sk_events');

-- ==== an occ.if_match that cannot be read: 22P02, nothing appended ====
BEGIN;
SET LOCAL occ.if_match = 'five';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Bad'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '"8';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Bad'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '99999999999999999999';
INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'Bad'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM sk_streams('sk_events');
-- an empty occ.if_match is unset: on a lax table, any version
BEGIN;
SET LOCAL occ.if_match = '';
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'ItemAdded') RETURNING version;
COMMIT;

-- ==== the 40V01 report: stream, its version, the expected one; HINT; fields ====
BEGIN;
SET LOCAL occ.if_match = '"2", "4"';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'X')$$);
SET LOCAL occ.if_match = '*';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-3', 'X')$$);
SET LOCAL occ.if_match = '0';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-1', 'X')$$);
RESET occ.if_match;
-- events given their versions: the version before the first
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, version, type) VALUES ('order-1', 5, 'X')$$);
-- occ.append's argument
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'order-1', '7', '[{"type": "X"}]')$$);
ROLLBACK;
-- a stream whose value needs quoting is quoted
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, type) VALUES ('it''s', 'Created');
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('it''s', 'X')$$)
 WHERE field = 'detail';
ROLLBACK;

-- ==== events given their versions ====
-- the first one's version - 1 is the expected version, the others follow on
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-1', 9, 'Delivered'), ('order-1', 10, 'Rated');
-- a gap, a version the stream has (no duplicate key error), a later event
-- that does not follow on: 40V01, nothing appended
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-1', 12, 'Gap'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-1', 10, 'Twice'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-1', 1, 'First'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-1', 11, 'Ok'), ('order-1', 13, 'Gap'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-1', 11, 'Ok'), ('order-1', 11, 'Twice'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_streams('sk_events');
-- given, then not given in the same statement: the others count on
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-1', 11, 'Given'), ('order-1', NULL, 'Counted'), ('order-1', NULL, 'Counted')
RETURNING version, type;
-- not given, then given: the given one must be the next
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-1', NULL, 'Counted'), ('order-1', 15, 'Given')
RETURNING version, type;
-- a given version states the expected version: occ.if_match is not asked
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-1', 16, 'Given')
RETURNING version;
COMMIT;
SELECT * FROM sk_streams('sk_events');

-- ==== several streams in one statement ====
-- with their versions given, or stating nothing: each stream numbered
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-2', 4, 'Given'), ('order-3', 1, 'Given'), ('order-2', 5, 'Given');
INSERT INTO sk_events (stream_id, type)
VALUES ('order-3', 'Counted'), ('order-2', 'Counted'), ('order-3', 'Counted'),
       ('order-4', 'Counted')
RETURNING stream_id, version;
SELECT * FROM sk_streams('sk_events');
-- occ.if_match states one stream's version: refused, nothing appended
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'A'), ('order-3', 'B')$$);
SET LOCAL occ.if_match = '6';
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'A'), ('order-2', 'B'), ('order-4', 'C'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM sk_streams('sk_events');

-- ==== strict: an append must state the version it expects ====
SELECT occ.set_mode('sk_events', 'strict');
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'X')$$);
BEGIN;
SET LOCAL occ.if_match = '';
INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'X'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.append('sk_events', 'order-4', NULL, '[{"type": "X"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_streams('sk_events') WHERE stream = 'order-4';
-- stated in any of the ways, it passes
BEGIN;
SET LOCAL occ.if_match = '1';
INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'Stated') RETURNING version;
SET LOCAL occ.if_match = '*';
INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'Stated') RETURNING version;
COMMIT;
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-4', 4, 'Given');
SELECT occ.append('sk_events', 'order-4', '4', '[{"type": "Appended"}]');
-- several streams with their versions given
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-4', 6, 'Given'), ('order-5', 1, 'Given');
-- in one stream the versions given, in another nothing stated: refused
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-4', 7, 'Given'), ('order-5', NULL, 'Counted'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_streams('sk_events') WHERE stream IN ('order-4', 'order-5');
SELECT effective_mode FROM occ.tables WHERE table_name = 'sk_events'::regclass;

-- ==== the http error style: PT412 and PT428 ====
SET occ.error_style = 'http';
BEGIN;
SET LOCAL occ.if_match = '1';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'X')$$)
 WHERE field IN ('sqlstate', 'message');
ROLLBACK;
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('order-4', 'X')$$)
 WHERE field IN ('sqlstate', 'message');
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'order-4', '0', '[{}]')$$)
 WHERE field IN ('sqlstate', 'message');
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'order-4', NULL, '[{}]')$$)
 WHERE field IN ('sqlstate', 'message');
RESET occ.error_style;

-- ==== lax: an append that states nothing expects any version ====
SELECT occ.set_mode('sk_events', 'lax');
INSERT INTO sk_events (stream_id, type) VALUES ('order-5', 'Counted') RETURNING version;
SELECT occ.append('sk_events', 'order-5', NULL, '[{"type": "Appended"}]');

-- ==== events are immutable: UPDATE and DELETE refused (55000) ====
UPDATE sk_events SET type = 'Changed' WHERE stream_id = 'order-5'; \echo :LAST_ERROR_SQLSTATE
DELETE FROM sk_events WHERE stream_id = 'order-5'; \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('sk_events', 'strict');
UPDATE sk_events SET type = 'Changed' WHERE stream_id = 'order-5'; \echo :LAST_ERROR_SQLSTATE
DELETE FROM sk_events WHERE stream_id = 'order-5'; \echo :LAST_ERROR_SQLSTATE
-- not the occ.update and occ.delete wrappers either
SELECT occ.update('sk_events', '{"stream_id": "order-5", "version": 1}', '*',
                  '{"type": "Changed"}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('sk_events', '{"stream_id": "order-5", "version": 1}', '*'); \echo :LAST_ERROR_SQLSTATE
SELECT stream_id, version, type FROM sk_events WHERE stream_id = 'order-5' ORDER BY 2;

-- ==== none: nothing checked, given versions kept; events may change ====
SELECT occ.set_mode('sk_events', 'none');
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, type) VALUES ('order-5', 'Unchecked') RETURNING version;
SET LOCAL occ.if_match = 'W/"1"';
INSERT INTO sk_events (stream_id, type) VALUES ('order-5', 'Unchecked') RETURNING version;
COMMIT;
-- a given version is kept, and the events after it count on from it
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-5', 100, 'Kept'), ('order-5', NULL, 'Counted'), ('order-5', 50, 'Kept')
RETURNING version, type;
-- nothing checks a version the stream has: the unique index does
INSERT INTO sk_events (stream_id, version, type) VALUES ('order-5', 1, 'Twice'); \echo :LAST_ERROR_SQLSTATE
-- the events after the first five are archived: UPDATE and DELETE allowed
UPDATE sk_events SET type = type || ' (archived)'
 WHERE stream_id = 'order-5' AND version > 5;
WITH archived AS (DELETE FROM sk_events WHERE stream_id = 'order-5' AND version > 5
                  RETURNING version, type)
SELECT * FROM archived ORDER BY version;
SELECT occ.set_mode('sk_events', NULL);
SELECT * FROM sk_streams('sk_events');

-- ===================================================================
-- occ.append and occ.stream_version
-- ===================================================================
-- returns the stream's new version: that of its last event
SELECT occ.append('sk_events', 'cart-1', '0', '[{"type": "Created"}, {"type": "ItemAdded"}]');
SELECT occ.append('sk_events', 'cart-1', '2', '[{"type": "ItemAdded"}]');
SELECT occ.append('sk_events', 'cart-1', '"3"', '[{"type": "ItemAdded"}]');
SELECT occ.append('sk_events', 'cart-1', '"1", "4"', '[{"type": "ItemRemoved"}]');
SELECT occ.append('sk_events', 'cart-1', '*', '[{"type": "CheckedOut"}]');
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"type": "Paid"}]');
SELECT occ.stream_version('sk_events', 'cart-1');
-- stale, '0' on a stream that exists, '*' on one that does not, a weak tag:
-- 40V01, nothing appended
SELECT occ.append('sk_events', 'cart-1', '5', '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', '0', '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-2', '*', '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', 'W/"7"', '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
-- an expected version that cannot be read
SELECT occ.append('sk_events', 'cart-1', 'six', '[{"type": "Bad"}]');
SELECT occ.append('sk_events', 'cart-1', '"6', '[{"type": "Bad"}]');
\set VERBOSITY default
SELECT * FROM sk_streams('sk_events') WHERE stream LIKE 'cart-%';

-- ==== what the events may hold ====
-- columns that do not exist, the stream or the version column
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"type": "A"}, {"nosuch": 1}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"ctid": "(0,1)"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"stream_id": "cart-9"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"type": "A", "version": 7}]'); \echo :LAST_ERROR_SQLSTATE
-- not an array of objects, or none
SELECT occ.append('sk_events', 'cart-1', NULL, '[]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '{"type": "A"}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '[1, 2]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '[{"type": "A"}, "B"]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, '"A"'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, 'null'); \echo :LAST_ERROR_SQLSTATE
-- NULL arguments (a NULL expected is allowed: it states nothing)
SELECT occ.append(NULL, 'cart-1', NULL, '[{}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', NULL, NULL, '[{}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_events', 'cart-1', NULL, NULL); \echo :LAST_ERROR_SQLSTATE
-- a table that is not a stream table
CREATE TABLE sk_plain (id int PRIMARY KEY, version int);
SELECT occ.append('sk_plain', '1', NULL, '[{}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.stream_version('sk_plain', '1'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('sk_plain');
SELECT occ.append('sk_plain', '1', NULL, '[{}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.stream_version('sk_plain', '1'); \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM sk_plain;
DROP TABLE sk_plain;
SELECT * FROM sk_streams('sk_events') WHERE stream LIKE 'cart-%';

-- events naming different columns: a column an event leaves out is NULL
-- for it, a column no event names takes its default
SELECT occ.append('sk_events', 'cart-2', '0',
                  '[{"type": "Created"}, {"data": {"sku": 7}}, {"type": "Noted", "source": null}, {}]');
SELECT version, type, data, source FROM sk_events WHERE stream_id = 'cart-2' ORDER BY version;
SELECT occ.append('sk_events', 'cart-2', '4', '[{"type": "Closed", "data": [1, "two"]}]');
SELECT version, type, data, source FROM sk_events WHERE stream_id = 'cart-2' ORDER BY version;

-- occ.if_match set in the session does not apply to occ.append's events
BEGIN;
SET LOCAL occ.if_match = '0';
SELECT occ.append('sk_events', 'cart-2', NULL, '[{"type": "Reopened"}]');
SELECT occ.append('sk_events', 'cart-2', '6', '[{"type": "Closed"}]');
COMMIT;
SELECT occ.set_mode('sk_events', 'strict');
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT occ.append('sk_events', 'cart-2', NULL, '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.set_mode('sk_events', NULL);

-- ==== occ.stream_version ====
SELECT occ.stream_version('sk_events', 'cart-2') AS existing,
       occ.stream_version('sk_events', 'cart-3') AS missing,
       occ.stream_version('sk_events', '') AS empty;
-- it reads the caller's snapshot: an append of the transaction shows
BEGIN;
SELECT occ.append('sk_events', 'cart-3', '0', '[{}, {}]');
SELECT occ.stream_version('sk_events', 'cart-3');
ROLLBACK;
SELECT occ.stream_version('sk_events', 'cart-3');
SELECT occ.stream_version(NULL, 'cart-3'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.stream_version('sk_events', NULL); \echo :LAST_ERROR_SQLSTATE

-- ==== the lock: one per stream, held to the end of the transaction ====
-- (an advisory lock in occ's space, objsubid 20291, named by the table)
BEGIN;
SELECT occ.append('sk_events', 'cart-3', '0', '[{}]');
INSERT INTO sk_events (stream_id, type) VALUES ('cart-4', 'A'), ('cart-3', 'B');
SELECT classid = 'sk_events'::regclass::oid AS table_oid, objsubid, mode, granted,
       count(*) AS locks
  FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid()
 GROUP BY 1, 2, 3, 4;
COMMIT;
SELECT count(*) AS locks_after_commit FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- ===================================================================
-- COPY, ON CONFLICT, writable WITH, triggers
-- ===================================================================
-- ==== COPY FROM is checked like an INSERT of the same rows ====
-- One COPY is one statement: the events without versions are numbered,
-- those with versions checked, occ.if_match states one stream's version.
-- (A restore is not checked: pg_restore loads a table's rows before it
-- creates its triggers.  psql does not set LAST_ERROR_SQLSTATE for COPY
-- FROM stdin: the errors below are 40V01, 0A000 and 23V01, as their
-- messages say.)
-- without versions, the events are numbered; several streams at once
COPY sk_events (stream_id, type) FROM stdin;
copy-1	Created
copy-2	Created
copy-1	Renamed
\.
-- with versions (a data-only load): each stream's events must come in
-- order, from the stream's version on
COPY sk_events (stream_id, version, type) FROM stdin;
copy-3	1	Created
copy-1	3	Moved
copy-3	2	Moved
\.
COPY sk_events (stream_id, version, type) FROM stdin;
copy-4	2	Moved
copy-4	1	Created
\.
COPY sk_events (stream_id, version, type) FROM stdin;
copy-4	1	Created
copy-1	3	Twice
\.
-- with occ.if_match, one stream
BEGIN;
SET LOCAL occ.if_match = '3';
COPY sk_events (stream_id, type) FROM stdin;
copy-1	Closed
copy-1	Archived
\.
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '1';
COPY sk_events (stream_id, type) FROM stdin;
copy-2	Moved
copy-3	Moved
\.
ROLLBACK;
-- strict: as for INSERT, the version must be stated
SELECT occ.set_mode('sk_events', 'strict');
COPY sk_events (stream_id, type) FROM stdin;
copy-2	Moved
\.
COPY sk_events (stream_id, version, type) FROM stdin;
copy-2	2	Moved
\.
SELECT occ.set_mode('sk_events', NULL);
SELECT * FROM sk_streams('sk_events') WHERE stream LIKE 'copy-%';

-- ==== INSERT ... ON CONFLICT ====
-- occ numbers the event before the insertion: a stated version that the
-- stream has fails with 40V01, it is not skipped
INSERT INTO sk_events (stream_id, type) VALUES ('copy-1', 'Again')
ON CONFLICT DO NOTHING RETURNING version;
INSERT INTO sk_events (stream_id, version, type) VALUES ('copy-1', 1, 'Again')
ON CONFLICT DO NOTHING; \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type) VALUES ('copy-1', 1, 'Again')
ON CONFLICT (stream_id, version) DO NOTHING; \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_events (stream_id, version, type) VALUES ('copy-1', 1, 'Again')
ON CONFLICT (stream_id, version) DO UPDATE SET type = 'Changed'; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_streams('sk_events') WHERE stream = 'copy-1';
-- a conflict on another unique index (an event's id, for idempotent
-- retries): the event is skipped after occ numbered it, and the events
-- after it in the statement take the versions actually next: no gap
CREATE TABLE sk_dedup (stream_id text, version int, event_id int UNIQUE,
                       PRIMARY KEY (stream_id, version));
SELECT occ.enable('sk_dedup', kind => 'stream', stream_column => 'stream_id');
INSERT INTO sk_dedup (stream_id, event_id) VALUES ('d', 1), ('d', 2), ('e', 3);
INSERT INTO sk_dedup (stream_id, event_id) VALUES ('d', 2) ON CONFLICT DO NOTHING;
INSERT INTO sk_dedup (stream_id, event_id) VALUES ('e', 4), ('d', 1)
ON CONFLICT (event_id) DO NOTHING;
INSERT INTO sk_dedup (stream_id, event_id)
VALUES ('d', 2), ('d', 5), ('d', 1), ('e', 3), ('d', 6), ('e', 7)
ON CONFLICT (event_id) DO NOTHING RETURNING stream_id, version, event_id;
-- with versions given: each must follow the events actually appended
INSERT INTO sk_dedup (stream_id, version, event_id) VALUES ('d', 5, 6), ('d', 6, 8)
ON CONFLICT (event_id) DO NOTHING; \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_dedup (stream_id, version, event_id) VALUES ('d', 5, 6), ('d', 5, 8)
ON CONFLICT (event_id) DO NOTHING RETURNING stream_id, version, event_id;
SELECT stream_id, version, event_id FROM sk_dedup ORDER BY 1, 2;
-- the same for a row another BEFORE trigger skips (one that fires after
-- occ's, which is named occ_version)
CREATE FUNCTION sk_skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN NEW.event_id < 0 THEN NULL ELSE NEW END;
END
$$;
CREATE TRIGGER zz_skip BEFORE INSERT ON sk_dedup FOR EACH ROW EXECUTE FUNCTION sk_skip();
INSERT INTO sk_dedup (stream_id, event_id) VALUES ('d', -1), ('d', 9), ('d', -2), ('d', 10)
RETURNING version, event_id;
SELECT occ.append('sk_dedup', 'd', '7', '[{"event_id": 11}, {"event_id": -3}, {"event_id": 12}]');
-- occ.append returns the stream's version, also when its last event, or
-- every one, was skipped
SELECT occ.append('sk_dedup', 'd', '9', '[{"event_id": 13}, {"event_id": -4}]') AS last_skipped;
SELECT occ.append('sk_dedup', 'd', '10', '[{"event_id": -5}]') AS all_skipped;
SELECT * FROM sk_streams('sk_dedup');
DROP TRIGGER zz_skip ON sk_dedup;
DROP FUNCTION sk_skip();

-- ==== a writable WITH query appending to one stream in two parts ====
-- the main part reads the first: the first part's events come first
WITH first AS (
  INSERT INTO sk_events (stream_id, type) VALUES ('with-1', 'First') RETURNING version
)
INSERT INTO sk_events (stream_id, type)
SELECT 'with-1', 'After ' || version FROM first
RETURNING version, type;
WITH first AS (
  INSERT INTO sk_events (stream_id, version, type) VALUES ('with-1', 3, 'Given')
  RETURNING version
)
INSERT INTO sk_events (stream_id, version, type)
SELECT 'with-1', version + 1, 'Given after ' || version FROM first
RETURNING version, type;
-- parts that do not read each other run in an order PostgreSQL does not
-- promise: counted, the events are numbered on whichever comes first
WITH first AS (
  INSERT INTO sk_events (stream_id, type) VALUES ('with-1', 'Unordered')
)
INSERT INTO sk_events (stream_id, type) VALUES ('with-1', 'Unordered');
-- the same version given in both parts: whichever runs second fails
\set VERBOSITY sqlstate
WITH first AS (
  INSERT INTO sk_events (stream_id, version, type) VALUES ('with-1', 7, 'Given')
)
INSERT INTO sk_events (stream_id, version, type) VALUES ('with-1', 7, 'Twice');
\set VERBOSITY default
SELECT * FROM sk_streams('sk_events') WHERE stream = 'with-1';
SELECT type, count(*) FROM sk_events WHERE stream_id = 'with-1' GROUP BY type ORDER BY type;

-- ==== rows that call a function appending to the same stream ====
-- The events of a stream that one statement appends one after the other
-- count on from the one before, without reading the stream again, unless
-- something in between may have appended: here each row's function runs a
-- statement of its own between two of the statement's events (one of them
-- rolled back by its exception block).  Every event still follows the
-- stream's last.
CREATE FUNCTION sk_nested(stream text, n int, fail bool DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO sk_events (stream_id, type) VALUES (stream, 'Nested');
    END LOOP;
    IF fail THEN
        RAISE EXCEPTION 'nested events rolled back';
    END IF;
    RETURN 'After nested';
EXCEPTION WHEN raise_exception THEN
    RETURN 'After rolled back';
END
$$;
INSERT INTO sk_events (stream_id, type)
VALUES ('nest-1', 'Outer'), ('nest-1', sk_nested('nest-1', 2)), ('nest-1', 'Outer'),
       ('nest-1', sk_nested('nest-1', 1, true)), ('nest-1', 'Outer')
RETURNING version, type;
SELECT version, type FROM sk_events WHERE stream_id = 'nest-1' ORDER BY version;
SELECT * FROM sk_streams('sk_events') WHERE stream = 'nest-1';
DROP FUNCTION sk_nested(text, int, bool);

-- ==== a trigger on another table appending events ====
-- Its statement is not the client's: occ.if_match does not apply to it,
-- and on a strict table it must give the versions (or call occ.append).
CREATE TABLE sk_commands (id int, stream_id text, version int, via_append bool DEFAULT false);
CREATE FUNCTION sk_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.via_append THEN
        PERFORM occ.append('sk_events', NEW.stream_id, NEW.version::text,
                           jsonb_build_array(jsonb_build_object('type', 'Command ' || NEW.id)));
    ELSE
        INSERT INTO sk_events (stream_id, version, type)
        VALUES (NEW.stream_id, NEW.version, 'Command ' || NEW.id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sk_record AFTER INSERT ON sk_commands
  FOR EACH ROW EXECUTE FUNCTION sk_record();
-- lax: numbered
INSERT INTO sk_commands (id, stream_id) VALUES (1, 'cmd-1'), (2, 'cmd-1');
SELECT occ.set_mode('sk_events', 'strict');
SELECT * FROM sk_try($$INSERT INTO sk_commands (id, stream_id) VALUES (3, 'cmd-1')$$);
BEGIN;
SET LOCAL occ.if_match = '2';
INSERT INTO sk_commands (id, stream_id) VALUES (3, 'cmd-1'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- the versions given: checked
INSERT INTO sk_commands (id, stream_id, version) VALUES (3, 'cmd-1', 3);
INSERT INTO sk_commands (id, stream_id, version) VALUES (4, 'cmd-1', 3); \echo :LAST_ERROR_SQLSTATE
-- occ.append from a trigger: its expected version is checked
INSERT INTO sk_commands (id, stream_id, version, via_append) VALUES (4, 'cmd-1', 3, true);
INSERT INTO sk_commands (id, stream_id, version, via_append) VALUES (5, 'cmd-1', 3, true); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_commands (id, stream_id, version, via_append) VALUES (6, 'cmd-1', NULL, true); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('sk_events', NULL);
SELECT stream_id, version, type FROM sk_events WHERE stream_id = 'cmd-1' ORDER BY 2;
SELECT count(*) AS commands FROM sk_commands;
DROP TABLE sk_commands;
DROP FUNCTION sk_record();

-- ===================================================================
-- stream columns of other types
-- ===================================================================
CREATE TABLE sk_uuid (stream_id uuid, version int, type text,
                      PRIMARY KEY (stream_id, version));
SELECT occ.enable('sk_uuid', kind => 'stream', stream_column => 'stream_id');
\set u1 '''0b5e7b52-4c38-4a4e-9d5b-3c1c1e1a1a01'''
\set u2 '''0B5E7B52-4C38-4A4E-9D5B-3C1C1E1A1A02'''
SELECT occ.append('sk_uuid', :u1, '0', '[{"type": "A"}, {"type": "B"}]');
-- the stream argument is read by the column's input function
SELECT occ.append('sk_uuid', upper(:u1), '2', '[{"type": "C"}]');
SELECT occ.append('sk_uuid', 'not a uuid', '0', '[{"type": "A"}]'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sk_uuid (stream_id, type) VALUES (:u2, 'A'), (:u1, 'D'), (:u2, 'B');
BEGIN;
SET LOCAL occ.if_match = '1';
INSERT INTO sk_uuid (stream_id, type) VALUES (:u2, 'Late'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.stream_version('sk_uuid', :u1) AS u1, occ.stream_version('sk_uuid', :u2) AS u2;
SELECT * FROM sk_streams('sk_uuid');

CREATE TABLE sk_bigint (account bigint, seq smallint, amount int,
                        PRIMARY KEY (account, seq));
SELECT occ.enable('sk_bigint', kind => 'stream', stream_column => 'account',
                  version_column => 'seq');
SELECT occ.append('sk_bigint', '9007199254740993', '0', '[{"amount": 10}, {"amount": -3}]');
INSERT INTO sk_bigint (account, amount) VALUES (9007199254740993, 5), (42, 1)
RETURNING account, seq;
SELECT occ.append('sk_bigint', '42', '1', '[{"amount": 2}]');
BEGIN;
SET LOCAL occ.if_match = '"1"';
INSERT INTO sk_bigint (account, amount) VALUES (42, 1); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.append('sk_bigint', '42.5', '0', '[{}]'); \echo :LAST_ERROR_SQLSTATE
-- an expected version the column cannot hold
\set VERBOSITY sqlstate
SELECT occ.append('sk_bigint', '42', '70000', '[{}]');
\set VERBOSITY default
SELECT * FROM sk_streams('sk_bigint', 'account', 'seq');

-- ===================================================================
-- a partitioned stream table (hash-partitioned by its stream column)
-- ===================================================================
-- through the parent: each stream numbered in its partition
INSERT INTO sk_parts (stream_id, type)
VALUES ('p-1', 'A'), ('p-2', 'A'), ('p-3', 'A'), ('p-4', 'A'), ('p-1', 'B');
SELECT tableoid::regclass AS partition, stream_id, version FROM sk_parts ORDER BY 2, 3;
-- into the partition directly: the same numbering and checks
SELECT tableoid::regclass AS partition FROM sk_parts WHERE stream_id = 'p-1' LIMIT 1 \gset
INSERT INTO :partition (stream_id, type) VALUES ('p-1', 'Direct') RETURNING version;
BEGIN;
SET LOCAL occ.if_match = '3';
INSERT INTO :partition (stream_id, type) VALUES ('p-1', 'Direct') RETURNING version;
SET LOCAL occ.if_match = '3';
INSERT INTO sk_parts (stream_id, type) VALUES ('p-1', 'Parent'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
INSERT INTO sk_parts (stream_id, version, type) VALUES ('p-1', 4, 'Given');
INSERT INTO :partition (stream_id, version, type) VALUES ('p-1', 4, 'Twice'); \echo :LAST_ERROR_SQLSTATE
-- the report names the partition, as PostgreSQL's own do
BEGIN;
SET LOCAL occ.if_match = '1';
SELECT * FROM sk_try($$INSERT INTO sk_parts (stream_id, type) VALUES ('p-1', 'X')$$)
 WHERE field IN ('sqlstate', 'detail', 'table_name', 'column_name');
ROLLBACK;
SELECT occ.append('sk_parts', 'p-2', '1', '[{"type": "Appended"}]');
SELECT occ.stream_version('sk_parts', 'p-1') AS p1, occ.stream_version('sk_parts', 'p-2') AS p2;
-- the lock of a stream is named by the partitioned table, whichever way
-- the event is appended
BEGIN;
INSERT INTO :partition (stream_id, type) VALUES ('p-1', 'Direct');
SELECT classid = 'sk_parts'::regclass::oid AS partitioned_table_oid, objsubid, count(*) AS locks
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() GROUP BY 1, 2;
ROLLBACK;
-- events are immutable in every partition
UPDATE sk_parts SET type = 'Changed' WHERE stream_id = 'p-1'; \echo :LAST_ERROR_SQLSTATE
DELETE FROM :partition; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_streams('sk_parts');
-- a partition attached later is covered; events moved into it with their
-- versions, in order, are checked as given
CREATE TABLE sk_parts_later (stream_id text NOT NULL, version int NOT NULL, type text);
ALTER TABLE sk_parts DETACH PARTITION sk_parts_1;
ALTER TABLE sk_parts ATTACH PARTITION sk_parts_later FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT triggers, fires, args FROM sk_shape('sk_parts_later');
INSERT INTO sk_parts SELECT * FROM sk_parts_1 ORDER BY stream_id, version;
INSERT INTO sk_parts (stream_id, type) VALUES ('p-4', 'Later'), ('p-1', 'Later');
SELECT tableoid::regclass AS partition, stream_id, version, type
  FROM sk_parts WHERE tableoid = 'sk_parts_later'::regclass ORDER BY 2, 3;
DROP TABLE sk_parts_1;

-- ===================================================================
-- privileges: who may see what a 40V01 says
-- ===================================================================
CREATE ROLE regress_occ_sk_writer;
GRANT USAGE ON SCHEMA public TO regress_occ_sk_writer;
GRANT INSERT ON sk_events TO regress_occ_sk_writer;
SET ROLE regress_occ_sk_writer;
-- INSERT without SELECT: appending works, through SQL and occ.append
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sk_events (stream_id, type) VALUES ('priv-1', 'Created');
COMMIT;
SELECT occ.append('sk_events', 'priv-1', '1', '[{"type": "Renamed"}]');
-- a conflict says neither the stream nor the versions
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'priv-1', '1', '[{"type": "Late"}]')$$)
 WHERE field IN ('sqlstate', 'detail', 'hint');
BEGIN;
SET LOCAL occ.if_match = '0';
SELECT * FROM sk_try($$INSERT INTO sk_events (stream_id, type) VALUES ('priv-1', 'Late')$$)
 WHERE field IN ('sqlstate', 'detail');
ROLLBACK;
-- occ.stream_version reads as the caller
SELECT occ.stream_version('sk_events', 'priv-1'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- may read the stream column: the stream is named, not the versions
GRANT SELECT (stream_id) ON sk_events TO regress_occ_sk_writer;
SET ROLE regress_occ_sk_writer;
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'priv-1', '1', '[{"type": "Late"}]')$$)
 WHERE field = 'detail';
RESET ROLE;
-- may read the version column too: all of it
GRANT SELECT (version) ON sk_events TO regress_occ_sk_writer;
SET ROLE regress_occ_sk_writer;
SELECT * FROM sk_try($$SELECT occ.append('sk_events', 'priv-1', '1', '[{"type": "Late"}]')$$)
 WHERE field = 'detail';
SELECT occ.stream_version('sk_events', 'priv-1');
RESET ROLE;
-- without INSERT, no append
REVOKE INSERT ON sk_events FROM regress_occ_sk_writer;
SET ROLE regress_occ_sk_writer;
SELECT occ.append('sk_events', 'priv-1', '2', '[{"type": "Late"}]'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sk_streams('sk_events') WHERE stream = 'priv-1';
REVOKE ALL ON sk_events FROM regress_occ_sk_writer;
REVOKE USAGE ON SCHEMA public FROM regress_occ_sk_writer;
DROP ROLE regress_occ_sk_writer;

-- ===================================================================
-- DDL: the protection follows renames, refuses what would break it
-- ===================================================================
CREATE TABLE sk_ddl (stream_id text, version int, type text,
                     CONSTRAINT sk_ddl_key PRIMARY KEY (stream_id, version));
SELECT occ.enable('sk_ddl', kind => 'stream', stream_column => 'stream_id');
INSERT INTO sk_ddl (stream_id, type) VALUES ('g', 'A');
-- renaming the stream or the version column: the trigger follows
ALTER TABLE sk_ddl RENAME COLUMN stream_id TO aggregate_id;
ALTER TABLE sk_ddl RENAME COLUMN version TO seq;
SELECT args FROM sk_shape('sk_ddl');
SELECT version_column, stream_column FROM occ.tables WHERE table_name = 'sk_ddl'::regclass;
INSERT INTO sk_ddl (aggregate_id, type) VALUES ('g', 'B') RETURNING seq;
SELECT occ.append('sk_ddl', 'g', '2', '[{"type": "C"}]');
BEGIN;
SET LOCAL occ.if_match = '2';
INSERT INTO sk_ddl (aggregate_id, type) VALUES ('g', 'Late'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- refused: dropping either column, a default on the version column, a
-- type that cannot hold versions, dropping the unique index's constraint
ALTER TABLE sk_ddl DROP COLUMN aggregate_id; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_ddl DROP COLUMN seq; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_ddl ALTER COLUMN seq SET DEFAULT 1; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_ddl ALTER COLUMN seq TYPE text; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_ddl DROP CONSTRAINT sk_ddl_key; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sk_shape('sk_ddl');
-- allowed: another integer type, renaming the table
ALTER TABLE sk_ddl ALTER COLUMN seq TYPE bigint;
ALTER TABLE sk_ddl RENAME TO sk_ddl2;
INSERT INTO sk_ddl2 (aggregate_id, type) VALUES ('g', 'D') RETURNING seq;
-- another unique index on (stream, version) lets the primary key go
CREATE UNIQUE INDEX sk_ddl2_other ON sk_ddl2 (aggregate_id, seq);
ALTER TABLE sk_ddl2 DROP CONSTRAINT sk_ddl_key;
INSERT INTO sk_ddl2 (aggregate_id, type) VALUES ('g', 'E') RETURNING seq;
-- DROP INDEX is not ALTER TABLE: allowed, and then no append passes
-- unchecked: every one fails until there is an index again
DROP INDEX sk_ddl2_other;
SELECT listed FROM sk_shape('sk_ddl2');
INSERT INTO sk_ddl2 (aggregate_id, type) VALUES ('g', 'F'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sk_ddl2', 'g', '5', '[{"type": "F"}]'); \echo :LAST_ERROR_SQLSTATE
ALTER TABLE sk_ddl2 ADD PRIMARY KEY (aggregate_id, seq);
INSERT INTO sk_ddl2 (aggregate_id, type) VALUES ('g', 'F') RETURNING seq;
SELECT * FROM sk_streams('sk_ddl2', 'aggregate_id', 'seq');
-- TRUNCATE is allowed: every stream starts again
TRUNCATE sk_ddl2;
SELECT occ.append('sk_ddl2', 'g', '0', '[{"type": "Again"}]');
SELECT * FROM sk_streams('sk_ddl2', 'aggregate_id', 'seq');

-- ===================================================================
-- one expected version per statement, whatever fires the trigger
-- ===================================================================
-- The rows of one statement are known as one statement across partitions
-- and parts of a WITH query, each of which fires occ's trigger through a
-- call of its own.
\set VERBOSITY sqlstate
-- two streams in two partitions, with occ.if_match set: refused
SELECT count(DISTINCT tableoid) AS partitions FROM sk_parts WHERE stream_id IN ('p-1', 'p-4');
BEGIN;
SET LOCAL occ.if_match = '*';
INSERT INTO sk_parts (stream_id, type) VALUES ('p-1', 'Both'), ('p-4', 'Both'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- whatever the order of the rows, and with a version given to the second
BEGIN;
SET LOCAL occ.if_match = '*';
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'One');
INSERT INTO sk_events (stream_id, version, type)
VALUES ('order-2', NULL, 'Two'), ('brand-new', 1, 'Two'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- two parts of a WITH query appending to two streams: refused
BEGIN;
SET LOCAL occ.if_match = '*';
WITH first AS (
  INSERT INTO sk_events (stream_id, type) VALUES ('with-1', 'Part')
)
INSERT INTO sk_events (stream_id, type) VALUES ('order-2', 'Part'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
\set VERBOSITY default
-- two parts of a WITH query appending to one stream: its version is
-- checked once, before the statement's first event of it
SELECT occ.stream_version('sk_events', 'with-1') AS with_1 \gset
BEGIN;
SET LOCAL occ.if_match = :'with_1';
WITH first AS (
  INSERT INTO sk_events (stream_id, type) VALUES ('with-1', 'Part') RETURNING version
)
INSERT INTO sk_events (stream_id, type) SELECT 'with-1', 'Part after ' || version FROM first
RETURNING version - :with_1 AS appended, type;
ROLLBACK;
-- the same statement appending twice to a stream through occ.append calls
-- is two statements: each checked against the version it expects
SELECT occ.append('sk_events', 'twice', '0', '[{"type": "A"}]') AS first_append,
       occ.append('sk_events', 'twice', '1', '[{"type": "B"}]') AS second_append;
SELECT occ.append('sk_events', 'twice', '0', '[{"type": "C"}]'),
       occ.append('sk_events', 'twice', '0', '[{"type": "D"}]'); \echo :LAST_ERROR_SQLSTATE
-- occ.append names its own argument when it cannot be read
SELECT occ.append('sk_events', 'twice', 'W/', '[{"type": "Bad"}]');
-- a partition of a stream table may not be partitioned by anything else
CREATE TABLE sk_sub (stream_id text, version int, type text, PRIMARY KEY (stream_id, version))
  PARTITION BY LIST (stream_id);
CREATE TABLE sk_sub_a PARTITION OF sk_sub FOR VALUES IN ('a') PARTITION BY RANGE (version);
CREATE TABLE sk_sub_a1 PARTITION OF sk_sub_a FOR VALUES FROM (1) TO (100);
SELECT occ.enable('sk_sub', kind => 'stream', stream_column => 'stream_id'); \echo :LAST_ERROR_SQLSTATE
DROP TABLE sk_sub_a;
SELECT occ.enable('sk_sub', kind => 'stream', stream_column => 'stream_id');
-- attached later: the first append to it says so
CREATE TABLE sk_sub_b (stream_id text, version int, type text, PRIMARY KEY (stream_id, version))
  PARTITION BY RANGE (version);
CREATE TABLE sk_sub_b1 PARTITION OF sk_sub_b FOR VALUES FROM (1) TO (100);
ALTER TABLE sk_sub ATTACH PARTITION sk_sub_b FOR VALUES IN ('b');
INSERT INTO sk_sub (stream_id, version, type) VALUES ('b', 1, 'X'); \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS events FROM sk_sub;
DROP TABLE sk_sub;

-- ===================================================================
-- every stream of every table used is numbered 1..n
-- ===================================================================
-- the check itself finds a gap, a duplicate, a stream not starting at 1
CREATE TEMP TABLE sk_not_streams (stream_id text, version int);
INSERT INTO sk_not_streams VALUES ('fine', 1), ('fine', 2), ('gap', 1), ('gap', 3),
  ('twice', 1), ('twice', 1), ('late', 2);
SELECT * FROM sk_gapless('sk_not_streams');
DROP TABLE sk_not_streams;
SELECT t.tbl, g.*
  FROM (VALUES ('sk_events', 'stream_id', 'version'),
               ('sk_refused', 'stream_id', 'version'),
               ('sk_parts', 'stream_id', 'version'),
               ('sk_dedup', 'stream_id', 'version'),
               ('sk_uuid', 'stream_id', 'version'),
               ('sk_bigint', 'account', 'seq'),
               ('sk_ddl2', 'aggregate_id', 'seq')) AS t (tbl, s, v),
       LATERAL sk_gapless(t.tbl::regclass, t.s::name, t.v::name) g
 ORDER BY t.tbl;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE sk_events, sk_refused, sk_parts, sk_dedup, sk_uuid, sk_bigint, sk_ddl2;
DROP FUNCTION sk_shape(regclass);
DROP FUNCTION sk_streams(regclass, name, name);
DROP FUNCTION sk_try(text);
DROP FUNCTION sk_gapless(regclass, name, name);
SELECT count(*) AS left_over FROM occ.tables WHERE table_name::text LIKE 'sk\_%';
