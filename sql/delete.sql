--
-- DELETE states the version it expects through occ.if_match.
--
\set VERBOSITY default

CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 8) g;
SELECT occ.enable('notes');
UPDATE notes SET body = body || '!' WHERE id IN (1, 2, 3);

-- ==== lax: an unstated DELETE passes, a stated one is checked ====
DELETE FROM notes WHERE id = 8;
SET occ.if_match = '"1"';
DELETE FROM notes WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"2"';
DELETE FROM notes WHERE id = 1;
SET occ.if_match = 'W/"2"';
DELETE FROM notes WHERE id = 2; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"1", "2"';
DELETE FROM notes WHERE id = 2;
SET occ.if_match = '"2';
DELETE FROM notes WHERE id = 3; \echo :LAST_ERROR_SQLSTATE
RESET occ.if_match;
SELECT id, body, version FROM notes ORDER BY id;

-- ==== strict: a DELETE must state a version ====
SELECT occ.set_mode('notes', 'strict');
DELETE FROM notes WHERE id = 4; \echo :LAST_ERROR_SQLSTATE
DELETE FROM notes; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '1';
DELETE FROM notes WHERE id = 4;
SET occ.if_match = '*';
DELETE FROM notes WHERE id = 5;
-- a DELETE matching no row needs no version
RESET occ.if_match;
DELETE FROM notes WHERE id = 42;
SELECT id, body, version FROM notes ORDER BY id;

-- ==== none: nothing checked ====
SELECT occ.set_mode('notes', 'none');
SET occ.if_match = '"12345"';
DELETE FROM notes WHERE id = 6;
RESET occ.if_match;
DELETE FROM notes WHERE id = 7;
SELECT id, body, version FROM notes ORDER BY id;

-- ==== RETURNING sees the row as deleted ====
SELECT occ.set_mode('notes', 'strict');
SET occ.if_match = '"2"';
DELETE FROM notes WHERE id = 3 RETURNING id, version;
RESET occ.if_match;
SELECT count(*) AS remaining FROM notes;

DROP TABLE notes;
