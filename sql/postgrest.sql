--
-- The PostgREST bridge, exercised exactly as PostgREST drives a request:
-- the request headers as the transaction setting request.headers (JSON,
-- lower-case names), the pre-request function, the PATCH or DELETE, then
-- the SQLSTATE (PostgREST answers PTxyz with HTTP xyz) and the response
-- headers PostgREST sends from response.headers.
--
\set VERBOSITY default

CREATE TABLE pr_items (id int PRIMARY KEY, name text);
INSERT INTO pr_items VALUES (1, 'one'), (2, 'two');
SELECT occ.enable('pr_items', mode => 'strict');

-- What an HTTP client would see: status and the fields of the error, or the
-- response headers of a success.
CREATE FUNCTION pr_request(headers text, request text)
RETURNS TABLE (status text, sqlstate text, detail text, fields text, response_headers text)
LANGUAGE plpgsql AS $$
DECLARE
  st text; det text; sch text; tbl text; col text;
BEGIN
  PERFORM set_config('request.headers', headers, true);
  PERFORM set_config('response.headers', '', true);
  PERFORM occ.postgrest_pre_request();
  EXECUTE request;
  RETURN QUERY SELECT '200'::text, NULL::text, NULL::text, NULL::text,
                      current_setting('response.headers');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, det = PG_EXCEPTION_DETAIL,
                          sch = SCHEMA_NAME, tbl = TABLE_NAME, col = COLUMN_NAME;
  RETURN QUERY SELECT CASE WHEN st LIKE 'PT%' THEN substr(st, 3)
                           WHEN st LIKE '40%' THEN '500'
                           WHEN st LIKE '22%' THEN '400' ELSE 'other' END,
                      st, det, concat_ws('.', sch, tbl, col), NULL::text;
END $$;

-- ==== If-Match: a strong tag that matches: 200, and the new ETag ====
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"1\"", "accept": "application/json"}',
                         $$UPDATE pr_items SET name = 'uno' WHERE id = 1$$);
-- the settings last for this request's transaction only
SHOW occ.error_style;
SHOW occ.if_match;
COMMIT;
SHOW occ.error_style;
SHOW occ.if_match;

-- ==== a stale tag: 412, same detail and fields as 40V01 ====
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"1\""}', $$UPDATE pr_items SET name = 'x' WHERE id = 1$$);
ROLLBACK;
-- a weak tag never matches
BEGIN;
SELECT * FROM pr_request('{"if-match": "W/\"2\""}', $$UPDATE pr_items SET name = 'x' WHERE id = 1$$);
ROLLBACK;
-- a list matches if any one tag does
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"9\", \"2\""}', $$UPDATE pr_items SET name = 'dos' WHERE id = 1$$);
COMMIT;

-- ==== no If-Match on a strict table: 428 ====
BEGIN;
SELECT * FROM pr_request('{"accept": "application/json"}', $$UPDATE pr_items SET name = 'x' WHERE id = 2$$);
ROLLBACK;
BEGIN;
SELECT * FROM pr_request('{}', $$DELETE FROM pr_items WHERE id = 2$$);
ROLLBACK;
-- no headers at all (a request PostgREST did not make)
BEGIN;
SELECT * FROM pr_request('', $$DELETE FROM pr_items WHERE id = 2$$);
ROLLBACK;

-- ==== If-Match: * matches any existing row ====
BEGIN;
SELECT * FROM pr_request('{"if-match": "*"}', $$UPDATE pr_items SET name = 'zwei' WHERE id = 2$$);
COMMIT;

-- ==== DELETE with a matching tag: 200, no ETag ====
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"2\""}', $$DELETE FROM pr_items WHERE id = 2$$);
COMMIT;

-- ==== a malformed If-Match: 22P02, which PostgREST answers with 400 ====
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"3"}', $$UPDATE pr_items SET name = 'x' WHERE id = 1$$);
ROLLBACK;

-- ==== other response headers are kept ====
BEGIN;
SELECT set_config('request.headers', '{"if-match": "\"3\""}', true);
SELECT occ.postgrest_pre_request();
SELECT set_config('response.headers', '[{"Cache-Control": "no-store"}]', true);
UPDATE pr_items SET name = 'tres' WHERE id = 1;
SELECT current_setting('response.headers');
COMMIT;

-- ==== one ETag for a statement that updates one row, none for more ====
-- PostgREST sends every header left in response.headers: a PATCH of many
-- rows must not answer with one ETag per row (and building such a list
-- row by row would take time quadratic in the rows).
CREATE TABLE pr_bulk (id int PRIMARY KEY, qty int);
INSERT INTO pr_bulk SELECT g, 0 FROM generate_series(1, 10000) g;
SELECT occ.enable('pr_bulk');
BEGIN;
SELECT * FROM pr_request('{"if-match": "*"}', $$UPDATE pr_bulk SET qty = 1$$);
COMMIT;
BEGIN;
SELECT * FROM pr_request('{"if-match": "*"}', $$UPDATE pr_bulk SET qty = 2 WHERE id <= 2$$);
COMMIT;
-- one row: its ETag, once
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"3\""}', $$UPDATE pr_bulk SET qty = 3 WHERE id = 1$$);
COMMIT;
-- two rows of one statement in two partitions of a table count as two
CREATE TABLE pr_parts (id int PRIMARY KEY, qty int) PARTITION BY RANGE (id);
CREATE TABLE pr_parts_1 PARTITION OF pr_parts FOR VALUES FROM (1) TO (10);
CREATE TABLE pr_parts_2 PARTITION OF pr_parts FOR VALUES FROM (10) TO (20);
INSERT INTO pr_parts VALUES (1, 0), (11, 0);
SELECT occ.enable('pr_parts');
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"1\""}', $$UPDATE pr_parts SET qty = 1$$);
COMMIT;
-- the headers that were there before the first row are kept
BEGIN;
SELECT set_config('request.headers', '{"if-match": "*"}', true);
SELECT occ.postgrest_pre_request();
SELECT set_config('response.headers', '[{"Cache-Control": "no-store"}]', true);
UPDATE pr_bulk SET qty = 4 WHERE id IN (5, 6);
SELECT current_setting('response.headers');
COMMIT;
-- a row that a trigger writes is not the request's: it leaves no ETag, and
-- does not take the request's row's ETag away
CREATE FUNCTION pr_touch_bulk() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pr_bulk SET qty = qty + 1 WHERE id = 10;
    RETURN NULL;
END
$$;
CREATE TRIGGER pr_touch_bulk AFTER UPDATE ON pr_parts
    FOR EACH ROW EXECUTE FUNCTION pr_touch_bulk();
BEGIN;
SELECT * FROM pr_request('{"if-match": "\"2\""}', $$UPDATE pr_parts SET qty = 5 WHERE id = 11$$);
COMMIT;
SELECT id, version FROM pr_bulk WHERE id = 10;
DROP TABLE pr_bulk, pr_parts;
DROP FUNCTION pr_touch_bulk();

-- ==== the style as a DBA sets it, for a role or database ====
SET occ.error_style = 'http';
UPDATE pr_items SET name = 'x' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE pr_items SET name = 'x', version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
RESET occ.error_style;
UPDATE pr_items SET name = 'x', version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.error_style = 'teapot'; \echo :LAST_ERROR_SQLSTATE

SELECT * FROM pr_items ORDER BY id;
DROP FUNCTION pr_request(text, text);
DROP TABLE pr_items;
