/* occ--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION occ UPDATE TO '1.3'" to load this file. \quit

-- The wrappers run the caller's UPDATE or DELETE, which fires the table's
-- own triggers and applies its row-level security policies.  A pinned
-- search_path would be in force while those run, so a trigger naming a
-- table without its schema would work for a plain UPDATE and fail through
-- the wrapper.  The C code resolves every name by OID or writes it
-- schema-qualified, so the wrappers need no SET clause and leave the
-- caller's environment as it is.
ALTER FUNCTION occ.update(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.jsonb)
    RESET search_path;
ALTER FUNCTION occ.delete(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text)
    RESET search_path;

-- DDL guard.  ALTER TYPE ... CASCADE changes the columns of the tables of
-- a composite type (CREATE TABLE ... OF type): it is guarded like ALTER
-- TABLE.  An event trigger's tags cannot be altered, so it is made again.
DROP EVENT TRIGGER occ_ddl_guard;
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

COMMENT ON FUNCTION occ.ddl_guard() IS
'event trigger that keeps occ tables protected across DDL';
