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

-- ---------------------------------------------------------------------
-- The row trigger
-- ---------------------------------------------------------------------

-- The trigger function.  It runs no SQL and resolves no names, so it has no
-- pinned search_path: a SET clause would wrap every row's call in a GUC
-- save and restore for nothing.
CREATE FUNCTION occ.check_version()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'occ_check_version';

COMMENT ON FUNCTION occ.check_version() IS
'trigger that checks the version a write states and advances the row''s version';

-- ---------------------------------------------------------------------
-- Enabling, disabling, modes
-- ---------------------------------------------------------------------

-- They are not SECURITY DEFINER: the DDL they run is the caller's, checked
-- against the caller's privileges.  They are not STRICT either, so that a
-- NULL argument is an error rather than a silent no-op.
-- "exclude" lists the columns a hash-kind table's versions do not count;
-- "stream_column" names a stream table's stream (kind stream); "audit" is
-- the stricter mode whose refusals are reported instead of raised.
CREATE FUNCTION occ.enable(tbl pg_catalog.regclass,
                           version_column pg_catalog.name DEFAULT 'version',
                           kind pg_catalog.text DEFAULT 'integer',
                           mode pg_catalog.text DEFAULT NULL,
                           exclude pg_catalog.name[] DEFAULT NULL,
                           stream_column pg_catalog.name DEFAULT NULL,
                           audit pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_enable';

COMMENT ON FUNCTION occ.enable(pg_catalog.regclass, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.name[], pg_catalog.name, pg_catalog.text) IS
'protect a table with optimistic concurrency control, adding or adopting its version column (none for kind hash)';

CREATE FUNCTION occ.disable(tbl pg_catalog.regclass,
                            drop_column pg_catalog.bool DEFAULT false)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_disable';

COMMENT ON FUNCTION occ.disable(pg_catalog.regclass, pg_catalog.bool) IS
'stop protecting a table; its version column stays unless drop_column is true';

CREATE FUNCTION occ.set_mode(tbl pg_catalog.regclass, mode pg_catalog.text,
                             audit pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_set_mode';

COMMENT ON FUNCTION occ.set_mode(pg_catalog.regclass, pg_catalog.text, pg_catalog.text) IS
'set a table''s check mode (strict, lax, none, or NULL to follow occ.default_mode) and audit level (strict, lax, or NULL to follow occ.default_audit)';

-- What occ.tables shows.  The settings of a table are the arguments of its
-- occ trigger, and whether a trigger protects its table (it is defined the
-- way occ.enable defines it, enabled, and not a partition's clone) is
-- decided by the same C code that the trigger, the DDL guard and the
-- wrappers use.
CREATE FUNCTION occ.protected_tables(OUT table_name pg_catalog.regclass,
                                     OUT schema_name pg_catalog.name,
                                     OUT version_column pg_catalog.name,
                                     OUT kind pg_catalog.text,
                                     OUT mode pg_catalog.text,
                                     OUT effective_mode pg_catalog.text,
                                     OUT audit pg_catalog.text,
                                     OUT effective_audit pg_catalog.text,
                                     OUT excluded_columns pg_catalog.name[],
                                     OUT stream_column pg_catalog.name)
RETURNS SETOF record
LANGUAGE C STRICT STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_protected_tables';

COMMENT ON FUNCTION occ.protected_tables() IS
'the tables protected by occ and their settings (used by the view occ.tables)';

-- One row per table protected by occ.enable.  Partitions, whose triggers
-- are clones of their partitioned table's, are not listed; nor is a table
-- whose trigger has been disabled, because it is not protected.
CREATE VIEW occ.tables AS
SELECT table_name, schema_name, version_column, kind, mode, effective_mode,
       audit, effective_audit, excluded_columns, stream_column
FROM occ.protected_tables();

COMMENT ON VIEW occ.tables IS
'tables protected by occ, with their version column (or excluded columns, for kind hash; and stream column, for kind stream), kind, mode and audit level';

-- ---------------------------------------------------------------------
-- The DDL guard
-- ---------------------------------------------------------------------

-- Keep tables protected across DDL: follow a renamed version column,
-- refuse DDL that would leave one unusable, refuse a second occ trigger
-- and triggers certain to set the version column too.  ALTER TYPE ...
-- CASCADE changes the columns of the tables of a composite type (CREATE
-- TABLE ... OF type): it is guarded like ALTER TABLE.
CREATE FUNCTION occ.ddl_guard()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_ddl_guard';

COMMENT ON FUNCTION occ.ddl_guard() IS
'event trigger that keeps occ tables protected across DDL';

CREATE EVENT TRIGGER occ_ddl_guard ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER TYPE', 'CREATE TRIGGER')
    EXECUTE FUNCTION occ.ddl_guard();

-- Dropping the version column is refused when it happens (sql_drop), not
-- only when the column is missing at the end of the command: "DROP COLUMN
-- version, ADD COLUMN version ..." would otherwise restart every version.
-- ALTER TABLE and ALTER TYPE are the only commands that can drop a column
-- whose type fits a version (the version types are built-in types, which
-- no DROP ... CASCADE removes).
CREATE EVENT TRIGGER occ_drop_guard ON sql_drop
    WHEN TAG IN ('ALTER TABLE', 'ALTER TYPE')
    EXECUTE FUNCTION occ.ddl_guard();

-- ---------------------------------------------------------------------
-- RPC and HTTP callers
-- ---------------------------------------------------------------------

-- Entity tags: of a version, or of a whole row of a table of kind hash
-- (the hash of its content).  One function for both, since PostgreSQL
-- cannot choose between an anyelement and a record overload for a row.
-- STABLE, not IMMUTABLE: a row's tag depends on the table's excluded
-- columns, which can change.  No SET clause: it resolves no names, and a
-- SET clause costs every call a GUC save and restore (several times the
-- function's own cost per row).
CREATE FUNCTION occ.etag(version pg_catalog.anyelement)
RETURNS pg_catalog.text
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'occ_etag';

COMMENT ON FUNCTION occ.etag(pg_catalog.anyelement) IS
'the strong entity tag of a version, or of a row of a table of kind hash, as occ.if_match and the wrappers accept it';

-- One row, named by a full unique key, written under the table's check.
-- They run as the caller.  No SET clause: they resolve every name by OID
-- or write it schema-qualified, and a pinned search_path would be in force
-- while the table's own triggers and row-level security policies run, so
-- that a trigger naming a table without its schema would work for a plain
-- UPDATE and fail through the wrapper.
CREATE FUNCTION occ.update(tbl pg_catalog.regclass, key pg_catalog.jsonb,
                           if_match pg_catalog.text, changes pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'occ_update';

COMMENT ON FUNCTION occ.update(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.jsonb) IS
'update the row with this key if its version matches if_match; returns the new row';

CREATE FUNCTION occ.delete(tbl pg_catalog.regclass, key pg_catalog.jsonb,
                           if_match pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'occ_delete';

COMMENT ON FUNCTION occ.delete(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text) IS
'delete the row with this key if its version matches if_match; returns the deleted row';

-- Streams (kind stream).  occ.append runs as the caller, like the
-- wrappers, and for the same reasons has no SET clause.  It returns the
-- stream's version after the append.
CREATE FUNCTION occ.append(tbl pg_catalog.regclass, stream pg_catalog.text,
                           expected pg_catalog.text, events pg_catalog.jsonb)
RETURNS pg_catalog.int8
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'occ_append';

COMMENT ON FUNCTION occ.append(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'append events to a stream if it has the expected version (NULL: any); returns the stream''s new version';

CREATE FUNCTION occ.stream_version(tbl pg_catalog.regclass, stream pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'occ_stream_version';

COMMENT ON FUNCTION occ.stream_version(pg_catalog.regclass, pg_catalog.text) IS
'the version of a stream (its number of events) as the caller''s snapshot shows it; 0 if it has none';

-- PostgREST's pre-request function (db-pre-request): the request's
-- If-Match header becomes occ.if_match, and errors take HTTP statuses
-- (PT412, PT428), for this transaction only.  With Citus, the settings
-- are made with SET LOCAL while citus.propagate_set_commands is 'local'
-- (for this transaction), which Citus sends on to the sessions on the
-- other nodes where the shards' triggers run; set_config() would stay on
-- this node.
CREATE FUNCTION occ.postgrest_pre_request()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    if_match text := NULLIF(pg_catalog.current_setting('request.headers', true), '')::pg_catalog.json
                     OPERATOR(pg_catalog.->>) 'if-match';
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        SET LOCAL citus.propagate_set_commands = 'local';
        SET LOCAL occ.error_style = 'http';
        IF if_match IS NOT NULL THEN
            EXECUTE pg_catalog.format('SET LOCAL occ.if_match = %L', if_match);
        END IF;
        RETURN;
    END IF;
    PERFORM pg_catalog.set_config('occ.error_style', 'http', true);
    IF if_match IS NOT NULL THEN
        PERFORM pg_catalog.set_config('occ.if_match', if_match, true);
    END IF;
END
$$;

COMMENT ON FUNCTION occ.postgrest_pre_request() IS
'PostgREST pre-request function: maps If-Match to occ.if_match and switches to HTTP error codes';

-- ---------------------------------------------------------------------
-- Conflict statistics
-- ---------------------------------------------------------------------

-- The shared counters of this database's tables, in the order of
-- OccStatsCounter (src/stats.h).  Before PostgreSQL 17 an error (55000)
-- unless occ is in shared_preload_libraries.
CREATE FUNCTION occ.table_stats_counters(OUT table_name pg_catalog.regclass,
                                         OUT stats_since pg_catalog.timestamptz,
                                         OUT checked pg_catalog.int8,
                                         OUT stated pg_catalog.int8,
                                         OUT not_stated pg_catalog.int8,
                                         OUT refused_stale pg_catalog.int8,
                                         OUT refused_missing pg_catalog.int8,
                                         OUT audited_stale pg_catalog.int8,
                                         OUT audited_missing pg_catalog.int8)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_table_stats_counters';

COMMENT ON FUNCTION occ.table_stats_counters() IS
'conflict counters of the tables of this database (used by the view occ.table_stats)';

-- One row per table of occ.tables; a table nothing was counted for since
-- the server started or its counters were reset shows zeros and no
-- stats_since.
CREATE VIEW occ.table_stats AS
SELECT t.table_name, t.schema_name,
       COALESCE(s.checked, 0) AS checked,
       COALESCE(s.stated, 0) AS stated,
       COALESCE(s.not_stated, 0) AS not_stated,
       COALESCE(s.refused_stale, 0) AS refused_stale,
       COALESCE(s.refused_missing, 0) AS refused_missing,
       COALESCE(s.audited_stale, 0) AS audited_stale,
       COALESCE(s.audited_missing, 0) AS audited_missing,
       s.stats_since
FROM occ.tables t
     LEFT JOIN occ.table_stats_counters() s
     ON s.table_name OPERATOR(pg_catalog.=) t.table_name;

COMMENT ON VIEW occ.table_stats IS
'conflict statistics per table protected by occ: writes checked, stated, not stated, refused and audited, since stats_since';

CREATE FUNCTION occ.reset_table_stats(tbl pg_catalog.regclass DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_reset_table_stats';

COMMENT ON FUNCTION occ.reset_table_stats(pg_catalog.regclass) IS
'forget the conflict statistics of a table, or of every table of this database (NULL)';

-- Resetting erases what a DBA reads: superusers only, unless granted.
REVOKE EXECUTE ON FUNCTION occ.reset_table_stats(pg_catalog.regclass) FROM PUBLIC;
GRANT SELECT ON occ.table_stats TO PUBLIC;

GRANT USAGE ON SCHEMA occ TO PUBLIC;
GRANT SELECT ON occ.tables TO PUBLIC;
