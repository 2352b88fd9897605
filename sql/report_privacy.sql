--
-- A stale-write DETAIL shows values of the row only to a user who may read
-- them: the key, as PostgreSQL shows it in a unique violation, and the
-- versions, which are values of the version column.  Column privileges and
-- row-level security decide, as they do for PostgreSQL's own reports.
--
\set VERBOSITY default

CREATE ROLE regress_occ_blind;
CREATE TABLE privacy_items (id int PRIMARY KEY, qty int);
INSERT INTO privacy_items VALUES (1, 10), (2, 20);
SELECT occ.enable('privacy_items');
UPDATE privacy_items SET qty = 11 WHERE id = 1;

-- ==== may read the key and the version: both are shown ====
GRANT SELECT (id, qty, version), UPDATE (qty, version), DELETE ON privacy_items TO regress_occ_blind;
SET ROLE regress_occ_blind;
UPDATE privacy_items SET qty = 12, version = 1 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '1';
DELETE FROM privacy_items WHERE id = 1;
ROLLBACK;
RESET ROLE;

-- ==== may not read the version column: neither version is shown ====
REVOKE SELECT (version) ON privacy_items FROM regress_occ_blind;
SET ROLE regress_occ_blind;
-- a version stated in the SET list (UPDATE needs no SELECT on the column)
UPDATE privacy_items SET qty = 12, version = 1 WHERE id = 1;
-- and through occ.if_match
BEGIN;
SET LOCAL occ.if_match = '1';
UPDATE privacy_items SET qty = 12 WHERE id = 1;
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '1';
DELETE FROM privacy_items WHERE id = 1;
ROLLBACK;
RESET ROLE;

-- ==== may read neither the key nor the version ====
REVOKE SELECT (id) ON privacy_items FROM regress_occ_blind;
SET ROLE regress_occ_blind;
UPDATE privacy_items SET qty = 12, version = 1 WHERE qty = 11;
RESET ROLE;

-- ==== table-level SELECT shows everything again ====
GRANT SELECT ON privacy_items TO regress_occ_blind;
SET ROLE regress_occ_blind;
UPDATE privacy_items SET qty = 12, version = 1 WHERE id = 1;
RESET ROLE;

-- ==== row-level security in force for the user: no values at all ====
ALTER TABLE privacy_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY everything ON privacy_items USING (true);
SET ROLE regress_occ_blind;
UPDATE privacy_items SET qty = 12, version = 1 WHERE id = 1;
RESET ROLE;
-- the owner is not subject to it, and sees them
UPDATE privacy_items SET qty = 12, version = 1 WHERE id = 1;

DROP TABLE privacy_items;
DROP ROLE regress_occ_blind;
