/* occ--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION occ UPDATE TO '1.3'" to load this file. \quit

-- (wrappers: helper A's section)

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

-- (DDL guard: helper B's section)
