--
-- occ.update and occ.delete check the version they are given wherever they
-- are called from, also from a trigger, and only that version (issue 8,
-- item 9): the wrapper states it to the trigger for its own statement, and
-- neither the session's occ.if_match nor the exemption of rows written by
-- triggers applies to the wrapper's rows.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE wn_acc (id int PRIMARY KEY, balance int);
INSERT INTO wn_acc VALUES (1, 100), (2, 200), (3, 300);
SELECT occ.enable('wn_acc', mode => 'strict');

-- commands, carried out by triggers through the wrappers
CREATE TABLE wn_cmd (op text, acc int, if_match text, balance int);
CREATE FUNCTION wn_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.op = 'update' THEN
    PERFORM occ.update('wn_acc', jsonb_build_object('id', NEW.acc), NEW.if_match,
                       jsonb_build_object('balance', NEW.balance));
  ELSIF NEW.op = 'touch' THEN
    PERFORM occ.update('wn_acc', jsonb_build_object('id', NEW.acc), NEW.if_match, '{}');
  ELSE
    PERFORM occ.delete('wn_acc', jsonb_build_object('id', NEW.acc), NEW.if_match);
  END IF;
  RETURN NEW;
END $$;

-- ==== from an AFTER trigger of another table ====
CREATE TRIGGER wn_after AFTER INSERT ON wn_cmd FOR EACH ROW EXECUTE FUNCTION wn_run();
INSERT INTO wn_cmd VALUES ('update', 1, '"7"', 101); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('update', 1, NULL, 101); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('update', 1, '"1"', 101);
INSERT INTO wn_cmd VALUES ('touch', 1, '1', NULL); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('touch', 1, '2', NULL);
INSERT INTO wn_cmd VALUES ('update', 1, 'W/"3"', 103); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('update', 1, '"x"', 103); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('delete', 2, '"5"', NULL); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('delete', 2, NULL, NULL); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('delete', 2, '"1"', NULL);
SELECT * FROM wn_acc ORDER BY id;
DROP TRIGGER wn_after ON wn_cmd;

-- ==== from a BEFORE trigger ====
CREATE TRIGGER wn_before BEFORE INSERT ON wn_cmd FOR EACH ROW EXECUTE FUNCTION wn_run();
INSERT INTO wn_cmd VALUES ('update', 3, '"7"', 301); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('update', 3, NULL, 301); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_cmd VALUES ('update', 3, '*', 301);
INSERT INTO wn_cmd VALUES ('delete', 3, '1', NULL); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM wn_acc ORDER BY id;

-- ==== a trigger of the written table itself calls a wrapper ====
-- the nested call's own row is checked against its own if_match; the
-- outer call's row against the outer one
CREATE TABLE wn_pair (id int PRIMARY KEY, twin int, note text);
INSERT INTO wn_pair VALUES (1, 2, 'a'), (2, 1, 'b');
SELECT occ.enable('wn_pair', mode => 'strict');
CREATE FUNCTION wn_twin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- a note "x1!" on row 1 is copied to its twin, stating version 1
  IF NEW.note LIKE '%!' AND NEW.id = 1 THEN
    PERFORM occ.update('wn_pair', jsonb_build_object('id', NEW.twin),
                       left(right(NEW.note, 2), 1), jsonb_build_object('note', NEW.note));
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER wn_twin BEFORE UPDATE ON wn_pair FOR EACH ROW EXECUTE FUNCTION wn_twin();
SELECT occ.update('wn_pair', '{"id": 1}', '1', '{"note": "x1!"}') ->> 'note' AS note;
-- the nested call is stale
SELECT occ.update('wn_pair', '{"id": 1}', '2', '{"note": "y1!"}'); \echo :LAST_ERROR_SQLSTATE
-- the outer call is stale
SELECT occ.update('wn_pair', '{"id": 1}', '1', '{"note": "z2!"}'); \echo :LAST_ERROR_SQLSTATE
-- and neither
SELECT occ.update('wn_pair', '{"id": 1}', '2', '{"note": "z2!"}') ->> 'note' AS note;
SELECT * FROM wn_pair ORDER BY id;

-- ==== a partitioned table, from a trigger ====
CREATE TABLE wn_parts (region text, id int, qty int, PRIMARY KEY (region, id))
  PARTITION BY LIST (region);
CREATE TABLE wn_parts_eu PARTITION OF wn_parts FOR VALUES IN ('eu');
CREATE TABLE wn_parts_us PARTITION OF wn_parts FOR VALUES IN ('us');
INSERT INTO wn_parts VALUES ('eu', 1, 1);
SELECT occ.enable('wn_parts', mode => 'strict');
CREATE TABLE wn_move (if_match text);
CREATE FUNCTION wn_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM occ.update('wn_parts', '{"region": "eu", "id": 1}', NEW.if_match,
                     '{"region": "us", "qty": 2}');
  RETURN NULL;
END $$;
CREATE TRIGGER wn_move AFTER INSERT ON wn_move FOR EACH ROW EXECUTE FUNCTION wn_move();
INSERT INTO wn_move VALUES ('"2"'); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_move VALUES (NULL); \echo :LAST_ERROR_SQLSTATE
INSERT INTO wn_move VALUES ('"1"');
SELECT tableoid::regclass, * FROM wn_parts;

-- ==== the session's occ.if_match never applies to a wrapper's rows ====
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT occ.update('wn_acc', '{"id": 1}', '"1"', '{"balance": 0}'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '*';
SELECT occ.update('wn_acc', '{"id": 1}', NULL, '{"balance": 0}'); \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL occ.if_match = '"1"';
SELECT occ.update('wn_acc', '{"id": 1}', '"3"', '{"balance": 104}') ->> 'version' AS version;
-- and is still there, unchanged, for the session's own writes
SHOW occ.if_match;
UPDATE wn_acc SET balance = 0 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- an unreadable occ.if_match does not matter to the wrappers either
BEGIN;
SET LOCAL occ.if_match = '"unterminated';
SELECT occ.update('wn_acc', '{"id": 1}', '3', '{"balance": 104}') ->> 'version' AS version;
ROLLBACK;

DROP TABLE wn_acc, wn_cmd, wn_pair, wn_parts, wn_move;
DROP FUNCTION wn_run(), wn_twin(), wn_move();
