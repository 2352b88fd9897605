--
-- stream_merge: MERGE on a table of kind stream (PostgreSQL 15 and later).
-- Its INSERT actions append events like an INSERT does: numbered per
-- stream, checked against occ.if_match or the versions given; its UPDATE
-- and DELETE actions change events, which is refused unless the mode is
-- none.  Every stream is gapless at the end.
--
\set VERBOSITY default

CREATE TABLE sm_events (stream_id text, version int, type text,
                        PRIMARY KEY (stream_id, version));
SELECT occ.enable('sm_events', kind => 'stream', stream_column => 'stream_id');
INSERT INTO sm_events (stream_id, type) VALUES ('a', 'Created');

-- ==== INSERT actions: numbered per stream, several streams at once ====
MERGE INTO sm_events e
USING (VALUES ('a', 'Renamed'), ('b', 'Created'), ('a', 'Moved')) AS s (stream_id, type)
ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type);
SELECT stream_id, version, type FROM sm_events ORDER BY 1, 2;

-- ==== occ.if_match: one stream; a mismatch is 40V01, two streams 0A000 ====
BEGIN;
SET LOCAL occ.if_match = '3';
MERGE INTO sm_events e
USING (VALUES ('a', 'Closed')) AS s (stream_id, type) ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type);
COMMIT;
BEGIN;
SET LOCAL occ.if_match = '3';
MERGE INTO sm_events e
USING (VALUES ('a', 'Late')) AS s (stream_id, type) ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '*';
MERGE INTO sm_events e
USING (VALUES ('a', 'Late'), ('b', 'Late')) AS s (stream_id, type) ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- ==== the versions given: checked, several streams at once ====
MERGE INTO sm_events e
USING (VALUES ('a', 5, 'Given'), ('b', 2, 'Given'), ('c', 1, 'Given')) AS s (stream_id, version, type)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN NOT MATCHED THEN INSERT VALUES (s.stream_id, s.version, s.type);
-- an event the stream has matches, and DO NOTHING skips it
MERGE INTO sm_events e
USING (VALUES ('a', 5, 'Again'), ('c', 2, 'Given')) AS s (stream_id, version, type)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN MATCHED THEN DO NOTHING
WHEN NOT MATCHED THEN INSERT VALUES (s.stream_id, s.version, s.type);
-- a version the stream has not reached, or one it is past, without a match
MERGE INTO sm_events e
USING (VALUES ('c', 4, 'Gap')) AS s (stream_id, version, type)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN NOT MATCHED THEN INSERT VALUES (s.stream_id, s.version, s.type); \echo :LAST_ERROR_SQLSTATE
MERGE INTO sm_events e
USING (VALUES ('c', 1, 'Twice')) AS s (stream_id, version, type)
ON false
WHEN NOT MATCHED THEN INSERT VALUES (s.stream_id, s.version, s.type); \echo :LAST_ERROR_SQLSTATE
SELECT stream_id, version, type FROM sm_events ORDER BY 1, 2;

-- ==== strict: the INSERT actions must state the version ====
SELECT occ.set_mode('sm_events', 'strict');
MERGE INTO sm_events e
USING (VALUES ('c', 'Counted')) AS s (stream_id, type) ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type); \echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL occ.if_match = '"2"';
MERGE INTO sm_events e
USING (VALUES ('c', 'Stated')) AS s (stream_id, type) ON false
WHEN NOT MATCHED THEN INSERT (stream_id, type) VALUES (s.stream_id, s.type);
COMMIT;

-- ==== UPDATE and DELETE actions: refused (55000), allowed in mode none ====
MERGE INTO sm_events e
USING (VALUES ('a', 1)) AS s (stream_id, version)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN MATCHED THEN UPDATE SET type = 'Changed'; \echo :LAST_ERROR_SQLSTATE
MERGE INTO sm_events e
USING (VALUES ('a', 1)) AS s (stream_id, version)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN MATCHED THEN DELETE; \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('sm_events', 'lax');
MERGE INTO sm_events e
USING (VALUES ('a', 1)) AS s (stream_id, version)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN MATCHED THEN UPDATE SET type = 'Changed'; \echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT occ.set_mode('sm_events', 'none');
MERGE INTO sm_events e
USING (VALUES ('a', 1)) AS s (stream_id, version)
ON e.stream_id = s.stream_id AND e.version = s.version
WHEN MATCHED THEN UPDATE SET type = type || ' (archived)';
SELECT occ.set_mode('sm_events', NULL);
COMMIT;
SELECT stream_id, version, type FROM sm_events ORDER BY 1, 2;

-- ==== every stream gapless ====
SELECT stream_id, count(*) AS events,
       count(*) = count(DISTINCT version) AND min(version) = 1
         AND max(version) = count(*) AS gapless
  FROM sm_events GROUP BY stream_id ORDER BY stream_id;

DROP TABLE sm_events;
