--
-- Changing a table's settings re-creates its occ trigger (its arguments
-- cannot be altered): occ.set_mode, occ.enable with a new mode, and the
-- guard following a renamed version column.  What the user set on the
-- trigger stays: ENABLE REPLICA / ENABLE ALWAYS / DISABLE and its comment,
-- on a partitioned table's trigger and on each partition's clone.
--
\set VERBOSITY default

-- Each occ trigger's firing state, comment and settings.
CREATE FUNCTION state_of(pattern text)
RETURNS TABLE (relname name, tgname name, tgenabled "char", comment text,
               version_column name, mode text)
LANGUAGE sql AS $$
  SELECT c.relname, t.tgname, t.tgenabled, obj_description(t.oid, 'pg_trigger'),
         (SELECT substr(a, length('column=') + 1) FROM unnest(args) a
           WHERE a LIKE 'column=%')::name,
         (SELECT substr(a, length('mode=') + 1) FROM unnest(args) a
           WHERE a LIKE 'mode=%')
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   -- the arguments, which tgargs holds each followed by a NUL byte
   CROSS JOIN LATERAL string_to_array(encode(t.tgargs, 'escape'), '\000') AS args
   WHERE t.tgfoid = 'occ.check_version()'::regprocedure AND c.relname LIKE pattern
   ORDER BY c.relname
$$;

-- ==== a table's trigger ====
CREATE TABLE state_acc (id int PRIMARY KEY, qty int);
INSERT INTO state_acc VALUES (1, 10);
SELECT occ.enable('state_acc');
-- a logical replication subscriber's table: the trigger fires for the
-- apply worker only
ALTER TABLE state_acc ENABLE REPLICA TRIGGER occ_version;
COMMENT ON TRIGGER occ_version ON state_acc IS 'checked on the subscriber';
SELECT occ.set_mode('state_acc', 'strict');
SELECT * FROM state_of('state_acc');
ALTER TABLE state_acc RENAME COLUMN version TO v;
SELECT * FROM state_of('state_acc');
ALTER TABLE state_acc ENABLE ALWAYS TRIGGER occ_version;
SELECT occ.set_mode('state_acc', 'lax');
SELECT * FROM state_of('state_acc');
ALTER TABLE state_acc RENAME COLUMN v TO version;
SELECT * FROM state_of('state_acc');
-- firing always, it checks
UPDATE state_acc SET qty = 11, version = 0 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- a disabled trigger stays disabled through set_mode
ALTER TABLE state_acc DISABLE TRIGGER occ_version;
SELECT occ.set_mode('state_acc', 'strict');
SELECT * FROM state_of('state_acc');
-- occ.enable re-enables a disabled trigger, with a new mode too; the
-- comment stays
SELECT occ.enable('state_acc', mode => 'lax');
SELECT * FROM state_of('state_acc');

-- ==== a partitioned table and its partitions' clones ====
CREATE TABLE state_parts (id int, region text) PARTITION BY LIST (region);
CREATE TABLE state_parts_a PARTITION OF state_parts FOR VALUES IN ('a');
CREATE TABLE state_parts_b PARTITION OF state_parts FOR VALUES IN ('b');
CREATE TABLE state_parts_c PARTITION OF state_parts FOR VALUES IN ('c');
SELECT occ.enable('state_parts');
ALTER TABLE ONLY state_parts ENABLE ALWAYS TRIGGER occ_version;
ALTER TABLE ONLY state_parts_a DISABLE TRIGGER occ_version;
ALTER TABLE ONLY state_parts_b ENABLE REPLICA TRIGGER occ_version;
COMMENT ON TRIGGER occ_version ON state_parts IS 'parent';
COMMENT ON TRIGGER occ_version ON state_parts_b IS 'partition b';
SELECT * FROM state_of('state_parts%');
SELECT occ.set_mode('state_parts', 'strict');
SELECT * FROM state_of('state_parts%');
ALTER TABLE state_parts RENAME COLUMN version TO v;
SELECT * FROM state_of('state_parts%');

DROP TABLE state_acc, state_parts;
DROP FUNCTION state_of(text);
