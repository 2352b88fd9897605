--
-- in_place_merge: MERGE (PostgreSQL 15 and later) writes the new row
-- through a slot of its own; the version the trigger stores into it in place
-- is the one stored and the one the index finds (see in_place), and a stale
-- MERGE is refused.
--
\set VERBOSITY terse

-- the row layout of in_place: a NULL, varlena and padding before the version
CREATE TABLE ip (id int PRIMARY KEY, flag bool, note text, small int2, version bigint NOT NULL DEFAULT 1,
                 after_version text);
INSERT INTO ip VALUES (1, true, NULL, 7, 1, 'x'), (2, NULL, repeat('long ', 100), NULL, 1, NULL);
CREATE INDEX ip_version ON ip (version);
SELECT occ.enable('ip');

MERGE INTO ip USING (VALUES (2)) v(id) ON ip.id = v.id
  WHEN MATCHED THEN UPDATE SET note = 'merged';
SELECT id, version, note FROM ip ORDER BY id;
SET enable_seqscan = off;
SELECT id, version FROM ip WHERE version = 2;
RESET enable_seqscan;

-- ==== a stale MERGE is refused ====
MERGE INTO ip USING (VALUES (2)) v(id) ON ip.id = v.id
  WHEN MATCHED THEN UPDATE SET note = 'stale', version = 1;
SELECT id, version, note FROM ip WHERE id = 2;

DROP TABLE ip;
