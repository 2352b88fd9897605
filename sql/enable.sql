--
-- occ.enable, occ.disable, occ.set_mode: adding and adopting version
-- columns, and every refusal leaving the table as it was.
--
\set VERBOSITY default

-- What a table looks like to occ: its occ triggers, the version column's
-- type, nullability and default.
CREATE FUNCTION occ_shape(tbl regclass, col name DEFAULT 'version')
RETURNS TABLE (triggers bigint, listed bigint, col_type text, not_null bool, col_default text)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM pg_trigger
           WHERE tgrelid = tbl AND tgfoid = 'occ.check_version()'::regprocedure),
         (SELECT count(*) FROM occ.tables WHERE table_name = tbl),
         format_type(a.atttypid, a.atttypmod),
         a.attnotnull,
         pg_get_expr(d.adbin, d.adrelid)
  FROM (SELECT 1) one
  LEFT JOIN pg_attribute a ON a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
$$;

-- ==== adding a column, without rewriting the table ====
CREATE TABLE accounts (id int PRIMARY KEY, balance int);
INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 3) g;
SELECT pg_relation_filenode('accounts') AS filenode_before \gset
SELECT occ.enable('accounts');
SELECT * FROM occ_shape('accounts');
SELECT pg_relation_filenode('accounts') = :filenode_before AS not_rewritten;
SELECT * FROM accounts ORDER BY id;
SELECT table_name, schema_name, version_column, kind, mode, effective_mode
  FROM occ.tables ORDER BY table_name::text;

CREATE TABLE trades (id int PRIMARY KEY, qty int);
INSERT INTO trades VALUES (1, 100);
SELECT pg_relation_filenode('trades') AS filenode_before \gset
SELECT occ.enable('trades', version_column => 'updated_at', kind => 'timestamp',
                  mode => 'strict');
SELECT * FROM occ_shape('trades', 'updated_at');
SELECT pg_relation_filenode('trades') = :filenode_before AS not_rewritten;
SELECT updated_at IS NOT NULL AS has_version FROM trades;
SELECT table_name, version_column, kind, mode, effective_mode
  FROM occ.tables ORDER BY table_name::text;

-- ==== adopting an existing column of every fitting type ====
CREATE TABLE adopt_int2 (id int PRIMARY KEY, v smallint NOT NULL DEFAULT 0);
CREATE TABLE adopt_int4 (id int PRIMARY KEY, v integer);
CREATE TABLE adopt_int8 (id int PRIMARY KEY, v bigint NOT NULL);
CREATE TABLE adopt_ts (id int PRIMARY KEY, v timestamp NOT NULL DEFAULT '2000-01-01');
CREATE TABLE adopt_tstz (id int PRIMARY KEY, v timestamptz);
INSERT INTO adopt_int2 VALUES (1, 7);
INSERT INTO adopt_int4 VALUES (1, 7);
INSERT INTO adopt_int8 VALUES (1, 7);
INSERT INTO adopt_ts VALUES (1, '2020-01-01');
INSERT INTO adopt_tstz VALUES (1, '2020-01-01 00:00:00+00');
SELECT occ.enable('adopt_int2', 'v');
SELECT occ.enable('adopt_int4', 'v');
SELECT occ.enable('adopt_int8', 'v', 'integer', 'lax');
SELECT occ.enable('adopt_ts', 'v', 'timestamp');
SELECT occ.enable('adopt_tstz', 'v', 'timestamp', 'none');
-- adopted columns keep their type and default; a nullable one becomes NOT NULL
SELECT t, s.* FROM unnest(ARRAY['adopt_int2', 'adopt_int4', 'adopt_int8',
                                'adopt_ts', 'adopt_tstz']::regclass[]) t,
       occ_shape(t, 'v') s ORDER BY t::text;
-- existing versions are kept, and advance from there
UPDATE adopt_int2 SET id = id;
UPDATE adopt_int4 SET id = id;
SELECT (SELECT v FROM adopt_int2) AS int2_v, (SELECT v FROM adopt_int4) AS int4_v;
SELECT table_name, version_column, kind, mode, effective_mode
  FROM occ.tables ORDER BY table_name::text;

-- ==== refusals: the error, and nothing changed ====
-- a column of a type that cannot hold the kind
CREATE TABLE wrong_type (id int PRIMARY KEY, version text, stamp date);
SELECT occ.enable('wrong_type'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', 'stamp', 'timestamp'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', 'id', 'timestamp'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('wrong_type');
-- identity and generated columns cannot be written by UPDATE
CREATE TABLE ident (id int PRIMARY KEY, version bigint GENERATED ALWAYS AS IDENTITY);
SELECT occ.enable('ident'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('ident');
CREATE TABLE gen (id int PRIMARY KEY, version bigint GENERATED ALWAYS AS (id * 2) STORED);
SELECT occ.enable('gen'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('gen');
-- NULLs present: refused by PostgreSQL's own NOT NULL check, column unchanged
CREATE TABLE has_nulls (id int PRIMARY KEY, version int);
INSERT INTO has_nulls VALUES (1, 1), (2, NULL);
SELECT occ.enable('has_nulls'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('has_nulls');
-- system columns
SELECT occ.enable('wrong_type', 'xmin'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', 'ctid', 'integer'); \echo :LAST_ERROR_SQLSTATE
-- relations that are not tables
CREATE VIEW accounts_view AS SELECT * FROM accounts;
SELECT occ.enable('accounts_view'); \echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW accounts_mv AS SELECT * FROM accounts;
SELECT occ.enable('accounts_mv'); \echo :LAST_ERROR_SQLSTATE
CREATE SEQUENCE some_seq;
SELECT occ.enable('some_seq'); \echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN DATA WRAPPER occ_test_fdw;
CREATE SERVER occ_test_server FOREIGN DATA WRAPPER occ_test_fdw;
CREATE FOREIGN TABLE remote_accounts (id int, version bigint) SERVER occ_test_server;
SELECT occ.enable('remote_accounts'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('pg_class'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('pg_catalog.pg_namespace', 'oid'); \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS occ_triggers_on_catalogs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'pg_catalog'::regnamespace;
-- bad arguments
SELECT occ.enable('wrong_type', kind => 'checksum'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', kind => 'Integer'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', mode => 'paranoid'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', mode => 'default'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable(NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', kind => NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('wrong_type', ''); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('no_such_table'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable(0); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable(999999999); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('wrong_type');
SELECT * FROM occ_shape('wrong_type', 'stamp');
SELECT count(*) AS listed FROM occ.tables WHERE table_name::text NOT IN
  ('accounts', 'trades', 'adopt_int2', 'adopt_int4', 'adopt_int8', 'adopt_ts', 'adopt_tstz');

-- ==== calling enable again ====
SELECT tgname, oid AS trigger_oid FROM pg_trigger
 WHERE tgrelid = 'accounts'::regclass AND tgfoid = 'occ.check_version()'::regprocedure \gset
-- same column and kind, no mode: nothing changes, the same trigger stays
SELECT occ.enable('accounts');
SELECT occ.enable('accounts', 'version', 'integer');
SELECT oid = :trigger_oid AS same_trigger, tgname FROM pg_trigger
 WHERE tgrelid = 'accounts'::regclass AND tgfoid = 'occ.check_version()'::regprocedure;
-- a mode changes the mode, still one trigger
SELECT occ.enable('accounts', mode => 'strict');
SELECT * FROM occ_shape('accounts');
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
-- enable without a mode never weakens a mode already set
SELECT occ.enable('accounts');
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
-- a different column or kind is refused
SELECT occ.enable('accounts', 'balance'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('accounts', kind => 'timestamp'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('trades', 'updated_at', 'integer'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('accounts');
SELECT * FROM occ_shape('accounts', 'balance');
SELECT table_name, version_column, kind, mode
  FROM occ.tables WHERE table_name IN ('accounts'::regclass, 'trades'::regclass)
 ORDER BY table_name::text;

-- ==== set_mode ====
SELECT occ.set_mode('accounts', 'lax');
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
SELECT occ.set_mode('accounts', 'none');
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
SELECT occ.set_mode('accounts', NULL);
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
SELECT * FROM occ_shape('accounts');
SELECT occ.set_mode('accounts', 'loose'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode(NULL, 'lax'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('wrong_type', 'strict'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('wrong_type', NULL); \echo :LAST_ERROR_SQLSTATE
SELECT mode FROM occ.tables WHERE table_name = 'accounts'::regclass;
SELECT * FROM occ_shape('wrong_type');

-- ==== disable ====
SELECT occ.disable('wrong_type'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.disable(NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.disable('accounts', NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.disable('accounts'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM occ_shape('accounts');
-- the column stays, and is no longer advanced
UPDATE accounts SET balance = balance + 1 WHERE id = 1;
SELECT id, version FROM accounts ORDER BY id;
SELECT occ.disable('accounts'); \echo :LAST_ERROR_SQLSTATE
-- enabling again adopts the kept column
SELECT occ.enable('accounts');
SELECT * FROM occ_shape('accounts');
SELECT occ.disable('trades', drop_column => true);
SELECT * FROM occ_shape('trades', 'updated_at');
SELECT table_name FROM occ.tables ORDER BY table_name::text;

-- ==== a disabled trigger is not protection ====
ALTER TABLE accounts DISABLE TRIGGER occ_version;
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'accounts'::regclass;
SELECT occ.enable('accounts');
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'accounts'::regclass;

-- ==== an occ trigger made by hand must be one occ.enable could make ====
CREATE TABLE misuse (id int, version bigint NOT NULL DEFAULT 1, label text);
INSERT INTO misuse VALUES (1);
CREATE TRIGGER after_row AFTER UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER on_insert BEFORE INSERT ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER update_only BEFORE UPDATE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER some_columns BEFORE UPDATE OF label OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER some_rows BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW WHEN (OLD.id > 5)
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER bad_args BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER bad_kind BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=hash', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER no_column BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=nothing', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER text_column BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=label', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'misuse'::regclass;
-- one made exactly as occ.enable makes it is accepted, and listed
CREATE TRIGGER by_hand BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=strict');
SELECT table_name, version_column, mode FROM occ.tables WHERE table_name = 'misuse'::regclass;
DROP TRIGGER by_hand ON misuse;

-- ==== the trigger function itself refuses to be misused ====
-- With the DDL guard switched off, as a superuser could, such triggers can
-- be made; they are not listed as protection, and they fail every write
-- they fire for rather than let it pass unchecked.
ALTER EVENT TRIGGER occ_ddl_guard DISABLE;
CREATE TRIGGER after_row AFTER UPDATE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
UPDATE misuse SET id = 2; \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER after_row ON misuse;
CREATE TRIGGER on_insert BEFORE INSERT ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
INSERT INTO misuse VALUES (2); \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER on_insert ON misuse;
CREATE TRIGGER per_statement BEFORE UPDATE ON misuse FOR EACH STATEMENT
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
UPDATE misuse SET id = 2; \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER per_statement ON misuse;
CREATE TRIGGER update_only BEFORE UPDATE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax');
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'misuse'::regclass;
UPDATE misuse SET id = 2; \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('misuse'); \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER update_only ON misuse;
CREATE TRIGGER bad_args BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer');
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'misuse'::regclass;
UPDATE misuse SET id = 2; \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_args ON misuse;
CREATE TRIGGER no_column BEFORE UPDATE OR DELETE ON misuse FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=nothing', 'kind=integer', 'mode=lax');
UPDATE misuse SET id = 2; \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER no_column ON misuse;
ALTER EVENT TRIGGER occ_ddl_guard ENABLE;
SELECT occ.check_version(); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM misuse ORDER BY id;

-- ==== occ.enable says which column it used, and warns of quoted names ====
CREATE TABLE orm_rows (id int PRIMARY KEY, lock_version int NOT NULL DEFAULT 0,
                       "updatedAt" timestamptz NOT NULL DEFAULT now());
-- an existing column is adopted
SELECT occ.enable('orm_rows', 'lock_version');
SELECT occ.disable('orm_rows');
-- a typo adds a column: the NOTICE says so
SELECT occ.enable('orm_rows', 'lock_verison');
SELECT occ.disable('orm_rows', drop_column => true);
-- a name that differs from a column only by case, as an unquoted
-- identifier would fold it
SELECT occ.enable('orm_rows', 'updatedat', 'timestamp');
SELECT occ.disable('orm_rows', drop_column => true);
-- a name quoted as in SQL
SELECT occ.enable('orm_rows', '"updatedAt"', 'timestamp');
SELECT occ.disable('orm_rows', drop_column => true);
-- the name as it is
SELECT occ.enable('orm_rows', 'updatedAt', 'timestamp');
SELECT attname FROM pg_attribute WHERE attrelid = 'orm_rows'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum;

DROP TABLE orm_rows;
DROP VIEW accounts_view;
DROP MATERIALIZED VIEW accounts_mv;
DROP TABLE accounts, trades, adopt_int2, adopt_int4, adopt_int8, adopt_ts, adopt_tstz,
  wrong_type, ident, gen, has_nulls, misuse;
DROP SEQUENCE some_seq;
DROP FOREIGN TABLE remote_accounts;
DROP SERVER occ_test_server;
DROP FOREIGN DATA WRAPPER occ_test_fdw;
DROP FUNCTION occ_shape(regclass, name);
SELECT count(*) AS listed FROM occ.tables;
