--
-- Releases and upgrades.  Every release ships a full install script
-- (occ--X.sql) and an upgrade script from the release before it
-- (occ--W--X.sql).  Two things are checked here:
--
-- 1. What the newest release installs, object by object with its whole
--    definition, privileges and comment: a released script must never
--    change, and this output changes with it.
-- 2. For every older release: installing it and updating gives exactly
--    what the newest install script gives.  These are two different
--    scripts, so the comparison can fail; a table protected under the old
--    release stays protected.  (1.0 is the first release: the list of
--    older releases is empty until 1.1 ships.)
--
\set VERBOSITY default

-- Every member object of the extension with what defines it.
CREATE FUNCTION occ_objects()
RETURNS TABLE (object text, definition text)
LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, 0),
         CASE d.classid
           WHEN 'pg_proc'::regclass THEN
             pg_get_functiondef(d.objid) || coalesce(' ACL ' || (
               SELECT proacl::text FROM pg_proc WHERE oid = d.objid), '')
           WHEN 'pg_class'::regclass THEN
             pg_get_viewdef(d.objid) || coalesce(' ACL ' || (
               SELECT relacl::text FROM pg_class WHERE oid = d.objid), '')
           WHEN 'pg_event_trigger'::regclass THEN
             (SELECT evtevent || ' ' || evttags::text || ' ' || evtfoid::regprocedure::text
                     || ' ' || evtenabled::text FROM pg_event_trigger WHERE oid = d.objid)
           WHEN 'pg_namespace'::regclass THEN
             (SELECT coalesce(nspacl::text, '') FROM pg_namespace WHERE oid = d.objid)
           ELSE ''
         END || coalesce(' COMMENT ' || obj_description(d.objid, d.classid::regclass::text), '')
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'occ')
    AND d.deptype = 'e'
$$;

-- ==== 1. the newest release, as installed ====
DROP EXTENSION occ;
CREATE EXTENSION occ;
SELECT extversion, extrelocatable, extnamespace::regnamespace
  FROM pg_extension WHERE extname = 'occ';
SELECT object, definition FROM occ_objects() ORDER BY object;
CREATE TEMP TABLE fresh AS SELECT * FROM occ_objects();

-- ==== 2. every older release, updated, gives the same objects ====
CREATE TEMP TABLE upgrade_differences (from_version text, side text, object text);
DO $$
DECLARE
  newest text := (SELECT default_version FROM pg_available_extensions WHERE name = 'occ');
  older text;
BEGIN
  FOR older IN
    SELECT version FROM pg_available_extension_versions
     WHERE name = 'occ' AND version <> newest ORDER BY version
  LOOP
    DROP EXTENSION occ;
    EXECUTE format('CREATE EXTENSION occ VERSION %L', older);
    -- a table protected under the older release
    CREATE TABLE up_acc (id int PRIMARY KEY, balance int);
    INSERT INTO up_acc VALUES (1, 10);
    PERFORM occ.enable('up_acc', mode => 'strict');
    ALTER EXTENSION occ UPDATE;
    INSERT INTO upgrade_differences
      SELECT older, 'only after upgrade', object
        FROM (SELECT * FROM occ_objects() EXCEPT SELECT * FROM fresh) u
      UNION ALL
      SELECT older, 'only in fresh install', object
        FROM (SELECT * FROM fresh EXCEPT SELECT * FROM occ_objects()) f;
    -- still protected: a stale write is refused
    BEGIN
      UPDATE up_acc SET balance = 11, version = 7 WHERE id = 1;
      INSERT INTO upgrade_differences VALUES (older, 'stale write accepted', 'up_acc');
    EXCEPTION WHEN SQLSTATE '40V01' THEN
      NULL;
    END;
    DROP TABLE up_acc;
  END LOOP;
  DROP EXTENSION occ;
  CREATE EXTENSION occ;
END
$$;
SELECT count(*) AS older_releases
  FROM pg_available_extension_versions
 WHERE name = 'occ'
   AND version <> (SELECT default_version FROM pg_available_extensions WHERE name = 'occ');
SELECT * FROM upgrade_differences ORDER BY 1, 2, 3;

DROP FUNCTION occ_objects();
