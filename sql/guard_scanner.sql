--
-- Other triggers that would set the version column.  What is certain is
-- refused: a C trigger given the column (contrib's moddatetime), a second
-- occ trigger.  What occ can only guess from a function's source is a
-- WARNING naming the trigger, never a refusal: the guess is wrong both
-- ways, as these triggers show.
--
\set VERBOSITY default

CREATE TABLE scan_acc (id int PRIMARY KEY, qty int, version bigint NOT NULL DEFAULT 1,
                       doc jsonb);
INSERT INTO scan_acc VALUES (1, 10, 1, '{}');

-- ==== mentioned in comments and strings only: no warning ====
CREATE FUNCTION scan_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- we used to write NEW.version := OLD.version + 1; occ does it now
  /* and NEW.version = 0; /* nested */ was wrong too */
  RAISE DEBUG 'never NEW.version := 1, nor NEW := OLD';
  NEW.qty := coalesce(NEW.qty, 0);
  RETURN NEW;
END $$;
CREATE TRIGGER comments BEFORE UPDATE ON scan_acc FOR EACH ROW EXECUTE FUNCTION scan_comments();
SELECT occ.enable('scan_acc');
DROP TRIGGER comments ON scan_acc;
CREATE TRIGGER comments BEFORE UPDATE ON scan_acc FOR EACH ROW EXECUTE FUNCTION scan_comments();
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'scan_acc'::regclass;

-- ==== NEW assigned as a whole: a warning, the trigger is created ====
CREATE FUNCTION scan_populate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW := jsonb_populate_record(NEW, NEW.doc);
  RETURN NEW;
END $$;
CREATE TRIGGER populate BEFORE UPDATE ON scan_acc FOR EACH ROW EXECUTE FUNCTION scan_populate();
CREATE FUNCTION scan_select_into() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT * INTO new FROM jsonb_populate_record(NEW, NEW.doc);
  RETURN NEW;
END $$;
CREATE TRIGGER select_into BEFORE UPDATE ON scan_acc FOR EACH ROW EXECUTE FUNCTION scan_select_into();
SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = 'scan_acc'::regclass ORDER BY 1;
-- what the warning was about: the document sets the version behind occ
UPDATE scan_acc SET qty = 11, doc = '{"version": 40}', version = 1 WHERE id = 1;
SELECT id, qty, version FROM scan_acc;
DROP TRIGGER populate ON scan_acc;
DROP TRIGGER select_into ON scan_acc;

-- ==== occ.enable warns too, and enables ====
SELECT occ.disable('scan_acc');
CREATE TRIGGER populate BEFORE UPDATE ON scan_acc FOR EACH ROW EXECUTE FUNCTION scan_populate();
SELECT occ.enable('scan_acc');
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'scan_acc'::regclass;

-- ==== a C trigger given the column is refused, also on a partition ====
CREATE EXTENSION moddatetime;
CREATE TABLE scan_parts (id int, changed timestamptz NOT NULL DEFAULT now())
  PARTITION BY LIST (id);
CREATE TABLE scan_parts_1 PARTITION OF scan_parts FOR VALUES IN (1);
CREATE TRIGGER stamp BEFORE UPDATE ON scan_parts_1 FOR EACH ROW EXECUTE FUNCTION moddatetime(changed);
SELECT occ.enable('scan_parts', 'changed', 'timestamp'); \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'scan_parts'::regclass;
DROP TRIGGER stamp ON scan_parts_1;
SELECT occ.enable('scan_parts', 'changed', 'timestamp');
CREATE TRIGGER stamp BEFORE UPDATE ON scan_parts_1 FOR EACH ROW EXECUTE FUNCTION moddatetime(changed); \echo :LAST_ERROR_SQLSTATE

DROP TABLE scan_acc, scan_parts;
DROP FUNCTION scan_comments(), scan_populate(), scan_select_into();
DROP EXTENSION moddatetime;
