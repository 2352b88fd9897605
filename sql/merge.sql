--
-- merge: MERGE (PostgreSQL 15) on a protected table.  WHEN MATCHED THEN
-- UPDATE is an UPDATE, WHEN MATCHED THEN DELETE a DELETE, and WHEN NOT
-- MATCHED THEN INSERT an INSERT, each held to the same rules as the plain
-- statement.
--
-- A documented limitation: PostgreSQL tells row triggers which columns an
-- UPDATE assigns, but for a MERGE it reports the union of the columns that
-- all its UPDATE actions assign.  If one action assigns the version and
-- another does not, the trigger sees the version as assigned for both, and
-- the other action's rows carry their current version unchanged: to the
-- trigger they state the current version and pass, even in strict mode.
-- So give every UPDATE action of a MERGE the version, or none of them.
--

CREATE TABLE mg_stock (id int PRIMARY KEY, qty int);
SELECT occ.enable('mg_stock');
INSERT INTO mg_stock (id, qty, version) VALUES (1, 10, 1), (2, 20, 5), (3, 30, 9);

-- What a client sends: new quantities with the versions it read.
CREATE TABLE mg_changes (id int PRIMARY KEY, qty int, version bigint, remove boolean);

-- ===================================================================
-- WHEN MATCHED THEN UPDATE stating the version
-- ===================================================================
INSERT INTO mg_changes VALUES (1, 11, 1, false), (2, 21, 5, false);
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty, version = c.version;
SELECT * FROM mg_stock ORDER BY id;

-- Stale (row 2 is at 6 now): the whole MERGE fails.
TRUNCATE mg_changes;
INSERT INTO mg_changes VALUES (1, 12, 2, false), (2, 22, 4, false);
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty, version = c.version;
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- WHEN MATCHED THEN UPDATE not stating the version
-- ===================================================================
-- lax: allowed, advanced (3: 9 -> 10).
MERGE INTO mg_stock s
USING (VALUES (3, 31)) AS c (id, qty) ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty;
SELECT * FROM mg_stock ORDER BY id;

-- strict: refused...
SELECT occ.set_mode('mg_stock', 'strict');
MERGE INTO mg_stock s
USING (VALUES (3, 32)) AS c (id, qty) ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty;
-- ...unless occ.if_match states it: stale fails, current passes (10 -> 11).
SET occ.if_match = '"9"';
MERGE INTO mg_stock s
USING (VALUES (3, 32)) AS c (id, qty) ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty;
SET occ.if_match = '"10"';
MERGE INTO mg_stock s
USING (VALUES (3, 32)) AS c (id, qty) ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = c.qty;
RESET occ.if_match;
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- WHEN MATCHED THEN DELETE
-- ===================================================================
-- A DELETE action states its version through occ.if_match, as DELETE does.
-- strict, nothing stated: refused.
MERGE INTO mg_stock s
USING (VALUES (1)) AS c (id) ON s.id = c.id
WHEN MATCHED THEN DELETE;
-- a version in the join condition or the action's condition is not a
-- WHERE clause that states it: refused as well
MERGE INTO mg_stock s
USING (VALUES (1)) AS c (id) ON s.id = c.id AND s.version = 2
WHEN MATCHED THEN DELETE;
MERGE INTO mg_stock s
USING (VALUES (1)) AS c (id) ON s.id = c.id
WHEN MATCHED AND s.version = 2 THEN DELETE;
-- stale (row 1 is at 2): fails.
SET occ.if_match = '"1"';
MERGE INTO mg_stock s
USING (VALUES (1)) AS c (id) ON s.id = c.id
WHEN MATCHED THEN DELETE;
-- current: deleted.
SET occ.if_match = '"2"';
MERGE INTO mg_stock s
USING (VALUES (1)) AS c (id) ON s.id = c.id
WHEN MATCHED THEN DELETE;
RESET occ.if_match;
SELECT * FROM mg_stock ORDER BY id;

-- In lax mode a DELETE action stating nothing is allowed, but a stated
-- occ.if_match is still checked.
SELECT occ.set_mode('mg_stock', 'lax');
INSERT INTO mg_stock (id, qty, version) VALUES (4, 40, 3), (5, 50, 3);
SET occ.if_match = '"2"';
MERGE INTO mg_stock s
USING (VALUES (4)) AS c (id) ON s.id = c.id
WHEN MATCHED THEN DELETE;
RESET occ.if_match;
MERGE INTO mg_stock s
USING (VALUES (4)) AS c (id) ON s.id = c.id
WHEN MATCHED THEN DELETE;
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- WHEN NOT MATCHED THEN INSERT keeps the version
-- ===================================================================
SELECT occ.set_mode('mg_stock', 'strict');
TRUNCATE mg_changes;
INSERT INTO mg_changes VALUES (6, 60, 17, false), (7, 70, NULL, false);
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN NOT MATCHED AND c.version IS NOT NULL THEN
    INSERT (id, qty, version) VALUES (c.id, c.qty, c.version)
WHEN NOT MATCHED THEN
    INSERT (id, qty) VALUES (c.id, c.qty);
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- all actions in one MERGE
-- ===================================================================
-- Row 2 (at 6) is updated with its version, row 5 (at 3) deleted with
-- occ.if_match, row 8 inserted.
TRUNCATE mg_changes;
INSERT INTO mg_changes VALUES
    (2, 23, 6, false), (5, NULL, NULL, true), (8, 80, 2, false);
SET occ.if_match = '"3"';
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN MATCHED AND c.remove THEN DELETE
WHEN MATCHED THEN UPDATE SET qty = c.qty, version = c.version
WHEN NOT MATCHED THEN INSERT (id, qty, version) VALUES (c.id, c.qty, c.version);
RESET occ.if_match;
SELECT * FROM mg_stock ORDER BY id;

-- Here the stated version of row 2 is stale (it is at 7): nothing is
-- deleted or inserted either.
TRUNCATE mg_changes;
INSERT INTO mg_changes VALUES
    (2, 24, 6, false), (3, NULL, NULL, true), (9, 90, 1, false);
SET occ.if_match = '"11"';
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN MATCHED AND c.remove THEN DELETE
WHEN MATCHED THEN UPDATE SET qty = c.qty, version = c.version
WHEN NOT MATCHED THEN INSERT (id, qty, version) VALUES (c.id, c.qty, c.version);
RESET occ.if_match;
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- the limitation: UPDATE actions that disagree about the version
-- ===================================================================
-- The second action assigns no version, yet PostgreSQL reports the
-- version column as assigned by the MERGE, so in strict mode row 3 is not
-- refused: it "states" its own current version (11) and advances to 12.
-- This is why every UPDATE action must state the version, or none.
TRUNCATE mg_changes;
INSERT INTO mg_changes VALUES (2, 25, 7, false), (3, 33, NULL, false);
MERGE INTO mg_stock s
USING mg_changes c ON s.id = c.id
WHEN MATCHED AND c.version IS NOT NULL THEN
    UPDATE SET qty = c.qty, version = c.version
WHEN MATCHED THEN
    UPDATE SET qty = c.qty;
SELECT * FROM mg_stock ORDER BY id;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE mg_stock, mg_changes;
SELECT count(*) FROM occ.tables WHERE table_name::text LIKE 'mg\_%';
