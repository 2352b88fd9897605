--
-- bad_input: every SQL-callable function and setting of occ, fed bad input.
--
-- This is the hand-picked core: every case that once found a defect and
-- every SQLSTATE occ documents.  The generated batches (every combination of
-- occ.enable's candidate arguments, seeded random occ.if_match values) run
-- in t/005_bad_input_generated.pl on this file's harness and fixtures,
-- since their counts depend on the server's random generator and encoding.
--
-- Each call runs through fuzz.probe(), which executes it in a
-- subtransaction and records (batch, case, SQLSTATE).  A call that succeeds
-- is rolled back too (by a sentinel error) and recorded as "ok", so every
-- batch must leave the database exactly as it found it: after each batch,
-- fuzz.unchanged() compares a fingerprint of the occ triggers, the columns,
-- occ.tables and the data of every fixture table with the one taken after
-- setup.  What is printed is SQLSTATEs and counts, never OIDs or clock
-- values.  Generated cases are checked against the set of SQLSTATEs their
-- arguments allow (each bad argument contributes the code the README gives
-- for it); any case outside that set is printed, so those queries must
-- return no rows.  The final SELECT proves the session survived it all.
--
-- The multibyte cases are written in UTF-8 and assume a UTF8 database, as
-- tools/test.sh creates; the name checks themselves compare with what
-- PostgreSQL makes of each name, so they hold in any server encoding.
--
\set VERBOSITY sqlstate

-- ===================================================================
-- harness
-- ===================================================================
CREATE SCHEMA fuzz;

CREATE TABLE fuzz.outcome (
    ord      bigserial PRIMARY KEY,
    batch    text NOT NULL,
    label    text NOT NULL,
    sqlstate text NOT NULL,          -- 'ok' if the call succeeded
    allowed  text[],                 -- SQLSTATEs the case may produce, if generated
    message  text                    -- kept to explain a mismatch; never printed otherwise
);

-- Run one call (one or more statements) in a subtransaction and record
-- its outcome.  A success is undone by raising the sentinel FZOK0.
CREATE FUNCTION fuzz.probe(p_batch text, p_label text, p_sql text,
                           p_allowed text[] DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st  text;
    msg text;
BEGIN
    BEGIN
        EXECUTE p_sql;
        RAISE SQLSTATE 'FZOK0';
    EXCEPTION WHEN OTHERS THEN
        st := CASE WHEN SQLSTATE = 'FZOK0' THEN 'ok' ELSE SQLSTATE END;
        msg := SQLERRM;
    END;
    INSERT INTO fuzz.outcome (batch, label, sqlstate, allowed, message)
    VALUES (p_batch, p_label, st, p_allowed, CASE WHEN st <> 'ok' THEN msg END);
    RETURN st;
END
$$;

-- Raise FZBAD (never an occ code) unless cond holds; used inside probes
-- that must succeed, to check what the success did.
CREATE FUNCTION fuzz.check(cond boolean, what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cond IS NOT TRUE THEN
        RAISE SQLSTATE 'FZBAD' USING MESSAGE = 'check failed: ' || what;
    END IF;
END
$$;

-- A fingerprint of everything a call to occ could change: every occ
-- trigger in the database; the number of triggers, columns, defaults,
-- constraints and relations in the catalogs (leaving out this harness's
-- own schema and the TOAST tables its tables bring); the columns of every
-- fixture relation; occ.tables; and the rows of every fixture table.
CREATE FUNCTION fuzz.fingerprint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    fp  text;
    rel regclass;
    d   text;
BEGIN
    SELECT concat_ws(' / ',
        (SELECT string_agg(format('%s|%s|%s|%s|%s', t.tgrelid::regclass, t.tgname,
                                  t.tgtype, t.tgenabled, encode(t.tgargs, 'hex')),
                           ';' ORDER BY t.tgrelid::regclass::text, t.tgname)
         FROM pg_trigger t
         WHERE t.tgfoid = 'occ.check_version()'::regprocedure),
        (SELECT count(*) FROM pg_trigger),
        (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace NOT IN ('fuzz'::regnamespace, 'pg_toast'::regnamespace)),
        (SELECT count(*) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
         WHERE c.relnamespace <> 'fuzz'::regnamespace),
        (SELECT count(*) FROM pg_constraint WHERE connamespace <> 'fuzz'::regnamespace),
        (SELECT count(*) FROM pg_class
         WHERE relnamespace NOT IN ('fuzz'::regnamespace, 'pg_toast'::regnamespace)),
        (SELECT string_agg(format('%s.%s:%s:%s:%s:%s', c.relname, a.attname,
                                  format_type(a.atttypid, a.atttypmod),
                                  a.attnotnull, a.atthasdef, a.attisdropped),
                           ';' ORDER BY c.relname, a.attnum)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'bi'::regnamespace),
        (SELECT string_agg(format('%s|%s|%s|%s|%s|%s', table_name, schema_name,
                                  version_column, kind, mode, effective_mode),
                           ';' ORDER BY table_name::text)
         FROM occ.tables))
    INTO fp;
    FOR rel IN
        SELECT c.oid FROM pg_class c
        WHERE c.relnamespace = 'bi'::regnamespace AND c.relkind IN ('r', 'm')
        ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT string_agg(x::text, '','' ORDER BY x::text) FROM %s x', rel)
            INTO d;
        fp := fp || ' / ' || rel::text || '=' || coalesce(d, '');
    END LOOP;
    RETURN fp;
END
$$;

CREATE TABLE fuzz.baseline (fp text);
CREATE FUNCTION fuzz.unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT fuzz.fingerprint() = (SELECT fp FROM fuzz.baseline)
$$;

-- Named values a batch builds its SQL from (OIDs of dropped objects).
CREATE TABLE fuzz.const (name text PRIMARY KEY, val text NOT NULL);

-- Generated cases whose outcome is outside the allowed set.
CREATE VIEW fuzz.mismatch AS
SELECT batch, label, sqlstate, allowed, message
FROM fuzz.outcome
WHERE allowed IS NOT NULL AND NOT (sqlstate = ANY (allowed));

-- ===================================================================
-- fixtures: every kind of relation occ.enable can be handed
-- ===================================================================
CREATE SCHEMA bi;
-- a table that is not enabled, with columns of every sort
CREATE TABLE bi.plain (
    id      int PRIMARY KEY,
    payload text,
    ts      timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00',
    nul     smallint,
    gen     bigint GENERATED ALWAYS AS (id * 2) STORED,
    ident   bigint GENERATED ALWAYS AS IDENTITY
);
INSERT INTO bi.plain (id, payload, nul) VALUES (1, 'one', NULL), (2, 'two', 7);
-- tables to enable: lax (integer), strict, none, a timestamp version, a
-- partitioned table, and versions at the maximum (and minimum) of their types
CREATE TABLE bi.lax (id int PRIMARY KEY, payload text);
INSERT INTO bi.lax VALUES (1, 'a'), (2, 'b');
CREATE TABLE bi.strict (id int PRIMARY KEY, payload text);
INSERT INTO bi.strict VALUES (1, 'a');
CREATE TABLE bi.none (id int PRIMARY KEY, payload text);
INSERT INTO bi.none VALUES (1, 'a');
CREATE TABLE bi.stamped (id int PRIMARY KEY, v timestamptz NOT NULL);
INSERT INTO bi.stamped VALUES (1, '2026-01-01 00:00:00+00');
CREATE TABLE bi.parted (id int, payload text) PARTITION BY RANGE (id);
CREATE TABLE bi.parted_1 PARTITION OF bi.parted FOR VALUES FROM (0) TO (100);
INSERT INTO bi.parted VALUES (1, 'a');
CREATE TABLE bi.max2 (id int PRIMARY KEY, v smallint NOT NULL);
INSERT INTO bi.max2 VALUES (1, 32767), (2, 32766), (3, -32768);
CREATE TABLE bi.max4 (id int PRIMARY KEY, v integer NOT NULL);
INSERT INTO bi.max4 VALUES (1, 2147483647), (2, 2147483646), (3, -2147483648);
CREATE TABLE bi.max8 (id int PRIMARY KEY, v bigint NOT NULL);
INSERT INTO bi.max8 VALUES (1, 9223372036854775807), (2, 9223372036854775806),
                           (3, -9223372036854775808);
CREATE TABLE bi.maxts (id int PRIMARY KEY, v timestamptz NOT NULL);
INSERT INTO bi.maxts VALUES (1, 'infinity'), (2, '294276-12-31 23:59:59.999999+00'),
                            (3, '-infinity'), (4, '294276-12-31 23:59:59.999998+00');
CREATE TABLE bi.maxts0 (id int PRIMARY KEY, v timestamp(0) NOT NULL);
INSERT INTO bi.maxts0 VALUES (1, 'infinity'), (2, '294276-12-31 23:59:59'),
                             (3, '294276-12-31 23:59:58');
DO $$
BEGIN
    PERFORM occ.enable('bi.lax');
    PERFORM occ.enable('bi.strict', mode => 'strict');
    PERFORM occ.enable('bi.none', mode => 'none');
    PERFORM occ.enable('bi.stamped', 'v', 'timestamp');
    PERFORM occ.enable('bi.parted');
    PERFORM occ.enable('bi.max2', 'v');
    PERFORM occ.enable('bi.max4', 'v');
    PERFORM occ.enable('bi.max8', 'v');
    PERFORM occ.enable('bi.maxts', 'v', 'timestamp');
    PERFORM occ.enable('bi.maxts0', 'v', 'timestamp');
END
$$;
-- rows 1 of bi.lax and bi.strict at version 2
UPDATE bi.lax SET payload = 'a1', version = 1 WHERE id = 1;
UPDATE bi.strict SET payload = 'a1', version = 1 WHERE id = 1;
-- a table with a version column but no trigger, for triggers made by hand
CREATE TABLE bi.bare (id int PRIMARY KEY, payload text,
                      version bigint NOT NULL DEFAULT 1);
INSERT INTO bi.bare VALUES (1, 'a');
-- relations that are not tables
CREATE VIEW bi.a_view AS SELECT * FROM bi.plain;
CREATE MATERIALIZED VIEW bi.a_matview AS SELECT id FROM bi.plain;
CREATE SEQUENCE bi.a_sequence;
CREATE INDEX a_index ON bi.plain (payload);
CREATE INDEX a_partitioned_index ON bi.parted (payload);
CREATE TYPE bi.a_composite AS (x int, y text);
CREATE FOREIGN DATA WRAPPER fuzz_fdw;
CREATE SERVER fuzz_server FOREIGN DATA WRAPPER fuzz_fdw;
CREATE FOREIGN TABLE bi.a_foreign (id int) SERVER fuzz_server;
-- a table that is gone, and one that was enabled, dropped and re-created
CREATE TABLE bi.gone (id int);
INSERT INTO fuzz.const VALUES ('gone', 'bi.gone'::regclass::oid::text);
DROP TABLE bi.gone;
CREATE TABLE bi.reborn (id int PRIMARY KEY);
SELECT occ.enable('bi.reborn');
INSERT INTO fuzz.const VALUES ('reborn_old', 'bi.reborn'::regclass::oid::text);
DROP TABLE bi.reborn;
CREATE TABLE bi.reborn (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1);
-- a table that once had a column named version, since dropped
CREATE TABLE bi.dropped_col (id int PRIMARY KEY, version bigint);
ALTER TABLE bi.dropped_col DROP COLUMN version;
INSERT INTO fuzz.const
SELECT 'dropped_col_name', attname FROM pg_attribute
WHERE attrelid = 'bi.dropped_col'::regclass AND attisdropped;
-- OIDs of toast tables: one of a user table, one of a catalog
INSERT INTO fuzz.const
SELECT 'toast_user', reltoastrelid::text FROM pg_class WHERE oid = 'bi.plain'::regclass;
INSERT INTO fuzz.const
SELECT 'toast_catalog', reltoastrelid::text FROM pg_class WHERE oid = 'pg_proc'::regclass;
-- a role that owns nothing
CREATE ROLE regress_occ_bad_input;
GRANT USAGE ON SCHEMA bi TO regress_occ_bad_input;

-- What occ.tables holds now: every batch must leave it so.
SELECT table_name, version_column, kind, mode, effective_mode
FROM occ.tables WHERE schema_name = 'bi' ORDER BY table_name::text;

-- Candidate values for the relation argument, shared by enable, disable
-- and set_mode: an SQL expression of type regclass, and what it is.
CREATE TABLE fuzz.tbl (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL,
                       err text);    -- the SQLSTATE it causes on its own, if any
INSERT INTO fuzz.tbl VALUES
  ( 1, 'NULL',                  'NULL::regclass',                 '22004'),
  ( 2, 'plain table',           '''bi.plain''::regclass',          NULL),
  ( 3, 'enabled table',         '''bi.lax''::regclass',            NULL),
  ( 4, 'partition of enabled',  '''bi.parted_1''::regclass',       NULL),
  ( 5, 'dropped table (OID)',   (SELECT val FROM fuzz.const WHERE name = 'gone') || '::regclass', '42P01'),
  ( 6, 'OID 0',                 '0::regclass',                    '42P01'),
  ( 7, 'OID 4294967295',        '4294967295::oid::regclass',      '42P01'),
  ( 8, 'view',                  '''bi.a_view''::regclass',         '42809'),
  ( 9, 'materialized view',     '''bi.a_matview''::regclass',      '42809'),
  (10, 'sequence',              '''bi.a_sequence''::regclass',     '42809'),
  (11, 'index',                 '''bi.a_index''::regclass',        '42809'),
  (12, 'partitioned index',     '''bi.a_partitioned_index''::regclass', '42809'),
  (13, 'composite type',        '''bi.a_composite''::regclass',    '42809'),
  (14, 'foreign table',         '''bi.a_foreign''::regclass',      '42809'),
  (15, 'toast table',           (SELECT val FROM fuzz.const WHERE name = 'toast_user') || '::regclass', '42809'),
  (16, 'catalog toast table',   (SELECT val FROM fuzz.const WHERE name = 'toast_catalog') || '::regclass', '42809'),
  (17, 'system catalog',        '''pg_catalog.pg_class''::regclass', '42501'),
  (18, 'occ.tables (a view)',   '''occ.tables''::regclass',        '42809');

-- Every batch below must leave the database as it is now.
INSERT INTO fuzz.baseline SELECT fuzz.fingerprint();

-- The fingerprint notices each kind of change a bad call could leave
-- behind (every change here is undone at once).
CREATE FUNCTION fuzz.noticed(sql text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    seen boolean;
BEGIN
    BEGIN
        EXECUTE sql;
        seen := NOT fuzz.unchanged();
        RAISE SQLSTATE 'FZOK0';
    EXCEPTION WHEN SQLSTATE 'FZOK0' THEN
        NULL;
    END;
    RETURN seen;
END
$$;
SELECT label, fuzz.noticed(sql) AS noticed
FROM (VALUES
  ('a mode changed',        $$SELECT occ.set_mode('bi.lax', 'strict')$$),
  ('a table disabled',      $$SELECT occ.disable('bi.strict')$$),
  ('a table enabled',       $$SELECT occ.enable('bi.plain')$$),
  ('an occ trigger added',  $$CREATE TRIGGER t BEFORE UPDATE OR DELETE ON bi.bare
                              FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax')$$),
  ('another trigger added', $$CREATE TRIGGER t BEFORE UPDATE ON bi.bare
                              FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$),
  ('a column added',        $$ALTER TABLE bi.bare ADD COLUMN extra int$$),
  ('NOT NULL dropped',      $$ALTER TABLE bi.bare ALTER COLUMN version DROP NOT NULL$$),
  ('a default added',       $$ALTER TABLE bi.bare ALTER COLUMN payload SET DEFAULT 'x'$$),
  ('a relation added',      $$CREATE TABLE bi.extra (id int)$$),
  ('a row changed',         $$UPDATE bi.bare SET payload = 'z'$$),
  ('a version advanced',    $$UPDATE bi.lax SET payload = payload WHERE id = 2$$)
) AS c (label, sql);

-- ===================================================================
-- occ.enable: one bad argument at a time
-- ===================================================================
-- The README's codes: a NULL argument 22004; an unknown kind or mode, an
-- empty column name 22023; a column of another type 42804; identity,
-- generated and system columns 42611; a relation that is not a table
-- 42809; a system catalog, or a table of another owner 42501; another
-- column or kind on an enabled table, or settings of a partition 55000;
-- NULLs in the column PostgreSQL's own 23502.  Arguments that cannot even
-- be cast fail in PostgreSQL before occ runs (42883, 42602, 22021, ...).
SELECT count(fuzz.probe('enable single', label, sql)) AS cases
FROM (VALUES
  ('tbl NULL',                      $$SELECT occ.enable(NULL)$$),
  ('version_column NULL',           $$SELECT occ.enable('bi.plain', NULL)$$),
  ('kind NULL',                     $$SELECT occ.enable('bi.plain', 'version', NULL)$$),
  ('all NULL',                      $$SELECT occ.enable(NULL, NULL, NULL, NULL)$$),
  ('mode NULL (allowed)',           $$SELECT occ.enable('bi.plain', 'version', 'integer', NULL)$$),
  ('version_column empty',          $$SELECT occ.enable('bi.plain', '')$$),
  ('kind empty',                    $$SELECT occ.enable('bi.plain', 'version', '')$$),
  ('mode empty',                    $$SELECT occ.enable('bi.plain', mode => '')$$),
  ('kind INTEGER (case)',           $$SELECT occ.enable('bi.plain', kind => 'INTEGER')$$),
  ('kind bigint',                   $$SELECT occ.enable('bi.plain', kind => 'bigint')$$),
  ('kind with a space',             $$SELECT occ.enable('bi.plain', kind => 'integer ')$$),
  ('kind of 100000 characters',     $$SELECT occ.enable('bi.plain', kind => repeat('k', 100000))$$),
  ('mode default (internal only)',  $$SELECT occ.enable('bi.plain', mode => 'default')$$),
  ('mode Strict (case)',            $$SELECT occ.enable('bi.plain', mode => 'Strict')$$),
  ('mode of 100000 characters',     $$SELECT occ.enable('bi.plain', mode => repeat('m', 100000))$$),
  ('column text',                   $$SELECT occ.enable('bi.plain', 'payload')$$),
  ('column timestamptz, integer',   $$SELECT occ.enable('bi.plain', 'ts')$$),
  ('column int, timestamp',         $$SELECT occ.enable('bi.plain', 'id', 'timestamp')$$),
  ('column with NULLs',             $$SELECT occ.enable('bi.plain', 'nul')$$),
  ('generated column',              $$SELECT occ.enable('bi.plain', 'gen')$$),
  ('identity column',               $$SELECT occ.enable('bi.plain', 'ident')$$),
  ('system column ctid',            $$SELECT occ.enable('bi.plain', 'ctid')$$),
  ('system column xmin',            $$SELECT occ.enable('bi.plain', 'xmin')$$),
  ('system column tableoid',        $$SELECT occ.enable('bi.plain', 'tableoid')$$),
  ('version_column chr(0)',         $$SELECT occ.enable('bi.plain', chr(0))$$),
  ('version_column invalid UTF-8',  $$SELECT occ.enable('bi.plain', convert_from('\xc328', 'UTF8'))$$),
  ('version_column E''\000''',      $$SELECT occ.enable('bi.plain', E'\000')$$),
  ('name of a dropped column',      format('SELECT occ.enable(%L, %L)', 'bi.dropped_col',
                                           (SELECT val FROM fuzz.const WHERE name = 'dropped_col_name'))),
  ('user trigger named occ_version', $$CREATE TRIGGER occ_version BEFORE UPDATE ON bi.plain
                                      FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
                                      SELECT occ.enable('bi.plain')$$),
  ('enabled: other column',         $$SELECT occ.enable('bi.lax', 'payload')$$),
  ('enabled: other kind',           $$SELECT occ.enable('bi.lax', kind => 'timestamp')$$),
  ('enabled: same settings',        $$SELECT occ.enable('bi.lax')$$),
  ('partition: new mode',           $$SELECT occ.enable('bi.parted_1', mode => 'strict')$$),
  ('partition: same settings',      $$SELECT occ.enable('bi.parted_1')$$),
  ('dropped and re-created: old OID',
                                    format('SELECT occ.enable(%s::regclass)',
                                           (SELECT val FROM fuzz.const WHERE name = 'reborn_old'))),
  ('dropped and re-created: name',  $$SELECT occ.enable('bi.reborn')$$),
  ('not the owner',                 $$SET LOCAL ROLE regress_occ_bad_input;
                                      SELECT occ.enable('bi.plain')$$),
  ('not the owner, catalog',        $$SET LOCAL ROLE regress_occ_bad_input;
                                      SELECT occ.enable('pg_class')$$),
  -- wrong types: casts that fail before occ is called
  ('tbl ''''::regclass',            $$SELECT occ.enable('')$$),
  ('tbl unknown name',              $$SELECT occ.enable('bi.no_such_table')$$),
  ('tbl a.b.c.d',                   $$SELECT occ.enable('a.b.c.d')$$),
  ('tbl unterminated quote',        $$SELECT occ.enable('"bi.plain')$$),
  ('tbl OID past 2^32',             $$SELECT occ.enable('4294967296')$$),
  ('tbl text (implicit cast, ok)',  $$SELECT occ.enable('bi.plain'::text)$$),
  ('tbl integer -5',                $$SELECT occ.enable(-5)$$),
  ('tbl integer 1259 (pg_class)',   $$SELECT occ.enable(1259)$$),
  ('version_column integer',        $$SELECT occ.enable('bi.plain', 42)$$),
  ('kind integer',                  $$SELECT occ.enable('bi.plain', 'version', 1)$$),
  ('mode boolean',                  $$SELECT occ.enable('bi.plain', 'version', 'integer', true)$$),
  ('eight arguments',               $$SELECT occ.enable('bi.plain', 'version', 'integer', 'lax', NULL, NULL, NULL, 'x')$$),
  ('audit none',                    $$SELECT occ.enable('bi.plain', audit => 'none')$$),
  ('audit Strict',                  $$SELECT occ.enable('bi.plain', audit => 'Strict')$$),
  ('audit as strict as the mode',   $$SELECT occ.enable('bi.plain', mode => 'strict', audit => 'strict')$$),
  ('unknown named argument',        $$SELECT occ.enable('bi.plain', colum => 'v')$$)
) AS c (label, sql);

SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'enable single' ORDER BY label;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- candidate arguments of occ.enable, set_mode (t/005 combines them all)
-- ===================================================================
-- Candidate version columns, and the SQLSTATE each causes on bi.plain for
-- an integer and for a timestamp kind (NULL: none).
CREATE TABLE fuzz.col (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL,
                       err_int text[] NOT NULL, err_ts text[] NOT NULL,
                       core boolean NOT NULL DEFAULT false);
INSERT INTO fuzz.col VALUES
  ( 1, 'NULL',           'NULL',                      '{22004}', '{22004}'),
  ( 2, 'empty',          '''''',                      '{22023}', '{22023}'),
  ( 3, 'version (new)',  '''version''',               '{}',      '{}'),
  ( 4, 'id int',         '''id''',                    '{}',      '{42804}'),
  ( 5, 'ts timestamptz', '''ts''',                    '{42804}', '{}'),
  ( 6, 'payload text',   '''payload''',               '{42804}', '{42804}'),
  ( 7, 'ctid',           '''ctid''',                  '{42611}', '{42611,42804}'),
  ( 8, 'generated',      '''gen''',                   '{42611}', '{42611,42804}'),
  ( 9, 'identity',       '''ident''',                 '{42611}', '{42611,42804}'),
  (10, 'holds NULLs',    '''nul''',                   '{23502}', '{42804}'),
  (11, '100 x (cut)',    'repeat(''x'', 100)',        '{}',      '{}'),
  (12, '40 é (cut)',     'repeat(''é'', 40)',         '{}',      '{}'),
  (13, 'newline',        'E''new\nline''',            '{}',      '{}');
-- a few of each pool are combined with every relation; all of them with
-- the relations whose columns and settings occ looks at
UPDATE fuzz.col SET core = true WHERE label IN ('NULL', 'empty', 'version (new)', 'payload text');
CREATE TABLE fuzz.kind (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL,
                        err text, core boolean NOT NULL DEFAULT false);
INSERT INTO fuzz.kind VALUES
  (1, 'NULL',      'NULL',                       '22004'),
  (2, 'empty',     '''''',                       '22023'),
  (3, 'integer',   '''integer''',                NULL),
  (4, 'timestamp', '''timestamp''',              NULL),
  (5, 'INTEGER',   '''INTEGER''',                '22023'),
  (6, '100000 k',  'repeat(''k'', 100000)',      '22023');
UPDATE fuzz.kind SET core = true WHERE label IN ('NULL', 'integer', 'INTEGER');
CREATE TABLE fuzz.mode (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL,
                        err text, core boolean NOT NULL DEFAULT false);
INSERT INTO fuzz.mode VALUES
  (1, 'NULL',     'NULL',                        NULL),
  (2, 'strict',   '''strict''',                  NULL),
  (3, 'lax',      '''lax''',                     NULL),
  (4, 'none',     '''none''',                    NULL),
  (5, 'empty',    '''''',                        '22023'),
  (6, 'default',  '''default''',                 '22023'),
  (7, 'STRICT',   '''STRICT''',                  '22023'),
  (8, ' lax',     ''' lax''',                    '22023'),
  (9, '100000 m', 'repeat(''m'', 100000)',       '22023');
UPDATE fuzz.mode SET core = true WHERE label IN ('NULL', 'lax', 'default');

-- ===================================================================
-- occ.disable: every relation with every drop_column
-- ===================================================================
SELECT count(fuzz.probe('disable',
                        format('%s / %s', t.label, d.label),
                        format('SELECT occ.disable(%s, %s)', t.expr, d.expr),
                        CASE WHEN t.err IS NOT NULL OR d.err IS NOT NULL
                             THEN ARRAY(SELECT x FROM unnest(ARRAY[t.err, d.err]) x WHERE x IS NOT NULL)
                             WHEN t.label = 'enabled table' THEN '{ok}'
                             ELSE '{55000}' END)) AS combinations
FROM fuzz.tbl t,
     (VALUES ('NULL', 'NULL', '22004'), ('false', 'false', NULL), ('true', 'true', NULL))
       AS d (label, expr, err);
-- one row per relation, one column per drop_column
SELECT t.label AS tbl,
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / NULL')  AS "NULL",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / false') AS "false",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / true')  AS "true"
FROM fuzz.tbl t JOIN fuzz.outcome o ON o.batch = 'disable' AND split_part(o.label, ' / ', 1) = t.label
GROUP BY t.ord, t.label ORDER BY t.ord;
SELECT count(fuzz.probe('disable single', label, sql)) AS cases
FROM (VALUES
  ('drop_column ''maybe''',        $$SELECT occ.disable('bi.lax', 'maybe')$$),
  ('drop_column integer',          $$SELECT occ.disable('bi.lax', 2)$$),
  ('drop_column ''yes'' (ok)',     $$SELECT occ.disable('bi.lax', 'yes')$$),
  ('both NULL',                    $$SELECT occ.disable(NULL, NULL)$$),
  ('old OID of re-created table',  format('SELECT occ.disable(%s::regclass)',
                                          (SELECT val FROM fuzz.const WHERE name = 'reborn_old'))),
  ('re-created table by name',     $$SELECT occ.disable('bi.reborn')$$),
  ('not the owner',                $$SET LOCAL ROLE regress_occ_bad_input;
                                     SELECT occ.disable('bi.lax')$$),
  ('column in use by a view',      $$CREATE VIEW bi.uses_version AS SELECT version FROM bi.lax;
                                     SELECT occ.disable('bi.lax', drop_column => true)$$),
  ('three arguments',              $$SELECT occ.disable('bi.lax', true, true)$$)
) AS c (label, sql);
SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'disable single' ORDER BY label;
SELECT label, sqlstate, allowed FROM fuzz.mismatch WHERE batch = 'disable' ORDER BY label;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- occ.set_mode: every relation with every mode
-- ===================================================================
SELECT count(fuzz.probe('set_mode',
                        format('%s / %s', t.label, m.label),
                        format('SELECT occ.set_mode(%s, %s)', t.expr, m.expr),
                        CASE WHEN t.err IS NOT NULL OR m.err IS NOT NULL
                             THEN ARRAY(SELECT x FROM unnest(ARRAY[t.err, m.err]) x WHERE x IS NOT NULL)
                             WHEN t.label = 'enabled table' THEN '{ok}'
                             ELSE '{55000}' END)) AS combinations
FROM fuzz.tbl t, fuzz.mode m;
SELECT t.label AS tbl,
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / NULL')     AS "NULL",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / strict')   AS strict,
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / lax')      AS lax,
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / none')     AS "none",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / empty')    AS empty,
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / default')  AS "default",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / STRICT')   AS "STRICT",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' /  lax')     AS " lax",
       max(o.sqlstate) FILTER (WHERE o.label = t.label || ' / 100000 m') AS "100000 m"
FROM fuzz.tbl t JOIN fuzz.outcome o ON o.batch = 'set_mode' AND split_part(o.label, ' / ', 1) = t.label
GROUP BY t.ord, t.label ORDER BY t.ord;
SELECT count(fuzz.probe('set_mode single', label, sql)) AS cases
FROM (VALUES
  ('mode integer',                 $$SELECT occ.set_mode('bi.lax', 1)$$),
  ('one argument',                 $$SELECT occ.set_mode('bi.lax')$$),
  ('old OID of re-created table',  format('SELECT occ.set_mode(%s::regclass, ''lax'')',
                                          (SELECT val FROM fuzz.const WHERE name = 'reborn_old'))),
  ('re-created table by name',     $$SELECT occ.set_mode('bi.reborn', 'lax')$$),
  ('not the owner',                $$SET LOCAL ROLE regress_occ_bad_input;
                                     SELECT occ.set_mode('bi.lax', 'none')$$),
  ('trigger disabled by hand',     $$ALTER TABLE bi.lax DISABLE TRIGGER occ_version;
                                     SELECT occ.set_mode('bi.lax', 'strict')$$)
) AS c (label, sql);
SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'set_mode single' ORDER BY label;
SELECT label, sqlstate, allowed FROM fuzz.mismatch WHERE batch = 'set_mode' ORDER BY label;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- occ.tables (occ.protected_tables()) over occ triggers that no
-- occ.enable wrote: made while the DDL guard is off, as a restore of a
-- hand-edited dump could make them.  Only well-formed, readable ones are
-- listed; reading the others raises nothing.
-- ===================================================================
CREATE TABLE fuzz.args_case (ord int PRIMARY KEY, label text NOT NULL, args text NOT NULL);
INSERT INTO fuzz.args_case VALUES
  ( 1, 'no arguments',          ''),
  ( 2, 'old positional form',   $$'version', 'integer', 'lax'$$),
  ( 3, 'format only',           $$'format=1'$$),
  ( 4, 'format 2',              $$'format=2', 'column=version', 'kind=integer', 'mode=lax'$$),
  ( 5, 'format not first',      $$'column=version', 'format=1', 'kind=integer', 'mode=lax'$$),
  ( 6, 'no mode',               $$'format=1', 'column=version', 'kind=integer'$$),
  ( 7, 'no kind',               $$'format=1', 'column=version', 'mode=lax'$$),
  ( 8, 'no column',             $$'format=1', 'kind=integer', 'mode=lax'$$),
  ( 9, 'empty column',          $$'format=1', 'column=', 'kind=integer', 'mode=lax'$$),
  (10, 'kind twice',            $$'format=1', 'column=version', 'kind=integer', 'kind=integer', 'mode=lax'$$),
  (11, 'kind INTEGER',          $$'format=1', 'column=version', 'kind=INTEGER', 'mode=lax'$$),
  (12, 'mode Lax',              $$'format=1', 'column=version', 'kind=integer', 'mode=Lax'$$),
  (13, 'unknown key',           $$'format=1', 'column=version', 'kind=integer', 'mode=lax', 'colour=red'$$),
  (14, 'no equals sign',        $$'format=1', 'columnversion', 'kind=integer', 'mode=lax'$$),
  (15, 'lax',                   $$'format=1', 'column=version', 'kind=integer', 'mode=lax'$$),
  (16, 'default, keys reordered', $$'format=1', 'mode=default', 'kind=integer', 'column=version'$$),
  (17, 'an = in the column',    $$'format=1', 'column=a=b', 'kind=timestamp', 'mode=strict'$$),
  (18, 'column of 100 x',       format('%L, %L, %L, %L', 'format=1', 'column=' || repeat('x', 100), 'kind=integer', 'mode=none')),
  (19, 'control characters',    $$'format=1', E'column=\x01\x02', 'kind=integer', 'mode=lax'$$),
  (20, 'audit of its own',      $$'format=1', 'column=version', 'kind=integer', 'mode=lax', 'audit=strict'$$),
  (21, 'audit not stricter',    $$'format=1', 'column=version', 'kind=integer', 'mode=lax', 'audit=lax'$$),
  (22, 'audit none',            $$'format=1', 'column=version', 'kind=integer', 'mode=default', 'audit=none'$$),
  (23, 'audit twice',           $$'format=1', 'column=version', 'kind=integer', 'mode=none', 'audit=lax', 'audit=lax'$$);
ALTER EVENT TRIGGER occ_ddl_guard DISABLE;
\set ECHO none
SELECT format('CREATE TABLE fuzz.args_%s (id int, version bigint NOT NULL DEFAULT 1);
               CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON fuzz.args_%s
                 FOR EACH ROW EXECUTE FUNCTION occ.check_version(%s)', ord, ord, args)
  FROM fuzz.args_case ORDER BY ord \gexec
\set ECHO all
ALTER EVENT TRIGGER occ_ddl_guard ENABLE;
-- only these are listed
SELECT a.label, octet_length(t.version_column::text) AS column_bytes,
       t.version_column = left(repeat('x', 100), 63) AS cut_to_63_x,
       t.kind, t.mode, t.effective_mode, t.audit
FROM fuzz.args_case a JOIN occ.tables t ON t.table_name = format('fuzz.args_%s', a.ord)::regclass
ORDER BY a.ord;
\set ECHO none
SELECT format('DROP TABLE fuzz.args_%s', ord) FROM fuzz.args_case ORDER BY ord \gexec
\set ECHO all
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- occ.default_mode: every way of setting it, with every value
-- ===================================================================
CREATE TABLE fuzz.gucval (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL,
                          err text);
INSERT INTO fuzz.gucval VALUES
  ( 1, 'strict',        '''strict''',                 NULL),
  ( 2, 'lax',           '''lax''',                    NULL),
  ( 3, 'none',          '''none''',                   NULL),
  ( 4, 'STRICT',        '''STRICT''',                 NULL),    -- enum names ignore case
  ( 5, 'empty',         '''''',                       '22023'),
  ( 6, 'default',       '''default''',                '22023'),
  ( 7, ' lax',          ''' lax''',                   '22023'),
  ( 8, 'stric',         '''stric''',                  '22023'),
  ( 9, 'on',            '''on''',                     '22023'),
  (10, '1',             '''1''',                      '22023'),
  (11, 'é',             '''é''',                      '22023'),
  (12, 'lax newline',     'E''lax\n''',                 '22023'),
  (13, '100000 x',      'repeat(''x'', 100000)',      '22023');
SELECT count(fuzz.probe('default_mode', format('%s / %s', w.label, v.label),
                        format(w.sql, v.expr),
                        ARRAY[coalesce(v.err, 'ok')])) AS combinations
FROM fuzz.gucval v,
     (VALUES ('set_config',       $$SELECT set_config('occ.default_mode', %s, false)$$),
             ('set_config local', $$SELECT set_config('occ.default_mode', %s, true)$$),
             ('SET',              $q$DO $d$ BEGIN
                                      EXECUTE format('SET occ.default_mode = %%L', %s);
                                  END $d$$q$),
             ('ALTER ROLE',       $q$DO $d$ BEGIN
                                      EXECUTE format('ALTER ROLE regress_occ_bad_input SET occ.default_mode = %%L', %s);
                                  END $d$$q$),
             ('ALTER DATABASE',   $q$DO $d$ BEGIN
                                      EXECUTE format('ALTER DATABASE %%I SET occ.default_mode = %%L',
                                                     current_database(), %s);
                                  END $d$$q$)
     ) AS w (label, sql);
SELECT v.label AS value,
       max(o.sqlstate) FILTER (WHERE o.label = 'set_config / ' || v.label)       AS set_config,
       max(o.sqlstate) FILTER (WHERE o.label = 'set_config local / ' || v.label) AS "set_config local",
       max(o.sqlstate) FILTER (WHERE o.label = 'SET / ' || v.label)              AS "SET",
       max(o.sqlstate) FILTER (WHERE o.label = 'ALTER ROLE / ' || v.label)       AS "ALTER ROLE",
       max(o.sqlstate) FILTER (WHERE o.label = 'ALTER DATABASE / ' || v.label)   AS "ALTER DATABASE"
FROM fuzz.gucval v JOIN fuzz.outcome o ON o.batch = 'default_mode' AND split_part(o.label, ' / ', 2) = v.label
GROUP BY v.ord, v.label ORDER BY v.ord;
SELECT count(fuzz.probe('default_mode single', label, sql)) AS cases
FROM (VALUES
  ('set_config NULL (resets, ok)',  $$SELECT set_config('occ.default_mode', NULL, false)$$),
  ('SET TO DEFAULT (ok)',           $$SET occ.default_mode TO DEFAULT$$),
  ('SET to an integer',             $$SET occ.default_mode = 1$$),
  ('SET to a list',                 $$SET occ.default_mode = lax, strict$$),
  ('SET to NULL',                   $$SET occ.default_mode = NULL$$),
  ('not privileged',                $$SET LOCAL ROLE regress_occ_bad_input;
                                      SET occ.default_mode = 'none'$$),
  ('not privileged, set_config',    $$SET LOCAL ROLE regress_occ_bad_input;
                                      SELECT set_config('occ.default_mode', 'none', true)$$),
  ('unknown occ. parameter',        $$SET occ.defaultmode = 'lax'$$),
  ('occ.if_match.x',                $$SET occ.if_match.x = 'lax'$$),
  ('occ. alone',                    $$SET "occ." = 'lax'$$)
) AS c (label, sql);
SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'default_mode single' ORDER BY label;
SELECT label, sqlstate, allowed FROM fuzz.mismatch WHERE batch = 'default_mode' ORDER BY label;
SHOW occ.default_mode;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- occ.if_match: hand-picked values, on every kind of write
-- ===================================================================
-- bi.lax and bi.strict rows 1 are at version 2.
-- Setting the value never fails (occ.if_match has no check hook); the
-- write that uses it does.
CREATE TABLE fuzz.write (ord int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
INSERT INTO fuzz.write VALUES
  (1, 'lax update',    'WITH w AS (UPDATE bi.lax SET payload = payload WHERE id = 1 RETURNING 1)'),
  (2, 'lax delete',    'WITH w AS (DELETE FROM bi.lax WHERE id = 1 RETURNING 1)'),
  (3, 'strict update', 'WITH w AS (UPDATE bi.strict SET payload = payload WHERE id = 1 RETURNING 1)'),
  (4, 'strict delete', 'WITH w AS (DELETE FROM bi.strict WHERE id = 1 RETURNING 1)');
UPDATE fuzz.write SET sql = sql || ' SELECT fuzz.check(count(*) = 1, ''one row written'') FROM w';

CREATE TABLE fuzz.ifm (ord int PRIMARY KEY, label text NOT NULL, expr text NOT NULL);
INSERT INTO fuzz.ifm VALUES
  -- unset, any, and the current version in every accepted form
  ( 1, 'empty',                    ''''''),
  ( 2, 'spaces and a tab',         'E'' \t  '''),
  ( 3, '*',                        '''*'''),
  ( 4, ' * ',                      ''' * '''),
  ( 5, '2',                        '''2'''),
  ( 6, '"2"',                      '''"2"'''),
  ( 7, ' "2" ',                    ''' "2" '''),
  ( 8, '+2',                       '''+2'''),
  ( 9, '0002',                     '''0002'''),
  (10, '"1", "2"',                 '''"1", "2"'''),
  (11, '"2",',                     '''"2",'''),
  (12, 'W/"2", "2"',               '''W/"2", "2"'''),
  -- well-formed, but not the current version
  (13, '"1"',                      '''"1"'''),
  (14, 'W/"2"',                    '''W/"2"'''),
  (15, 'W/"1", W/"2"',             '''W/"1", W/"2"'''),
  (16, 'int8 minimum',             '''-9223372036854775808'''),
  (17, 'int8 maximum',             '''9223372036854775807'''),
  (18, '"int8 maximum"',           '''"9223372036854775807"'''),
  -- malformed, or not an integer
  (19, 'int8 maximum + 1',         '''9223372036854775808'''),
  (20, 'int8 minimum - 1',         '''-9223372036854775809'''),
  (21, '"int8 maximum + 1"',       '''"9223372036854775808"'''),
  (22, '10^22',                    '''10000000000000000000000'''),
  (23, ',,"2"',                    ''',,"2"'''),
  (24, '"2',                       '''"2'''),
  (25, '2"',                       '''2"'''),
  (26, '"2" "3"',                  '''"2" "3"'''),
  (27, '"2"x',                     '''"2"x'''),
  (28, '**',                       '''**'''),
  (29, '*, "2"',                   '''*, "2"'''),
  (30, '"*"',                      '''"*"'''),
  (31, '""',                       '''""'''),
  (32, '" 2"',                     '''" 2"'''),
  (33, 'W/2',                      '''W/2'''),
  (34, 'W/',                       '''W/'''),
  (35, 'w/"2"',                    '''w/"2"'''),
  (36, '2.0',                      '''2.0'''),
  (37, '2e0',                      '''2e0'''),
  (38, '0x2',                      '''0x2'''),
  (39, 'fullwidth 2',              '''２'''),
  (40, '"é"',                      '''"é"'''),
  (41, 'two',                      '''two'''),
  (42, '2 newline',                'E''2\n'''),
  (43, 'newline 2',                'E''\n2'''),
  (44, '"2" newline',              'E''"2"\n'''),
  (45, '"2 \x01"',                 'E''"2\x01"'''),
  (46, '2 3',                      '''2 3'''),
  (47, '-',                        '''-'''),
  (48, '+',                        '''+'''),
  (49, '- 2',                      '''- 2'''),
  (50, '''2''',                    '''''''2'''''''),
  (51, '\"2\"',                    '''\"2\"'''),
  (52, '2;DROP TABLE bi.lax',      '''2;DROP TABLE bi.lax'''),
  -- huge values
  (53, '100000 nines',             'repeat(''9'', 100000)'),
  (54, '"100000 nines"',           '''"'' || repeat(''9'', 100000) || ''"'''),
  (55, '"100000 x"',               '''"'' || repeat(''x'', 100000) || ''"'''),
  (56, '10000 zeros then 2',       'repeat(''0'', 10000) || ''2'''),
  (57, '2 in 200000 spaces',       'repeat('' '', 100000) || ''2'' || repeat('' '', 100000)'),
  (58, '100000 spaces',            'repeat('' '', 100000)'),
  (59, '5000 tags, no 2',          '(SELECT string_agg(format(''"%s"'', i), '', '') FROM generate_series(3, 5002) i)'),
  (60, '5000 tags, 2 last',        '(SELECT string_agg(format(''"%s"'', i), '', '') FROM generate_series(3, 5002) i) || '', "2"'''),
  (61, '5000 weak W/"2"',          '(SELECT string_agg(''W/"2"'', '','') FROM generate_series(1, 5000))'),
  (62, '5000 tags, last bad',      '(SELECT string_agg(format(''"%s"'', i), '','') FROM generate_series(1, 5000) i) || '',"2'''),
  (63, '"x", then 5000 tags',      '''"x",'' || (SELECT string_agg(''"2"'', '','') FROM generate_series(1, 5000))'),
  (64, '50000 x "2",',             'repeat(''"2",'', 50000)'),
  (65, '"2" then 100000 commas',   '''"2"'' || repeat('','', 100000)'),
  -- nested and runaway quotes
  (66, '100001 quotes',            'repeat(''"'', 100001)'),
  (67, '"" x 50000',               'repeat(''""'', 50000)'),
  (68, '"\" x 1000"',              '''"'' || repeat(''\"'', 1000) || ''"'''),
  (69, '50000 W/ then "2"',        'repeat(''W/'', 50000) || ''"2"'''),
  (70, '"""2"""',                  '''"""2"""'''),
  -- NUL and broken encodings are refused by PostgreSQL itself
  (71, 'chr(0)',                   'chr(0)'),
  (72, 'E''\000''',                'E''\000'''),
  (73, 'U&''\0000''',              'U&''\0000'''),
  (74, 'invalid UTF-8',            'convert_from(''\xff'', ''UTF8'')');

SELECT count(fuzz.probe('if_match', format('%s / %s', v.label, w.label),
                        format('SELECT set_config(''occ.if_match'', %s, true); %s', v.expr, w.sql)))
       AS combinations
FROM fuzz.ifm v, fuzz.write w;
SELECT v.label AS if_match,
       max(o.sqlstate) FILTER (WHERE o.label = v.label || ' / lax update')    AS "lax update",
       max(o.sqlstate) FILTER (WHERE o.label = v.label || ' / lax delete')    AS "lax delete",
       max(o.sqlstate) FILTER (WHERE o.label = v.label || ' / strict update') AS "strict update",
       max(o.sqlstate) FILTER (WHERE o.label = v.label || ' / strict delete') AS "strict delete"
FROM fuzz.ifm v JOIN fuzz.outcome o ON o.batch = 'if_match' AND split_part(o.label, ' / ', 1) = v.label
GROUP BY v.ord, v.label ORDER BY v.ord;
SHOW occ.if_match;
SELECT fuzz.unchanged() AS nothing_changed;

-- A timestamp version (bi.stamped row 1 is at 2026-01-01 00:00:00+00).
SELECT count(fuzz.probe('if_match timestamp', label,
                        format('SELECT set_config(''occ.if_match'', %L, true);
                                WITH w AS (UPDATE bi.stamped SET id = id WHERE id = 1 RETURNING 1)
                                SELECT fuzz.check(count(*) = 1, ''one row written'') FROM w', val)))
       AS cases
FROM (VALUES
  ('plain, UTC',                  '2026-01-01 00:00:00+00'),
  ('plain, +01',                  '2026-01-01 01:00:00+01'),
  ('tag, ISO 8601',               '"2026-01-01T00:00:00+00"'),
  ('tag, Z and microseconds',     '"2026-01-01T00:00:00.000000Z"'),
  ('tag with a space',            '"2026-01-01 00:00:00+00"'),
  ('a second later',              '2026-01-01 00:00:01+00'),
  ('infinity',                    'infinity'),
  ('-infinity',                   '-infinity'),
  ('epoch',                       'epoch'),
  ('month 13',                    '2026-13-01 00:00:00+00'),
  ('February 30',                 '2026-02-30 00:00:00+00'),
  ('year 300000',                 '300000-01-01 00:00:00+00'),
  ('a time only',                 '12:00'),
  ('allballs',                    'allballs'),
  ('an integer',                  '2'),
  ('trailing junk',               '2026-01-01 00:00:00+00 junk'),
  ('100000 nines',                repeat('9', 100000)),
  ('"100000 nines"',              '"' || repeat('9', 100000) || '"'),
  ('1000 fields',                 repeat('1 ', 1000))
) AS c (label, val);
SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'if_match timestamp' ORDER BY ord;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- versions at the end of their type: an UPDATE fails, never wraps
-- ===================================================================
-- In bi.max2, bi.max4 and bi.max8 row 1 is at the type's maximum, row 2
-- one below, row 3 at the minimum.  A write that would advance row 1
-- fails with 22003 whatever it states and in every mode; a DELETE needs no
-- new version.  Messages are printed: they must say what is wrong.
CREATE TABLE fuzz.maxcase (ord int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
INSERT INTO fuzz.maxcase VALUES
  ( 1, 'at max, states nothing',      'UPDATE %1$s SET id = id WHERE id = 1'),
  ( 2, 'at max, assigns max',         'UPDATE %1$s SET v = %2$s WHERE id = 1'),
  ( 3, 'at max, if_match max',        'SET LOCAL occ.if_match = ''"%2$s"''; UPDATE %1$s SET id = id WHERE id = 1'),
  ( 4, 'at max, if_match *',          'SET LOCAL occ.if_match = ''*''; UPDATE %1$s SET id = id WHERE id = 1'),
  ( 5, 'at max, strict, assigns max', 'SELECT occ.set_mode(''%1$s'', ''strict''); UPDATE %1$s SET v = %2$s WHERE id = 1'),
  ( 6, 'at max, mode none',           'SELECT occ.set_mode(''%1$s'', ''none''); UPDATE %1$s SET id = id WHERE id = 1'),
  ( 7, 'at max, stale',               'UPDATE %1$s SET v = 5 WHERE id = 1'),
  ( 8, 'at max, assigns max + 1',     'UPDATE %1$s SET v = %2$s::numeric + 1 WHERE id = 1'),
  ( 9, 'at max, every row',           'UPDATE %1$s SET id = id'),
  (10, 'at max, DELETE',              'DELETE FROM %1$s WHERE id = 1'),
  (11, 'max - 1 advances to max',     'WITH w AS (UPDATE %1$s SET id = id WHERE id = 2 RETURNING v)
                                       SELECT fuzz.check(v::text = ''%2$s'', ''reached max'') FROM w'),
  (12, 'max - 1, then once more',     'UPDATE %1$s SET id = id WHERE id = 2; UPDATE %1$s SET id = id WHERE id = 2'),
  (13, 'min advances by one',         'WITH w AS (UPDATE %1$s SET id = id WHERE id = 3 RETURNING v)
                                       SELECT fuzz.check(v::numeric = %3$s::numeric + 1, ''min + 1'') FROM w'),
  (14, 'assigns NULL',                'UPDATE %1$s SET v = NULL WHERE id = 2');
SELECT count(fuzz.probe('max', format('%s / %s', t.name, c.label), format(c.sql, t.name, t.max, t.min)))
       AS cases
FROM fuzz.maxcase c,
     (VALUES ('bi.max2', '32767', '-32768'),
             ('bi.max4', '2147483647', '-2147483648'),
             ('bi.max8', '9223372036854775807', '-9223372036854775808')) AS t (name, max, min);
SELECT count(fuzz.probe('max', label, sql)) AS cases
FROM (VALUES
  ('bi.maxts / at infinity',               $$UPDATE bi.maxts SET id = id WHERE id = 1$$),
  ('bi.maxts / at infinity, if_match',     $$SET LOCAL occ.if_match = 'infinity';
                                             UPDATE bi.maxts SET id = id WHERE id = 1$$),
  ('bi.maxts / at infinity, DELETE',       $$DELETE FROM bi.maxts WHERE id = 1$$),
  ('bi.maxts / at the last microsecond',   $$UPDATE bi.maxts SET id = id WHERE id = 2$$),
  ('bi.maxts / at -infinity, advances',    $$WITH w AS (UPDATE bi.maxts SET id = id WHERE id = 3 RETURNING v)
                                             SELECT fuzz.check(isfinite(v), 'finite') FROM w$$),
  ('bi.maxts / one before the last',       $$WITH w AS (UPDATE bi.maxts SET id = id WHERE id = 4 RETURNING v)
                                             SELECT fuzz.check(v = '294276-12-31 23:59:59.999999+00', 'last') FROM w$$),
  ('bi.maxts0 / at infinity',              $$UPDATE bi.maxts0 SET id = id WHERE id = 1$$),
  ('bi.maxts0 / at the last second',       $$UPDATE bi.maxts0 SET id = id WHERE id = 2$$),
  ('bi.maxts0 / one second before',        $$WITH w AS (UPDATE bi.maxts0 SET id = id WHERE id = 3 RETURNING v)
                                             SELECT fuzz.check(v = '294276-12-31 23:59:59', 'last') FROM w$$)
) AS c (label, sql);
SELECT label, sqlstate, message FROM fuzz.outcome WHERE batch = 'max' ORDER BY ord;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- occ.check_version() called directly, or attached the wrong way
-- ===================================================================
-- The trigger refuses to run other than BEFORE ROW for UPDATE or DELETE
-- (39P01); PostgreSQL itself refuses some uses first (42804, 42P17).  A
-- second occ trigger on an enabled table is refused by the DDL guard
-- (42710), and occ's functions refuse a table whose occ trigger has
-- arguments they cannot read (39P01).
SELECT count(fuzz.probe('trigger misuse', label, sql)) AS cases
FROM (VALUES
  ('called directly',                    $$SELECT occ.check_version()$$),
  ('called in FROM',                     $$SELECT * FROM occ.check_version()$$),
  ('as an event trigger',                $$CREATE EVENT TRIGGER fuzz_event ON ddl_command_start
                                           EXECUTE FUNCTION occ.check_version()$$),
  ('AFTER UPDATE FOR EACH ROW',          $$CREATE TRIGGER t AFTER UPDATE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           UPDATE bi.bare SET payload = 'b'$$),
  ('AFTER DELETE FOR EACH ROW',          $$CREATE TRIGGER t AFTER DELETE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           DELETE FROM bi.bare$$),
  ('BEFORE UPDATE FOR EACH STATEMENT',   $$CREATE TRIGGER t BEFORE UPDATE ON bi.bare
                                           FOR EACH STATEMENT EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           UPDATE bi.bare SET payload = 'b'$$),
  ('AFTER DELETE FOR EACH STATEMENT',    $$CREATE TRIGGER t AFTER DELETE ON bi.bare
                                           FOR EACH STATEMENT EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           DELETE FROM bi.bare$$),
  ('BEFORE INSERT FOR EACH ROW',         $$CREATE TRIGGER t BEFORE INSERT ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           INSERT INTO bi.bare VALUES (2, 'b')$$),
  ('BEFORE INSERT OR UPDATE, an INSERT', $$CREATE TRIGGER t BEFORE INSERT OR UPDATE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           INSERT INTO bi.bare VALUES (2, 'b')$$),
  ('BEFORE TRUNCATE',                    $$CREATE TRIGGER t BEFORE TRUNCATE ON bi.bare
                                           FOR EACH STATEMENT EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           TRUNCATE bi.bare$$),
  ('INSTEAD OF UPDATE on a view',        $$CREATE VIEW bi.bare_view AS SELECT * FROM bi.bare;
                                           CREATE TRIGGER t INSTEAD OF UPDATE ON bi.bare_view
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           UPDATE bi.bare_view SET payload = 'b'$$),
  ('constraint trigger',                 $$CREATE CONSTRAINT TRIGGER t AFTER UPDATE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           UPDATE bi.bare SET payload = 'b'$$),
  ('AFTER UPDATE with transition table', $$CREATE TRIGGER t AFTER UPDATE ON bi.bare REFERENCING NEW TABLE AS n
                                           FOR EACH STATEMENT EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
                                           UPDATE bi.bare SET payload = 'b'$$),
  ('a second occ trigger, other column', $$CREATE TRIGGER zz BEFORE UPDATE ON bi.lax
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=payload', 'kind=integer', 'mode=lax');
                                           UPDATE bi.lax SET payload = 'b', version = 2 WHERE id = 1$$),
  ('no arguments, then occ.enable',      $$CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version();
                                           SELECT occ.enable('bi.bare')$$),
  ('no arguments, then occ.set_mode',    $$CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version();
                                           SELECT occ.set_mode('bi.bare', 'lax')$$),
  ('no arguments, then occ.disable',     $$CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.check_version();
                                           SELECT occ.disable('bi.bare')$$),
  -- the event trigger function, misused the same ways
  ('occ.ddl_guard() called directly',    $$SELECT occ.ddl_guard()$$),
  ('occ.ddl_guard() as a row trigger',   $$CREATE TRIGGER t BEFORE UPDATE ON bi.bare
                                           FOR EACH ROW EXECUTE FUNCTION occ.ddl_guard()$$)
) AS c (label, sql);
SELECT label, sqlstate FROM fuzz.outcome WHERE batch = 'trigger misuse' ORDER BY ord;

-- Trigger arguments of every wrong count, and every combination of
-- candidate values, on a BEFORE UPDATE OR DELETE row trigger of bi.bare
-- (whose version column is "version" bigint): 39P01 for arguments occ
-- cannot read, 42703 for a column the table lacks, 42611 for a system
-- column, 42804 for a column or kind that do not fit.  occ.if_match is '*', so valid arguments pass.
CREATE FUNCTION fuzz.trigger_args_allowed(c text, k text, m text) RETURNS text[]
LANGUAGE sql AS $$
SELECT CASE WHEN cardinality(e) = 0 THEN '{ok}' ELSE e END
FROM (SELECT ARRAY(SELECT x FROM unnest(ARRAY[
        CASE WHEN c = '' OR k NOT IN ('integer', 'timestamp')
                  OR m NOT IN ('strict', 'lax', 'none', 'default') THEN '39P01' END,
        CASE WHEN c NOT IN ('', 'version', 'payload', 'ctid') THEN '42703' END,
        CASE WHEN c = 'ctid' THEN '42611' END,
        CASE WHEN c = 'payload' OR k = 'timestamp' THEN '42804' END]) AS x
      WHERE x IS NOT NULL)) AS s (e)
$$;
SELECT count(fuzz.probe('trigger args', format('%s / %s', a.label, w.label),
                        format('CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON bi.bare
                                FOR EACH ROW EXECUTE FUNCTION occ.check_version(%s);
                                SET LOCAL occ.if_match = ''*''; %s', a.args, w.sql),
                        a.allowed)) AS combinations
FROM (SELECT format('(%s)', array_to_string(ARRAY[quote_literal(c), quote_literal(k), quote_literal(m)], ', ')),
             array_to_string(ARRAY['''format=1''', quote_literal('column=' || c),
                                   quote_literal('kind=' || k), quote_literal('mode=' || m)], ', '),
             fuzz.trigger_args_allowed(c, k, m)
      FROM unnest(ARRAY['version', '', 'nosuch', 'payload', 'ctid', 'VERSION', 'version ',
                        repeat('v', 100)]) AS c,
           unnest(ARRAY['integer', 'timestamp', '', 'INTEGER', 'bogus']) AS k,
           unnest(ARRAY['strict', 'lax', 'none', 'default', '', 'Lax', 'bogus']) AS m
      UNION ALL
      VALUES ('no arguments', '', '{39P01}'::text[]),
             ('one argument', '''version''', '{39P01}'),
             ('old positional form', '''version'', ''integer'', ''lax''', '{39P01}'),
             ('format only', '''format=1''', '{39P01}'),
             ('format 2', '''format=2'', ''column=version'', ''kind=integer'', ''mode=lax''', '{39P01}'),
             ('format not first', '''column=version'', ''format=1'', ''kind=integer'', ''mode=lax''', '{39P01}'),
             ('no mode', '''format=1'', ''column=version'', ''kind=integer''', '{39P01}'),
             ('column twice', '''format=1'', ''column=version'', ''column=version'', ''kind=integer'', ''mode=lax''', '{39P01}'),
             ('unknown key', '''format=1'', ''column=version'', ''kind=integer'', ''mode=lax'', ''colour=red''', '{39P01}'),
             ('audit not stricter', '''format=1'', ''column=version'', ''kind=integer'', ''mode=lax'', ''audit=lax''', '{39P01}'),
             ('audit none', '''format=1'', ''column=version'', ''kind=integer'', ''mode=default'', ''audit=none''', '{39P01}'),
             ('no equals sign', '''format=1'', ''columnversion'', ''kind=integer'', ''mode=lax''', '{39P01}'),
             ('key with a space', '''format=1'', ''column =version'', ''kind=integer'', ''mode=lax''', '{39P01}'),
             ('100 arguments', (SELECT string_agg('''version''', ', ') FROM generate_series(1, 100)), '{39P01}'),
             ('control characters as column', '''format=1'', E''column=\x01\x02'', ''kind=integer'', ''mode=lax''', '{42703}')
     ) AS a (label, args, allowed),
     (VALUES ('update', 'UPDATE bi.bare SET payload = ''b'' WHERE id = 1'),
             ('delete', 'DELETE FROM bi.bare WHERE id = 1')) AS w (label, sql);
SELECT sqlstate, count(*) FROM fuzz.outcome WHERE batch = 'trigger args'
GROUP BY sqlstate ORDER BY sqlstate;
SELECT label, sqlstate FROM fuzz.outcome
WHERE batch = 'trigger args' AND label NOT LIKE '(%' ORDER BY ord;
SELECT label, sqlstate, allowed FROM fuzz.mismatch WHERE batch = 'trigger args' ORDER BY label;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- names that need quoting, or are cut at NAMEDATALEN: they must work
-- ===================================================================
-- A table named by one of these names gets a version column named by
-- another.  Every call must succeed and do exactly what it
-- should: one occ trigger, the column PostgreSQL makes of the name (cut to
-- at most 63 bytes, never inside a multibyte character), listed in
-- occ.tables, stale writes refused, current ones advanced; then disable
-- removes it all.  The table is named by its uncut, quoted name, which
-- regclass cuts the same way.
CREATE FUNCTION fuzz.enable_named(tname text, cname text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t   name := tname::name;
    c   name := cname::name;
    rel regclass;
    n   bigint;
BEGIN
    EXECUTE format('CREATE TABLE bi.%I (id int PRIMARY KEY, payload text)', t);
    EXECUTE format('INSERT INTO bi.%I VALUES (1, ''a'')', t);
    rel := format('bi.%I', tname)::regclass;
    PERFORM occ.enable(rel, cname);

    PERFORM fuzz.check(octet_length(c) <= 63
                       AND convert_to(c::text, getdatabaseencoding()) IS NOT NULL, 'a valid name');
    SELECT count(*) INTO n FROM pg_trigger
    WHERE tgrelid = rel AND tgfoid = 'occ.check_version()'::regprocedure;
    PERFORM fuzz.check(n = 1, 'one occ trigger');
    PERFORM fuzz.check((SELECT version_column = c AND kind = 'integer' AND effective_mode = 'lax'
                        FROM occ.tables WHERE table_name = rel), 'listed in occ.tables');
    PERFORM fuzz.check((SELECT atttypid = 'bigint'::regtype AND attnotnull FROM pg_attribute
                        WHERE attrelid = rel AND attname = c AND NOT attisdropped), 'column added');
    BEGIN
        EXECUTE format('UPDATE %s SET payload = ''b'', %I = 0 WHERE id = 1', rel, c);
        PERFORM fuzz.check(false, 'stale write refused');
    EXCEPTION WHEN SQLSTATE '40V01' THEN
        NULL;
    END;
    EXECUTE format('UPDATE %s SET payload = ''b'', %I = 1 WHERE id = 1', rel, c);
    EXECUTE format('SELECT %I FROM %s WHERE id = 1', c, rel) INTO n;
    PERFORM fuzz.check(n = 2, 'version advanced');

    PERFORM occ.disable(rel, drop_column => true);
    PERFORM fuzz.check(NOT EXISTS (SELECT FROM occ.tables WHERE table_name = rel), 'not listed');
    PERFORM fuzz.check(NOT EXISTS (SELECT FROM pg_attribute
                                   WHERE attrelid = rel AND attname = c AND NOT attisdropped),
                       'column dropped');
END
$$;
CREATE TABLE fuzz.odd_name (ord int PRIMARY KEY, label text NOT NULL, val text NOT NULL);
INSERT INTO fuzz.odd_name VALUES
  ( 1, 'SQL injection',           'x''); DROP TABLE bi.plain; --'),
  ( 2, 'double quote',            'ver"sion'),
  ( 3, 'lone double quote',       '"'),
  ( 4, 'backslash',               'back\slash'),
  ( 5, 'newline',                 E'new\nline'),
  ( 6, 'tab',                     E'tab\tname'),
  ( 7, 'leading space',           ' lead'),
  ( 8, 'trailing space',          'trail '),
  ( 9, 'upper case',              'UPPER Case'),
  (10, 'placeholder',             '$1 %s %I %L'),
  (11, 'keyword',                 'select'),
  (12, 'occ_version',             'occ_version'),
  (13, 'star',                    '*'),
  (14, 'accents',                 'ünïcödé'),
  (15, '64 x (cut to 63)',        repeat('x', 64)),
  (16, '32 é, 64 bytes',          repeat('é', 32)),
  (17, '22 €, 66 bytes',          repeat('€', 22)),
  (18, '16 😀, 64 bytes',         repeat('😀', 16)),
  (19, 'a + 31 é, 63 bytes',      'a' || repeat('é', 31)),
  (20, '62 x + é, 64 bytes',      repeat('x', 62) || 'é'),
  (21, '1000 characters',         repeat('ß', 1000));
-- each name as the table's, as the column's, and as both
SELECT count(fuzz.probe('odd names', format('%s / %s', t.label, c.label),
                        format('SELECT fuzz.enable_named(%L, %L)', t.val, c.val),
                        '{ok}')) AS combinations
FROM fuzz.odd_name t, fuzz.odd_name c
WHERE t.ord = c.ord OR t.ord = 9 OR c.ord = 9;
SELECT sqlstate, count(*) FROM fuzz.outcome WHERE batch = 'odd names'
GROUP BY sqlstate ORDER BY sqlstate;
SELECT label, sqlstate, message FROM fuzz.mismatch WHERE batch = 'odd names' ORDER BY label;
SELECT fuzz.unchanged() AS nothing_changed;

-- ===================================================================
-- what this file found once, kept as cases
-- ===================================================================
-- occ.if_match beyond the range of a smallint or integer column cannot be
-- read (22P02); it is not a stale version
CREATE TABLE bi.narrow (id int PRIMARY KEY, v2 smallint NOT NULL DEFAULT 1);
INSERT INTO bi.narrow VALUES (1);
SELECT occ.enable('bi.narrow', 'v2');
SELECT v, fuzz.probe('found', 'smallint if_match ' || v,
                     format('SET LOCAL occ.if_match = %L; UPDATE bi.narrow SET id = 1', v),
                     '{22P02}') AS sqlstate
FROM unnest(ARRAY['32768', '-32769', '"70000"', '9223372036854775807']) AS v ORDER BY v;
-- a timestamp occ.if_match with an unknown time zone name cannot be read
-- either (22P02), though PostgreSQL 15's own parser raises 22023 for it
SELECT fuzz.probe('found', 'unknown time zone',
                  $$SET LOCAL occ.if_match = '2026-01-01 00:00:00 Mars/Olympus';
                    UPDATE bi.stamped SET id = id$$, '{22P02}') AS sqlstate;
-- the view cuts a column name longer than a name can be at a character
-- boundary (a trigger made while the DDL guard is off)
ALTER EVENT TRIGGER occ_ddl_guard DISABLE;
CREATE TABLE fuzz.args_long (id int, version bigint NOT NULL DEFAULT 1);
\set ECHO none
SELECT format('CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON fuzz.args_long
                 FOR EACH ROW EXECUTE FUNCTION occ.check_version(%L, %L, %L, %L)',
              'format=1', 'column=' || repeat('é', 50), 'kind=integer', 'mode=lax') \gexec
\set ECHO all
ALTER EVENT TRIGGER occ_ddl_guard ENABLE;
SELECT octet_length(version_column::text) AS bytes, length(version_column::text) AS characters,
       convert_to(version_column::text, 'UTF8') IS NOT NULL AS valid_utf8
FROM occ.tables WHERE table_name = 'fuzz.args_long'::regclass;
DROP TABLE fuzz.args_long;
SELECT occ.disable('bi.narrow');
DROP TABLE bi.narrow;
SELECT label, sqlstate, message FROM fuzz.mismatch WHERE batch = 'found' ORDER BY label;

-- ===================================================================
-- summary: no internal error anywhere, and the session is alive
-- ===================================================================
SELECT count(*) AS calls,
       count(*) FILTER (WHERE sqlstate LIKE 'XX%') AS internal_errors,
       count(*) FILTER (WHERE sqlstate = 'FZBAD') AS failed_checks,
       count(DISTINCT batch) AS batches
FROM fuzz.outcome;
SELECT table_name, version_column, kind, mode, effective_mode
FROM occ.tables WHERE schema_name = 'bi' ORDER BY table_name::text;

SET client_min_messages = warning;
DROP SCHEMA bi CASCADE;
DROP SCHEMA fuzz CASCADE;
DROP SERVER fuzz_server;
DROP FOREIGN DATA WRAPPER fuzz_fdw;
DROP ROLE regress_occ_bad_input;
RESET client_min_messages;
SELECT 'the session survived' AS alive;
