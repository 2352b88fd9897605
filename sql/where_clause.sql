--
-- A version required by the WHERE clause states it: a strict table accepts
-- the write, and rows with another version are simply not written (the
-- writer's row count reports the conflict).  Only a proof counts.
--
-- Most statements here are the first of a new session (\c): occ is not
-- loaded yet when they are planned and started, as for an ORM's first
-- write, and nothing is preloaded.
--
\set VERBOSITY default

CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, owner text);
INSERT INTO accounts SELECT g, 100, 'owner ' || g FROM generate_series(1, 9) g;
SELECT occ.enable('accounts', mode => 'strict');

-- ==== forms that state the version ====
\c
-- the ORM's DELETE, as the first statement of a session
DELETE FROM accounts WHERE id = 9 AND version = 1;
\c
-- the ORM's UPDATE that states the version in the WHERE clause only
UPDATE accounts SET balance = 101 WHERE id = 1 AND version = 1 RETURNING id, balance, version;
\c
-- either operand order
UPDATE accounts SET balance = 102 WHERE 2 = version AND id = 1 RETURNING id, version;
\c
-- a stale version: no row is written, nothing is refused
UPDATE accounts SET balance = 0 WHERE id = 1 AND version = 1;
DELETE FROM accounts WHERE id = 1 AND version = 1;
\c
-- another integer type: an equality of the column type's operator family
UPDATE accounts SET balance = 103 WHERE id = 1 AND version = 3::smallint RETURNING id, version;
\c
-- a stable expression of no column
SET app.version = '4';
UPDATE accounts SET balance = 104 WHERE id = 1 AND version = current_setting('app.version')::bigint
RETURNING id, version;
\c
-- a parameter of a prepared statement, custom plans and a generic plan
PREPARE save(int, int, bigint) AS
  UPDATE accounts SET balance = $2 WHERE id = $1 AND version = $3 RETURNING id, version;
EXECUTE save(2, 201, 1);
EXECUTE save(2, 202, 2);
SET plan_cache_mode = force_generic_plan;
EXECUTE save(2, 203, 3);
EXECUTE save(2, 0, 3);
PREPARE remove(int, bigint) AS DELETE FROM accounts WHERE id = $1 AND version = $2;
EXECUTE remove(8, 1);
RESET plan_cache_mode;
\c
-- the first statement of a session is a generic plan
SET plan_cache_mode = force_generic_plan;
PREPARE save(int, int, bigint) AS
  UPDATE accounts SET balance = $2 WHERE id = $1 AND version = $3 RETURNING id, version;
EXECUTE save(2, 204, 4);
\c
-- a writable CTE, as PostgREST sends its writes
WITH saved AS (
  UPDATE accounts SET balance = 301 WHERE id = 3 AND version = 1 RETURNING id, version
)
SELECT * FROM saved;
\c
-- UPDATE ... FROM: the version equality is on the table written
CREATE TEMP TABLE changes (id int, balance int);
INSERT INTO changes VALUES (3, 302);
UPDATE accounts a SET balance = c.balance FROM changes c
WHERE a.id = c.id AND a.version = 2 RETURNING a.id, a.version;
\c
-- found through an index on the version column too
CREATE INDEX accounts_id_version ON accounts (id, version);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) UPDATE accounts SET balance = 303 WHERE id = 3 AND version = 3;
UPDATE accounts SET balance = 303 WHERE id = 3 AND version = 3 RETURNING id, version;
RESET enable_seqscan;
DROP INDEX accounts_id_version;

-- ==== near misses: not a proof, so strict refuses them ====
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND (version = 1 OR version = 2);
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND version IN (1, 2);
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND version + 0 = 1;
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND version::text = '1';
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND version >= 1;
\c
UPDATE accounts SET balance = 0 WHERE id = 4 AND version IS NOT DISTINCT FROM 1;
\c
-- another column of the row
UPDATE accounts SET balance = 1 WHERE id = 4 AND version = balance - 99;
\c
-- a volatile function
UPDATE accounts SET balance = 0 WHERE id = 4 AND version = floor(random())::int + 1;
\c
-- a sub-select that reads the table
UPDATE accounts SET balance = 0 WHERE id = 4
  AND version = (SELECT version FROM accounts WHERE id = 4);
\c
-- a column of the other table of UPDATE ... FROM (a join, not a statement)
CREATE TEMP TABLE read_versions (id int, version bigint);
INSERT INTO read_versions VALUES (4, 1);
UPDATE accounts a SET balance = 0 FROM read_versions r
WHERE a.id = r.id AND a.version = r.version;
\c
-- INSERT ... ON CONFLICT DO UPDATE ... WHERE is not an UPDATE's WHERE clause
INSERT INTO accounts VALUES (4, 0, 'x') ON CONFLICT (id) DO UPDATE SET balance = 0
WHERE accounts.version = 1;
SELECT id, balance, version FROM accounts WHERE id = 4;

-- ==== one statement that writes the table twice ====
\c
-- once occ is loaded, each part of a writable CTE is judged by itself: the
-- part that states its version writes; the other, writing no row, needs none
LOAD 'occ';
WITH saved AS (
  UPDATE accounts SET balance = 501 WHERE id = 5 AND version = 1 RETURNING id
), other AS (
  UPDATE accounts SET balance = 0 WHERE id = 42 RETURNING id
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM other) AS other;
-- and a part that states nothing is refused, whatever the other part states
WITH saved AS (
  UPDATE accounts SET balance = 502 WHERE id = 5 AND version = 2 RETURNING id
), other AS (
  UPDATE accounts SET balance = 0 WHERE id = 6 RETURNING id
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM other) AS other;
\c
-- the first statement of a session cannot tell its parts apart: refused
-- unless every part that writes the table states its version
WITH saved AS (
  UPDATE accounts SET balance = 502 WHERE id = 5 AND version = 2 RETURNING id
), other AS (
  UPDATE accounts SET balance = 0 WHERE id = 42 RETURNING id
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM other) AS other;
\c
WITH saved AS (
  UPDATE accounts SET balance = 502 WHERE id = 5 AND version = 2 RETURNING id
), other AS (
  UPDATE accounts SET balance = 601 WHERE id = 6 AND version = 1 RETURNING id
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM other) AS other;

-- ==== statements in functions ====
CREATE FUNCTION save_balance(account int, amount int, read_version bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  written bigint;
BEGIN
  UPDATE accounts SET balance = amount WHERE id = account AND version = read_version
  RETURNING version INTO written;
  RETURN written;
END
$$;
CREATE FUNCTION save_balance_sql(account int, amount int, read_version bigint)
RETURNS bigint LANGUAGE sql AS $$
  UPDATE accounts SET balance = amount WHERE id = account AND version = read_version
  RETURNING version;
$$;
\c
-- begun before occ was loaded, a function's statement was not seen: the
-- hint says how to load occ when sessions start
SELECT save_balance(7, 701, 1);
-- from then on it is
SELECT save_balance(7, 701, 1);
SELECT save_balance(7, 0, 1);
SELECT save_balance_sql(7, 702, 2);
\c
LOAD 'occ';
SELECT save_balance_sql(7, 703, 3);

-- a statement run by a trigger is held to strict mode: its own WHERE
-- clause states its version
CREATE TABLE transfers (id int PRIMARY KEY, account int, amount int, read_version bigint);
CREATE FUNCTION apply_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.read_version IS NULL THEN
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account;
  ELSE
    UPDATE accounts SET balance = balance + NEW.amount
    WHERE id = NEW.account AND version = NEW.read_version;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER apply_transfer AFTER INSERT ON transfers
  FOR EACH ROW EXECUTE FUNCTION apply_transfer();
\c
LOAD 'occ';
INSERT INTO transfers VALUES (1, 7, 5, 4);
INSERT INTO transfers VALUES (2, 7, 5, NULL);
SELECT id, balance, version FROM accounts WHERE id = 7;
DROP TABLE transfers;
DROP FUNCTION apply_transfer();

-- ==== occ.if_match is still checked when it is set ====
BEGIN;
SET LOCAL occ.if_match = '"1"';
UPDATE accounts SET balance = 0 WHERE id = 7 AND version = 5;
ROLLBACK;

-- ==== partitions and inheritance children ====
CREATE TABLE ledger (region text, id int, amount int, version bigint NOT NULL DEFAULT 1,
  PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE ledger_eu PARTITION OF ledger FOR VALUES IN ('eu');
CREATE TABLE ledger_us (id int NOT NULL, amount int, region text NOT NULL, version bigint NOT NULL DEFAULT 1);
ALTER TABLE ledger ATTACH PARTITION ledger_us FOR VALUES IN ('us');
SELECT occ.enable('ledger', mode => 'strict');
INSERT INTO ledger VALUES ('eu', 1, 10), ('us', 1, 10), ('us', 2, 10);
\c
-- every partition written, each with its own column numbers
UPDATE ledger SET amount = 11 WHERE version = 1 AND id = 1 RETURNING region, id, version;
\c
UPDATE ledger SET amount = 12 WHERE id = 2 RETURNING region, id, version;
\c
-- a row moving to another partition
UPDATE ledger SET region = 'eu' WHERE region = 'us' AND id = 2 AND version = 1
RETURNING tableoid::regclass AS part, region, id, version;
-- an inheritance child enabled on its own, its columns in another order
CREATE TABLE parent_items (id int, qty int, version bigint NOT NULL DEFAULT 1);
CREATE TABLE child_items (note text, id int, qty int, version bigint NOT NULL DEFAULT 1);
ALTER TABLE child_items INHERIT parent_items;
INSERT INTO child_items VALUES ('child', 1, 1);
SELECT occ.enable('child_items', mode => 'strict');
\c
UPDATE parent_items SET qty = 2 WHERE id = 1 AND version = 1;
\c
UPDATE parent_items SET qty = 3 WHERE id = 1;
SELECT * FROM child_items;

-- ==== lax: stated rows are written, stale ones are not ====
SELECT occ.set_mode('accounts', 'lax');
\c
UPDATE accounts SET balance = balance + 1 WHERE version = 1 RETURNING id, version;
SELECT id, balance, version FROM accounts ORDER BY id;

DROP FUNCTION save_balance(int, int, bigint);
DROP FUNCTION save_balance_sql(int, int, bigint);
DROP TABLE accounts, ledger, parent_items CASCADE;
