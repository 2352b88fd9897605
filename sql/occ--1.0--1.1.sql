/* occ--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION occ UPDATE TO '1.1'" to load this file. \quit

-- Keep tables protected across DDL: follow a renamed version column, refuse
-- DDL that would leave one unusable, refuse triggers that would also set it.
CREATE FUNCTION occ.ddl_guard()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_ddl_guard';

COMMENT ON FUNCTION occ.ddl_guard() IS
'event trigger that keeps occ tables protected across ALTER TABLE and CREATE TRIGGER';

CREATE EVENT TRIGGER occ_ddl_guard ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER')
    EXECUTE FUNCTION occ.ddl_guard();

-- occ.tables lists only triggers that protect every write: defined the way
-- occ.enable defines them (BEFORE UPDATE OR DELETE FOR EACH ROW, type bits
-- 1 | 2 | 8 | 16 = 27, no WHEN condition, no column list) and with
-- arguments occ can read.
CREATE OR REPLACE VIEW occ.tables AS
SELECT c.oid::pg_catalog.regclass AS table_name,
       n.nspname AS schema_name,
       s.version_column,
       s.kind,
       s.mode,
       s.effective_mode
FROM pg_catalog.pg_trigger t
     JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN LATERAL occ.trigger_settings(t.tgnargs, t.tgargs) s
WHERE t.tgfoid = 'occ.check_version()'::pg_catalog.regprocedure
  AND t.tgparentid = 0
  AND t.tgenabled IN ('O', 'A')
  AND t.tgtype = 27
  AND t.tgqual IS NULL
  AND pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) = 0
  AND s.version_column IS NOT NULL;
