--
-- DDL never leaves a table silently unchecked: the version column can be
-- renamed (the protection follows it), the table renamed or moved; a type
-- that cannot hold versions, DROP COLUMN and DROP NOT NULL are refused;
-- what removes the protection shows in occ.tables.  No two mechanisms
-- advance one column.
--
\set VERBOSITY default

CREATE TABLE ddl_acc (id int PRIMARY KEY, balance int);
INSERT INTO ddl_acc VALUES (1, 10);
SELECT occ.enable('ddl_acc', mode => 'strict');

-- ==== renaming the version column: checks keep working ====
ALTER TABLE ddl_acc RENAME COLUMN version TO row_version;
SELECT table_name, version_column, mode FROM occ.tables WHERE table_name = 'ddl_acc'::regclass;
UPDATE ddl_acc SET balance = 11, row_version = 1 WHERE id = 1;
UPDATE ddl_acc SET balance = 12, row_version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE ddl_acc SET balance = 12 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- quoted, odd names too; and renaming in a transaction that rolls back
ALTER TABLE ddl_acc RENAME COLUMN row_version TO "Row ""V""";
BEGIN;
ALTER TABLE ddl_acc RENAME COLUMN "Row ""V""" TO rolled_back;
ROLLBACK;
SELECT version_column FROM occ.tables WHERE table_name = 'ddl_acc'::regclass;
UPDATE ddl_acc SET balance = 12, "Row ""V""" = 2 WHERE id = 1;
-- renaming another column changes nothing
ALTER TABLE ddl_acc RENAME COLUMN balance TO amount;
SELECT * FROM ddl_acc;

-- ==== renaming or moving the table ====
ALTER TABLE ddl_acc RENAME TO ddl_account;
CREATE SCHEMA ddl_other;
ALTER TABLE ddl_account SET SCHEMA ddl_other;
SELECT table_name, schema_name, version_column FROM occ.tables
 WHERE table_name = 'ddl_other.ddl_account'::regclass;
UPDATE ddl_other.ddl_account SET amount = 13, "Row ""V""" = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA ddl_other RENAME TO ddl_moved;
UPDATE ddl_moved.ddl_account SET amount = 13, "Row ""V""" = 3 WHERE id = 1;
SELECT * FROM ddl_moved.ddl_account;

-- ==== changing the type: to one that fits, allowed; otherwise refused ====
ALTER TABLE ddl_moved.ddl_account ALTER COLUMN "Row ""V""" TYPE integer;
UPDATE ddl_moved.ddl_account SET amount = 14, "Row ""V""" = 4 WHERE id = 1;
ALTER TABLE ddl_moved.ddl_account ALTER COLUMN "Row ""V""" TYPE text; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_moved.ddl_account ALTER COLUMN "Row ""V""" TYPE numeric; \echo :LAST_ERROR_SQLSTATE
-- ==== dropping the column, or its NOT NULL, is refused ====
ALTER TABLE ddl_moved.ddl_account DROP COLUMN "Row ""V"""; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_moved.ddl_account DROP COLUMN "Row ""V""" CASCADE; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_moved.ddl_account ALTER COLUMN "Row ""V""" DROP NOT NULL; \echo :LAST_ERROR_SQLSTATE
-- nothing changed
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_attribute a WHERE a.attrelid = 'ddl_moved.ddl_account'::regclass AND a.attnum > 0
   AND NOT a.attisdropped ORDER BY a.attnum;
SELECT table_name, version_column, mode FROM occ.tables
 WHERE table_name = 'ddl_moved.ddl_account'::regclass;
-- after occ.disable, the column is the user's again
SELECT occ.disable('ddl_moved.ddl_account');
ALTER TABLE ddl_moved.ddl_account DROP COLUMN "Row ""V""";
DROP TABLE ddl_moved.ddl_account;
DROP SCHEMA ddl_moved;

-- timestamp versions: date cannot hold one, timestamp can
CREATE TABLE ddl_ts (id int PRIMARY KEY);
INSERT INTO ddl_ts VALUES (1);
SELECT occ.enable('ddl_ts', 'changed', 'timestamp');
ALTER TABLE ddl_ts ALTER COLUMN changed TYPE date; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_ts ALTER COLUMN changed TYPE timestamp(3);
UPDATE ddl_ts SET id = 1;
SELECT changed = date_trunc('milliseconds', changed) AS at_new_precision FROM ddl_ts;

-- ==== partitioned tables and inheritance children follow a rename ====
CREATE TABLE ddl_parts (id int, region text, qty int) PARTITION BY LIST (region);
CREATE TABLE ddl_parts_a PARTITION OF ddl_parts FOR VALUES IN ('a');
CREATE TABLE ddl_parts_b PARTITION OF ddl_parts FOR VALUES IN ('b');
INSERT INTO ddl_parts VALUES (1, 'a', 1), (2, 'b', 1);
SELECT occ.enable('ddl_parts');
ALTER TABLE ddl_parts RENAME COLUMN version TO v;
SELECT c.relname, t.tgisinternal, t.tgparentid <> 0 AS clone,
       (SELECT substr(a, length('column=') + 1)
          FROM unnest(string_to_array(encode(t.tgargs, 'escape'), '\000')) a
         WHERE a LIKE 'column=%') AS version_column
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgfoid = 'occ.check_version()'::regprocedure AND c.relname LIKE 'ddl_parts%'
 ORDER BY c.relname;
UPDATE ddl_parts SET qty = 2, v = 1 WHERE id = 1;
UPDATE ddl_parts SET qty = 3, v = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE ddl_parts SET region = 'b', v = 2 WHERE id = 1;
ALTER TABLE ddl_parts DROP COLUMN v; \echo :LAST_ERROR_SQLSTATE
SELECT * FROM ddl_parts ORDER BY id;

CREATE TABLE ddl_base (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1);
CREATE TABLE ddl_child (extra int) INHERITS (ddl_base);
INSERT INTO ddl_child VALUES (1, 1, 0);
SELECT occ.enable('ddl_child');
ALTER TABLE ddl_base RENAME COLUMN version TO ver;
SELECT table_name, version_column FROM occ.tables WHERE table_name = 'ddl_child'::regclass;
UPDATE ddl_child SET extra = 1, ver = 1;
UPDATE ddl_child SET extra = 2, ver = 1; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_base DROP COLUMN ver; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE ddl_base ALTER COLUMN ver TYPE text; \echo :LAST_ERROR_SQLSTATE

-- ==== what removes the protection shows in occ.tables ====
-- a copy made with LIKE has the column, not the trigger
CREATE TABLE ddl_copy (LIKE ddl_child INCLUDING ALL);
SELECT count(*) AS copy_listed FROM occ.tables WHERE table_name = 'ddl_copy'::regclass;
-- dropping the trigger by hand
CREATE TABLE ddl_hand (id int PRIMARY KEY);
INSERT INTO ddl_hand VALUES (1);
SELECT occ.enable('ddl_hand', mode => 'strict');
DROP TRIGGER occ_version ON ddl_hand;
SELECT count(*) AS hand_listed FROM occ.tables WHERE table_name = 'ddl_hand'::regclass;
UPDATE ddl_hand SET id = 1;

-- ==== two mechanisms must never advance one column ====
-- a hand-written optimistic-locking trigger, as people write them today:
-- occ can only guess from its source that it sets the column, so it warns
CREATE FUNCTION ddl_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version <> OLD.version THEN
    RAISE EXCEPTION 'stale';
  END IF;
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;
CREATE TABLE ddl_legacy (id int PRIMARY KEY, version int NOT NULL DEFAULT 1);
CREATE TRIGGER legacy_bump BEFORE UPDATE ON ddl_legacy FOR EACH ROW EXECUTE FUNCTION ddl_bump();
SELECT occ.enable('ddl_legacy');
SELECT count(*) AS legacy_listed FROM occ.tables WHERE table_name = 'ddl_legacy'::regclass;
DROP TRIGGER legacy_bump ON ddl_legacy;
SELECT occ.enable('ddl_legacy');
INSERT INTO ddl_legacy VALUES (1, 1);
-- and warns when such a trigger is added afterwards
CREATE TRIGGER legacy_bump BEFORE UPDATE ON ddl_legacy FOR EACH ROW EXECUTE FUNCTION ddl_bump();
DROP TRIGGER legacy_bump ON ddl_legacy;
-- "NEW.version = ..." as a statement is an assignment too; in an IF it is not
CREATE FUNCTION ddl_bump_eq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  new.Version = old.version + 1; RETURN NEW;
END $$;
CREATE TRIGGER bump_eq BEFORE UPDATE ON ddl_legacy FOR EACH ROW EXECUTE FUNCTION ddl_bump_eq();
DROP TRIGGER bump_eq ON ddl_legacy;
CREATE FUNCTION ddl_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version = OLD.version THEN
    RAISE NOTICE 'version unchanged';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit BEFORE UPDATE ON ddl_legacy FOR EACH ROW EXECUTE FUNCTION ddl_audit();
-- a C trigger that is given the column, as contrib's moddatetime is, is
-- certain to set it: refused
CREATE EXTENSION moddatetime;
CREATE TABLE ddl_stamped (id int PRIMARY KEY, changed timestamptz NOT NULL DEFAULT now());
CREATE TRIGGER stamp BEFORE UPDATE ON ddl_stamped FOR EACH ROW EXECUTE FUNCTION moddatetime(changed);
SELECT occ.enable('ddl_stamped', 'changed', 'timestamp'); \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER stamp ON ddl_stamped;
SELECT occ.enable('ddl_stamped', 'changed', 'timestamp');
CREATE TRIGGER stamp BEFORE UPDATE ON ddl_stamped FOR EACH ROW EXECUTE FUNCTION moddatetime(changed); \echo :LAST_ERROR_SQLSTATE
-- a second occ trigger, made by hand
CREATE TRIGGER occ_again BEFORE UPDATE OR DELETE ON ddl_stamped FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=changed', 'kind=timestamp', 'mode=none'); \echo :LAST_ERROR_SQLSTATE
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname IN ('ddl_legacy', 'ddl_stamped') AND NOT t.tgisinternal ORDER BY 1, 2;
-- occ and the harmless audit trigger together: one step per UPDATE
UPDATE ddl_legacy SET id = id;
SELECT id, version FROM ddl_legacy;

-- ==== DROP EXTENSION ====
DROP EXTENSION occ; \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_listed FROM occ.tables;
DROP EXTENSION occ CASCADE;
SELECT count(*) AS occ_triggers_left FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE p.proname = 'check_version';
SELECT count(*) AS guards_left FROM pg_event_trigger WHERE evtname = 'occ_ddl_guard';
CREATE EXTENSION occ;
SELECT count(*) AS listed FROM occ.tables;

DROP TABLE ddl_ts, ddl_parts, ddl_child, ddl_base, ddl_copy, ddl_hand, ddl_legacy, ddl_stamped;
DROP FUNCTION ddl_bump(), ddl_bump_eq(), ddl_audit();
DROP EXTENSION moddatetime;
