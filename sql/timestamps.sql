--
-- Timestamp versions: strictly increasing, even within one transaction,
-- at the column's own precision, never backwards.  No clock value is
-- printed: only comparisons.
--
\set VERBOSITY default
SET timezone = 'UTC';

CREATE TABLE trades (id int PRIMARY KEY, qty int);
INSERT INTO trades VALUES (1, 100), (2, 200);
SELECT occ.enable('trades', 'updated_at', 'timestamp');

-- ==== each UPDATE advances, within one transaction too ====
CREATE TEMP TABLE seen (n int, v timestamptz);
INSERT INTO seen SELECT 0, updated_at FROM trades WHERE id = 1;
BEGIN;
UPDATE trades SET qty = qty + 1 WHERE id = 1;
INSERT INTO seen SELECT 1, updated_at FROM trades WHERE id = 1;
UPDATE trades SET qty = qty + 1 WHERE id = 1;
INSERT INTO seen SELECT 2, updated_at FROM trades WHERE id = 1;
UPDATE trades SET qty = qty + 1 WHERE id = 1;
INSERT INTO seen SELECT 3, updated_at FROM trades WHERE id = 1;
COMMIT;
SELECT n, v > lag(v) OVER (ORDER BY n) AS later FROM seen ORDER BY n;
-- the version is the clock of the write, not the transaction start
SELECT v <= clock_timestamp() AND v > now() - interval '1 hour' AS plausible
  FROM seen WHERE n = 3;

-- ==== stating the version read ====
SELECT updated_at AS read_version FROM trades WHERE id = 1 \gset
UPDATE trades SET qty = 0, updated_at = :'read_version' WHERE id = 1;
SELECT updated_at > :'read_version' AS advanced FROM trades WHERE id = 1;
-- the same version again is now stale
\set VERBOSITY sqlstate
UPDATE trades SET qty = 1, updated_at = :'read_version' WHERE id = 1;
\set VERBOSITY default
-- timestamp versions have no "read + 1" convention: a later time is a
-- proposal, which the row takes (an ORM stamping updated_at; see proposals)
SELECT updated_at AS read_version FROM trades WHERE id = 1 \gset
UPDATE trades SET qty = 1, updated_at = :'read_version'::timestamptz + interval '1 microsecond'
 WHERE id = 1;
SELECT updated_at = :'read_version'::timestamptz + interval '1 microsecond' AS proposal_kept
FROM trades WHERE id = 1;

-- ==== occ.if_match with a timestamp: a literal, or an entity tag ====
SELECT set_config('occ.if_match', updated_at::text, false) IS NOT NULL AS set
  FROM trades WHERE id = 1;
UPDATE trades SET qty = 2 WHERE id = 1;
-- an entity tag holds no spaces: the ISO 8601 form with "T" fits
SELECT set_config('occ.if_match',
                  '"' || to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.USOF') || '"', false)
         IS NOT NULL AS set
  FROM trades WHERE id = 1;
UPDATE trades SET qty = 3 WHERE id = 1;
-- the same tag is now stale
\set VERBOSITY sqlstate
UPDATE trades SET qty = 4 WHERE id = 1;
\set VERBOSITY default
SET occ.if_match = '"yesterday-ish"';
UPDATE trades SET qty = 4 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
RESET occ.if_match;
SELECT id, qty FROM trades ORDER BY id;

-- ==== never backwards: a version ahead of the clock still advances ====
UPDATE trades SET qty = 5 WHERE id = 2;
ALTER TABLE trades DISABLE TRIGGER occ_version;
UPDATE trades SET updated_at = '2999-01-01 00:00:00+00' WHERE id = 2;
ALTER TABLE trades ENABLE TRIGGER occ_version;
UPDATE trades SET qty = 6 WHERE id = 2;
SELECT updated_at = '2999-01-01 00:00:00.000001+00' AS one_microsecond_later
  FROM trades WHERE id = 2;
-- infinity cannot advance; -infinity advances to the clock
ALTER TABLE trades DISABLE TRIGGER occ_version;
UPDATE trades SET updated_at = 'infinity' WHERE id = 1;
UPDATE trades SET updated_at = '-infinity' WHERE id = 2;
ALTER TABLE trades ENABLE TRIGGER occ_version;
UPDATE trades SET qty = 7 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE trades SET qty = 7 WHERE id = 2;
SELECT id, qty, isfinite(updated_at) AS finite FROM trades ORDER BY id;
-- a stated infinity is read like any other version
UPDATE trades SET qty = 8, updated_at = 'infinity' WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = 'infinity';
DELETE FROM trades WHERE id = 1;
RESET occ.if_match;
SELECT id FROM trades ORDER BY id;

-- ==== reduced precision: versions advance by the column's resolution ====
CREATE TABLE coarse (id int PRIMARY KEY, v timestamptz(0) NOT NULL DEFAULT now());
INSERT INTO coarse VALUES (1);
SELECT occ.enable('coarse', 'v', 'timestamp');
CREATE TEMP TABLE seen0 (n int, v timestamptz);
INSERT INTO seen0 SELECT 0, v FROM coarse;
UPDATE coarse SET id = 1;
INSERT INTO seen0 SELECT 1, v FROM coarse;
UPDATE coarse SET id = 1;
INSERT INTO seen0 SELECT 2, v FROM coarse;
UPDATE coarse SET id = 1;
INSERT INTO seen0 SELECT 3, v FROM coarse;
SELECT n, v > lag(v) OVER (ORDER BY n) AS later,
       v = date_trunc('second', v) AS whole_seconds
  FROM seen0 ORDER BY n;
-- three updates within a second or two: one second apart at least
SELECT (SELECT v FROM seen0 WHERE n = 3) - (SELECT v FROM seen0 WHERE n = 0)
         >= interval '3 seconds' AS never_repeated;
CREATE TABLE centi (id int PRIMARY KEY, v timestamp(2) NOT NULL);
INSERT INTO centi VALUES (1, '2999-01-01 00:00:00.99');
SELECT occ.enable('centi', 'v', 'timestamp');
UPDATE centi SET id = 1;
SELECT v FROM centi;

-- ==== timestamp without time zone ====
CREATE TABLE local_ts (id int PRIMARY KEY, v timestamp NOT NULL DEFAULT localtimestamp);
INSERT INTO local_ts VALUES (1);
SELECT occ.enable('local_ts', 'v', 'timestamp');
SELECT v AS read_version FROM local_ts \gset
UPDATE local_ts SET id = 1, v = :'read_version';
SELECT v > :'read_version' AND v <= localtimestamp + interval '1 minute' AS advanced
  FROM local_ts;
SET occ.if_match = :'read_version';
\set VERBOSITY sqlstate
UPDATE local_ts SET id = 1;
\set VERBOSITY default
RESET occ.if_match;

DROP TABLE trades, coarse, centi, local_ts;
RESET timezone;
