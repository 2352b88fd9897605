--
-- hash_kind: how a table of kind hash behaves.  Its versions are hashes of
-- each row's content (no column is added); writers state them through
-- occ.if_match and the wrappers, and nothing advances.  Enabling and the
-- refusals that change nothing, checked writes, the wrappers, the http
-- error style, partitions, foreign-key cascades, ON CONFLICT, DDL and
-- privileges.  (What counts as the same content -- types, TOAST, NULLs --
-- is another test's concern.)
--
-- Tags are compared with each other rather than shown: where an error's
-- DETAIL holds one, hk_try() prints it as <current> or <stated>.  A
-- couple of literal tags document the format; the columns of those rows
-- are of plain built-in types, whose tags are the same on every supported
-- server version.
--
\set VERBOSITY default

-- What a table looks like to occ: how many occ triggers it has and the
-- arguments of its own (tgargs holds each followed by a NUL byte), whether
-- occ.tables lists it, and its columns.
CREATE FUNCTION hk_shape(tbl regclass)
RETURNS TABLE (triggers bigint, args text[], listed bigint, columns text)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure),
         (SELECT array_remove(string_to_array(encode(tgargs, 'escape'), '\000'), '')
            FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure
             AND tgname = 'occ_version'),
         (SELECT count(*) FROM occ.tables WHERE table_name = tbl),
         (SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
           WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped)
$$;

-- Run a statement and show its error as an application reads it: the
-- SQLSTATE, the message, DETAIL and HINT, and the schema, table and column
-- fields (VERBOSITY verbose would also print the C source line).  The hex
-- digits of the tags given are shown as <current> and <stated>, so that
-- what a DETAIL says is checked without the tags themselves.
CREATE FUNCTION hk_try(stmt text, current_tag text DEFAULT NULL,
                       stated_tag text DEFAULT NULL)
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
    IF current_tag IS NOT NULL THEN
        v_detail := replace(v_detail, lower(btrim(current_tag, '"')), '<current>');
    END IF;
    IF stated_tag IS NOT NULL THEN
        v_detail := replace(v_detail, btrim(stated_tag, '"'), '<stated>');
    END IF;
    RETURN QUERY VALUES ('sqlstate', v_state), ('message', v_message),
                        ('detail', v_detail), ('hint', v_hint),
                        ('schema_name', v_schema), ('table_name', v_table),
                        ('column_name', v_column);
END
$$;

-- The SQLSTATE of a statement, or "ok".  Its writes are rolled back only
-- if it fails.
CREATE FUNCTION hk_state(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- ===================================================================
-- enabling: no column, the trigger's arguments, occ.tables
-- ===================================================================
CREATE TABLE hk_parts (id int PRIMARY KEY, name text, qty int, synced_at int,
                       note text);
INSERT INTO hk_parts VALUES (1, 'bolt', 10, 0, 'a'), (2, 'nut', 20, 0, 'b'),
                            (3, 'washer', 30, 0, 'c');
SELECT pg_relation_filenode('hk_parts') AS filenode_before \gset
SELECT * FROM hk_shape('hk_parts');
-- no NOTICE: there is no column to add or adopt
SELECT occ.enable('hk_parts', kind => 'hash', exclude => '{synced_at,note}');
SELECT * FROM hk_shape('hk_parts');
SELECT pg_relation_filenode('hk_parts') = :filenode_before AS not_rewritten;
SELECT table_name, schema_name, version_column IS NULL AS no_version_column,
       kind, mode, effective_mode, excluded_columns
  FROM occ.tables WHERE table_name = 'hk_parts'::regclass;

-- A tag: 32 lower-case hex digits in double quotes.  This one is shown
-- (int and text columns only); the rest of the test compares tags.
SELECT id, occ.etag(p) FROM hk_parts p WHERE id = 1;
SELECT id, occ.etag(p) ~ '^"[0-9a-f]{32}"$' AS well_formed,
       occ.etag(p) = occ.etag(p) AS repeatable
  FROM hk_parts p ORDER BY id;
SELECT count(DISTINCT occ.etag(p)) AS distinct_tags FROM hk_parts p;
-- occ.etag() of what is not a row of a table of kind hash
CREATE TABLE hk_counted (id int PRIMARY KEY);
INSERT INTO hk_counted VALUES (1);
SELECT occ.enable('hk_counted');
SELECT occ.etag(c) FROM hk_counted c; \echo :LAST_ERROR_SQLSTATE
SELECT occ.etag(version) FROM hk_counted c;
DROP TABLE hk_counted;
SELECT occ.etag(ROW(1, 'bolt')); \echo :LAST_ERROR_SQLSTATE
CREATE VIEW hk_parts_view AS SELECT * FROM hk_parts;
SELECT occ.etag(v) FROM hk_parts_view v; \echo :LAST_ERROR_SQLSTATE
DROP VIEW hk_parts_view;

-- ==== enabling again ====
SELECT oid AS trigger_oid FROM pg_trigger
 WHERE tgrelid = 'hk_parts'::regclass AND tgname = 'occ_version' \gset
-- the same settings, the excluded columns in any order: nothing changes
SELECT occ.enable('hk_parts', kind => 'hash', exclude => '{synced_at,note}');
SELECT occ.enable('hk_parts', 'version', 'hash', exclude => '{note,synced_at}');
SELECT oid = :trigger_oid AS same_trigger FROM pg_trigger
 WHERE tgrelid = 'hk_parts'::regclass AND tgname = 'occ_version';
SELECT * FROM hk_shape('hk_parts');
-- other excluded columns, none, or another kind: refused
SELECT occ.enable('hk_parts', kind => 'hash', exclude => '{synced_at}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_parts', kind => 'hash', exclude => '{synced_at,note,qty}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_parts', kind => 'hash'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_parts', kind => 'hash', exclude => '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_parts'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_parts', kind => 'timestamp'); \echo :LAST_ERROR_SQLSTATE
-- a version column is not a setting of kind hash
SELECT occ.enable('hk_parts', 'row_version', 'hash', exclude => '{synced_at,note}'); \echo :LAST_ERROR_SQLSTATE
SELECT oid = :trigger_oid AS same_trigger FROM pg_trigger
 WHERE tgrelid = 'hk_parts'::regclass AND tgname = 'occ_version';
SELECT * FROM hk_shape('hk_parts');
-- a mode changes the mode and keeps the excluded columns
SELECT occ.enable('hk_parts', kind => 'hash', mode => 'strict',
                  exclude => '{synced_at,note}');
SELECT * FROM hk_shape('hk_parts');
SELECT mode, effective_mode, excluded_columns
  FROM occ.tables WHERE table_name = 'hk_parts'::regclass;
SELECT occ.set_mode('hk_parts', NULL);
SELECT * FROM hk_shape('hk_parts');

-- ==== refusals on a table not yet enabled: the error, and nothing changed ====
CREATE TABLE hk_refused (id int, a int, b int);
SELECT occ.enable('hk_refused', 'v', kind => 'hash'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', 'a', kind => 'hash'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', exclude => '{a}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', 'b', 'integer', exclude => '{a}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'integer', exclude => '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'timestamp', exclude => '{a}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{nosuch}'); \echo :LAST_ERROR_SQLSTATE
-- names are matched exactly, case included
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{A}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{xmin}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{a,ctid}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{a,b,a}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{id,a,b}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{a,NULL}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => ARRAY[NULL]::name[]); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{{a},{b}}'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_refused');
-- a table without columns has nothing to hash
CREATE TABLE hk_no_columns ();
SELECT occ.enable('hk_no_columns', kind => 'hash'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_no_columns');
DROP TABLE hk_no_columns;
-- a dropped column does not count as one left to hash
ALTER TABLE hk_refused DROP COLUMN b;
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{id,a}'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_refused');
-- what was refused can then be enabled
SELECT occ.enable('hk_refused', kind => 'hash', exclude => '{a}');
SELECT * FROM hk_shape('hk_refused');

-- ==== disabling ====
-- there is no column to drop: refused, and the table stays protected
SELECT occ.disable('hk_refused', drop_column => true); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_refused');
SELECT occ.disable('hk_refused');
SELECT * FROM hk_shape('hk_refused');
-- a table no longer protected has no row tags, and no mode
INSERT INTO hk_refused VALUES (1, 1);
SELECT occ.etag(r) FROM hk_refused r; \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('hk_refused', 'strict'); \echo :LAST_ERROR_SQLSTATE
DROP TABLE hk_refused;

-- ===================================================================
-- writes stating the tag through occ.if_match
-- ===================================================================
-- The DETAIL of a stale write holds the row's tag: the errors of this part
-- are shown by SQLSTATE alone, and in full by hk_try().
\set VERBOSITY sqlstate
SELECT occ.etag(p) AS tag1 FROM hk_parts p WHERE id = 1 \gset
SELECT btrim(:'tag1', '"') AS plain1, upper(btrim(:'tag1', '"')) AS upper1 \gset
-- a tag no row has, well formed
\set other_tag '"0123456789abcdef0123456789abcdef"'

-- ==== lax: a write that states nothing passes, and the tag follows the content ====
UPDATE hk_parts SET qty = 11 WHERE id = 1;
SELECT occ.etag(p) <> :'tag1' AS tag_changed FROM hk_parts p WHERE id = 1;
UPDATE hk_parts SET qty = 10 WHERE id = 1;
SELECT occ.etag(p) = :'tag1' AS same_content_same_tag FROM hk_parts p WHERE id = 1;

-- ==== every form of a matching tag passes; nothing advances ====
BEGIN;
SET LOCAL occ.if_match = :'tag1';
UPDATE hk_parts SET qty = qty WHERE id = 1;
SET LOCAL occ.if_match = :'plain1';
UPDATE hk_parts SET qty = qty WHERE id = 1;
SET LOCAL occ.if_match = :'upper1';
UPDATE hk_parts SET qty = qty WHERE id = 1;
SELECT :'upper1' <> :'plain1' AS upper_case_differs;
SELECT set_config('occ.if_match', :'other_tag' || ', ' || :'tag1', true) IS NOT NULL AS set;
UPDATE hk_parts SET qty = qty WHERE id = 1;
SET LOCAL occ.if_match = '*';
UPDATE hk_parts SET qty = qty WHERE id = 1;
COMMIT;
-- after five stated writes that changed nothing, the tag is the same
SELECT occ.etag(p) = :'tag1' AS tag_unchanged FROM hk_parts p WHERE id = 1;

-- the quoted upper-case form
BEGIN;
SELECT set_config('occ.if_match', '"' || :'upper1' || '"', true) IS NOT NULL AS set;
UPDATE hk_parts SET qty = qty WHERE id = 1;
COMMIT;

-- ==== a tag that does not match: 40V01, nothing written ====
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
-- a weak tag never matches, even of the current content
BEGIN;
SELECT set_config('occ.if_match', 'W/' || :'tag1', true) LIKE 'W/"%"' AS weak;
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
-- a list matches only if one of its tags does
BEGIN;
SELECT set_config('occ.if_match', :'other_tag' || ', "ffffffffffffffffffffffffffffffff"', true) IS NOT NULL AS set;
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
SELECT qty FROM hk_parts WHERE id = 1;

-- the report in full: DETAIL with the current tag and occ.if_match as set,
-- the fields of the table (there is no version column to name)
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
SELECT * FROM hk_try('UPDATE hk_parts SET qty = 99 WHERE id = 1', :'tag1');
SELECT * FROM hk_try('DELETE FROM hk_parts WHERE id = 1', :'tag1');
ROLLBACK;
-- once in psql's own form, with the tag itself
\set VERBOSITY default
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
\set VERBOSITY sqlstate

-- ==== a tag that cannot be read: 22P02, nothing written ====
BEGIN;
SET LOCAL occ.if_match = '"0123456789abcdef"';
SELECT * FROM hk_try('UPDATE hk_parts SET qty = 99 WHERE id = 1');
ROLLBACK;
SELECT replace(if_match, :'plain1', '<tag>') AS if_match,
       hk_state(format('SET LOCAL occ.if_match = %L; UPDATE hk_parts SET qty = 99 WHERE id = 1',
                       if_match)) AS "update",
       hk_state(format('SET LOCAL occ.if_match = %L; DELETE FROM hk_parts WHERE id = 1',
                       if_match)) AS "delete"
  FROM unnest(ARRAY[
         '0123456789abcdef0123456789abcdef0',  -- 33 digits
         '0123456789abcdef0123456789abcde',    -- 31
         '0123456789abcdef0123456789abcdeg',   -- not hex
         '"0123456789abcdef0123456789abcdef',  -- no closing quote
         '""',
         '"1"',                                -- a version of kind integer
         :'tag1' || ', "1"',                   -- one bad tag spoils a list
         :'plain1' || 'x'
       ]) AS if_match;
SELECT id, qty FROM hk_parts ORDER BY id;

-- ==== excluded columns do not count; assigning the same value changes nothing ====
SELECT occ.etag(p) AS tag2 FROM hk_parts p WHERE id = 2 \gset
UPDATE hk_parts SET synced_at = synced_at + 1, note = 'changed' WHERE id = 2;
SELECT occ.etag(p) = :'tag2' AS excluded_change_keeps_tag FROM hk_parts p WHERE id = 2;
UPDATE hk_parts SET name = 'nut', qty = 20 WHERE id = 2;
SELECT occ.etag(p) = :'tag2' AS same_values_keep_tag FROM hk_parts p WHERE id = 2;
UPDATE hk_parts SET name = 'hex nut' WHERE id = 2;
SELECT occ.etag(p) <> :'tag2' AS counted_change_changes_tag FROM hk_parts p WHERE id = 2;
-- an update of excluded columns alone is still checked
BEGIN;
SET LOCAL occ.if_match = :'tag2';
UPDATE hk_parts SET synced_at = 5 WHERE id = 2;
ROLLBACK;
SELECT occ.etag(p) AS tag2 FROM hk_parts p WHERE id = 2 \gset
BEGIN;
SET LOCAL occ.if_match = :'tag2';
UPDATE hk_parts SET synced_at = 5 WHERE id = 2;
-- and after it the same tag still matches: nothing advanced
UPDATE hk_parts SET note = 'again' WHERE id = 2;
COMMIT;
SELECT occ.etag(p) = :'tag2' AS tag_unchanged, synced_at, note
  FROM hk_parts p WHERE id = 2;

-- ==== the check is against the row as it is: a tag read before a change is stale ====
SELECT occ.etag(p) AS tag3 FROM hk_parts p WHERE id = 3 \gset
UPDATE hk_parts SET qty = 31 WHERE id = 3;
BEGIN;
SET LOCAL occ.if_match = :'tag3';
UPDATE hk_parts SET qty = 32 WHERE id = 3;
ROLLBACK;
-- changing it back makes the old tag match again (content, not history)
UPDATE hk_parts SET qty = 30 WHERE id = 3;
BEGIN;
SET LOCAL occ.if_match = :'tag3';
UPDATE hk_parts SET qty = 32 WHERE id = 3;
COMMIT;

-- ==== a statement of several rows: each row is checked against the list ====
SELECT string_agg(occ.etag(p), ', ' ORDER BY id) AS tags12 FROM hk_parts p
 WHERE id IN (1, 2) \gset
BEGIN;
SELECT set_config('occ.if_match', :'tags12', true) IS NOT NULL AS set;
UPDATE hk_parts SET qty = qty + 1 WHERE id IN (1, 2);
-- row 3's tag is not in the list
UPDATE hk_parts SET qty = qty + 1 WHERE id IN (1, 2, 3);
ROLLBACK;

-- ==== strict: a write that states nothing is refused ====
SELECT occ.set_mode('hk_parts', 'strict');
UPDATE hk_parts SET qty = 99 WHERE id = 1;
DELETE FROM hk_parts WHERE id = 1;
SELECT * FROM hk_try('UPDATE hk_parts SET qty = 99 WHERE id = 1');
SELECT * FROM hk_try('DELETE FROM hk_parts WHERE id = 1');
-- a WHERE clause comparing the tag is no statement of it: there is no
-- version column for the WHERE-clause rule to look for
UPDATE hk_parts p SET qty = 99 WHERE id = 1 AND occ.etag(p) = :'tag1';
-- an UPDATE that matches no row is not refused
UPDATE hk_parts SET qty = 99 WHERE id = 42;
-- stated, it passes
BEGIN;
SET LOCAL occ.if_match = :'tag1';
UPDATE hk_parts SET qty = qty WHERE id = 1;
COMMIT;
-- stale is still stale
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
-- occ.default_mode does not override a table's own mode
SET occ.default_mode = 'lax';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
RESET occ.default_mode;

-- ==== none: nothing is checked, not even a tag that cannot be read ====
SELECT occ.set_mode('hk_parts', 'none');
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 12 WHERE id = 1;
SET LOCAL occ.if_match = '"1"';
UPDATE hk_parts SET qty = 11 WHERE id = 1;
SELECT qty FROM hk_parts WHERE id = 1;
ROLLBACK;

-- ==== a table following occ.default_mode ====
SELECT occ.set_mode('hk_parts', NULL);
SET occ.default_mode = 'strict';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
SET occ.default_mode = 'none';
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
RESET occ.default_mode;

-- ==== DELETE ====
SELECT occ.set_mode('hk_parts', 'strict');
SELECT occ.etag(p) AS tag3 FROM hk_parts p WHERE id = 3 \gset
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
DELETE FROM hk_parts WHERE id = 3;
ROLLBACK;
BEGIN;
SELECT set_config('occ.if_match', 'W/' || :'tag3', true) LIKE 'W/"%"' AS weak;
DELETE FROM hk_parts WHERE id = 3;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = :'tag3';
DELETE FROM hk_parts WHERE id = 3;
COMMIT;
INSERT INTO hk_parts VALUES (3, 'washer', 32, 0, 'c');
SELECT occ.etag(p) = :'tag3' AS reinserted_same_tag FROM hk_parts p WHERE id = 3;
BEGIN;
SET LOCAL occ.if_match = '*';
DELETE FROM hk_parts WHERE id = 3;
ROLLBACK;
SELECT id, name, qty, synced_at, note FROM hk_parts ORDER BY id;
SELECT occ.set_mode('hk_parts', 'lax');

-- ===================================================================
-- the wrappers
-- ===================================================================
SELECT occ.etag(p) AS tag1 FROM hk_parts p WHERE id = 1 \gset
SELECT btrim(:'tag1', '"') AS plain1 \gset
-- a matching tag: the new row comes back; it has no version to show
SELECT occ.update('hk_parts', '{"id": 1}', :'tag1', '{"qty": 15}');
SELECT occ.etag(p) <> :'tag1' AS tag_changed FROM hk_parts p WHERE id = 1;
-- the same tag again is stale
SELECT occ.update('hk_parts', '{"id": 1}', :'tag1', '{"qty": 16}');
SELECT * FROM hk_try(format('SELECT occ.update(%L, %L, %L, %L)', 'hk_parts', '{"id": 1}',
                     :'tag1', '{"qty": 16}'),
              (SELECT occ.etag(p) FROM hk_parts p WHERE id = 1), :'tag1');
SELECT occ.etag(p) AS tag1 FROM hk_parts p WHERE id = 1 \gset
SELECT btrim(:'tag1', '"') AS plain1 \gset
-- the plain and upper-case forms, a list, "*"
SELECT occ.update('hk_parts', '{"id": 1}', :'plain1', '{"note": "x"}') ->> 'note' AS note;
SELECT occ.update('hk_parts', '{"id": 1}', upper(:'plain1'), '{"note": "y"}') ->> 'note' AS note;
SELECT occ.update('hk_parts', '{"id": 1}', :'other_tag' || ', ' || :'tag1',
                  '{"note": "z"}') ->> 'note' AS note;
SELECT occ.update('hk_parts', '{"id": 1}', '*', '{"qty": 10}') ->> 'qty' AS qty;
-- the wrapper's tag is checked, not occ.if_match
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
SELECT occ.update('hk_parts', '{"id": 1}', '*', '{"qty": 10}') ->> 'qty' AS qty;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT occ.update('hk_parts', '{"id": 1}', :'other_tag', '{"qty": 10}');
ROLLBACK;
-- weak and malformed tags
SELECT occ.update('hk_parts', '{"id": 1}', 'W/' || :'tag1', '{"qty": 0}');
SELECT occ.update('hk_parts', '{"id": 1}', '"1"', '{"qty": 0}');
-- no changes: there is no version column to advance, so nothing to write
SELECT occ.update('hk_parts', '{"id": 1}', '*', '{}');
\set VERBOSITY default
SELECT occ.update('hk_parts', '{"id": 1}', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
-- there is no column "version" to write
SELECT occ.update('hk_parts', '{"id": 1}', '*', '{"version": 2}');
-- strict: a NULL tag states nothing
SELECT occ.set_mode('hk_parts', 'strict');
SELECT occ.update('hk_parts', '{"id": 1}', NULL, '{"qty": 0}');
SELECT occ.delete('hk_parts', '{"id": 1}', NULL);
SELECT * FROM hk_try($$SELECT occ.update('hk_parts', '{"id": 1}', NULL, '{"qty": 0}')$$);
SELECT occ.set_mode('hk_parts', 'lax');
-- occ.delete
SELECT occ.delete('hk_parts', '{"id": 1}', :'other_tag');
SELECT occ.delete('hk_parts', '{"id": 1}', occ.etag(p)) ->> 'name' AS deleted
  FROM hk_parts p WHERE id = 1;
-- the row is gone: no row has that key
SELECT occ.delete('hk_parts', '{"id": 1}', '*');
INSERT INTO hk_parts VALUES (1, 'bolt', 10, 0, 'a');
SELECT id, name, qty, synced_at, note FROM hk_parts ORDER BY id;

-- ===================================================================
-- the http error style and the PostgREST bridge
-- ===================================================================
-- What an HTTP client would see: the status, or the response headers.
CREATE FUNCTION hk_request(headers text, request text)
RETURNS TABLE (status text, response_headers text)
LANGUAGE plpgsql AS $$
DECLARE
  st text;
BEGIN
  PERFORM set_config('request.headers', headers, true);
  PERFORM set_config('response.headers', '', true);
  PERFORM occ.postgrest_pre_request();
  EXECUTE request;
  RETURN QUERY SELECT '200'::text, current_setting('response.headers');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
  RETURN QUERY SELECT st, NULL::text;
END $$;

-- ==== PT412 and PT428 ====
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = :'other_tag';
DELETE FROM hk_parts WHERE id = 1;
ROLLBACK;
SELECT occ.set_mode('hk_parts', 'strict');
BEGIN;
SET LOCAL occ.error_style = 'http';
UPDATE hk_parts SET qty = 99 WHERE id = 1;
ROLLBACK;
BEGIN;
SET LOCAL occ.error_style = 'http';
DELETE FROM hk_parts WHERE id = 1;
ROLLBACK;
SELECT occ.set_mode('hk_parts', 'lax');

-- ==== the new row's ETag after a single-row UPDATE ====
SELECT occ.etag(p) AS tag1 FROM hk_parts p WHERE id = 1 \gset
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = :'tag1';
SELECT set_config('response.headers', '', true) = '' AS no_headers_yet;
UPDATE hk_parts SET qty = 17 WHERE id = 1;
SELECT current_setting('response.headers')::jsonb -> 0 ->> 'ETag' AS etag \gset
SELECT jsonb_array_length(current_setting('response.headers')::jsonb) AS headers,
       :'etag' = occ.etag(p) AS etag_of_new_row, :'etag' <> :'tag1' AS etag_changed
  FROM hk_parts p WHERE id = 1;
COMMIT;
SELECT occ.etag(p) = :'etag' AS etag_of_row_read_afterwards FROM hk_parts p WHERE id = 1;
-- an UPDATE of excluded columns alone answers with the tag the client holds
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = :'etag';
SELECT set_config('response.headers', '', true) = '' AS no_headers_yet;
UPDATE hk_parts SET synced_at = 7 WHERE id = 1;
SELECT current_setting('response.headers')::jsonb -> 0 ->> 'ETag' = :'etag' AS same_etag;
COMMIT;
-- no ETag for an UPDATE of two rows, nor for a DELETE
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = '*';
SELECT set_config('response.headers', '', true) = '' AS no_headers_yet;
UPDATE hk_parts SET synced_at = 8 WHERE id IN (1, 2);
SELECT current_setting('response.headers') AS response_headers;
DELETE FROM hk_parts WHERE id = 3;
SELECT current_setting('response.headers') AS response_headers;
ROLLBACK;
-- nor in the sqlstate style
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT set_config('response.headers', '', true) = '' AS no_headers_yet;
UPDATE hk_parts SET synced_at = 9 WHERE id = 1;
SELECT current_setting('response.headers') AS response_headers;
ROLLBACK;

-- ==== occ.postgrest_pre_request: If-Match from the request's headers ====
SELECT occ.set_mode('hk_parts', 'strict');
SELECT occ.etag(p) AS tag1 FROM hk_parts p WHERE id = 1 \gset
BEGIN;
SELECT status, (response_headers::jsonb -> 0 ->> 'ETag') <> :'tag1' AS new_etag
  FROM hk_request(json_build_object('if-match', :'tag1')::text,
                  $$UPDATE hk_parts SET qty = 18 WHERE id = 1$$);
SELECT current_setting('response.headers')::jsonb -> 0 ->> 'ETag' AS etag \gset
SELECT occ.etag(p) = :'etag' AS etag_of_new_row FROM hk_parts p WHERE id = 1;
COMMIT;
-- the same header again: 412; none: 428; a weak tag: 412; a bad one: 22P02
BEGIN;
SELECT * FROM hk_request(json_build_object('if-match', :'tag1')::text,
                         $$UPDATE hk_parts SET qty = 19 WHERE id = 1$$);
ROLLBACK;
BEGIN;
SELECT * FROM hk_request('{}', $$UPDATE hk_parts SET qty = 19 WHERE id = 1$$);
ROLLBACK;
BEGIN;
SELECT * FROM hk_request(json_build_object('if-match', 'W/' || :'etag')::text,
                         $$UPDATE hk_parts SET qty = 19 WHERE id = 1$$);
ROLLBACK;
BEGIN;
SELECT * FROM hk_request('{"if-match": "\"1\""}', $$UPDATE hk_parts SET qty = 19 WHERE id = 1$$);
ROLLBACK;
-- a list, as a client may send
BEGIN;
SELECT * FROM hk_request(json_build_object('if-match', :'other_tag' || ', ' || :'etag')::text,
                         $$DELETE FROM hk_parts WHERE id = 1$$);
ROLLBACK;
SELECT occ.set_mode('hk_parts', 'lax');
SELECT id, name, qty FROM hk_parts ORDER BY id;

-- ===================================================================
-- partitions
-- ===================================================================
CREATE TABLE hk_pt (id int NOT NULL, region int NOT NULL, name text, qty int,
                    synced_at int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE hk_pt_1 PARTITION OF hk_pt FOR VALUES IN (1);
-- a partition created on its own, its columns in another order behind a
-- dropped one, then attached
CREATE TABLE hk_pt_2 (junk int, synced_at int, qty int, name text,
                      region int NOT NULL, id int NOT NULL);
ALTER TABLE hk_pt_2 DROP COLUMN junk;
ALTER TABLE hk_pt ATTACH PARTITION hk_pt_2 FOR VALUES IN (2);
-- and a partitioned partition, whose leaf has yet another order
CREATE TABLE hk_pt_3 PARTITION OF hk_pt FOR VALUES IN (3, 4) PARTITION BY LIST (region);
CREATE TABLE hk_pt_3a (qty int, id int NOT NULL, synced_at int, region int NOT NULL,
                       name text);
ALTER TABLE hk_pt_3 ATTACH PARTITION hk_pt_3a FOR VALUES IN (3, 4);
INSERT INTO hk_pt VALUES (1, 1, 'one', 10, 0), (2, 1, 'two', 20, 0),
                         (3, 2, 'three', 30, 0), (4, 2, 'four', 40, 0),
                         (5, 3, 'five', 50, 0);
SELECT occ.enable('hk_pt', kind => 'hash', exclude => '{synced_at}');
SELECT table_name, kind, excluded_columns FROM occ.tables
 WHERE table_name::text LIKE 'hk\_pt%' ORDER BY 1;
SELECT c.relname, t.tgparentid <> 0 AS clone,
       array_remove(string_to_array(encode(t.tgargs, 'escape'), '\000'), '') AS args
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure AND c.relname LIKE 'hk\_pt%'
 ORDER BY c.relname;

-- ==== a row's tag is the same read through the parent or its partition ====
SELECT p.tableoid::regclass AS part, p.id,
       occ.etag(p) = coalesce((SELECT occ.etag(c) FROM hk_pt_1 c WHERE c.id = p.id),
                              (SELECT occ.etag(c) FROM hk_pt_2 c WHERE c.id = p.id),
                              (SELECT occ.etag(c) FROM hk_pt_3 c WHERE c.id = p.id)) AS same_tag,
       occ.etag(p) = coalesce((SELECT occ.etag(c) FROM hk_pt_3a c WHERE c.id = p.id),
                              occ.etag(p)) AS same_tag_in_leaf
  FROM hk_pt p ORDER BY p.id;
SELECT count(DISTINCT occ.etag(p)) AS distinct_tags FROM hk_pt p;

-- ==== the same content in partitions of different column orders: the same tag ====
-- Row (1, 1) moves to a replacement of hk_pt_1 whose columns are in another
-- order; read through the parent, its tag has not changed.
SELECT occ.etag(p) AS pt_tag1 FROM hk_pt p WHERE id = 1 \gset
ALTER TABLE hk_pt DETACH PARTITION hk_pt_1;
CREATE TABLE hk_pt_1b (name text, synced_at int, id int NOT NULL, qty int,
                       region int NOT NULL);
INSERT INTO hk_pt_1b (id, region, name, qty, synced_at)
    SELECT id, region, name, qty, synced_at FROM hk_pt_1;
ALTER TABLE hk_pt ATTACH PARTITION hk_pt_1b FOR VALUES IN (1);
DROP TABLE hk_pt_1;
SELECT tableoid::regclass AS part, occ.etag(p) = :'pt_tag1' AS same_tag
  FROM hk_pt p WHERE id = 1;
SELECT (SELECT occ.etag(c) FROM hk_pt_1b c WHERE id = 1) = :'pt_tag1' AS same_tag_in_partition;

-- ==== occ.if_match through the parent and on a partition ====
SELECT occ.set_mode('hk_pt', 'strict');
SELECT occ.etag(p) AS pt_tag3 FROM hk_pt p WHERE id = 3 \gset
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_pt SET qty = 31 WHERE id = 3;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_pt_2 SET qty = 31 WHERE id = 3;
ROLLBACK;
UPDATE hk_pt_2 SET qty = 31 WHERE id = 3;
BEGIN;
SET LOCAL occ.if_match = :'pt_tag3';
UPDATE hk_pt_2 SET qty = 31 WHERE id = 3;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = :'pt_tag3';
UPDATE hk_pt SET qty = 31 WHERE id = 3;
COMMIT;
SELECT occ.etag(p) <> :'pt_tag3' AS tag_changed FROM hk_pt p WHERE id = 3;
SELECT occ.etag(p) AS pt_tag5 FROM hk_pt p WHERE id = 5 \gset
BEGIN;
SET LOCAL occ.if_match = :'pt_tag5';
UPDATE hk_pt_3a SET synced_at = 1 WHERE id = 5;
COMMIT;
SELECT occ.etag(p) = :'pt_tag5' AS same_tag FROM hk_pt p WHERE id = 5;
-- the wrappers, on the parent
SELECT occ.update('hk_pt', '{"id": 5, "region": 3}', occ.etag(p), '{"qty": 51}') ->> 'qty' AS qty
  FROM hk_pt p WHERE id = 5;

-- ==== a row moving to another partition: checked once ====
SELECT occ.etag(p) AS pt_tag2 FROM hk_pt p WHERE id = 2 \gset
-- stale, or stating nothing: refused before anything moves
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_pt SET region = 2 WHERE id = 2;
ROLLBACK;
UPDATE hk_pt SET region = 2 WHERE id = 2;
-- stated: the row moves, from hk_pt_1b to hk_pt_2, whose columns are in another order
BEGIN;
SET LOCAL occ.if_match = :'pt_tag2';
UPDATE hk_pt SET region = 2 WHERE id = 2;
COMMIT;
SELECT tableoid::regclass AS part, id, region, name, qty FROM hk_pt WHERE id = 2;
-- and back, stating its new tag, to a leaf of a partitioned partition
SELECT occ.etag(p) AS pt_tag2 FROM hk_pt p WHERE id = 2 \gset
BEGIN;
SET LOCAL occ.if_match = :'pt_tag2';
UPDATE hk_pt SET region = 4 WHERE id = 2;
COMMIT;
SELECT tableoid::regclass AS part, id, region, name, qty FROM hk_pt WHERE id = 2;
-- through occ.update, by the wrapper's tag
SELECT occ.update('hk_pt', '{"id": 2, "region": 4}', occ.etag(p), '{"region": 1}') ->> 'region' AS region
  FROM hk_pt p WHERE id = 2;
SELECT tableoid::regclass AS part, id, region, name, qty FROM hk_pt ORDER BY id;
-- the partition key counts: a moved row has a new tag, and the http style
-- answers with it (one ETag: the DELETE half adds none); moved back, the
-- row has its old tag again
SELECT occ.etag(p) AS pt_tag4 FROM hk_pt p WHERE id = 4 \gset
BEGIN;
SET LOCAL occ.error_style = 'http';
SET LOCAL occ.if_match = :'pt_tag4';
SELECT set_config('response.headers', '', true) = '' AS no_headers_yet;
UPDATE hk_pt SET region = 1 WHERE id = 4;
SELECT tableoid::regclass AS part,
       jsonb_array_length(current_setting('response.headers')::jsonb) AS headers,
       current_setting('response.headers')::jsonb -> 0 ->> 'ETag' = occ.etag(p) AS etag_of_moved_row,
       occ.etag(p) <> :'pt_tag4' AS tag_changed
  FROM hk_pt p WHERE id = 4;
COMMIT;
UPDATE hk_pt SET region = 2 WHERE id = 4;
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE hk_pt SET region = 2 WHERE id = 4;
COMMIT;
SELECT tableoid::regclass AS part, occ.etag(p) = :'pt_tag4' AS back_to_old_tag
  FROM hk_pt p WHERE id = 4;

-- ==== renaming and dropping the excluded column: every partition follows ====
SELECT string_agg(occ.etag(p), ', ' ORDER BY id) AS pt_tags FROM hk_pt p \gset
ALTER TABLE hk_pt RENAME COLUMN synced_at TO synced;
SELECT c.relname, t.tgparentid <> 0 AS clone,
       array_remove(string_to_array(encode(t.tgargs, 'escape'), '\000'), '') AS args
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure AND c.relname LIKE 'hk\_pt%'
 ORDER BY c.relname;
SELECT string_agg(occ.etag(p), ', ' ORDER BY id) = :'pt_tags' AS same_tags FROM hk_pt p;
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE hk_pt SET synced = 2;
COMMIT;
SELECT string_agg(occ.etag(p), ', ' ORDER BY id) = :'pt_tags' AS same_tags FROM hk_pt p;
ALTER TABLE hk_pt DROP COLUMN synced;
SELECT excluded_columns FROM occ.tables WHERE table_name = 'hk_pt'::regclass;
SELECT string_agg(occ.etag(p), ', ' ORDER BY id) = :'pt_tags' AS same_tags FROM hk_pt p;
SELECT (SELECT occ.etag(c) FROM hk_pt_2 c WHERE id = 3) =
       (SELECT occ.etag(p) FROM hk_pt p WHERE id = 3) AS same_tag_in_partition;

DROP TABLE hk_pt;

-- ===================================================================
-- foreign-key cascades
-- ===================================================================
-- Rows that a foreign key's action writes are not the client's rows: they
-- are checked neither against occ.if_match nor for stating nothing.
CREATE TABLE hk_fk_parent (id int PRIMARY KEY, name text);
CREATE TABLE hk_fk_child (
    id int PRIMARY KEY,
    parent_id int REFERENCES hk_fk_parent ON UPDATE CASCADE ON DELETE CASCADE,
    note text
);
INSERT INTO hk_fk_parent VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four');
INSERT INTO hk_fk_child VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c'), (13, 3, 'd'),
                               (14, 4, 'e');
SELECT occ.enable('hk_fk_child', kind => 'hash', mode => 'strict');
SELECT occ.etag(c) AS child10 FROM hk_fk_child c WHERE id = 10 \gset

-- ==== strict ====
-- occ.if_match matches no child row, or is not set: the cascades pass
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_fk_parent SET id = 100 WHERE id = 1;
COMMIT;
UPDATE hk_fk_parent SET id = 200 WHERE id = 2;
SELECT * FROM hk_fk_child ORDER BY id;
-- the cascade changed parent_id, a counted column: a new tag
SELECT occ.etag(c) <> :'child10' AS tag_changed FROM hk_fk_child c WHERE id = 10;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
DELETE FROM hk_fk_parent WHERE id = 100;
COMMIT;
DELETE FROM hk_fk_parent WHERE id = 200;
SELECT * FROM hk_fk_child ORDER BY id;
-- a direct write to the child is checked
UPDATE hk_fk_child SET note = 'x' WHERE id = 13;
DELETE FROM hk_fk_child WHERE id = 13;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_fk_child SET note = 'x' WHERE id = 13;
ROLLBACK;

-- ==== lax ====
SELECT occ.set_mode('hk_fk_child', 'lax');
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_fk_parent SET id = 300 WHERE id = 3;
DELETE FROM hk_fk_parent WHERE id = 4;
COMMIT;
SELECT * FROM hk_fk_child ORDER BY id;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
DELETE FROM hk_fk_child WHERE id = 13;
ROLLBACK;

-- ==== a parent of kind hash too: its own row is checked, the cascade is not ====
SELECT occ.enable('hk_fk_parent', kind => 'hash', mode => 'strict');
SELECT occ.set_mode('hk_fk_child', 'strict');
UPDATE hk_fk_parent SET id = 3 WHERE id = 300;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_fk_parent SET id = 3 WHERE id = 300;
ROLLBACK;
-- occ.if_match holds the parent's tag, which no child row has
SELECT occ.etag(p) AS parent300 FROM hk_fk_parent p WHERE id = 300 \gset
BEGIN;
SET LOCAL occ.if_match = :'parent300';
UPDATE hk_fk_parent SET id = 3 WHERE id = 300;
COMMIT;
SELECT * FROM hk_fk_child ORDER BY id;
SELECT occ.etag(p) AS parent3 FROM hk_fk_parent p WHERE id = 3 \gset
BEGIN;
SET LOCAL occ.if_match = :'parent3';
DELETE FROM hk_fk_parent WHERE id = 3;
COMMIT;
SELECT * FROM hk_fk_parent ORDER BY id;
SELECT * FROM hk_fk_child ORDER BY id;
DROP TABLE hk_fk_child, hk_fk_parent;

-- ==== a parent of kind integer: occ.if_match holds its version ====
-- "1" is no content hash: the child's trigger must not even read it
CREATE TABLE hk_fk_parent (id int PRIMARY KEY, name text);
CREATE TABLE hk_fk_child (
    id int PRIMARY KEY,
    parent_id int REFERENCES hk_fk_parent ON UPDATE CASCADE ON DELETE CASCADE
);
INSERT INTO hk_fk_parent VALUES (1, 'one'), (2, 'two');
INSERT INTO hk_fk_child VALUES (10, 1), (20, 2);
\set VERBOSITY default
SELECT occ.enable('hk_fk_parent', mode => 'strict');
\set VERBOSITY sqlstate
SELECT occ.enable('hk_fk_child', kind => 'hash', mode => 'strict');
BEGIN;
SET LOCAL occ.if_match = '"1"';
UPDATE hk_fk_parent SET id = 100 WHERE id = 1;
DELETE FROM hk_fk_parent WHERE id = 2;
COMMIT;
SELECT * FROM hk_fk_parent ORDER BY id;
SELECT * FROM hk_fk_child ORDER BY id;
DROP TABLE hk_fk_child, hk_fk_parent;

-- ===================================================================
-- INSERT ... ON CONFLICT DO UPDATE
-- ===================================================================
CREATE TABLE hk_oc (id int PRIMARY KEY, qty int, seen int);
INSERT INTO hk_oc VALUES (1, 10, 0), (2, 20, 0);
SELECT occ.enable('hk_oc', kind => 'hash', exclude => '{seen}');
SELECT occ.etag(o) AS oc1 FROM hk_oc o WHERE id = 1 \gset
-- the conflicting row's tag: the update is made
BEGIN;
SET LOCAL occ.if_match = :'oc1';
INSERT INTO hk_oc VALUES (1, 11, 1) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
COMMIT;
-- the same tag again is stale, and nothing is written
BEGIN;
SET LOCAL occ.if_match = :'oc1';
INSERT INTO hk_oc VALUES (1, 12, 1) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
ROLLBACK;
-- no conflict: an INSERT, which is not checked
BEGIN;
SET LOCAL occ.if_match = :'oc1';
INSERT INTO hk_oc VALUES (3, 30, 0) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
COMMIT;
-- a DO UPDATE of excluded columns alone is checked too
BEGIN;
SET LOCAL occ.if_match = :'oc1';
INSERT INTO hk_oc VALUES (1, 0, 5) ON CONFLICT (id) DO UPDATE SET seen = excluded.seen;
ROLLBACK;
-- strict: a DO UPDATE that states nothing is refused, an INSERT is not
SELECT occ.set_mode('hk_oc', 'strict');
INSERT INTO hk_oc VALUES (2, 21, 0) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
INSERT INTO hk_oc VALUES (4, 40, 0) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
SELECT occ.etag(o) AS oc2 FROM hk_oc o WHERE id = 2 \gset
BEGIN;
SET LOCAL occ.if_match = :'oc2';
INSERT INTO hk_oc VALUES (2, 21, 0) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
COMMIT;
SELECT * FROM hk_oc ORDER BY id;
DROP TABLE hk_oc;

-- ===================================================================
-- DDL
-- ===================================================================
\set VERBOSITY default
CREATE TABLE hk_ddl (id int PRIMARY KEY, name text, qty int, synced_at int, note text);
INSERT INTO hk_ddl VALUES (1, 'one', 10, 0, 'a');
SELECT occ.enable('hk_ddl', kind => 'hash', exclude => '{synced_at,note}');
SELECT occ.etag(d) AS ddl0 FROM hk_ddl d \gset

-- ==== renaming an excluded column: still excluded, the same tag ====
ALTER TABLE hk_ddl RENAME COLUMN synced_at TO synced;
SELECT excluded_columns FROM occ.tables WHERE table_name = 'hk_ddl'::regclass;
SELECT args FROM hk_shape('hk_ddl');
SELECT occ.etag(d) = :'ddl0' AS same_tag FROM hk_ddl d;
UPDATE hk_ddl SET synced = 1;
SELECT occ.etag(d) = :'ddl0' AS still_excluded FROM hk_ddl d;

-- ==== dropping an excluded column: off the list, the same tag ====
ALTER TABLE hk_ddl DROP COLUMN note;
SELECT excluded_columns FROM occ.tables WHERE table_name = 'hk_ddl'::regclass;
SELECT args FROM hk_shape('hk_ddl');
SELECT occ.etag(d) = :'ddl0' AS same_tag FROM hk_ddl d;

-- ==== adding a column, even under a name once excluded: it counts ====
ALTER TABLE hk_ddl ADD COLUMN note text;
SELECT excluded_columns FROM occ.tables WHERE table_name = 'hk_ddl'::regclass;
SELECT occ.etag(d) <> :'ddl0' AS tag_changed FROM hk_ddl d;
SELECT occ.etag(d) AS ddl1 FROM hk_ddl d \gset
UPDATE hk_ddl SET note = 'b';
SELECT occ.etag(d) <> :'ddl1' AS note_counts FROM hk_ddl d;
-- and dropping a counted column
SELECT occ.etag(d) AS ddl1 FROM hk_ddl d \gset
ALTER TABLE hk_ddl DROP COLUMN note;
SELECT occ.etag(d) <> :'ddl1' AS tag_changed FROM hk_ddl d;
SELECT occ.etag(d) = :'ddl0' AS as_before_the_column FROM hk_ddl d;

-- ==== renaming a counted column changes the tag; renaming it back restores it ====
ALTER TABLE hk_ddl RENAME COLUMN qty TO quantity;
SELECT occ.etag(d) <> :'ddl0' AS tag_changed FROM hk_ddl d;
SELECT excluded_columns FROM occ.tables WHERE table_name = 'hk_ddl'::regclass;
ALTER TABLE hk_ddl RENAME COLUMN quantity TO qty;
SELECT occ.etag(d) = :'ddl0' AS same_tag_again FROM hk_ddl d;

-- ==== changing a counted column's type is allowed, and changes the tag ====
ALTER TABLE hk_ddl ALTER COLUMN qty TYPE bigint;
SELECT occ.etag(d) <> :'ddl0' AS tag_changed FROM hk_ddl d;
SELECT occ.etag(d) AS ddl2 FROM hk_ddl d \gset
-- an excluded column's type does not count
ALTER TABLE hk_ddl ALTER COLUMN synced TYPE text;
SELECT occ.etag(d) = :'ddl2' AS same_tag FROM hk_ddl d;
-- the table is still protected, with the tag of the new layout
SELECT occ.set_mode('hk_ddl', 'strict');
UPDATE hk_ddl SET qty = 11; \echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL occ.if_match = :'ddl2';
UPDATE hk_ddl SET qty = 11;
COMMIT;
SELECT * FROM hk_ddl;

-- ==== renaming the table changes no tag ====
SELECT occ.etag(d) AS ddl3 FROM hk_ddl d \gset
ALTER TABLE hk_ddl RENAME TO hk_ddl_renamed;
SELECT occ.etag(d) = :'ddl3' AS same_tag FROM hk_ddl_renamed d;
ALTER TABLE hk_ddl_renamed RENAME TO hk_ddl;

-- ==== a second occ trigger is refused ====
CREATE TRIGGER hk_second BEFORE UPDATE OR DELETE ON hk_ddl
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'kind=hash', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER hk_second BEFORE UPDATE OR DELETE ON hk_ddl
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=version',
                                                    'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
SELECT triggers, args FROM hk_shape('hk_ddl');

-- ==== DDL that would leave no column to hash is refused ====
CREATE TABLE hk_last (id int, s text, t text);
SELECT occ.enable('hk_last', kind => 'hash', exclude => '{s}');
ALTER TABLE hk_last DROP COLUMN t;
-- id is the last counted column
ALTER TABLE hk_last DROP COLUMN id; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_last');

-- ==== an excluded column dropped and added back by one command ====
-- Dropped in one command and added in another, the new column counts;
-- in one command the DDL guard would only see a column of that name at
-- the end, so it refuses.
ALTER TABLE hk_last DROP COLUMN s, ADD COLUMN s int; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_last');
ALTER TABLE hk_last DROP COLUMN s;
ALTER TABLE hk_last ADD COLUMN s int;
SELECT args FROM hk_shape('hk_last');
DROP TABLE hk_last;

-- ==== an occ trigger created by hand: as occ.enable would make it ====
CREATE TABLE hk_hand (id int PRIMARY KEY, qty int, synced_at int);
CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON hk_hand
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'kind=hash', 'mode=lax',
                                                    'exclude=nosuch'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON hk_hand
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'kind=hash', 'mode=lax',
                                                    'exclude=synced_at', 'exclude=synced_at'); \echo :LAST_ERROR_SQLSTATE
-- excluding every column
CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON hk_hand
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'kind=hash', 'mode=lax',
                                                    'exclude=id', 'exclude=qty',
                                                    'exclude=synced_at'); \echo :LAST_ERROR_SQLSTATE
-- kind hash has no version column
CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON hk_hand
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'column=qty', 'kind=hash',
                                                    'mode=lax'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM hk_shape('hk_hand');
CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON hk_hand
    FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', 'kind=hash', 'mode=strict',
                                                    'exclude=synced_at');
SELECT table_name, version_column, kind, mode, excluded_columns
  FROM occ.tables WHERE table_name = 'hk_hand'::regclass;
INSERT INTO hk_hand VALUES (1, 1, 1);
UPDATE hk_hand SET qty = 2; \echo :LAST_ERROR_SQLSTATE
DROP TABLE hk_hand, hk_ddl;

-- ===================================================================
-- privileges: the tags are shown to a user who may read the whole row
-- ===================================================================
CREATE ROLE regress_occ_hk_blind;
CREATE TABLE hk_priv (id int PRIMARY KEY, qty int, secret text);
INSERT INTO hk_priv VALUES (1, 10, 's'), (2, 20, 't');
SELECT occ.enable('hk_priv', kind => 'hash');
SELECT occ.etag(p) AS priv1 FROM hk_priv p WHERE id = 1 \gset
-- may read the key and qty, not the secret: no tags in the DETAIL
GRANT SELECT (id, qty), UPDATE (qty), DELETE ON hk_priv TO regress_occ_hk_blind;
SET ROLE regress_occ_hk_blind;
-- (a row's tag needs the whole row)
SELECT occ.etag(p) FROM hk_priv p WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_priv SET qty = 11 WHERE id = 1;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
DELETE FROM hk_priv WHERE id = 1;
ROLLBACK;
-- the tag it was given passes
BEGIN;
SET LOCAL occ.if_match = :'priv1';
UPDATE hk_priv SET qty = 11 WHERE id = 1;
ROLLBACK;
SELECT occ.update('hk_priv', '{"id": 1}', :'other_tag', '{"qty": 11}');
RESET ROLE;
-- may read neither the key nor the whole row
REVOKE SELECT (id) ON hk_priv FROM regress_occ_hk_blind;
SET ROLE regress_occ_hk_blind;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_priv SET qty = 11 WHERE qty = 10;
ROLLBACK;
RESET ROLE;
-- may read the whole table: the tags are shown
GRANT SELECT ON hk_priv TO regress_occ_hk_blind;
SET ROLE regress_occ_hk_blind;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
SELECT * FROM hk_try('UPDATE hk_priv SET qty = 11 WHERE id = 1', :'priv1', :'other_tag');
ROLLBACK;
RESET ROLE;
-- row-level security in force for the user: no values at all
ALTER TABLE hk_priv ENABLE ROW LEVEL SECURITY;
CREATE POLICY everything ON hk_priv USING (true);
SET ROLE regress_occ_hk_blind;
BEGIN;
SET LOCAL occ.if_match = :'other_tag';
UPDATE hk_priv SET qty = 11 WHERE id = 1;
ROLLBACK;
RESET ROLE;
SELECT * FROM hk_priv ORDER BY id;
DROP TABLE hk_priv;
DROP ROLE regress_occ_hk_blind;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE hk_parts;
DROP FUNCTION hk_shape(regclass);
DROP FUNCTION hk_try(text, text, text);
DROP FUNCTION hk_state(text);
DROP FUNCTION hk_request(text, text);
SELECT count(*) AS left_over FROM occ.tables WHERE table_name::text LIKE 'hk\_%';
