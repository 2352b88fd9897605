--
-- occ.update, occ.delete and occ.etag: one row named by a full unique key,
-- written under the table's own check, for RPC-style callers.
--
\set VERBOSITY default
SET timezone = 'UTC';

CREATE TABLE wr_acc (id int PRIMARY KEY, owner text, balance int NOT NULL,
                     code text UNIQUE, region int, branch int, opened date,
                     UNIQUE (region, branch));
INSERT INTO wr_acc VALUES (1, 'ann', 100, 'A', 1, 1, '2020-01-01'),
                          (2, 'bob', 200, 'B', 1, 2, '2021-01-01');
SELECT occ.enable('wr_acc', mode => 'strict');

-- ==== occ.update: checked exactly like occ.if_match ====
SELECT occ.update('wr_acc', '{"id": 1}', '"1"', '{"balance": 150}');
-- the same tag again is stale; no tag at all on a strict table is refused
SELECT occ.update('wr_acc', '{"id": 1}', '"1"', '{"balance": 160}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', NULL, '{"balance": 160}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '', '{"balance": 160}'); \echo :LAST_ERROR_SQLSTATE
-- the plain value, a list, "*", and the tag occ.etag makes
SELECT occ.update('wr_acc', '{"id": 1}', '2', '{"balance": 160}') ->> 'version' AS version;
SELECT occ.update('wr_acc', '{"id": 1}', '"7", "3"', '{"balance": 170}') ->> 'version' AS version;
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": 180}') ->> 'version' AS version;
SELECT occ.update('wr_acc', '{"id": 1}', occ.etag(version), '{"balance": 190}') ->> 'version' AS version
  FROM wr_acc WHERE id = 1;
-- weak tags never match; malformed ones cannot be read
SELECT occ.update('wr_acc', '{"id": 1}', 'W/"6"', '{"balance": 0}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '"6', '{"balance": 0}'); \echo :LAST_ERROR_SQLSTATE
-- if_match applies to that one statement only
SHOW occ.if_match;
SELECT * FROM wr_acc ORDER BY id;

-- ==== keys: a primary key, or any unique key given in full ====
SELECT occ.update('wr_acc', '{"code": "B"}', '1', '{"owner": null, "opened": "2022-02-02"}');
SELECT occ.update('wr_acc', '{"region": 1, "branch": 2}', '2', '{}') ->> 'version' AS version;
SELECT occ.update('wr_acc', '{"region": 1}', '3', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"owner": "ann"}', '3', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1, "code": "A"}', '3', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{}', '3', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 42}', '*', '{"balance": 1}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": null}', '*', '{"balance": 1}'); \echo :LAST_ERROR_SQLSTATE

-- ==== bad names and values: nothing changed ====
SELECT occ.update('wr_acc', '{"nope": 1}', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"nope": 1}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"ctid": 1}', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": "lots"}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": 1e20}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"opened": "yesterday-ish"}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": null}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"version": 99}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '[1]', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', '"x"'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update(NULL, '{"id": 1}', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', NULL, '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('wr_acc', '{"id": 1}', '*', NULL); \echo :LAST_ERROR_SQLSTATE
-- names with quotes are names, not SQL
SELECT occ.update('wr_acc', '{"id\" = 1 OR true; --": 1}', '*', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM wr_acc ORDER BY id;

-- ==== a table that occ does not protect ====
CREATE TABLE wr_plain (id int PRIMARY KEY, v int);
INSERT INTO wr_plain VALUES (1, 1);
SELECT occ.update('wr_plain', '{"id": 1}', '*', '{"v": 2}'); \echo :LAST_ERROR_SQLSTATE

-- ==== occ.delete ====
SELECT occ.delete('wr_acc', '{"id": 2}', '"1"'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('wr_acc', '{"id": 2}', NULL); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('wr_acc', '{"id": 2}', occ.etag(version)) ->> 'owner' IS NULL AS deleted_bob
  FROM wr_acc WHERE id = 2;
SELECT occ.delete('wr_acc', '{"id": 2}', '*'); \echo :LAST_ERROR_SQLSTATE
SELECT id FROM wr_acc ORDER BY id;

-- ==== privileges: the caller's own ====
CREATE ROLE regress_occ_rpc;
GRANT SELECT, UPDATE (balance) ON wr_acc TO regress_occ_rpc;
SET ROLE regress_occ_rpc;
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": 5}') ->> 'balance' AS balance;
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"owner": "mallory"}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('wr_acc', '{"id": 1}', '*'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP OWNED BY regress_occ_rpc;
DROP ROLE regress_occ_rpc;

-- ==== plans are kept, and follow DDL ====
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": 6}') ->> 'balance' AS balance;
ALTER TABLE wr_acc RENAME COLUMN balance TO amount;
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"amount": 7}') ->> 'amount' AS amount;
SELECT occ.update('wr_acc', '{"id": 1}', '*', '{"balance": 7}'); \echo :LAST_ERROR_SQLSTATE

-- ==== partitioned tables, and a key of another type ====
CREATE TABLE wr_parts (region text, id uuid, qty int, PRIMARY KEY (region, id))
  PARTITION BY LIST (region);
CREATE TABLE wr_parts_eu PARTITION OF wr_parts FOR VALUES IN ('eu');
CREATE TABLE wr_parts_us PARTITION OF wr_parts FOR VALUES IN ('us');
INSERT INTO wr_parts VALUES ('eu', '00000000-0000-0000-0000-000000000001', 1);
SELECT occ.enable('wr_parts');
SELECT occ.update('wr_parts', '{"region": "eu", "id": "00000000-0000-0000-0000-000000000001"}',
                  '"1"', '{"qty": 2, "region": "us"}');
SELECT tableoid::regclass, * FROM wr_parts;

-- ==== occ.etag round-trips for every version type ====
CREATE TABLE wr_types (id int PRIMARY KEY, v2 smallint NOT NULL DEFAULT 32000,
                       v4 int NOT NULL DEFAULT -5, v8 bigint NOT NULL DEFAULT 9000000000,
                       ts timestamp NOT NULL DEFAULT '2026-11-22 10:11:12.345678',
                       tz timestamptz NOT NULL DEFAULT '2026-11-22 10:11:12.345678+05:30',
                       bc timestamptz NOT NULL DEFAULT '0044-03-15 12:00:00+00 BC',
                       z3 timestamptz(3) NOT NULL DEFAULT '2026-11-22 10:11:12.345+00');
INSERT INTO wr_types (id) VALUES (1);
SELECT occ.etag(v2) AS v2, occ.etag(v4) AS v4, occ.etag(v8) AS v8, occ.etag(ts) AS ts,
       occ.etag(tz) AS tz, occ.etag(bc) AS bc, occ.etag(z3) AS z3
  FROM wr_types;
-- the same tags whatever the session's TimeZone and DateStyle
SET timezone = 'America/New_York';
SET datestyle = 'SQL, DMY';
SELECT occ.etag(tz) AS tz, occ.etag(ts) AS ts FROM wr_types;
-- and each reads back as the version it came from
CREATE FUNCTION wr_round_trip(col name) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  tag text;
  outcome text := 'matched';
BEGIN
  EXECUTE format('SELECT occ.etag(%I) FROM wr_types', col) INTO tag;
  PERFORM occ.disable('wr_types');
  PERFORM occ.enable('wr_types', col, CASE WHEN col LIKE 'v%' THEN 'integer' ELSE 'timestamp' END,
                     'strict');
  BEGIN
    PERFORM occ.update('wr_types', '{"id": 1}', tag, '{}');
    RAISE SQLSTATE 'XXOK0';
  EXCEPTION WHEN SQLSTATE 'XXOK0' THEN NULL;
            WHEN OTHERS THEN outcome := SQLSTATE || ' ' || SQLERRM;
  END;
  RETURN outcome;
END $$;
SELECT occ.enable('wr_types', 'v2');
SELECT col, wr_round_trip(col) FROM unnest(ARRAY['v2', 'v4', 'v8', 'ts', 'tz', 'bc', 'z3']::name[]) col;
RESET datestyle;
SET timezone = 'UTC';
SELECT occ.etag('infinity'::timestamptz) AS inf, occ.etag('-infinity'::timestamp) AS neg_inf;
SELECT occ.etag(NULL::bigint) IS NULL AS null_in_null_out;
SELECT occ.etag('3'::text); \echo :LAST_ERROR_SQLSTATE
SELECT occ.etag(3.0); \echo :LAST_ERROR_SQLSTATE

DROP FUNCTION wr_round_trip(name);
DROP TABLE wr_acc, wr_plain, wr_parts, wr_types;
RESET timezone;
