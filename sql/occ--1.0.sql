/* occ--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION occ" to load this file. \quit

-- The schema is created here rather than named in the control file, so
-- that CREATE EXTENSION fails if a schema "occ" already exists (its owner
-- could otherwise plant functions that shadow ours), and so that it
-- belongs to the extension and to the superuser that runs this script,
-- also when a database owner installs occ as a trusted extension: nobody
-- else can create objects in it.
CREATE SCHEMA occ;

-- The trigger function.  It runs no SQL and resolves no names, so it has no
-- pinned search_path: a SET clause would wrap every row's call in a GUC
-- save and restore for nothing.
CREATE FUNCTION occ.check_version()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'occ_check_version';

COMMENT ON FUNCTION occ.check_version() IS
'trigger that checks the version a write states and advances the row''s version';

-- Administrative functions.  They are not SECURITY DEFINER: the DDL they run
-- is the caller's, checked against the caller's privileges.  They are not
-- STRICT either, so that a NULL argument is an error rather than a silent
-- no-op.
CREATE FUNCTION occ.enable(tbl pg_catalog.regclass,
                           version_column pg_catalog.name DEFAULT 'version',
                           kind pg_catalog.text DEFAULT 'integer',
                           mode pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_enable';

COMMENT ON FUNCTION occ.enable(pg_catalog.regclass, pg_catalog.name, pg_catalog.text, pg_catalog.text) IS
'protect a table with optimistic concurrency control, adding or adopting its version column';

CREATE FUNCTION occ.disable(tbl pg_catalog.regclass,
                            drop_column pg_catalog.bool DEFAULT false)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_disable';

COMMENT ON FUNCTION occ.disable(pg_catalog.regclass, pg_catalog.bool) IS
'stop protecting a table; its version column stays unless drop_column is true';

CREATE FUNCTION occ.set_mode(tbl pg_catalog.regclass, mode pg_catalog.text)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_set_mode';

COMMENT ON FUNCTION occ.set_mode(pg_catalog.regclass, pg_catalog.text) IS
'set a table''s check mode: strict, lax, none, or NULL to follow occ.default_mode';

CREATE FUNCTION occ.trigger_settings(tgnargs pg_catalog.int2, tgargs pg_catalog.bytea,
                                     OUT version_column pg_catalog.name,
                                     OUT kind pg_catalog.text,
                                     OUT mode pg_catalog.text,
                                     OUT effective_mode pg_catalog.text)
RETURNS record
LANGUAGE C STRICT STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_decode_trigger_settings';

COMMENT ON FUNCTION occ.trigger_settings(pg_catalog.int2, pg_catalog.bytea) IS
'decode the arguments of an occ trigger (used by the view occ.tables)';

-- One row per table protected by occ.enable.  The settings are the
-- arguments of the table's occ trigger.  Partitions, whose triggers are
-- clones of their partitioned table's, are not listed; nor is a table whose
-- trigger has been disabled, because it is not protected.
CREATE VIEW occ.tables AS
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
  AND t.tgenabled IN ('O', 'A');

COMMENT ON VIEW occ.tables IS
'tables protected by occ, with their version column, kind and mode';

GRANT USAGE ON SCHEMA occ TO PUBLIC;
GRANT SELECT ON occ.tables TO PUBLIC;
