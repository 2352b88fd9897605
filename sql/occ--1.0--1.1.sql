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
