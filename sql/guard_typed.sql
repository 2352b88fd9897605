--
-- Typed tables (CREATE TABLE ... OF type): ALTER TYPE ... CASCADE changes
-- the columns of every table of the type.  For the version column the
-- guard does what it does for ALTER TABLE: a rename is followed, a drop or
-- a type that cannot hold versions is refused.
--
\set VERBOSITY default

CREATE TYPE typed_row AS (id int, qty int, version bigint);
CREATE TABLE typed_acc OF typed_row (PRIMARY KEY (id), version WITH OPTIONS NOT NULL DEFAULT 1);
INSERT INTO typed_acc VALUES (1, 10);
SELECT occ.enable('typed_acc', mode => 'strict');
-- a partitioned table of the type, and its partition
CREATE TABLE typed_parts OF typed_row (version WITH OPTIONS NOT NULL DEFAULT 1)
  PARTITION BY LIST (id);
CREATE TABLE typed_parts_1 PARTITION OF typed_parts FOR VALUES IN (1);
INSERT INTO typed_parts VALUES (1, 10);
SELECT occ.enable('typed_parts');

-- ==== renaming the attribute: the protection follows ====
ALTER TYPE typed_row RENAME ATTRIBUTE version TO row_version CASCADE;
SELECT table_name, version_column, mode FROM occ.tables
 WHERE table_name::text LIKE 'typed%' ORDER BY 1;
SELECT c.relname, (SELECT substr(a, length('column=') + 1)
          FROM unnest(string_to_array(encode(t.tgargs, 'escape'), '\000')) a
         WHERE a LIKE 'column=%') AS version_column
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure ORDER BY 1;
UPDATE typed_acc SET qty = 11, row_version = 1 WHERE id = 1;
UPDATE typed_acc SET qty = 12, row_version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE typed_acc SET qty = 12 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE typed_parts SET qty = 11, row_version = 1 WHERE id = 1;
UPDATE typed_parts SET qty = 12, row_version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE

-- The refusals below name the first table they find; one is enough.
SELECT occ.disable('typed_parts');

-- ==== changing its type: to one that fits, allowed; otherwise refused ====
ALTER TYPE typed_row ALTER ATTRIBUTE row_version TYPE integer CASCADE;
ALTER TYPE typed_row ALTER ATTRIBUTE row_version TYPE text CASCADE; \echo :LAST_ERROR_SQLSTATE
ALTER TYPE typed_row ALTER ATTRIBUTE row_version TYPE numeric CASCADE; \echo :LAST_ERROR_SQLSTATE

-- ==== dropping it is refused, also with an attribute of that name added back ====
ALTER TYPE typed_row DROP ATTRIBUTE row_version CASCADE; \echo :LAST_ERROR_SQLSTATE
ALTER TYPE typed_row DROP ATTRIBUTE row_version CASCADE,
  ADD ATTRIBUTE row_version bigint CASCADE; \echo :LAST_ERROR_SQLSTATE

-- nothing changed
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_attribute a
 WHERE a.attrelid = 'typed_acc'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
SELECT * FROM typed_acc;

-- ==== other attributes and other ALTER TYPE commands are not in the way ====
ALTER TYPE typed_row ADD ATTRIBUTE note text CASCADE;
ALTER TYPE typed_row RENAME ATTRIBUTE note TO remark CASCADE;
ALTER TYPE typed_row DROP ATTRIBUTE remark CASCADE;
ALTER TYPE typed_row RENAME TO typed_record;
CREATE TYPE typed_state AS ENUM ('open');
ALTER TYPE typed_state ADD VALUE 'closed';
SELECT table_name, version_column FROM occ.tables
 WHERE table_name::text LIKE 'typed%' ORDER BY 1;

-- ==== after occ.disable, the attribute is the user's again ====
SELECT occ.disable('typed_acc');
ALTER TYPE typed_record DROP ATTRIBUTE row_version CASCADE;

DROP TABLE typed_acc, typed_parts;
DROP TYPE typed_record, typed_state;
