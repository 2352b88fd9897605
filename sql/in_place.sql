--
-- The trigger stores the next version into the executor's own copy of the
-- new row instead of forming a new tuple (src/trigger.c, version_in_place).
-- Everything that reads the new row afterwards must see the new version:
-- RETURNING, indexes on the version column, AFTER triggers, constraints, a
-- row moved to another partition; and rows whose version lies after NULLs,
-- varlena and odd alignments, or was never physically stored (a column
-- added with a default, as occ.enable adds it).
--
\set VERBOSITY terse

-- a row layout with a NULL, varlena and alignment padding before the version
CREATE TABLE ip (id int PRIMARY KEY, flag bool, note text, small int2, version bigint NOT NULL DEFAULT 1,
                 after_version text);
INSERT INTO ip VALUES (1, true, NULL, 7, 1, 'x'), (2, NULL, repeat('long ', 100), NULL, 1, NULL),
                      (3, false, 'short', 3, 1, 'y');
CREATE INDEX ip_version ON ip (version);
SELECT occ.enable('ip');

-- ==== RETURNING and the stored row agree ====
UPDATE ip SET note = coalesce(note, '') || '!' RETURNING id, version;
SELECT id, version, length(note), after_version FROM ip ORDER BY id;

-- ==== an index on the version finds the new version, not the old ====
SET enable_seqscan = off;
SELECT id FROM ip WHERE version = 2 ORDER BY id;
SELECT count(*) AS stale_index_entries FROM ip WHERE version = 1;
RESET enable_seqscan;

-- ==== a trigger before occ's that already read NEW.version ====
CREATE TRIGGER a_reads_version BEFORE UPDATE ON ip FOR EACH ROW
  WHEN (NEW.version IS NOT NULL) EXECUTE FUNCTION suppress_redundant_updates_trigger();
UPDATE ip SET small = coalesce(small, 0) + 1 RETURNING id, version;
SET enable_seqscan = off;
SELECT id FROM ip WHERE version = 3 ORDER BY id;
RESET enable_seqscan;
DROP TRIGGER a_reads_version ON ip;

-- ==== an AFTER trigger and a CHECK constraint see the new version ====
CREATE FUNCTION ip_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'after update of %: version % -> %', NEW.id, OLD.version, NEW.version;
  RETURN NULL;
END $$;
CREATE TRIGGER z_after AFTER UPDATE ON ip FOR EACH ROW EXECUTE FUNCTION ip_after();
ALTER TABLE ip ADD CONSTRAINT version_below_5 CHECK (version < 5);
UPDATE ip SET flag = NOT coalesce(flag, false) WHERE id = 1;
UPDATE ip SET flag = NOT coalesce(flag, false) WHERE id = 1;
SELECT id, version FROM ip WHERE id = 1;
DROP TRIGGER z_after ON ip;

-- ==== a version never stored in the row: a column added with a default ====
CREATE TABLE ip_added (id int PRIMARY KEY, note text);
INSERT INTO ip_added SELECT g, 'n' || g FROM generate_series(1, 3) g;
SELECT occ.enable('ip_added');
UPDATE ip_added SET note = note || '!' WHERE id < 3 RETURNING id, version;
UPDATE ip_added SET note = note || '!', version = 2 WHERE id = 1 RETURNING id, version;
SELECT id, version FROM ip_added ORDER BY id;

-- ==== a row moving to another partition carries the new version ====
CREATE TABLE ip_parts (id int, region text, note text) PARTITION BY LIST (region);
CREATE TABLE ip_parts_a PARTITION OF ip_parts FOR VALUES IN ('a');
CREATE TABLE ip_parts_b (note text, id int, region text);
ALTER TABLE ip_parts ATTACH PARTITION ip_parts_b FOR VALUES IN ('b');
INSERT INTO ip_parts VALUES (1, 'a', 'n');
SELECT occ.enable('ip_parts');
UPDATE ip_parts SET region = 'b' RETURNING tableoid::regclass, id, version;
UPDATE ip_parts SET note = 'm' RETURNING tableoid::regclass, id, version;
UPDATE ip_parts SET region = 'a', version = 3 RETURNING tableoid::regclass, id, version;

-- ==== ON CONFLICT DO UPDATE writes through another slot ====
-- (MERGE, PostgreSQL 15 and later: in_place_merge)
INSERT INTO ip VALUES (3, true, 'c', 0, 0, NULL)
  ON CONFLICT (id) DO UPDATE SET note = 'upserted' RETURNING id, version;
SELECT id, version, note FROM ip WHERE id = 3;

DROP TABLE ip, ip_added, ip_parts;
DROP FUNCTION ip_after();
