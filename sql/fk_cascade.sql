--
-- fk_cascade: rows written by triggers.  Foreign-key actions advance their
-- version without being checked against occ.if_match or the strict
-- requirement.  Statements run by other triggers -- audit triggers,
-- INSTEAD OF triggers -- are not held to the client's occ.if_match, which
-- was stated for the client's own rows, but they are held to the strict
-- requirement, and a version they assign themselves is checked.  Writes
-- made directly by the statement are checked as always.
--

-- ===================================================================
-- setup: a parent and strict children with cascading foreign keys
-- ===================================================================
CREATE TABLE fk_parent (id int PRIMARY KEY, name text);
CREATE TABLE fk_child (
    id int PRIMARY KEY,
    parent_id int REFERENCES fk_parent ON UPDATE CASCADE ON DELETE CASCADE,
    note text
);
CREATE TABLE fk_child_null (
    id int PRIMARY KEY,
    parent_id int REFERENCES fk_parent ON UPDATE CASCADE ON DELETE SET NULL,
    note text
);
INSERT INTO fk_parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
SELECT occ.enable('fk_child', mode => 'strict');
SELECT occ.enable('fk_child_null', mode => 'strict');
-- Give the children versions that differ from row to row.
INSERT INTO fk_child (id, parent_id, note, version) VALUES
    (10, 1, 'a', 5), (11, 1, 'b', 7), (12, 2, 'c', 3), (13, 3, 'd', 1);
INSERT INTO fk_child_null (id, parent_id, note, version) VALUES
    (20, 1, 'e', 4), (21, 2, 'f', 6), (22, 3, 'g', 2);

SELECT * FROM fk_child ORDER BY id;
SELECT * FROM fk_child_null ORDER BY id;

-- ===================================================================
-- ON UPDATE CASCADE
-- ===================================================================
-- occ.if_match matches none of the children's rows: the cascaded updates
-- are neither refused (23V01) nor checked (40V01), and each advances by one.
SET occ.if_match = '"99"';
UPDATE fk_parent SET id = 100 WHERE id = 1;
RESET occ.if_match;
-- And with nothing stated at all.
UPDATE fk_parent SET id = 200 WHERE id = 2;
SELECT * FROM fk_child ORDER BY id;
SELECT * FROM fk_child_null ORDER BY id;

-- A direct write to the child is still checked.
UPDATE fk_child SET note = 'x' WHERE id = 10;
SET occ.if_match = '"99"';
UPDATE fk_child SET note = 'x' WHERE id = 10;
RESET occ.if_match;
UPDATE fk_child SET note = 'x', version = 5 WHERE id = 10;
UPDATE fk_child SET note = 'x', version = 6 WHERE id = 10;
SELECT * FROM fk_child ORDER BY id;

-- ===================================================================
-- ON DELETE SET NULL and ON DELETE CASCADE
-- ===================================================================
-- The SET NULL is an UPDATE of fk_child_null: it advances unchecked.  The
-- cascaded DELETE from fk_child is not refused for stating nothing.
SET occ.if_match = '"99"';
DELETE FROM fk_parent WHERE id = 100;
RESET occ.if_match;
DELETE FROM fk_parent WHERE id = 200;
SELECT * FROM fk_parent ORDER BY id;
SELECT * FROM fk_child ORDER BY id;
SELECT * FROM fk_child_null ORDER BY id;

-- A direct DELETE from the child is still checked.
DELETE FROM fk_child WHERE id = 13;
SET occ.if_match = '"99"';
DELETE FROM fk_child WHERE id = 13;
SET occ.if_match = '"1"';
DELETE FROM fk_child WHERE id = 13;
RESET occ.if_match;
SELECT * FROM fk_child ORDER BY id;

-- ===================================================================
-- a strict parent: its own write is checked, the cascade is not
-- ===================================================================
SELECT occ.enable('fk_parent', mode => 'strict');
UPDATE fk_parent SET id = 300 WHERE id = 3;
-- occ.if_match states the parent's version (1); the child rows have other
-- versions (fk_child_null's row is at 2) and pass all the same.
SET occ.if_match = '"1"';
UPDATE fk_parent SET id = 300 WHERE id = 3;
RESET occ.if_match;
SELECT * FROM fk_parent ORDER BY id;
SELECT * FROM fk_child_null ORDER BY id;
SELECT occ.disable('fk_parent');

-- ===================================================================
-- an audit trigger writing to a protected table
-- ===================================================================
CREATE TABLE fk_account (id int PRIMARY KEY, balance int);
CREATE TABLE fk_audit (id int PRIMARY KEY, changes int);
INSERT INTO fk_account VALUES (1, 100), (2, 200);
INSERT INTO fk_audit VALUES (1, 0), (2, 0);
SELECT occ.enable('fk_audit', mode => 'strict');

CREATE FUNCTION fk_count_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fk_audit SET changes = changes + 1 WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER fk_count_change AFTER UPDATE ON fk_account
    FOR EACH ROW EXECUTE FUNCTION fk_count_change();

-- fk_audit is strict: the trigger's UPDATE states no version, and is
-- refused like any other write that states none (the client's occ.if_match
-- does not count for it).
UPDATE fk_account SET balance = balance + 1;
SET occ.if_match = '"1"';
UPDATE fk_account SET balance = balance + 1 WHERE id = 1;
RESET occ.if_match;
SELECT * FROM fk_audit ORDER BY id;

-- In lax mode the audit rows advance, and a client's occ.if_match that
-- matches no audit row does not get in the way.
SELECT occ.set_mode('fk_audit', 'lax');
UPDATE fk_account SET balance = balance + 1;
SET occ.if_match = '"99"';
UPDATE fk_account SET balance = balance + 1 WHERE id = 1;
RESET occ.if_match;
SELECT * FROM fk_audit ORDER BY id;
SELECT occ.set_mode('fk_audit', 'strict');

-- The same UPDATE written directly is checked.
UPDATE fk_audit SET changes = changes + 1 WHERE id = 1;

-- A write made by a function called from the statement (not by a trigger)
-- is the statement's own: checked.
CREATE FUNCTION fk_bump_audit(audit_id int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fk_audit SET changes = changes + 1 WHERE id = audit_id;
END
$$;
SELECT fk_bump_audit(1);
SELECT * FROM fk_audit ORDER BY id;

-- ===================================================================
-- a trigger that assigns the version itself is checked
-- ===================================================================
-- fk_account2 carries the audit version it last saw; its trigger states it.
CREATE TABLE fk_account2 (id int PRIMARY KEY, balance int, audit_version bigint);
INSERT INTO fk_account2 VALUES (1, 100, 1), (2, 200, 1);
CREATE FUNCTION fk_stated_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fk_audit SET changes = changes + 10, version = NEW.audit_version
    WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER fk_stated_change AFTER UPDATE ON fk_account2
    FOR EACH ROW EXECUTE FUNCTION fk_stated_change();

-- Row 1 of fk_audit is at version 3.  Stating 1 is stale.
UPDATE fk_account2 SET balance = 101 WHERE id = 1;
-- Stating 3 passes and advances it to 4.
UPDATE fk_account2 SET balance = 101, audit_version = 3 WHERE id = 1;
-- Row 2 is at version 2; stating 1 is stale even with a matching
-- occ.if_match, because the version assigned wins.
SET occ.if_match = '"2"';
UPDATE fk_account2 SET balance = 201 WHERE id = 2;
RESET occ.if_match;
SELECT * FROM fk_account2 ORDER BY id;
SELECT * FROM fk_audit ORDER BY id;

-- ===================================================================
-- an INSTEAD OF trigger writing through a view
-- ===================================================================
CREATE VIEW fk_audit_view AS SELECT id, changes FROM fk_audit;
CREATE FUNCTION fk_view_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fk_audit SET changes = NEW.changes WHERE id = OLD.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER fk_view_update INSTEAD OF UPDATE ON fk_audit_view
    FOR EACH ROW EXECUTE FUNCTION fk_view_update();

-- fk_audit is strict, and the INSTEAD OF trigger states no version: the
-- write through the view is refused, whatever the client's occ.if_match.
UPDATE fk_audit_view SET changes = 0 WHERE id = 2;
SET occ.if_match = '"2"';
UPDATE fk_audit_view SET changes = 0 WHERE id = 2;
RESET occ.if_match;

-- A view that shows the version, with a trigger that passes on the version
-- the client assigns, is checked like the table itself.
CREATE VIEW fk_audit_versioned AS SELECT id, changes, version FROM fk_audit;
CREATE FUNCTION fk_versioned_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fk_audit SET changes = NEW.changes, version = NEW.version
    WHERE id = OLD.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER fk_versioned_update INSTEAD OF UPDATE ON fk_audit_versioned
    FOR EACH ROW EXECUTE FUNCTION fk_versioned_update();
-- row 2 is at version 2: stating 1 is stale, stating 2 passes
UPDATE fk_audit_versioned SET changes = 0, version = 1 WHERE id = 2;
UPDATE fk_audit_versioned SET changes = 0, version = 2 WHERE id = 2;
-- a client that assigns no version passes the current one on through NEW:
-- that states the current version, as SET version = version does
UPDATE fk_audit_versioned SET changes = 5 WHERE id = 2;
SELECT * FROM fk_audit ORDER BY id;

-- ===================================================================
-- clean up
-- ===================================================================
DROP VIEW fk_audit_view, fk_audit_versioned;
DROP TABLE fk_child, fk_child_null, fk_parent, fk_account, fk_account2, fk_audit;
DROP FUNCTION fk_count_change();
DROP FUNCTION fk_stated_change();
DROP FUNCTION fk_bump_audit(int);
DROP FUNCTION fk_view_update();
DROP FUNCTION fk_versioned_update();
SELECT count(*) FROM occ.tables WHERE table_name::text LIKE 'fk\_%';
