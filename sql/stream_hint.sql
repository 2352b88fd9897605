--
-- stream_hint: occ reads a stream's version from its unique index on
-- (stream, version), starting from a hint, the version this backend last
-- read or gave an event of the stream.  A hint the stream has not reached
-- (an append rolled back, events archived or truncated, a version given or
-- stated past the stream's) must make occ read the whole stream again,
-- never take the stream for empty: every append below gets the version
-- after the stream's last, or the conflict names that version.  A long
-- stream (its entries over several index pages), a stream column of type
-- bigint with a smallint version column (the hint compared in the index's
-- type), and one statement appending to 100 streams in turn too.
--
\set VERBOSITY default

CREATE TABLE sh_events (stream_id text, version bigint, type text,
                        PRIMARY KEY (stream_id, version));
SELECT occ.enable('sh_events', kind => 'stream', stream_column => 'stream_id',
                  version_column => 'version');

-- The stream's versions: count, first, last, and whether they are 1..n.
CREATE FUNCTION sh_stream(tbl regclass, s text)
RETURNS TABLE (events bigint, first bigint, last bigint, gapless boolean)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT count(*), min(version)::bigint, max(version)::bigint,
            coalesce(max(version) = count(*) AND min(version) = 1, true)
       FROM %s WHERE stream_id::text = $1', tbl) USING s;
END $$;

-- ==== a long stream: the hint is the last version, many pages below ====
INSERT INTO sh_events (stream_id, type) SELECT 'long', 'Loaded' FROM generate_series(1, 2000);
INSERT INTO sh_events (stream_id, type) VALUES ('long', 'Next') RETURNING version;
SELECT occ.append('sh_events', 'long', '2001', '[{"type": "Next"}, {"type": "Next"}]');
SELECT * FROM sh_stream('sh_events', 'long');

-- ==== an append rolled back: the hint is past the stream ====
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Created'), ('rb', 'Added') RETURNING version;
BEGIN;
INSERT INTO sh_events (stream_id, type) SELECT 'rb', 'Lost' FROM generate_series(1, 5) RETURNING version;
ROLLBACK;
-- the backend last gave version 7; the stream is at 2
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Added') RETURNING version;
BEGIN;
SET LOCAL occ.if_match = '3';
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Added') RETURNING version;
ROLLBACK;
SELECT occ.append('sh_events', 'rb', '3', '[{"type": "Added"}]');
-- a savepoint rolled back inside one transaction, then the same stream
BEGIN;
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Kept') RETURNING version;
SAVEPOINT s;
INSERT INTO sh_events (stream_id, type) SELECT 'rb', 'Lost' FROM generate_series(1, 3) RETURNING version;
ROLLBACK TO SAVEPOINT s;
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Kept') RETURNING version;
COMMIT;
SELECT * FROM sh_stream('sh_events', 'rb');

-- ==== a version given past the stream: 40V01 names the stream's last ====
INSERT INTO sh_events (stream_id, version, type) VALUES ('rb', 50, 'Far'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO sh_events (stream_id, version, type) VALUES ('rb', 7, 'Next') RETURNING version;
-- and a given version the stream has passed, after a hint at the stream
INSERT INTO sh_events (stream_id, version, type) VALUES ('rb', 3, 'Old'); \echo :LAST_ERROR_SQLSTATE
-- a version stated past the stream, through occ.if_match and occ.append
BEGIN;
SET LOCAL occ.if_match = '99';
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Far'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.append('sh_events', 'rb', '"99"', '[{"type": "Far"}]'); \echo :LAST_ERROR_SQLSTATE
-- and one the stream has passed, through both
BEGIN;
SET LOCAL occ.if_match = '"2"';
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'Old'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT occ.append('sh_events', 'rb', '2', '[{"type": "Old"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sh_stream('sh_events', 'rb');

-- ==== events archived in mode none: the stream is shorter than the hint ====
SELECT occ.set_mode('sh_events', 'none');
DELETE FROM sh_events WHERE stream_id = 'rb' AND version > 4;
SELECT occ.set_mode('sh_events', NULL);
INSERT INTO sh_events (stream_id, type) VALUES ('rb', 'After') RETURNING version;
SELECT * FROM sh_stream('sh_events', 'rb');

-- ==== the table truncated: every stream is empty again ====
TRUNCATE sh_events;
INSERT INTO sh_events (stream_id, type) VALUES ('long', 'Again'), ('rb', 'Again') RETURNING stream_id, version;
BEGIN;
SET LOCAL occ.if_match = '0';
INSERT INTO sh_events (stream_id, type) VALUES ('fresh', 'Created') RETURNING version;
COMMIT;
SELECT occ.append('sh_events', 'long', '1', '[{"type": "Next"}]');

-- ==== smallint versions, bigint streams: the hint in the index's type ====
CREATE TABLE sh_small (stream_id bigint, version smallint, type text,
                       PRIMARY KEY (stream_id, version));
SELECT occ.enable('sh_small', kind => 'stream', stream_column => 'stream_id',
                  version_column => 'version');
INSERT INTO sh_small (stream_id, type) SELECT 7, 'Loaded' FROM generate_series(1, 600);
INSERT INTO sh_small (stream_id, type) VALUES (7, 'Next'), (7, 'Next') RETURNING version;
BEGIN;
INSERT INTO sh_small (stream_id, type) VALUES (7, 'Lost') RETURNING version;
ROLLBACK;
INSERT INTO sh_small (stream_id, version, type) VALUES (7, 603, 'Given') RETURNING version;
INSERT INTO sh_small (stream_id, version, type) VALUES (7, 700, 'Far'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM sh_stream('sh_small', '7');

-- ==== many streams in turn: hints of other streams never count ====
INSERT INTO sh_events (stream_id, type)
SELECT 's' || (g % 100), 'Round' FROM generate_series(1, 1000) g;
BEGIN;
INSERT INTO sh_events (stream_id, type)
SELECT 's' || (g % 100), 'Lost' FROM generate_series(1, 300) g;
ROLLBACK;
INSERT INTO sh_events (stream_id, type)
SELECT 's' || (g % 100), 'Round' FROM generate_series(1, 1000) g;
SELECT count(*) AS streams, min(n) AS fewest, max(n) AS most,
       bool_and(gapless) AS all_gapless
  FROM (SELECT stream_id, count(*) AS n, max(version) = count(*) AS gapless
          FROM sh_events WHERE stream_id LIKE 's%' GROUP BY stream_id) x;

-- ==== occ.append keeps its statement: planned again when the table changes ====
CREATE TABLE sh_plan (stream_id text, version int, type text,
                      PRIMARY KEY (stream_id, version));
SELECT occ.enable('sh_plan', kind => 'stream', stream_column => 'stream_id');
SELECT occ.append('sh_plan', 'p', '0', '[{"type": "A"}]');
ALTER TABLE sh_plan ADD COLUMN note text DEFAULT 'the default';
SELECT occ.append('sh_plan', 'p', '1', '[{"type": "B"}]');
ALTER TABLE sh_plan ALTER COLUMN type TYPE varchar(5);
SELECT occ.append('sh_plan', 'p', '2', '[{"type": "Longer"}]'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.append('sh_plan', 'p', '2', '[{"type": "C", "note": "given"}]');
SELECT version, type, note FROM sh_plan ORDER BY version;
-- a new table of the same name: the same statement text, another table
DROP TABLE sh_plan;
CREATE TABLE sh_plan (stream_id text, version int, type text,
                      PRIMARY KEY (stream_id, version));
SELECT occ.enable('sh_plan', kind => 'stream', stream_column => 'stream_id');
SELECT occ.append('sh_plan', 'p', '0', '[{"type": "A"}]');
SELECT version, type FROM sh_plan ORDER BY version;

DROP TABLE sh_events, sh_small, sh_plan;
DROP FUNCTION sh_stream(regclass, text);
