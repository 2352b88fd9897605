--
-- A cross-partition UPDATE is checked once: its DELETE half, which fires
-- the old partition's BEFORE DELETE triggers for the row just checked, is
-- not checked again.  What lets that DELETE through must match nothing
-- else: not a DELETE in the next transaction, not a DELETE of the same row
-- by another part of the same statement.
--
\set VERBOSITY default

CREATE TABLE moving (id int, region int, note text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE moving_1 PARTITION OF moving FOR VALUES IN (1);
CREATE TABLE moving_2 PARTITION OF moving FOR VALUES IN (2);
INSERT INTO moving VALUES (1, 1, 'a'), (2, 1, 'b');
SELECT occ.enable('moving', mode => 'strict');

-- A BEFORE UPDATE trigger that fires after occ's and cancels updates that
-- set the note to 'cancel' (its name sorts after occ_version).
CREATE FUNCTION moving_cancel() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.note = 'cancel' THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER zz_moving_cancel BEFORE UPDATE ON moving
    FOR EACH ROW EXECUTE FUNCTION moving_cancel();

-- ==== the row movement itself: checked once, advanced once ====
UPDATE moving SET region = 2, version = 1 WHERE id = 1;
SELECT tableoid::regclass, * FROM moving ORDER BY id;
-- stale, and unstated: refused before anything moves
UPDATE moving SET region = 1, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE moving SET region = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL occ.if_match = '2';
UPDATE moving SET region = 1 WHERE id = 1;
COMMIT;
SELECT tableoid::regclass, * FROM moving ORDER BY id;

-- ==== an UPDATE that a later trigger cancelled, then a DELETE ====
-- The cancelled UPDATE writes nothing, so its transaction gets no
-- transaction ID; the DELETE in the next transaction, at the same command
-- number, must still be checked.
BEGIN;
SET LOCAL occ.if_match = '3';
UPDATE moving SET note = 'cancel', region = 2 WHERE id = 1;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '1';
DELETE FROM moving WHERE id = 1;
ROLLBACK;
DELETE FROM moving WHERE id = 1; \echo :LAST_ERROR_SQLSTATE

-- ==== the same row, cancelled in one part of a statement, deleted in another ====
-- Both parts of a writable CTE run at one command number; the DELETE,
-- which states nothing, is refused on the strict table.
WITH u AS (UPDATE moving SET note = 'cancel', region = 2, version = 3 WHERE id = 1 RETURNING id),
     d AS (DELETE FROM moving WHERE id = 1 RETURNING id)
SELECT (SELECT count(*) FROM u) AS updated, (SELECT count(*) FROM d) AS deleted;
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass, * FROM moving ORDER BY id;

-- ==== row movement inside a writable CTE is still checked once ====
WITH u AS (UPDATE moving SET region = 2, version = 1 WHERE id = 2 RETURNING id)
SELECT count(*) AS moved FROM u;
SELECT tableoid::regclass, * FROM moving ORDER BY id;

-- ==== a foreign-table partition: no transaction ID is ever assigned ====
-- Writes to a foreign table lock nothing locally, so a transaction that
-- only writes through one never gets a transaction ID of its own.  An
-- UPDATE of such a partition that a later trigger cancelled, rolled back,
-- must not let a stale DELETE of the same row through in the next
-- transaction.
CREATE EXTENSION postgres_fdw;
-- the loopback server is this server: its first socket directory and port
\set ECHO none
SELECT format('CREATE SERVER moving_loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname %L, host %L, port %L)',
              current_database(),
              trim(split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port')) \gexec
\set ECHO all
CREATE USER MAPPING FOR CURRENT_USER SERVER moving_loopback;
CREATE TABLE moving_remote (id int, region int, note text, version bigint NOT NULL);
INSERT INTO moving_remote VALUES (5, 3, 'remote', 7);
-- (a partitioned table with a foreign partition can have no unique index)
CREATE TABLE moving_far (id int, region int, note text) PARTITION BY LIST (region);
CREATE TABLE moving_far_1 PARTITION OF moving_far FOR VALUES IN (1);
CREATE FOREIGN TABLE moving_far_3 PARTITION OF moving_far FOR VALUES IN (3)
    SERVER moving_loopback OPTIONS (table_name 'moving_remote');
SELECT occ.enable('moving_far', mode => 'strict');
CREATE TRIGGER zz_moving_cancel BEFORE UPDATE ON moving_far
    FOR EACH ROW EXECUTE FUNCTION moving_cancel();
SELECT tgrelid::regclass AS protected_partition FROM pg_trigger
 WHERE tgrelid = 'moving_far_3'::regclass AND tgname = 'occ_version';
BEGIN;
SET LOCAL occ.if_match = '7';
UPDATE moving_far SET note = 'cancel' WHERE id = 5;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '1';
DELETE FROM moving_far WHERE id = 5;
ROLLBACK;
SELECT * FROM moving_remote;

DROP TABLE moving, moving_far;
DROP TABLE moving_remote;
DROP FUNCTION moving_cancel();
DROP USER MAPPING FOR CURRENT_USER SERVER moving_loopback;
DROP SERVER moving_loopback;
DROP EXTENSION postgres_fdw;
