--
-- occ.if_match: the version expected by UPDATEs that do not assign the
-- version column, in every form it accepts.
--
\set VERBOSITY default

-- A malformed value set before the library is loaded in this session is
-- still an error when it is used, not silently ignored.
SET occ.if_match = '"1" junk';
CREATE TABLE docs (id int PRIMARY KEY, body text);
INSERT INTO docs SELECT g, 'v1' FROM generate_series(1, 3) g;
SELECT occ.enable('docs', mode => 'strict');
UPDATE docs SET body = 'x' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SHOW occ.if_match;
RESET occ.if_match;

-- ==== the forms that match ====
-- a plain value
SET occ.if_match = '1';
UPDATE docs SET body = 'plain' WHERE id = 1;
-- a strong entity tag
SET occ.if_match = '"2"';
UPDATE docs SET body = 'etag' WHERE id = 1;
-- a list of tags, with optional white space and empty elements
SET occ.if_match = '"7", W/"3",  "3" ,, "9"';
UPDATE docs SET body = 'list' WHERE id = 1;
-- white space around a plain value
SET occ.if_match = '  4  ';
UPDATE docs SET body = 'spaces' WHERE id = 1;
-- any existing row; counts as stated on a strict table
SET occ.if_match = '*';
UPDATE docs SET body = 'star' WHERE id = 1;
SELECT id, body, version FROM docs ORDER BY id;

-- ==== the forms that do not match ====
-- a weak tag never matches, even of the current version
SET occ.if_match = 'W/"6"';
UPDATE docs SET body = 'weak' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"1", "2"';
UPDATE docs SET body = 'stale' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '5';
UPDATE docs SET body = 'stale' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT id, body, version FROM docs ORDER BY id;

-- ==== empty means unset ====
SET occ.if_match = '';
UPDATE docs SET body = 'unset' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '   ';
UPDATE docs SET body = 'unset' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
RESET occ.if_match;

-- ==== malformed values fail the write that uses them ====
SET occ.if_match = '"6';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"6" "7"';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"6", 7';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = 'W/6';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"6 7"';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = ',';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '*, "6"';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = 'six';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"six"';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '99999999999999999999';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '6.0';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- a weak tag that is malformed inside is still just a weak tag: no match
SET occ.if_match = 'W/"six"';
UPDATE docs SET body = 'bad' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- an unused malformed value harms nobody: no row, no check
SET occ.if_match = '"6';
UPDATE docs SET body = 'bad' WHERE id = 42;
RESET occ.if_match;
SELECT id, body, version FROM docs ORDER BY id;

-- ==== the value assigned in the UPDATE wins over occ.if_match ====
SET occ.if_match = '"1"';
UPDATE docs SET body = 'assigned', version = 6 WHERE id = 1;
SET occ.if_match = '"7"';
UPDATE docs SET body = 'assigned', version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = 'not even valid"';
UPDATE docs SET body = 'assigned', version = 7 WHERE id = 1;
RESET occ.if_match;
SELECT id, body, version FROM docs ORDER BY id;

-- ==== SET LOCAL, and changes within one transaction ====
BEGIN;
SET LOCAL occ.if_match = '"8"';
UPDATE docs SET body = 'local' WHERE id = 1;
SET LOCAL occ.if_match = '"9"';
UPDATE docs SET body = 'local 2' WHERE id = 1;
SELECT set_config('occ.if_match', '"1"', true);
UPDATE docs SET body = 'local 3' WHERE id = 2;
COMMIT;
SHOW occ.if_match;
UPDATE docs SET body = 'after' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT id, body, version FROM docs ORDER BY id;

-- ==== one value for a multi-row statement: all rows must match ====
SET occ.if_match = '"1"';
UPDATE docs SET body = 'both' WHERE id IN (2, 3); \echo :LAST_ERROR_SQLSTATE
UPDATE docs SET body = 'three' WHERE id = 3;
SET occ.if_match = '"2"';
UPDATE docs SET body = 'both' WHERE id IN (2, 3);
RESET occ.if_match;
SELECT id, body, version FROM docs ORDER BY id;

-- ==== prepared statements see the value of each execution ====
PREPARE upd(int, text) AS UPDATE docs SET body = $2 WHERE id = $1;
SET occ.if_match = '3';
EXECUTE upd(2, 'prepared');
EXECUTE upd(2, 'prepared again'); \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '4';
EXECUTE upd(2, 'prepared again');
DEALLOCATE upd;
RESET occ.if_match;
SELECT id, body, version FROM docs ORDER BY id;

DROP TABLE docs;
