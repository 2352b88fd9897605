--
-- One occ trigger per table, whatever its name.  A table that has one
-- cannot become a partition of an enabled partitioned table (the parent's
-- trigger would be cloned beside it), a partitioned table whose partitions
-- have one cannot be enabled, and no trigger can be created that would
-- give a table a second one.  Two occ triggers would advance every version
-- twice and check it against two sets of settings.
--
\set VERBOSITY default

-- How many occ triggers each table has, and under which names.
CREATE FUNCTION dup_triggers(pattern text)
RETURNS TABLE (relname name, triggers text)
LANGUAGE sql AS $$
  SELECT c.relname, string_agg(t.tgname || CASE WHEN t.tgparentid <> 0 THEN ' (clone)' ELSE '' END,
                               ', ' ORDER BY t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid
   WHERE t.tgfoid = 'occ.check_version()'::regprocedure AND c.relname LIKE pattern
   GROUP BY c.relname ORDER BY c.relname
$$;

CREATE TABLE dup_parent (id int, region text, version bigint NOT NULL DEFAULT 1)
  PARTITION BY LIST (region);
CREATE TABLE dup_parent_a PARTITION OF dup_parent FOR VALUES IN ('a');
SELECT occ.enable('dup_parent');

-- ==== attaching a table that has an occ trigger of its own ====
-- made by hand under another name
CREATE TABLE dup_hand (id int, region text, version bigint NOT NULL DEFAULT 1);
CREATE TRIGGER mine BEFORE UPDATE OR DELETE ON dup_hand FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=none');
ALTER TABLE dup_parent ATTACH PARTITION dup_hand FOR VALUES IN ('b'); \echo :LAST_ERROR_SQLSTATE
-- made by occ.enable, then renamed
CREATE TABLE dup_renamed (id int, region text, version bigint NOT NULL DEFAULT 1);
SELECT occ.enable('dup_renamed');
ALTER TRIGGER occ_version ON dup_renamed RENAME TO renamed;
SELECT table_name, version_column FROM occ.tables WHERE table_name = 'dup_renamed'::regclass;
ALTER TABLE dup_parent ATTACH PARTITION dup_renamed FOR VALUES IN ('c'); \echo :LAST_ERROR_SQLSTATE
-- a partitioned table whose partition has one
CREATE TABLE dup_sub (id int, region text, version bigint NOT NULL DEFAULT 1) PARTITION BY LIST (id);
CREATE TABLE dup_sub_1 PARTITION OF dup_sub FOR VALUES IN (1);
SELECT occ.enable('dup_sub_1');
ALTER TRIGGER occ_version ON dup_sub_1 RENAME TO sub_own;
ALTER TABLE dup_parent ATTACH PARTITION dup_sub FOR VALUES IN ('d'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM dup_triggers('dup%');
-- without its own trigger, a table is attached and protected by the parent's
DROP TRIGGER mine ON dup_hand;
ALTER TABLE dup_parent ATTACH PARTITION dup_hand FOR VALUES IN ('b');
SELECT * FROM dup_triggers('dup_hand');

-- ==== enabling a partitioned table whose partitions have one ====
CREATE TABLE dup_late (id int, region text, version bigint NOT NULL DEFAULT 1)
  PARTITION BY LIST (region);
CREATE TABLE dup_late_a PARTITION OF dup_late FOR VALUES IN ('a');
CREATE TABLE dup_late_b PARTITION OF dup_late FOR VALUES IN ('b') PARTITION BY LIST (id);
CREATE TABLE dup_late_b1 PARTITION OF dup_late_b FOR VALUES IN (1);
CREATE TRIGGER by_hand BEFORE UPDATE OR DELETE ON dup_late_b1 FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=strict');
SELECT occ.enable('dup_late'); \echo :LAST_ERROR_SQLSTATE
-- a partition enabled on its own
DROP TRIGGER by_hand ON dup_late_b1;
SELECT occ.enable('dup_late_a');
SELECT occ.enable('dup_late'); \echo :LAST_ERROR_SQLSTATE
-- nor by creating the trigger by hand
CREATE TRIGGER late BEFORE UPDATE OR DELETE ON dup_late FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=lax'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM dup_triggers('dup_late%');
SELECT count(*) AS late_listed FROM occ.tables WHERE table_name = 'dup_late'::regclass;
-- with the partition disabled first, it works
SELECT occ.disable('dup_late_a');
SELECT occ.enable('dup_late');
SELECT * FROM dup_triggers('dup_late%');

-- ==== a second occ trigger on a partition of an enabled table ====
CREATE TRIGGER extra BEFORE UPDATE OR DELETE ON dup_parent_a FOR EACH ROW
  EXECUTE FUNCTION occ.check_version('format=1', 'column=version', 'kind=integer', 'mode=none'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM dup_triggers('dup_parent%');

DROP TABLE dup_parent, dup_renamed, dup_sub, dup_late;
DROP FUNCTION dup_triggers(text);
