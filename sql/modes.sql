--
-- Check modes: strict, lax, none, and occ.default_mode for tables that
-- follow it.  Stating the version in the UPDATE itself: the version read,
-- or for integers the version read + 1 (the ORM convention).
--
\set VERBOSITY default

CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);
INSERT INTO items SELECT g, 10 FROM generate_series(1, 3) g;
SELECT occ.enable('items', mode => 'lax');

-- ==== lax: unstated writes pass, stated ones are checked ====
UPDATE items SET qty = 11 WHERE id = 1;
SELECT id, qty, version FROM items ORDER BY id;
-- the version read (2)
UPDATE items SET qty = 12, version = 2 WHERE id = 1;
-- the version read + 1 (3 + 1), as ORMs send it
UPDATE items SET qty = 13, version = 4 WHERE id = 1;
SELECT id, qty, version FROM items ORDER BY id;
-- stale: older versions (a value past read + 1 is a proposal, see proposals)
UPDATE items SET qty = 99, version = 3 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE items SET qty = 99, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT id, qty, version FROM items ORDER BY id;
-- SET version = version states the current version: it opts out
UPDATE items SET qty = 14, version = version WHERE id = 1;
SELECT id, qty, version FROM items ORDER BY id;
-- a multi-row UPDATE is checked row by row, and fails as a whole
UPDATE items SET qty = 0, version = 1 WHERE id IN (2, 3);
UPDATE items SET qty = 0, version = 1 WHERE id IN (1, 2, 3); \echo :LAST_ERROR_SQLSTATE
SELECT id, qty, version FROM items ORDER BY id;
-- a version cannot be set to NULL
UPDATE items SET version = NULL WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- the ORM convention's WHERE clause filters a stale row before the check
UPDATE items SET qty = 15, version = 6 WHERE id = 1 AND version = 5;
UPDATE items SET qty = 16, version = 6 WHERE id = 1 AND version = 5;
SELECT id, qty, version FROM items ORDER BY id;

-- ==== strict: every write states a version ====
SELECT occ.set_mode('items', 'strict');
UPDATE items SET qty = 20 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE items SET qty = 20 WHERE id > 0; \echo :LAST_ERROR_SQLSTATE
UPDATE items SET qty = 20, version = 6 WHERE id = 1;
UPDATE items SET qty = 21, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- an UPDATE that matches no row states nothing and needs nothing
UPDATE items SET qty = 20 WHERE id = 42;
SELECT id, qty, version FROM items ORDER BY id;

-- ==== none: nothing is checked, every UPDATE still advances ====
SELECT occ.set_mode('items', 'none');
UPDATE items SET qty = 30 WHERE id = 1;
UPDATE items SET qty = 31, version = 1 WHERE id = 1;
-- the version advances from the row's own, whatever older value was assigned
UPDATE items SET qty = 32, version = 2 WHERE id = 1;
SELECT id, qty, version FROM items ORDER BY id;

-- ==== occ.default_mode, for tables whose mode is NULL ====
SHOW occ.default_mode;
SELECT occ.set_mode('items', NULL);
SET occ.default_mode = 'strict';
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'items'::regclass;
UPDATE items SET qty = 40 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.default_mode = 'none';
SELECT mode, effective_mode FROM occ.tables WHERE table_name = 'items'::regclass;
UPDATE items SET qty = 41, version = 1 WHERE id = 1;
SET occ.default_mode = 'lax';
UPDATE items SET qty = 42, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE items SET qty = 42 WHERE id = 1;
SET occ.default_mode = 'paranoid'; \echo :LAST_ERROR_SQLSTATE
-- a table's own mode wins over the default
SELECT occ.set_mode('items', 'lax');
SET occ.default_mode = 'strict';
UPDATE items SET qty = 43 WHERE id = 1;
RESET occ.default_mode;
SELECT id, qty, version FROM items ORDER BY id;

-- ==== integer versions never wrap ====
CREATE TABLE small (id int PRIMARY KEY, version smallint NOT NULL);
INSERT INTO small VALUES (1, 32766);
SELECT occ.enable('small');
UPDATE small SET id = 1 WHERE id = 1;
UPDATE small SET id = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- stating the current version at the maximum is no way around it
UPDATE small SET version = 32767 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM small;
CREATE TABLE big (id int PRIMARY KEY, version bigint NOT NULL);
INSERT INTO big VALUES (1, 9223372036854775807);
SELECT occ.enable('big');
UPDATE big SET version = 9223372036854775807 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM big;

-- ==== INSERT keeps whatever the row carries ====
INSERT INTO items VALUES (10, 1, 77);
INSERT INTO items (id, qty) VALUES (11, 1);
SELECT id, version FROM items WHERE id >= 10 ORDER BY id;

DROP TABLE items, small, big;
