--
-- on_conflict: INSERT keeps the version the row carries (COPY and restores
-- preserve versions); the DO UPDATE path of INSERT ... ON CONFLICT is an
-- UPDATE like any other: checked when it states the version, refused in
-- strict mode when it does not.
--

-- ===================================================================
-- INSERT and COPY keep versions
-- ===================================================================
CREATE TABLE oc_items (id int PRIMARY KEY, qty int);
SELECT occ.enable('oc_items');

INSERT INTO oc_items VALUES (1, 10);
INSERT INTO oc_items (id, qty, version) VALUES (2, 20, 42);
COPY oc_items (id, qty, version) FROM stdin;
3	30	7
4	40	1000000000000
\.
COPY oc_items (id, qty) FROM stdin;
5	50
\.
SELECT * FROM oc_items ORDER BY id;

-- Also in strict mode: INSERT states nothing and needs nothing.
SELECT occ.set_mode('oc_items', 'strict');
INSERT INTO oc_items (id, qty, version) VALUES (6, 60, 9);
INSERT INTO oc_items (id, qty) VALUES (7, 70);
SELECT * FROM oc_items WHERE id >= 6 ORDER BY id;
SELECT occ.set_mode('oc_items', 'lax');

-- ===================================================================
-- ON CONFLICT DO UPDATE, no conflict: an INSERT
-- ===================================================================
INSERT INTO oc_items (id, qty, version) VALUES (8, 80, 5)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
INSERT INTO oc_items (id, qty) VALUES (9, 90)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
SELECT * FROM oc_items WHERE id IN (8, 9) ORDER BY id;

-- ===================================================================
-- ON CONFLICT DO UPDATE stating the version
-- ===================================================================
-- Row 2 is at version 42.  The version sent with the row is the one the
-- client read: it matches, and the row advances to 43.
INSERT INTO oc_items (id, qty, version) VALUES (2, 21, 42)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
SELECT * FROM oc_items WHERE id = 2 ORDER BY id;

-- A stale one fails and changes nothing.
INSERT INTO oc_items (id, qty, version) VALUES (2, 22, 42)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
-- In a multi-row upsert one stale row (row 2, stated 40) fails the whole
-- statement.
INSERT INTO oc_items (id, qty, version) VALUES (3, 31, 7), (2, 22, 40), (10, 100, 1)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
SELECT * FROM oc_items WHERE id IN (2, 3, 10) ORDER BY id;

-- The same, all current: each updated row advances once, the new row
-- keeps its version.
INSERT INTO oc_items (id, qty, version) VALUES (3, 31, 7), (2, 22, 43), (10, 100, 1)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
SELECT * FROM oc_items WHERE id IN (2, 3, 10) ORDER BY id;

-- The ORM convention, read version + 1, is accepted too (row 3 at 8).
INSERT INTO oc_items (id, qty, version) VALUES (3, 32, 9)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
SELECT * FROM oc_items WHERE id = 3 ORDER BY id;

-- ===================================================================
-- ON CONFLICT DO UPDATE not stating the version
-- ===================================================================
-- lax: allowed, and the row advances (row 1: 1 -> 2).
INSERT INTO oc_items (id, qty) VALUES (1, 11)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
SELECT * FROM oc_items WHERE id = 1 ORDER BY id;

-- strict: refused...
SELECT occ.set_mode('oc_items', 'strict');
INSERT INTO oc_items (id, qty) VALUES (1, 12)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
-- ...unless occ.if_match states it: a stale one fails,
SET occ.if_match = '"1"';
INSERT INTO oc_items (id, qty) VALUES (1, 12)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
-- the current one passes (2 -> 3),
SET occ.if_match = '"2"';
INSERT INTO oc_items (id, qty) VALUES (1, 12)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
-- and so does '*' (3 -> 4).
SET occ.if_match = '*';
INSERT INTO oc_items (id, qty) VALUES (1, 13)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
RESET occ.if_match;
SELECT * FROM oc_items WHERE id = 1 ORDER BY id;

-- In strict mode the stated version still works without occ.if_match
-- (row 2: 44 -> 45).
INSERT INTO oc_items (id, qty, version) VALUES (2, 23, 44)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
-- An explicit version in the SET list, not taken from the row sent
-- (45 -> 46); the same statement again is stale.
INSERT INTO oc_items (id, qty) VALUES (2, 24)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = 45;
INSERT INTO oc_items (id, qty) VALUES (2, 25)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = 45;
SELECT * FROM oc_items WHERE id = 2 ORDER BY id;

-- A conflict-free upsert needs nothing in strict mode: it inserts.
INSERT INTO oc_items (id, qty) VALUES (11, 110)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
SELECT * FROM oc_items WHERE id = 11 ORDER BY id;

-- ===================================================================
-- ON CONFLICT DO NOTHING
-- ===================================================================
-- Nothing is written, so nothing is checked or advanced, even in strict
-- mode with a stale occ.if_match.
SET occ.if_match = '"1"';
INSERT INTO oc_items (id, qty, version) VALUES (1, 0, 1), (12, 120, 3)
    ON CONFLICT (id) DO NOTHING;
RESET occ.if_match;
SELECT * FROM oc_items WHERE id IN (1, 12) ORDER BY id;

-- ===================================================================
-- a partitioned table, with a partition whose columns are reordered
-- ===================================================================
-- The upsert is routed to the partition; the version it assigns must be
-- recognised there although the column has another number.
CREATE TABLE oc_parts (id int PRIMARY KEY, qty int) PARTITION BY RANGE (id);
CREATE TABLE oc_parts_low PARTITION OF oc_parts FOR VALUES FROM (0) TO (100);
CREATE TABLE oc_parts_high (junk int, qty int, id int NOT NULL);
ALTER TABLE oc_parts_high DROP COLUMN junk;
ALTER TABLE oc_parts ATTACH PARTITION oc_parts_high FOR VALUES FROM (100) TO (200);
SELECT occ.enable('oc_parts', mode => 'strict');
INSERT INTO oc_parts (id, qty, version) VALUES (1, 10, 5), (101, 20, 5);

-- Current versions: both advance (5 -> 6).
INSERT INTO oc_parts (id, qty, version) VALUES (1, 11, 5), (101, 21, 5)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
-- Stale, in each partition.
INSERT INTO oc_parts (id, qty, version) VALUES (1, 12, 3)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
INSERT INTO oc_parts (id, qty, version) VALUES (101, 22, 3)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, version = excluded.version;
-- Not stated, in strict mode.
INSERT INTO oc_parts (id, qty) VALUES (101, 23)
    ON CONFLICT (id) DO UPDATE SET qty = excluded.qty;
SELECT tableoid::regclass AS part, id, qty, version FROM oc_parts ORDER BY id;
DROP TABLE oc_parts;

-- ===================================================================
-- the whole table
-- ===================================================================
SELECT * FROM oc_items ORDER BY id;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE oc_items;
SELECT count(*) FROM occ.tables WHERE table_name::text LIKE 'oc\_%';
