--
-- hash_merge: MERGE (PostgreSQL 15) on a table of kind hash.  WHEN MATCHED
-- THEN UPDATE and DELETE are held to occ.if_match like the plain
-- statements; WHEN NOT MATCHED THEN INSERT is not checked.  (The caveat of
-- merge.sql about a version column assigned by some UPDATE actions only
-- does not arise: a table of kind hash has no version column.)
--
\set VERBOSITY sqlstate

CREATE TABLE hm_stock (id int PRIMARY KEY, qty int, seen int);
INSERT INTO hm_stock VALUES (1, 10, 0), (2, 20, 0), (3, 30, 0);
SELECT occ.enable('hm_stock', kind => 'hash', exclude => '{seen}', mode => 'strict');

-- What a client sends: new quantities, with the tags of the rows it read.
CREATE TABLE hm_changes (id int PRIMARY KEY, qty int, tag text, remove boolean);
INSERT INTO hm_changes
    SELECT id, qty + 1, occ.etag(s), id = 3 FROM hm_stock s;
INSERT INTO hm_changes VALUES (4, 40, NULL, false);
SELECT string_agg(tag, ', ' ORDER BY id) AS tags FROM hm_changes \gset

-- ==== strict: stating nothing is refused, for UPDATE and DELETE actions ====
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED AND NOT c.remove THEN UPDATE SET qty = c.qty;
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED AND c.remove THEN DELETE;
-- comparing tags in the MERGE's conditions states nothing to occ
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED AND occ.etag(s) = c.tag THEN UPDATE SET qty = c.qty;
-- an INSERT action states nothing and needs nothing
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN NOT MATCHED THEN INSERT VALUES (c.id, c.qty, 0);
SELECT * FROM hm_stock ORDER BY id;
DELETE FROM hm_changes WHERE id = 4;

-- ==== a stale tag fails the whole MERGE ====
-- row 2 changes after the client read it
BEGIN;
SET LOCAL occ.if_match = '*';
UPDATE hm_stock SET qty = 21 WHERE id = 2;
COMMIT;
BEGIN;
SELECT set_config('occ.if_match', :'tags', true) IS NOT NULL AS set;
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED AND NOT c.remove THEN UPDATE SET qty = c.qty + 100
WHEN MATCHED AND c.remove THEN DELETE;
ROLLBACK;
SELECT * FROM hm_stock ORDER BY id;

-- ==== every tag current: UPDATE, DELETE and INSERT actions all pass ====
UPDATE hm_changes c SET tag = occ.etag(s) FROM hm_stock s WHERE s.id = c.id;
SELECT string_agg(tag, ', ' ORDER BY id) AS tags FROM hm_changes \gset
INSERT INTO hm_changes VALUES (5, 50, NULL, false);
BEGIN;
SELECT set_config('occ.if_match', :'tags', true) IS NOT NULL AS set;
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED AND NOT c.remove THEN UPDATE SET qty = c.qty + 100
WHEN MATCHED AND c.remove THEN DELETE
WHEN NOT MATCHED THEN INSERT VALUES (c.id, c.qty, 0);
COMMIT;
SELECT * FROM hm_stock ORDER BY id;

-- ==== an action that writes excluded columns alone: checked, tags kept ====
SELECT string_agg(occ.etag(s), ', ' ORDER BY id) AS tags FROM hm_stock s \gset
BEGIN;
SET LOCAL occ.if_match = '"0123456789abcdef0123456789abcdef"';
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED THEN UPDATE SET seen = 1;
ROLLBACK;
BEGIN;
SELECT set_config('occ.if_match', :'tags', true) IS NOT NULL AS set;
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED THEN UPDATE SET seen = 1;
COMMIT;
SELECT string_agg(occ.etag(s), ', ' ORDER BY id) = :'tags' AS same_tags FROM hm_stock s;
SELECT * FROM hm_stock ORDER BY id;

-- ==== lax: a MERGE that states nothing passes ====
SELECT occ.set_mode('hm_stock', 'lax');
MERGE INTO hm_stock s USING hm_changes c ON s.id = c.id
WHEN MATCHED THEN UPDATE SET qty = 0;
SELECT * FROM hm_stock ORDER BY id;

DROP TABLE hm_stock, hm_changes;
