--
-- Audit levels: a table's mode, and next to it a stricter mode whose
-- refusals are let through and reported as WARNINGs (the server log's
-- lines are tested in t/011_audit_log.pl).  Each mode with each stricter
-- level, for every kind; the levels refused; occ.default_audit; who may
-- set what; what a role that may not read the key sees.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE SCHEMA aud;
CREATE ROLE regress_occ_auditor;

-- ==== setting an audit level: each mode with each stricter level ====
CREATE TABLE aud.lax_strict (id int PRIMARY KEY, v text);
CREATE TABLE aud.none_lax (id int PRIMARY KEY, v text);
CREATE TABLE aud.none_strict (id int PRIMARY KEY, v text);
CREATE TABLE aud.follows (id int PRIMARY KEY, v text);
INSERT INTO aud.lax_strict VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO aud.none_lax VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO aud.none_strict VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO aud.follows VALUES (1, 'a'), (2, 'b'), (3, 'c');
SET client_min_messages = warning;
SELECT occ.enable('aud.lax_strict', mode => 'lax', audit => 'strict');
SELECT occ.enable('aud.none_lax', mode => 'none', audit => 'lax');
SELECT occ.enable('aud.none_strict', mode => 'none');
SELECT occ.set_mode('aud.none_strict', 'none', audit => 'strict');
-- a table that follows occ.default_mode may have any level: it applies
-- while it is stricter than the table's effective mode
SELECT occ.enable('aud.follows', audit => 'lax');
RESET client_min_messages;
SELECT table_name, mode, effective_mode, audit, effective_audit
FROM occ.tables WHERE schema_name = 'aud' ORDER BY table_name::text;
-- the level is an argument of the trigger, which pg_dump keeps
SELECT tgrelid::regclass, pg_get_triggerdef(oid) FROM pg_trigger
WHERE tgname = 'occ_version' AND tgrelid::regclass::text LIKE 'aud.%' ORDER BY tgrelid::regclass::text;
-- follows: lax now (occ.default_mode), then strict: audited as lax no more
SET occ.default_mode = 'strict';
SELECT table_name, effective_mode, audit, effective_audit
FROM occ.tables WHERE table_name = 'aud.follows'::regclass;
SET occ.default_mode = 'none';
SELECT table_name, effective_mode, audit, effective_audit
FROM occ.tables WHERE table_name = 'aud.follows'::regclass;
RESET occ.default_mode;

-- ==== levels refused: not stricter than the mode, or no level ====
CREATE TABLE aud.refused (id int PRIMARY KEY);
SELECT occ.enable('aud.refused', mode => 'strict', audit => 'strict'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.refused', mode => 'strict', audit => 'lax'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.refused', mode => 'lax', audit => 'lax'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.refused', mode => 'none', audit => 'none'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.refused', audit => 'STRICT'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.refused', audit => 'default'); \echo :LAST_ERROR_SQLSTATE
-- nothing was enabled, nothing added
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'aud.refused'::regclass;
SELECT count(*) AS version_columns FROM pg_attribute
WHERE attrelid = 'aud.refused'::regclass AND attname = 'version';
-- on an enabled table: refused, and its settings stay as they were
SELECT occ.set_mode('aud.lax_strict', 'lax', audit => 'lax'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('aud.none_lax', 'strict', audit => 'lax'); \echo :LAST_ERROR_SQLSTATE
-- occ.enable keeps the level it is not given: a mode that the table's
-- level is not stricter than is refused, with a hint to set both
SELECT occ.enable('aud.lax_strict', mode => 'strict'); \echo :LAST_ERROR_SQLSTATE
SELECT table_name, mode, audit FROM occ.tables
WHERE table_name IN ('aud.lax_strict'::regclass, 'aud.none_lax'::regclass) ORDER BY table_name::text;

-- ==== lax, audited as strict ====
\set VERBOSITY sqlstate
-- states nothing: reported (23V01), and written
UPDATE aud.lax_strict SET v = 'a1' WHERE id = 1;
DELETE FROM aud.lax_strict WHERE id = 3;
-- stale: refused by lax itself (40V01)
UPDATE aud.lax_strict SET v = 'x', version = 1 WHERE id = 1;
-- states the current version: nothing to report, in the SET list, the
-- WHERE clause or occ.if_match
UPDATE aud.lax_strict SET v = 'a2', version = 2 WHERE id = 1;
UPDATE aud.lax_strict SET v = 'a3' WHERE id = 1 AND version = 3;
BEGIN;
SET LOCAL occ.if_match = '4';
UPDATE aud.lax_strict SET v = 'a4' WHERE id = 1;
COMMIT;
-- a proposal (a version past the current one) states nothing: reported
UPDATE aud.lax_strict SET v = 'a5', version = 100 WHERE id = 1;
SELECT * FROM aud.lax_strict ORDER BY id;

-- ==== none, audited as lax ====
-- stale: reported (40V01), and written; the version advances
UPDATE aud.none_lax SET v = 'a1', version = 0 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '5';
DELETE FROM aud.none_lax WHERE id = 3;
COMMIT;
-- states the current version: nothing to report
UPDATE aud.none_lax SET v = 'a2', version = 2 WHERE id = 1;
-- states nothing: lax does not mind
UPDATE aud.none_lax SET v = 'b1' WHERE id = 2;
DELETE FROM aud.none_lax WHERE id = 2;
-- a proposal (a version past the current one) is taken, as in every mode
UPDATE aud.none_lax SET v = 'a3', version = 100 WHERE id = 1;
SELECT * FROM aud.none_lax ORDER BY id;

-- ==== none, audited as strict ====
-- stale (40V01) and states nothing (23V01): both reported, both written
UPDATE aud.none_strict SET v = 'a1', version = 0 WHERE id = 1;
UPDATE aud.none_strict SET v = 'b1' WHERE id = 2;
DELETE FROM aud.none_strict WHERE id = 3;
-- states the current version: nothing to report
UPDATE aud.none_strict SET v = 'a2' WHERE id = 1 AND version = 2;
SELECT * FROM aud.none_strict ORDER BY id;

-- ==== one report per row ====
UPDATE aud.none_strict SET v = v || '+' WHERE id IN (1, 2);

-- ==== the reports in full: message, DETAIL, HINT ====
\set VERBOSITY default
UPDATE aud.lax_strict SET v = 'a5' WHERE id = 1;
DELETE FROM aud.lax_strict WHERE id = 2;
UPDATE aud.none_lax SET v = 'a4', version = 7 WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '"7"';
UPDATE aud.none_lax SET v = 'a5' WHERE id = 1;
COMMIT;
-- the wrappers state their if_match argument
SELECT occ.update('aud.none_lax', '{"id": 1}', '"7"', '{"v": "a6"}') ->> 'v' AS v;
-- by a statement a trigger ran
CREATE TABLE aud.log (id int);
CREATE FUNCTION aud.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE aud.none_strict SET v = v || '!' WHERE id = 1;
  RETURN NULL;
END $$;
CREATE TRIGGER touch AFTER INSERT ON aud.log FOR EACH ROW EXECUTE FUNCTION aud.touch();
INSERT INTO aud.log VALUES (1);
-- the would-be SQLSTATE follows occ.error_style: PostgREST's PT428
SET occ.error_style = 'http';
\set VERBOSITY sqlstate
UPDATE aud.lax_strict SET v = 'a6' WHERE id = 1;
UPDATE aud.none_lax SET v = 'a7', version = 1 WHERE id = 1;
RESET occ.error_style;
-- occ.audit_client_messages = off: nothing for the client (the server log
-- still gets its line)
SET occ.audit_client_messages = off;
UPDATE aud.lax_strict SET v = 'a7' WHERE id = 1;
RESET occ.audit_client_messages;

-- ==== a burst from one statement: the first 10 reports ====
\set VERBOSITY default
CREATE TABLE aud.burst (id int PRIMARY KEY);
INSERT INTO aud.burst SELECT generate_series(1, 25);
SELECT occ.enable('aud.burst', mode => 'lax', audit => 'strict');
\set VERBOSITY sqlstate
UPDATE aud.burst SET id = id + 100;
-- the next statement starts again
UPDATE aud.burst SET id = id - 100 WHERE id <= 101;
\set VERBOSITY default

-- ==== kind timestamp ====
CREATE TABLE aud.stamped (id int PRIMARY KEY, v text);
INSERT INTO aud.stamped VALUES (1, 'a');
SELECT occ.enable('aud.stamped', 'modified', 'timestamp', mode => 'none');
SELECT occ.set_mode('aud.stamped', 'none', audit => 'strict');
SELECT modified AS stamped_read FROM aud.stamped WHERE id = 1 \gset
\set VERBOSITY sqlstate
-- current (nothing), stale (40V01), nothing stated (23V01)
UPDATE aud.stamped SET v = 'b' WHERE id = 1 AND modified = :'stamped_read';
SELECT v, modified > :'stamped_read' AS advanced FROM aud.stamped;
UPDATE aud.stamped SET v = 'c', modified = '1999-01-01 00:00:00+00' WHERE id = 1;
UPDATE aud.stamped SET v = 'd' WHERE id = 1;
SELECT v, modified > :'stamped_read' AS advanced FROM aud.stamped;

-- ==== kind hash: only occ.if_match and the wrappers state a version ====
\set VERBOSITY default
CREATE TABLE aud.hashed (id int PRIMARY KEY, v text);
INSERT INTO aud.hashed VALUES (1, 'a'), (2, 'b');
SELECT occ.enable('aud.hashed', kind => 'hash', mode => 'none', audit => 'strict');
\set VERBOSITY sqlstate
UPDATE aud.hashed SET v = 'a1' WHERE id = 1;
BEGIN;
SET LOCAL occ.if_match = '"00000000000000000000000000000000"';
UPDATE aud.hashed SET v = 'a2' WHERE id = 1;
COMMIT;
BEGIN;
SELECT set_config('occ.if_match', occ.etag(h), true) IS NOT NULL AS set FROM aud.hashed h WHERE id = 2;
UPDATE aud.hashed SET v = 'b1' WHERE id = 2;
COMMIT;
\set VERBOSITY default
UPDATE aud.hashed SET v = 'a3' WHERE id = 1;
SELECT * FROM aud.hashed ORDER BY id;
SELECT occ.set_mode('aud.hashed', 'lax', audit => 'strict');
\set VERBOSITY sqlstate
DELETE FROM aud.hashed WHERE id = 2;
SELECT * FROM aud.hashed ORDER BY id;

-- ==== kind stream: appends ====
\set VERBOSITY default
CREATE TABLE aud.events (stream text, version bigint, body text, PRIMARY KEY (stream, version));
SELECT occ.enable('aud.events', kind => 'stream', stream_column => 'stream',
                  mode => 'lax', audit => 'strict');
-- lax, audited as strict: an append that states no version is reported
INSERT INTO aud.events (stream, body) VALUES ('s1', 'first');
SELECT occ.append('aud.events', 's1', NULL, '[{"body": "second"}]');
-- one that states it is not
BEGIN;
SET LOCAL occ.if_match = '2';
INSERT INTO aud.events (stream, body) VALUES ('s1', 'third');
COMMIT;
-- a stale one is refused by lax
\set VERBOSITY sqlstate
SELECT occ.append('aud.events', 's1', '1', '[{"body": "x"}]');
\set VERBOSITY default
-- none, audited as lax: stale appends are reported and go ahead
SELECT occ.set_mode('aud.events', 'none', audit => 'lax');
SELECT occ.append('aud.events', 's1', '1', '[{"body": "fourth"}]');
-- a given version that does not follow the stream's is kept, and reported
INSERT INTO aud.events VALUES ('s1', 9, 'ninth');
INSERT INTO aud.events VALUES ('s1', 10, 'tenth');
-- events may be changed in mode none: no 40V01 or 23V01 stands for that
UPDATE aud.events SET body = 'FIRST' WHERE stream = 's1' AND version = 1;
SELECT * FROM aud.events ORDER BY stream, version;

-- ==== a partitioned table: its partitions are audited with it ====
CREATE TABLE aud.parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE aud.parted_1 PARTITION OF aud.parted FOR VALUES FROM (1) TO (10);
INSERT INTO aud.parted VALUES (1, 'a');
SELECT occ.enable('aud.parted', mode => 'lax', audit => 'strict');
CREATE TABLE aud.parted_2 PARTITION OF aud.parted FOR VALUES FROM (10) TO (20);
INSERT INTO aud.parted VALUES (11, 'b');
\set VERBOSITY sqlstate
UPDATE aud.parted SET v = v || '+';
-- moved to another partition: checked once, reported once
UPDATE aud.parted SET id = 12 WHERE id = 1;
\set VERBOSITY default
SELECT occ.set_mode('aud.parted_1', 'none', audit => 'strict'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM aud.parted ORDER BY id;

-- ==== occ.default_audit: for tables without a level of their own ====
SHOW occ.default_audit;
CREATE TABLE aud.plain (id int PRIMARY KEY, v text);
INSERT INTO aud.plain VALUES (1, 'a');
SELECT occ.enable('aud.plain');
SET occ.default_audit = 'strict';
SELECT table_name, effective_mode, audit, effective_audit FROM occ.tables
WHERE schema_name = 'aud' ORDER BY table_name::text;
UPDATE aud.plain SET v = 'b' WHERE id = 1;
-- a table's own level wins: none_lax stays audited as lax
\set VERBOSITY sqlstate
UPDATE aud.none_lax SET v = 'c' WHERE id = 1;
-- where the default is not stricter than the mode, it does not apply
SELECT occ.set_mode('aud.plain', 'strict');
UPDATE aud.plain SET v = 'c' WHERE id = 1;
SET occ.default_audit = 'lax';
SELECT occ.set_mode('aud.plain', 'lax');
UPDATE aud.plain SET v = 'c' WHERE id = 1;
SELECT occ.set_mode('aud.plain', 'none');
UPDATE aud.plain SET v = 'd', version = 1 WHERE id = 1;
RESET occ.default_audit;
UPDATE aud.plain SET v = 'e', version = 1 WHERE id = 1;
\set VERBOSITY default
SET occ.default_audit = 'bogus'; \echo :LAST_ERROR_SQLSTATE

-- ==== privileges ====
GRANT USAGE ON SCHEMA aud TO regress_occ_auditor;
GRANT SELECT (v), UPDATE (v, version) ON aud.none_lax TO regress_occ_auditor;
SET ROLE regress_occ_auditor;
-- only a superuser (or a role granted SET on it) sets the default
SET occ.default_audit = 'strict'; \echo :LAST_ERROR_SQLSTATE
SHOW occ.default_audit;
-- and silencing its own client is anyone's choice
SET occ.audit_client_messages = off;
SHOW occ.audit_client_messages;
RESET occ.audit_client_messages;
-- only the owner sets a table's level
SELECT occ.set_mode('aud.none_lax', 'none', audit => 'strict'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('aud.none_lax', mode => 'none', audit => 'strict'); \echo :LAST_ERROR_SQLSTATE
-- a role that may not read the key, nor the version, sees neither
UPDATE aud.none_lax SET v = 'f', version = 0 WHERE v = 'c';
RESET ROLE;
GRANT SELECT (version) ON aud.none_lax TO regress_occ_auditor;
SET ROLE regress_occ_auditor;
-- the versions, but not the key
UPDATE aud.none_lax SET v = 'g', version = 0 WHERE v = 'f';
RESET ROLE;
SELECT table_name, mode, audit FROM occ.tables WHERE table_name = 'aud.none_lax'::regclass;

-- ==== dropping the level ====
-- occ.set_mode without a level: the table follows occ.default_audit
SELECT occ.set_mode('aud.lax_strict', 'strict');
SELECT table_name, mode, audit, effective_audit FROM occ.tables
WHERE table_name = 'aud.lax_strict'::regclass;
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'aud.lax_strict'::regclass;
\set VERBOSITY sqlstate
UPDATE aud.lax_strict SET v = 'z' WHERE id = 1;
\set VERBOSITY default

REVOKE ALL ON SCHEMA aud FROM regress_occ_auditor;
REVOKE ALL ON aud.none_lax FROM regress_occ_auditor;
DROP SCHEMA aud CASCADE;
DROP ROLE regress_occ_auditor;
