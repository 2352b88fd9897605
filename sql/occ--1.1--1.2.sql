/* occ--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION occ UPDATE TO '1.2'" to load this file. \quit

-- Entity tags, for HTTP layers and RPC callers.
CREATE FUNCTION occ.etag(version pg_catalog.anyelement)
RETURNS pg_catalog.text
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_etag';

COMMENT ON FUNCTION occ.etag(pg_catalog.anyelement) IS
'the strong entity tag of a version, as occ.if_match and the wrappers accept it';

-- One row, named by a full unique key, written under the table's check.
-- They run as the caller; if_match is occ.if_match for the one statement.
CREATE FUNCTION occ.update(tbl pg_catalog.regclass, key pg_catalog.jsonb,
                           if_match pg_catalog.text, changes pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_update';

COMMENT ON FUNCTION occ.update(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.jsonb) IS
'update the row with this key if its version matches if_match; returns the new row';

CREATE FUNCTION occ.delete(tbl pg_catalog.regclass, key pg_catalog.jsonb,
                           if_match pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'occ_delete';

COMMENT ON FUNCTION occ.delete(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text) IS
'delete the row with this key if its version matches if_match; returns the deleted row';

-- PostgREST's pre-request function (db-pre-request): the request's
-- If-Match header becomes occ.if_match, and errors take HTTP statuses
-- (PT412, PT428), for this transaction only.
CREATE FUNCTION occ.postgrest_pre_request()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    if_match text := NULLIF(pg_catalog.current_setting('request.headers', true), '')::pg_catalog.json
                     OPERATOR(pg_catalog.->>) 'if-match';
BEGIN
    PERFORM pg_catalog.set_config('occ.error_style', 'http', true);
    IF if_match IS NOT NULL THEN
        PERFORM pg_catalog.set_config('occ.if_match', if_match, true);
    END IF;
END
$$;

COMMENT ON FUNCTION occ.postgrest_pre_request() IS
'PostgREST pre-request function: maps If-Match to occ.if_match and switches to HTTP error codes';
