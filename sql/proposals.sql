--
-- An assigned version that nobody could have read -- for integers greater
-- than current + 1, for timestamps later than the current version -- is a
-- proposal: the row takes it, and the write states no version by it.
--
\set VERBOSITY default

-- ==== integer versions: an application's version jump ====
CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO docs VALUES (1, 'a'), (2, 'b');
SELECT occ.enable('docs', mode => 'lax');
-- version 1 states the current version; then 3 is the version read + 1,
-- the ORM convention; then 10 is a proposal
UPDATE docs SET body = 'a1', version = 1 WHERE id = 1 RETURNING id, version;
UPDATE docs SET body = 'a2', version = 3 WHERE id = 1 RETURNING id, version;
UPDATE docs SET body = 'a3', version = 10 WHERE id = 1 RETURNING id, version;
-- the proposal was kept, and versions go on from it
UPDATE docs SET body = 'a4' WHERE id = 1 RETURNING id, version;
-- an earlier value is stale
UPDATE docs SET body = 'x', version = 9 WHERE id = 1;
-- strict: a proposal states nothing, so the write must state its version
-- in another way
SELECT occ.set_mode('docs', 'strict');
UPDATE docs SET body = 'x', version = 20 WHERE id = 1;
UPDATE docs SET body = 'a5', version = 20 WHERE id = 1 AND version = 11 RETURNING id, version;
BEGIN;
SET LOCAL occ.if_match = '"20"';
UPDATE docs SET body = 'a6', version = 30 WHERE id = 1 RETURNING id, version;
COMMIT;
-- a proposal with a stale if_match is refused
BEGIN;
SET LOCAL occ.if_match = '"20"';
UPDATE docs SET body = 'x', version = 40 WHERE id = 1;
ROLLBACK;
-- none: the proposal is still kept; an earlier value is ignored
SELECT occ.set_mode('docs', 'none');
UPDATE docs SET version = 50 WHERE id = 2 RETURNING id, version;
UPDATE docs SET version = 3 WHERE id = 2 RETURNING id, version;
SELECT id, body, version FROM docs ORDER BY id;

-- ==== timestamp versions: the time an ORM stamps on updated_at ====
CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
INSERT INTO notes VALUES (1, 'a'), (2, 'b');
SELECT occ.enable('notes', 'updated_at', 'timestamp', mode => 'lax');
-- Rails, Django, Sequelize: SET ..., updated_at = <the application's now>
UPDATE notes SET body = 'a1', updated_at = '2026-06-01 12:00:00+00' WHERE id = 1
RETURNING id, updated_at;
-- Hibernate's timestamp @Version: the new time, WHERE the time it read
SELECT occ.set_mode('notes', 'strict');
UPDATE notes SET body = 'a2', updated_at = '2026-06-02 12:00:00+00'
WHERE id = 1 AND updated_at = '2026-06-01 12:00:00+00'
RETURNING id, updated_at;
-- a stale one updates no row
UPDATE notes SET body = 'x', updated_at = '2026-06-03 12:00:00+00'
WHERE id = 1 AND updated_at = '2026-06-01 12:00:00+00';
-- without the WHERE clause, strict refuses it
UPDATE notes SET body = 'x', updated_at = '2026-06-03 12:00:00+00' WHERE id = 1;
-- the version read still states it, and the row advances from the clock
UPDATE notes SET body = 'a3', updated_at = '2026-06-02 12:00:00+00' WHERE id = 1
RETURNING id, updated_at > '2026-06-02 12:00:00+00' AS advanced;
-- an application server whose clock is behind proposes an earlier time: stale
-- (the row's version is the clock's time, so only the SQLSTATE is shown)
SELECT occ.set_mode('notes', 'lax');
\set VERBOSITY sqlstate
UPDATE notes SET body = 'x', updated_at = '2026-01-01 00:00:00+00' WHERE id = 1;
\set VERBOSITY default
-- infinity is never a proposal: no version could follow it
UPDATE notes SET body = 'x', updated_at = 'infinity' WHERE id = 2;
SELECT id, body FROM notes ORDER BY id;

DROP TABLE docs, notes;
