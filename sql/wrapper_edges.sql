--
-- Edges of occ.update and occ.delete (issue 8, item 18): keys on unique
-- indexes that do not make a row unique, touching a row, returning only
-- what the caller may read, and sessions in which the table's trigger does
-- not fire.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

-- ==== only a valid unique index makes a key ====
CREATE TABLE we_dup (id int PRIMARY KEY, code text, n int);
INSERT INTO we_dup VALUES (1, 'A', 0), (2, 'A', 0);
SELECT occ.enable('we_dup');
-- a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index
CREATE UNIQUE INDEX CONCURRENTLY we_dup_code ON we_dup (code);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'we_dup_code'::regclass;
SELECT occ.update('we_dup', '{"code": "A"}', '*', '{"n": 1}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('we_dup', '{"code": "A"}', '*'); \echo :LAST_ERROR_SQLSTATE
-- a deferrable unique constraint is not a key either
ALTER TABLE we_dup ADD COLUMN ref int UNIQUE DEFERRABLE;
SELECT occ.update('we_dup', '{"ref": 1}', '*', '{"n": 1}'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM we_dup ORDER BY id;
-- once the index is built, it is a key
DELETE FROM we_dup WHERE id = 2;
REINDEX INDEX we_dup_code;
SELECT occ.update('we_dup', '{"code": "A"}', '1', '{"n": 1}') ->> 'n' AS n;

-- ==== a touch assigns only the version ====
CREATE TABLE we_ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
INSERT INTO we_ident (note) VALUES ('a');
SELECT occ.enable('we_ident', mode => 'strict');
SELECT occ.update('we_ident', '{"id": 1}', '1', '{}') ->> 'version' AS version;
SELECT occ.update('we_ident', '{"id": 1}', '1', '{}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('we_ident', '{"id": 1}', NULL, '{}'); \echo :LAST_ERROR_SQLSTATE
-- a role that may update the version column only may touch, nothing else
CREATE ROLE regress_occ_we;
GRANT SELECT, UPDATE (version) ON we_ident TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_ident', '{"id": 1}', '"2"', '{}') ->> 'version' AS version;
SELECT occ.update('we_ident', '{"id": 1}', '"3"', '{"note": "b"}'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE UPDATE (version) ON we_ident FROM regress_occ_we;
GRANT UPDATE (note) ON we_ident TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_ident', '{"id": 1}', '"3"', '{}'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM we_ident;

-- ==== the row returned has the columns the caller may read ====
CREATE TABLE we_acc (id int PRIMARY KEY, owner text, balance int, secret text);
INSERT INTO we_acc VALUES (1, 'ann', 100, 'pin'), (2, 'bob', 200, 'pw');
SELECT occ.enable('we_acc');
GRANT SELECT (id, balance, version), UPDATE (balance) ON we_acc TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_acc', '{"id": 1}', '1', '{"balance": 101}');
RESET ROLE;
GRANT SELECT (owner), DELETE ON we_acc TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_acc', '{"id": 1}', '2', '{"balance": 102}');
SELECT occ.delete('we_acc', '{"id": 2}', '1');
RESET ROLE;
-- with SELECT on the table, every column
GRANT SELECT ON we_acc TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_acc', '{"id": 1}', '3', '{"balance": 103}');
RESET ROLE;
-- a key column the caller may not read cannot be compared, as in SQL
REVOKE SELECT ON we_acc FROM regress_occ_we;
GRANT SELECT (balance) ON we_acc TO regress_occ_we;
SET ROLE regress_occ_we;
SELECT occ.update('we_acc', '{"id": 1}', '*', '{"balance": 104}'); \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM we_acc ORDER BY id;

-- ==== no writes where the trigger does not fire ====
SET session_replication_role = replica;
SELECT occ.update('we_acc', '{"id": 1}', '4', '{"balance": 105}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.delete('we_acc', '{"id": 1}', '4'); \echo :LAST_ERROR_SQLSTATE
-- a trigger enabled ALWAYS fires, and checks, in replica sessions too
ALTER TABLE we_acc ENABLE ALWAYS TRIGGER occ_version;
SELECT occ.update('we_acc', '{"id": 1}', '3', '{"balance": 105}'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.update('we_acc', '{"id": 1}', '4', '{"balance": 105}') ->> 'version' AS version;
-- a trigger enabled REPLICA fires only there
ALTER TABLE we_acc ENABLE REPLICA TRIGGER occ_version;
SELECT occ.update('we_acc', '{"id": 1}', '5', '{"balance": 106}') ->> 'version' AS version;
RESET session_replication_role;
SELECT occ.update('we_acc', '{"id": 1}', '6', '{"balance": 107}'); \echo :LAST_ERROR_SQLSTATE
-- a disabled trigger fires nowhere
ALTER TABLE we_acc DISABLE TRIGGER occ_version;
SELECT occ.update('we_acc', '{"id": 1}', '6', '{"balance": 107}'); \echo :LAST_ERROR_SQLSTATE
ALTER TABLE we_acc ENABLE TRIGGER occ_version;
SELECT occ.update('we_acc', '{"id": 1}', '6', '{"balance": 107}') ->> 'version' AS version;

DROP TABLE we_dup, we_ident, we_acc;
DROP ROLE regress_occ_we;
