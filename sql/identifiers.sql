--
-- identifiers: schema, table and column names that need quoting -- mixed
-- case, spaces, double and single quotes, backslashes, semicolons -- work
-- everywhere, and nothing in a name is ever executed as SQL.
--

-- Show a column's definition, and the occ trigger's arguments as stored.
CREATE FUNCTION id_columns(tbl regclass)
RETURNS TABLE (attnum smallint, attname name, type text, not_null boolean, "default" text)
LANGUAGE sql AS $$
    SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
           a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
    FROM pg_attribute a
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
$$;

CREATE FUNCTION id_trigger(tbl regclass)
RETURNS TABLE (tgname name, definition text)
LANGUAGE sql AS $$
    SELECT t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t
    WHERE t.tgrelid = tbl AND NOT t.tgisinternal
    ORDER BY t.tgname
$$;

-- ===================================================================
-- a quoted schema, table and version column
-- ===================================================================
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Order ""Items""" (
    "Item Id" int PRIMARY KEY,
    "Qty" int
);
INSERT INTO "My Schema"."Order ""Items""" VALUES (1, 10), (2, 20);

SELECT occ.enable('"My Schema"."Order ""Items"""', version_column => 'Row Version');
SELECT * FROM id_columns('"My Schema"."Order ""Items"""');
SELECT * FROM id_trigger('"My Schema"."Order ""Items"""');

-- occ.tables shows the names as they are; the regclass is quoted as
-- PostgreSQL quotes it.
SELECT table_name, schema_name, version_column, kind, mode, effective_mode
FROM occ.tables WHERE schema_name = 'My Schema' ORDER BY table_name::text;

-- Writes are checked and advance the quoted column.
UPDATE "My Schema"."Order ""Items""" SET "Qty" = 11, "Row Version" = 1
WHERE "Item Id" = 1;
UPDATE "My Schema"."Order ""Items""" SET "Qty" = 12, "Row Version" = 1
WHERE "Item Id" = 1;
SET occ.if_match = '"1"';
DELETE FROM "My Schema"."Order ""Items""" WHERE "Item Id" = 1;
RESET occ.if_match;
SELECT * FROM "My Schema"."Order ""Items""" ORDER BY "Item Id";

-- set_mode works through the quoted names.
SELECT occ.set_mode('"My Schema"."Order ""Items"""', 'strict');
UPDATE "My Schema"."Order ""Items""" SET "Qty" = 21 WHERE "Item Id" = 2;
UPDATE "My Schema"."Order ""Items""" SET "Qty" = 21, "Row Version" = 1
WHERE "Item Id" = 2;
SELECT * FROM "My Schema"."Order ""Items""" ORDER BY "Item Id";
SELECT table_name, schema_name, version_column, mode, effective_mode
FROM occ.tables WHERE schema_name = 'My Schema' ORDER BY table_name::text;
SELECT * FROM id_trigger('"My Schema"."Order ""Items"""');

-- Calling enable again with the same names changes nothing.
SELECT occ.enable('"My Schema"."Order ""Items"""', version_column => 'Row Version');
SELECT * FROM id_trigger('"My Schema"."Order ""Items"""');

-- Names are compared exactly: a differently cased column is another column.
SELECT occ.enable('"My Schema"."Order ""Items"""', version_column => 'row version');

-- With the schema on the search path the table is named unqualified.
SET search_path = "My Schema", public;
SELECT table_name, schema_name FROM occ.tables
WHERE schema_name = 'My Schema' ORDER BY table_name::text;
SELECT occ.set_mode('"Order ""Items"""', NULL);
SELECT table_name, mode, effective_mode FROM occ.tables
WHERE schema_name = 'My Schema' ORDER BY table_name::text;
RESET search_path;

-- disable with drop_column removes the trigger and the quoted column.
SELECT occ.disable('"My Schema"."Order ""Items"""', drop_column => true);
SELECT * FROM id_columns('"My Schema"."Order ""Items"""');
SELECT * FROM id_trigger('"My Schema"."Order ""Items"""');
SELECT count(*) FROM occ.tables WHERE schema_name = 'My Schema';

-- ===================================================================
-- adopting an existing column with an odd name
-- ===================================================================
CREATE TABLE "My Schema"."it's" (id int PRIMARY KEY, "O'Brien\ver" int NOT NULL DEFAULT 0);
INSERT INTO "My Schema"."it's" VALUES (1, 4);
SELECT occ.enable('"My Schema"."it''s"', version_column => E'O\'Brien\\ver', mode => 'lax');
SELECT * FROM id_trigger('"My Schema"."it''s"');
UPDATE "My Schema"."it's" SET "O'Brien\ver" = 3 WHERE id = 1;
UPDATE "My Schema"."it's" SET "O'Brien\ver" = 4 WHERE id = 1;
SELECT * FROM "My Schema"."it's" ORDER BY id;
SELECT table_name, schema_name, version_column
FROM occ.tables WHERE schema_name = 'My Schema' ORDER BY table_name::text;
SELECT occ.disable('"My Schema"."it''s"', drop_column => true);
SELECT * FROM id_columns('"My Schema"."it''s"');

-- ===================================================================
-- no SQL injection through names
-- ===================================================================
CREATE TABLE id_victim (id int);
INSERT INTO id_victim VALUES (1);

-- A column name that would end the statement if it were not quoted.
CREATE TABLE id_target (id int PRIMARY KEY, note text);
INSERT INTO id_target VALUES (1, 'a');
SELECT occ.enable('id_target', version_column => 'version"; DROP TABLE id_victim; --');
SELECT * FROM id_columns('id_target');
SELECT * FROM id_trigger('id_target');
UPDATE id_target SET note = 'b' WHERE id = 1;
UPDATE id_target SET note = 'c', "version""; DROP TABLE id_victim; --" = 1 WHERE id = 1;
SELECT * FROM id_target ORDER BY id;
SELECT occ.set_mode('id_target', 'strict');
SELECT occ.disable('id_target', drop_column => true);
SELECT * FROM id_columns('id_target');

-- The same with a single quote, which would end a string literal.
SELECT occ.enable('id_target', version_column => 'v''); DROP TABLE id_victim; --');
SELECT * FROM id_columns('id_target');
SELECT * FROM id_trigger('id_target');
UPDATE id_target SET note = 'd' WHERE id = 1;
SELECT * FROM id_target ORDER BY id;
SELECT occ.set_mode('id_target', 'none');
SELECT occ.disable('id_target', drop_column => true);

-- A table name that would end the statement if it were not quoted.
CREATE TABLE "id_t; DROP TABLE id_victim; --" (id int PRIMARY KEY);
INSERT INTO "id_t; DROP TABLE id_victim; --" VALUES (1);
SELECT occ.enable('"id_t; DROP TABLE id_victim; --"', mode => 'strict');
UPDATE "id_t; DROP TABLE id_victim; --" SET version = 1 WHERE id = 1;
SELECT * FROM "id_t; DROP TABLE id_victim; --" ORDER BY id;
SELECT table_name, schema_name FROM occ.tables
WHERE table_name::text LIKE '%id\_t;%' ORDER BY table_name::text;
SELECT occ.set_mode('"id_t; DROP TABLE id_victim; --"', 'lax');

-- Modes and kinds are never spliced into SQL either: they are checked
-- against a fixed list.
SELECT occ.set_mode('"id_t; DROP TABLE id_victim; --"',
                    $$lax'); DROP TABLE id_victim; --$$);
SELECT occ.enable('"id_t; DROP TABLE id_victim; --"',
                  mode => $$lax'); DROP TABLE id_victim; --$$);
SELECT occ.enable('id_target',
                  kind => $$integer'); DROP TABLE id_victim; --$$);
SELECT table_name, mode FROM occ.tables
WHERE table_name::text LIKE '%id\_t;%' ORDER BY table_name::text;

SELECT occ.disable('"id_t; DROP TABLE id_victim; --"', drop_column => true);
SELECT * FROM id_columns('"id_t; DROP TABLE id_victim; --"');

-- The victim survived all of it.
SELECT * FROM id_victim ORDER BY id;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE id_victim, id_target, "id_t; DROP TABLE id_victim; --";
DROP TABLE "My Schema"."Order ""Items""", "My Schema"."it's";
DROP SCHEMA "My Schema";
DROP FUNCTION id_columns(regclass);
DROP FUNCTION id_trigger(regclass);
SELECT count(*) FROM occ.tables
WHERE schema_name = 'My Schema' OR table_name::text LIKE '%id\_%';
