--
-- Dropping the version column is refused in any form while the table is
-- enabled, also when the same ALTER TABLE adds a column of that name back:
-- the versions would restart at the default, and a client that read
-- version 1 long ago would match again.
--
\set VERBOSITY default

-- What a table's versions look like, to show that nothing changed.
CREATE FUNCTION drop_versions(tbl regclass, col name DEFAULT 'version')
RETURNS TABLE (attnum int2, attname name, versions text)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT a.attnum, a.attname, (SELECT string_agg(%I::text, '','' ORDER BY id) FROM %s)
       FROM pg_attribute a WHERE a.attrelid = $1 AND a.attname = $2',
    col, tbl) USING tbl, col;
END $$;

CREATE TABLE drop_acc (id int PRIMARY KEY, balance int);
INSERT INTO drop_acc VALUES (1, 10), (2, 20);
SELECT occ.enable('drop_acc');
UPDATE drop_acc SET balance = balance + 1;
UPDATE drop_acc SET balance = balance + 1 WHERE id = 1;
SELECT * FROM drop_versions('drop_acc');

-- ==== drop and add back in one ALTER TABLE: refused ====
ALTER TABLE drop_acc DROP COLUMN version, ADD COLUMN version bigint NOT NULL DEFAULT 1; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE drop_acc DROP COLUMN version CASCADE,
  ADD COLUMN version integer NOT NULL DEFAULT 1; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE drop_acc ADD COLUMN version2 bigint NOT NULL DEFAULT 1, DROP COLUMN version,
  ALTER COLUMN balance SET DEFAULT 0; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM drop_versions('drop_acc');
-- a stale write is still caught
UPDATE drop_acc SET balance = 0, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE

-- ==== the same through a partitioned table and an inheritance parent ====
CREATE TABLE drop_parts (id int, region text) PARTITION BY LIST (region);
CREATE TABLE drop_parts_a PARTITION OF drop_parts FOR VALUES IN ('a');
INSERT INTO drop_parts VALUES (1, 'a');
SELECT occ.enable('drop_parts');
UPDATE drop_parts SET region = 'a';
ALTER TABLE drop_parts DROP COLUMN version, ADD COLUMN version bigint NOT NULL DEFAULT 1; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM drop_versions('drop_parts_a');

CREATE TABLE drop_base (id int, version bigint NOT NULL DEFAULT 1);
CREATE TABLE drop_child () INHERITS (drop_base);
INSERT INTO drop_child VALUES (1, 1);
SELECT occ.enable('drop_child');
UPDATE drop_child SET id = 1;
ALTER TABLE drop_base DROP COLUMN version, ADD COLUMN version bigint NOT NULL DEFAULT 1; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM drop_versions('drop_child');

-- ==== what must keep working ====
-- dropping another column, and adding one back
ALTER TABLE drop_acc ADD COLUMN note text;
ALTER TABLE drop_acc DROP COLUMN note, ADD COLUMN note text;
-- a column of a table that is not enabled
CREATE TABLE drop_plain (id int, version bigint);
ALTER TABLE drop_plain DROP COLUMN version, ADD COLUMN version bigint;
-- dropping the enabled tables themselves
DROP TABLE drop_plain, drop_parts;
-- occ.disable(drop_column => true), which drops the trigger first
SELECT occ.disable('drop_acc', drop_column => true);
SELECT attname FROM pg_attribute WHERE attrelid = 'drop_acc'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
-- disabled, the column is the user's again
SELECT occ.enable('drop_acc');
DROP TRIGGER occ_version ON drop_acc;
ALTER TABLE drop_acc DROP COLUMN version, ADD COLUMN version bigint NOT NULL DEFAULT 1;

DROP TABLE drop_acc, drop_base CASCADE;
DROP FUNCTION drop_versions(regclass, name);
